"""The e-mail templates (`templates/emails/`), rendered with Jinja2.

Order intake renders a confirmation per order (subject, text and HTML), and with Django's
template language that was a fifth of creating an order in bulk; Jinja2 compiles templates
to Python and renders them several times faster. The templates keep Django's conventions:

- plain-text parts (`.txt`) are not HTML-escaped, HTML parts are;
- a missing variable or attribute renders as nothing and compares false (as in Django);
- `date` and `time` format as Django's filters do (same format strings, aware datetimes in
  the current time zone, `DATE_FORMAT`/`TIME_FORMAT` by default, nothing for None);
- amounts print as the order holds them (two decimals, no grouping).
"""

from datetime import date, datetime
from functools import cache

from django.conf import settings
from django.utils import dateformat, timezone
from jinja2 import ChainableUndefined, Environment, FileSystemLoader


class _Missing(ChainableUndefined):
    """A missing variable: renders as nothing, has no attributes, and compares false."""

    __slots__ = ()

    def _false(self, other) -> bool:
        return False

    __lt__ = __le__ = __gt__ = __ge__ = _false


def _local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _date(value, format_string: str | None = None) -> str:
    if not isinstance(value, date):
        return ""
    return dateformat.format(_local(value), format_string or settings.DATE_FORMAT)


def _time(value, format_string: str | None = None) -> str:
    if not isinstance(value, datetime):
        return ""
    return dateformat.time_format(_local(value), format_string or settings.TIME_FORMAT)


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(settings.BASE_DIR / "templates"),
        autoescape=lambda name: name is not None and name.endswith(".html"),
        undefined=_Missing,
        keep_trailing_newline=True,
        auto_reload=settings.DEBUG,
    )
    environment.filters.update(date=_date, time=_time)
    return environment


def email_render(name: str, context: dict) -> str:
    """Render `templates/<name>` (e.g. "emails/order_confirmation.txt") with `context`."""
    return _environment().get_template(name).render(context)
