"""The HTTP transport webhooks are delivered through: it connects only to public addresses.

Checking a subscription's URL when it is saved and again before each attempt is not enough on
its own: the host's DNS answer can change between the check and the connection (DNS
rebinding), pointing a once-public name at the OMS's own network. This transport resolves the
host once per connection, refuses the connection if any address it got is internal, and then
connects to the address it checked, so the address used is always the one approved. TLS still
verifies the certificate against the host name (the connection keeps the URL's host for SNI
and the Host header). Proxies from the environment are ignored for the same reason.
"""

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx


class InternalAddressRefused(httpcore.ConnectError):
    """The host resolved to an address of an internal network."""


def is_internal_address(address: str) -> bool:
    """True for loopback, private, link-local, reserved, shared and multicast addresses."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(host: str) -> list[str]:
    """Every address `host` stands for (itself if it is a literal address); [] if none."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    # In the resolver's order of preference, without repeats.
    return list(dict.fromkeys(info[4][0] for info in infos))


class PublicOnlyBackend(httpcore.SyncBackend):
    """Opens TCP connections only to the public addresses it resolved itself."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve(host)
        if not addresses:
            raise httpcore.ConnectError(f"The host '{host}' does not resolve.")
        internal = [address for address in addresses if is_internal_address(address)]
        if internal:
            raise InternalAddressRefused(
                f"'{host}' resolved to an internal address ({internal[0]}); not connecting."
            )
        # Like the system's own connect: each checked address in turn until one answers.
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure


class PublicOnlyTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through `PublicOnlyBackend`."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=1,
            network_backend=PublicOnlyBackend(),
        )
