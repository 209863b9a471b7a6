"""The Redis broker transport: kombu's, keeping one Redis client per channel.

Kombu's Redis channel builds a new redis-py client for every message it publishes (and every
other short command), and each new client copies redis-py's table of response callbacks;
that is about a third of the cost of publishing a task, paid inside requests. This channel
builds its client once and reuses it (redis-py clients are thread-safe and share the
channel's connection pool); a new pool, after a reconnect, gets a new client. Everything else
is kombu's transport unchanged. `oms_project.celery` makes `redis://` and `rediss://` broker
URLs use it.
"""

from contextlib import contextmanager

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

REDIS_SCHEMES = ("redis", "rediss")


class Channel(kombu_redis.Channel):
    _kept_client = None
    _kept_for_pool = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        if self._kept_client is None or self._kept_for_pool is not pool:
            self._kept_client, self._kept_for_pool = self._create_client(), pool
        yield self._kept_client


class Transport(kombu_redis.Transport):
    Channel = Channel


def use_for_redis_urls() -> None:
    """Make `redis://` and `rediss://` broker URLs use this transport."""
    for scheme in REDIS_SCHEMES:
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
