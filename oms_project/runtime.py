"""Settings of a long-running server process (web worker, Celery worker).

Python's cyclic garbage collector scans its youngest generation every 700 allocations and,
every so often, everything the process holds: for a Django process that is every module,
class, URL pattern and template loaded at start. Creating orders allocates many short-lived
objects (model instances, serializer fields, rows), so on a 2-core machine the collector took
about a sixth of the CPU of bulk order creation. `gc_tune()` moves what is loaded at start
out of the collector's sight (`gc.freeze()`), which is most of the gain, and collects the
young generation less often. The older generations keep Python's ratios (a full collection
every 10 x 10 young ones, about every 5 million allocations), so memory held by reference
cycles is still reclaimed within a request or two.
"""

import gc
import os

from django.core.exceptions import ImproperlyConfigured

# Young generation, then how many of its collections before the next generation's (Python's
# own defaults: 700, 10, 10).
DEFAULT_THRESHOLDS = (50_000, 10, 10)
ENVIRONMENT_VARIABLE = "OMS_GC_THRESHOLDS"


def gc_thresholds(value: str | None) -> tuple[int, int, int]:
    """`OMS_GC_THRESHOLDS` ("50000,10,10"; unset or empty: the defaults above)."""
    if not value:
        return DEFAULT_THRESHOLDS
    parts = value.split(",")
    try:
        numbers = tuple(int(part) for part in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != 3 or any(number < 1 for number in numbers):
        raise ImproperlyConfigured(
            f"{ENVIRONMENT_VARIABLE} must be three positive integers such as "
            f"'50000,10,10', not {value!r}."
        )
    return numbers


def gc_tune() -> None:
    """Call once the application is loaded (URLs, views and serializers too), in each server
    process (after any fork)."""
    thresholds = gc_thresholds(os.environ.get(ENVIRONMENT_VARIABLE))
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
