"""docs/events.md names every topic the code emits, so a subscriber knows all it may get."""

import re
from pathlib import Path

from django.conf import settings

SOURCES = ("orders", "returns", "inventory", "customers", "warehouses", "oms_project")
LITERAL_TOPIC = re.compile(
    r"""topic=["']([a-z_]+\.[a-z_]+)["']|_TOPIC = ["']([a-z_]+\.[a-z_]+)["']"""
)


def emitted_topics() -> set[str]:
    topics = set()
    for app in SOURCES:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            for match in LITERAL_TOPIC.finditer(path.read_text()):
                topics.add(match.group(1) or match.group(2))
    return topics


def test_every_topic_the_code_emits_is_documented():
    doc = (Path(settings.BASE_DIR) / "docs" / "events.md").read_text()
    topics = emitted_topics()
    assert {"order.paid", "refund.created", "inventory.low_stock"} <= topics  # the scan works
    undocumented = {
        topic for topic in topics
        if f"`{topic}`" not in doc and f"`{topic.split('.')[0]}.*`" not in doc
    }
    assert undocumented == set()
