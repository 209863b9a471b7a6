"""The HTTP transport webhooks are delivered through: it connects only to public addresses.

Checking a subscription's URL when it is saved and again before each attempt is not enough on
its own: the host's DNS answer can change between the check and the connection (DNS
rebinding), pointing a once-public name at the OMS's own network. This transport resolves the
host once per connection, refuses the connection if any address it got is internal, and then
connects to the address it checked, so the address used is always the one approved. TLS still
verifies the certificate against the host name (the connection keeps the URL's host for SNI
and the Host header). Proxies from the environment are ignored for the same reason.

Every attempt also has a deadline for the whole exchange: httpx's timeout applies to each
read, so a receiver trickling its answer (a byte a second) would otherwise hold the attempt
until the task's time limit. `DeadlineBackend` bounds every connect, read and write by the
time left, and refuses to start one once the deadline has passed; the name lookup counts
against the same time.
"""

import ipaddress
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

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


# Name lookups run here, so one that hangs can be given up on by its deadline (the system's
# resolver has no timeout of its own); an abandoned lookup ends in the background.
_RESOLVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")


class ResolveTimeout(httpcore.ConnectTimeout):
    """The host's name did not resolve within the time left."""


def resolve(host: str, timeout: float | None = None) -> list[str]:
    """Every address `host` stands for (itself if it is a literal address); [] if none.
    With `timeout` (seconds), raises `ResolveTimeout` when the answer takes longer."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    lookup = _RESOLVERS.submit(socket.getaddrinfo, host, None, proto=socket.IPPROTO_TCP)
    try:
        infos = lookup.result(timeout=timeout)
    except FutureTimeout:
        raise ResolveTimeout(f"'{host}' did not resolve within {timeout:.1f} s.") from None
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
        started = time.monotonic()
        addresses = resolve(host, timeout)
        if timeout is not None:  # the lookup spent part of the connect's time
            timeout = timeout - (time.monotonic() - started)
            if timeout <= 0:
                raise httpcore.ConnectTimeout(f"No time left to connect to '{host}'.")
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


def _time_left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    """The timeout for the next network step: the step's own, cut to what is left before
    `deadline` (a `time.monotonic()` value); raises `error` when nothing is left."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("The attempt ran out of its time for the whole exchange.")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read and write ends by the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _time_left(self._deadline, timeout, httpcore.ReadTimeout)
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout = _time_left(self._deadline, timeout, httpcore.WriteTimeout)
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline
        )

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Connections of `backend` whose every step ends by `deadline` (`time.monotonic()`)."""

    def __init__(self, backend: httpcore.NetworkBackend, deadline: float) -> None:
        self._backend, self._deadline = backend, deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class WebhookTransport(httpx.HTTPTransport):
    """The transport of one webhook attempt: connections only to public addresses (unless
    `public_only` is off: tests, closed networks) and, with a `deadline`
    (`time.monotonic()`), every step of the exchange ending by it."""

    def __init__(self, *, deadline: float | None = None, public_only: bool = True) -> None:
        super().__init__(trust_env=False)
        backend = PublicOnlyBackend() if public_only else httpcore.SyncBackend()
        if deadline is not None:
            backend = DeadlineBackend(backend, deadline)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=1,
            network_backend=backend,
        )


class PublicOnlyTransport(WebhookTransport):
    """An httpx transport whose connections go through `PublicOnlyBackend`."""

    def __init__(self) -> None:
        super().__init__(public_only=True)
