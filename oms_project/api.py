"""API plumbing shared by every app: key authentication, scopes, problem+json, pagination.

Errors follow RFC 9457 (`application/problem+json`) with a stable `code` and, for validation
failures, field-level `errors`.
"""

import hashlib
import logging
from datetime import timedelta

from django.core.exceptions import (
    FieldDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connections, transaction
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, pagination, parsers, permissions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.response import Response

from oms_project.changes import CHANGE_ORDERING, after_change_position, change_position
from oms_project.errors import OmsError
from oms_project.sql import instance_from_row, row_fields, select_columns

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
KEY_PREFIX = "oms_"
LAST_USED_RESOLUTION = timedelta(minutes=1)

# What a channel key may do without explicit scopes: storefront work on its own channel's
# orders, customers, checkouts and returns (open, read, withdraw), and reading the catalogue
# and the stock of the locations it sells from. These defaults never cover back-office work
# (see `is_back_office`): that needs the scope granted on the key itself.
CHANNEL_SCOPES = frozenset(
    {
        "orders:read",
        "orders:write",
        "customers:read",
        "customers:write",
        "catalog:read",
        "inventory:read",
        "warehouses:read",
        "checkouts:write",
        "returns:read",
        "returns:write",
    }
)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`; the key's SHA-256 hash is looked up."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")

        try:
            raw = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        api_key = _api_key_by_hash(hash_key(raw))
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if not api_key.is_active or api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.channel_id and not api_key.channel.is_active:
            raise exceptions.AuthenticationFailed("This API key's channel is inactive.")
        self._touch(api_key)
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

    @staticmethod
    def _touch(api_key) -> None:
        now = timezone.now()
        if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
            return
        type(api_key).objects.filter(pk=api_key.pk).update(last_used_at=now)


def _api_key_by_hash(hashed_key: str):
    """The key with this hash and its channel, or None: one plain-SQL query, as it runs for
    every API request (see oms_project.sql)."""
    from orders.models import ApiKey, SalesChannel

    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT {select_columns(ApiKey, 'k')}, {select_columns(SalesChannel, 'c')} "
            f"FROM {ApiKey._meta.db_table} k "
            f"LEFT JOIN {SalesChannel._meta.db_table} c ON c.id = k.channel_id "
            "WHERE k.hashed_key = %s",
            [hashed_key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(row_fields(ApiKey))
    api_key = instance_from_row(ApiKey, row[:split])
    channel = instance_from_row(SalesChannel, row[split:]) if api_key.channel_id else None
    ApiKey._meta.get_field("channel").set_cached_value(api_key, channel)
    return api_key


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe bearer API keys in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key issued in the admin or by `manage.py create_api_key`.",
        }


def key_scopes(api_key, *, with_channel_defaults: bool = True) -> frozenset[str]:
    """The scopes a key holds: those granted on it, plus a channel key's `CHANNEL_SCOPES`
    unless `with_channel_defaults` is false (back-office work)."""
    scopes = set(api_key.scopes or [])
    if api_key.channel_id and with_channel_defaults:
        scopes |= CHANNEL_SCOPES
    # A write scope implies reading the same resource.
    scopes |= {scope.replace(":write", ":read") for scope in scopes if scope.endswith(":write")}
    return frozenset(scopes)


def is_staff_request(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


class HasApiAccess(permissions.BasePermission):
    """Staff sessions may do everything; API keys need the view's scope for the method.

    A view names its resource with `scope = "orders"`; safe methods need `orders:read`,
    others `orders:write`. A view may override per action with `action_scopes`.

    A view marks back-office work with `back_office = True` (the whole view) or a set of
    action names: there a channel key's default scopes do not count, so it needs the scope
    granted on the key itself, as an integration key has it.
    """

    def has_permission(self, request, view):
        if is_staff_request(request):
            return True
        api_key = request.auth
        if api_key is None or not hasattr(api_key, "hashed_key"):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                raise exceptions.PermissionDenied("Only staff accounts may use the API.")
            raise exceptions.NotAuthenticated()
        required = required_scope(request, view)
        back_office = is_back_office(view)
        if required is None or required in key_scopes(
            api_key, with_channel_defaults=not back_office
        ):
            return True
        if back_office and api_key.channel_id:
            raise exceptions.PermissionDenied(
                f"This API key lacks the scope '{required}': back-office work needs it granted "
                "on the key; a channel key's default scopes do not cover it."
            )
        raise exceptions.PermissionDenied(f"This API key lacks the scope '{required}'.")


def required_scope(request, view) -> str | None:
    action = getattr(view, "action", None)
    action_scopes = getattr(view, "action_scopes", {})
    if action in action_scopes:
        return action_scopes[action]
    scope = getattr(view, "scope", None)
    if scope is None:
        return None
    suffix = "read" if request.method in permissions.SAFE_METHODS else "write"
    return f"{scope}:{suffix}"


def is_back_office(view) -> bool:
    """Whether the view, or the action it is running, is the merchant's back-office work
    (deciding on returns, refunds, transfers, stock imports), which a channel key's default
    scopes never cover. Views say so with `back_office = True` or a set of action names."""
    marked = getattr(view, "back_office", False)
    if isinstance(marked, bool):
        return marked
    return getattr(view, "action", None) in marked


def request_channel(request):
    """The sales channel a request is confined to, or None for staff and integration keys."""
    api_key = request.auth
    if api_key is not None and getattr(api_key, "channel_id", None):
        return api_key.channel
    return None


def request_actor(request) -> str:
    """Who is acting, for audit rows: `user:<name>` or `api_key:<prefix>`."""
    if request.auth is not None and hasattr(request.auth, "prefix"):
        return request.auth.actor
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return "anonymous"


class CreatedLocationMixin:
    """A 201 Created (or 202 Accepted) answer names the new resource's URL in `Location`.

    `created_locations` maps a view's action (or, on a plain `APIView`, its method) to the
    route name of the resource's detail page, its URL keyword and the field of the answer
    holding the value, e.g. `{"create": ("order-detail", "number", "number")}`. The header is
    set in `finalize_response`, so an answer replayed for a repeated `Idempotency-Key` carries
    it too. `OmsAutoSchema` declares it in the OpenAPI schema.
    """

    created_locations: dict[str, tuple[str, str, str]] = {}

    def created_location_route(self, method: str) -> tuple[str, str, str] | None:
        return self.created_locations.get(getattr(self, "action", None) or method.lower())

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code not in (201, 202) or response.has_header("Location"):
            return response
        route = self.created_location_route(request.method)
        data = getattr(response, "data", None)
        if route is None or not isinstance(data, dict):
            return response
        url_name, url_keyword, field = route
        if data.get(field) not in (None, ""):
            path = reverse(url_name, kwargs={url_keyword: data[field]})
            response["Location"] = request.build_absolute_uri(path)
        return response


class CursorPagination(pagination.CursorPagination):
    """`?cursor=&limit=` (default 50, max 500), newest first, no COUNT(*).

    A view that lists `updated_at` in `ordering_fields` also pages by change with
    `?ordering=updated_at`: oldest change first, the cursor holding the last row's
    `updated_at` and id, so rows changed at one instant are neither lost nor repeated at a
    page boundary (`oms_project.changes`).
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500
    ordering = "-id"
    ordering_query_param = "ordering"

    invalid_cursor_message = "Not a cursor this list gave out; start again without one."

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        self.by_change = self._is_by_change(request, view)
        if self.by_change:
            return self._paginate_by_change(queryset, request)
        return super().paginate_queryset(queryset, request, view)

    def _is_by_change(self, request, view) -> bool:
        """Whether the list is read by change; a view that offers orderings refuses others."""
        offered = getattr(view, "ordering_fields", None)
        asked = request.query_params.get(self.ordering_query_param)
        if not offered or asked in (None, ""):
            return False
        if asked not in offered:
            raise exceptions.ValidationError(
                {self.ordering_query_param: [f"Use one of: {', '.join(offered)}."]}
            )
        return asked == CHANGE_ORDERING

    def _paginate_by_change(self, queryset, request):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        cursor = self.decode_cursor(request)
        try:
            queryset = after_change_position(queryset, cursor.position if cursor else None)
        except ValueError:
            raise exceptions.ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        self.has_next, self.has_previous = len(rows) > self.page_size, False
        return self.page

    def get_next_link(self):
        if not self.by_change:
            return super().get_next_link()
        if not self.has_next:
            return None
        cursor = pagination.Cursor(offset=0, reverse=False, position=change_position(self.page[-1]))
        return self.encode_cursor(cursor)

    def get_previous_link(self):
        return None if self.by_change else super().get_previous_link()

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer", "minimum": 1, "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        offered = getattr(view, "ordering_fields", None)
        if offered:
            parameters.append(
                {
                    "name": self.ordering_query_param,
                    "required": False,
                    "in": "query",
                    "description": "`updated_at`: oldest change first (with `updated_after`, "
                    "to read every change once); otherwise newest first.",
                    "schema": {"type": "string", "enum": list(offered)},
                }
            )
        return parameters

    def get_page_size(self, request):
        """`limit` from 1 up (more than `max_page_size` gives that many); anything else is a
        400 rather than a silent default page."""
        given = request.query_params.get(self.page_size_query_param)
        if given is None or given == "":
            return self.page_size
        if not given.isdigit() or int(given) < 1:
            raise exceptions.ValidationError(
                {"limit": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return min(int(given), self.max_page_size)

    def decode_cursor(self, request):
        """Refuse, as a 400 on `cursor`, a cursor that does not decode or whose position does
        not fit the ordering field (a forged cursor would otherwise fail deep in the query)."""
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        if cursor is None or cursor.position is None or getattr(self, "by_change", False):
            return cursor
        ordering = self.ordering[0] if isinstance(self.ordering, list | tuple) else self.ordering
        try:
            field = self.model._meta.get_field(ordering.lstrip("-"))
            field.to_python(cursor.position)
        except (FieldDoesNotExist, DjangoValidationError, ValueError, TypeError):
            raise exceptions.ValidationError({"cursor": [self.invalid_cursor_message]}) from None
        return cursor


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested too deeply to decode as a malformed request
    (a 400) instead of exhausting the stack."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


# --- problem+json ---------------------------------------------------------------------------

_DRF_CODES = {
    exceptions.ParseError: ("malformed_request", "Malformed request body"),
    exceptions.AuthenticationFailed: ("authentication_failed", "Authentication failed"),
    exceptions.NotAuthenticated: ("not_authenticated", "Authentication required"),
    exceptions.PermissionDenied: ("permission_denied", "Permission denied"),
    exceptions.NotFound: ("not_found", "Not found"),
    exceptions.MethodNotAllowed: ("method_not_allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not_acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", "Unsupported media type"),
    exceptions.Throttled: ("throttled", "Too many requests"),
    exceptions.ValidationError: ("validation_error", "Invalid input"),
}


def problem_body(status: int, code: str, title: str, detail: str, errors=None, **extra) -> dict:
    body = {
        "type": f"https://oms.example/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


class ProblemSerializer(serializers.Serializer):
    """An error answer (problem details, `application/problem+json`)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    errors = serializers.JSONField(
        required=False,
        help_text="Field errors (an object keyed by field) or item errors (a list), if any.",
    )


class ProblemSerializerScheme(OpenApiSerializerExtension):
    """Let problems carry extension members (RFC 9457 section 3.2): `from_status`,
    `attempts_left`, `retry_after` and the like, which depend on the error's `code`."""

    target_class = ProblemSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": True}


def problem_responses(described: dict[int, str]) -> dict[tuple[int, str], OpenApiResponse]:
    """OpenAPI responses for error statuses, each described by the codes it may carry."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=text)
        for status, text in described.items()
    }


def problem_response(status: int, code: str, title: str, detail: str, errors=None, **extra):
    return Response(
        problem_body(status, code, title, detail, errors, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def validation_detail(errors) -> str:
    if isinstance(errors, dict):
        fields = ", ".join(str(field) for field in list(errors)[:10])
        return f"Invalid input in: {fields}."
    if isinstance(errors, list) and errors:
        return str(errors[0]) if not isinstance(errors[0], dict | list) else "Invalid input."
    return "Invalid input."


def _set_rollback() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.settings_dict.get("ATOMIC_REQUESTS") and connection.in_atomic_block:
            transaction.set_rollback(True, using=connection.alias)


def problem_exception_handler(exc, context):
    """Render every API error as problem+json and roll the transaction back."""
    _set_rollback()
    response = _problem_for_exception(exc)
    renderer = getattr(context.get("request"), "accepted_renderer", None)
    if renderer is not None and getattr(renderer, "format", "json") not in {"json", "api"}:
        # Views that render HTML or YAML (docs, schema) would garble a problem body.
        json_response = JsonResponse(
            response.data, status=response.status_code, content_type=PROBLEM_CONTENT_TYPE
        )
        for name, value in response.items():
            if name.lower() != "content-type":
                json_response[name] = value
        return json_response
    return response


def _problem_for_exception(exc):
    if isinstance(exc, OmsError):
        return problem_response(
            exc.status, exc.code, exc.title, exc.detail, exc.errors, **exc.extra
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DataError):
        # A value passed validation but the database refused it (NUL characters, a range
        # or length one backend enforces and another does not): still the client's input.
        logger.warning("Database refused a value: %s", exc)
        return problem_response(
            400,
            "invalid_value",
            "Invalid value",
            "A value could not be stored: it is too long, out of range or contains NUL characters.",
        )
    elif isinstance(exc, IntegrityError):
        return problem_response(
            409, "conflict", "Conflict", "The change clashes with existing data; re-read and retry."
        )
    elif isinstance(exc, RequestDataTooBig):
        return problem_response(413, "payload_too_large", "Payload too large", str(exc))
    if isinstance(exc, exceptions.APIException):
        code, title = next(
            (value for klass, value in _DRF_CODES.items() if isinstance(exc, klass)),
            ("error", "Error"),
        )
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.ValidationError):
            errors = exc.detail
            response = problem_response(400, code, title, validation_detail(errors), errors)
        else:
            response = problem_response(exc.status_code, code, title, str(exc.detail))
        for name, value in headers.items():
            response[name] = value
        return response
    logger.exception("Unhandled API error", exc_info=exc)
    return problem_response(
        500, "server_error", "Internal server error", "An unexpected error occurred."
    )


class ApiErrorMiddleware:
    """Keep `/api/` answers problem+json even for errors raised outside DRF views
    (unknown URLs, oversized bodies, crashes in middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/") and "\x00" in request.path:
            # No object is addressed by a NUL character; some databases refuse to look.
            return self._problem(404)
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith(("application/problem+json", "application/json")):
            return response
        return self._problem(response.status_code)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, RequestDataTooBig):
            return self._problem(413, str(exception))
        if isinstance(exception, Http404):
            return self._problem(404)
        logger.exception("Unhandled error under /api/", exc_info=exception)
        return self._problem(500)

    @staticmethod
    def _problem(status: int, detail: str = ""):
        codes = {
            400: ("bad_request", "Bad request"),
            404: ("not_found", "Not found"),
            405: ("method_not_allowed", "Method not allowed"),
            413: ("payload_too_large", "Payload too large"),
            500: ("server_error", "Internal server error"),
        }
        code, title = codes.get(status, ("error", "Error"))
        body = problem_body(status, code, title, detail or title + ".")
        return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
