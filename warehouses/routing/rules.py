"""The ranking strategies a channel can order, and the checks a rule set must pass to be saved."""

from collections import Counter
from collections.abc import Iterable

STRATEGIES: dict[str, str] = {
    "priority": "Location priority (lower first; preferred locations before all others)",
    "nearest": "Nearest to the destination (great-circle distance)",
    "fewest_shipments": "Fewest shipments when the order must be split",
    "most_stock": "Most of the order's units in stock",
    "earliest_promise": "Earliest promised delivery date",
}


def rules_problems(
    *,
    strategies: Iterable[str],
    excluded_locations: Iterable[str],
    preferred_locations: Iterable[str],
    known_locations: Iterable[str],
    channel_locations: Iterable[str] | None = None,
) -> dict[str, list[str]]:
    """Return {field: [reasons]} for a rule set that must be refused (empty when valid).

    Refuses unknown or repeated strategies, an empty ranking, locations that do not exist,
    a location both preferred and excluded, and excluding every location of the channel.
    """
    strategies = list(strategies)
    excluded = list(excluded_locations)
    preferred = list(preferred_locations)
    known = set(known_locations)
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not strategies:
        add("strategies", "Choose at least one ranking strategy.")
    for name in strategies:
        if name not in STRATEGIES:
            add("strategies", f"Unknown strategy '{name}'. Use: {', '.join(STRATEGIES)}.")
    for name, count in Counter(strategies).items():
        if count > 1:
            add("strategies", f"Strategy '{name}' is listed {count} times.")
    for field, codes in (("excluded_locations", excluded), ("preferred_locations", preferred)):
        for code in codes:
            if code not in known:
                add(field, f"Unknown location '{code}'.")
        for code, count in Counter(codes).items():
            if count > 1:
                add(field, f"Location '{code}' is listed {count} times.")
    for code in sorted(set(excluded) & set(preferred)):
        add("preferred_locations", f"Location '{code}' is both preferred and excluded.")
    if channel_locations is not None:
        serving = set(channel_locations)
        if serving and serving <= set(excluded):
            add("excluded_locations", "These rules exclude every location of the channel.")
    return problems
