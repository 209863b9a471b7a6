"""The Redis transport keeps one client per channel for publishing."""

import pytest
import redis
from kombu import Connection

from oms_project import broker
from oms_project.celery import app  # noqa: F401  (registers the transport)

BROKER = "redis://127.0.0.1:6379/15"


def redis_reachable() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_redis_urls_use_the_transport_that_keeps_its_client():
    for url in ("redis://127.0.0.1:6379/15", "rediss://127.0.0.1:6380/15"):
        assert isinstance(Connection(url).transport, broker.Transport)


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
def test_a_channel_publishes_and_reads_with_one_kept_client():
    with Connection(BROKER) as connection:
        channel = connection.channel()
        queue = "oms-broker-test"
        channel.queue_declare(queue=queue, auto_delete=True)
        try:
            with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
                assert first is second
            producer = connection.Producer(channel)
            for number in range(3):
                producer.publish({"n": number}, routing_key=queue)
            assert channel._size(queue) == 3
            received = [channel.basic_get(queue, no_ack=True).payload["n"] for _ in range(3)]
            assert received == [0, 1, 2]
            channel._pool = None  # as after a reconnect: a new pool gets a new client
            with channel.conn_or_acquire() as renewed:
                assert renewed is not first
        finally:
            channel.queue_delete(queue)
            channel.close()
