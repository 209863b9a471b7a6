"""`Idempotency-Key` for POST endpoints: a retried request replays the first response.

Usage on any DRF view method (an `APIView.post` or a viewset action)::

    from oms_project.idempotency import idempotent

    class AdjustmentView(APIView):
        @idempotent(required=True)
        def post(self, request):
            ...

    class TransferViewSet(viewsets.GenericViewSet):
        @action(detail=True, methods=["post"])
        @idempotent()            # optional: without the header the request simply runs
        def ship(self, request, pk=None):
            ...

Behaviour (DESIGN §4), per `orders.models.IdempotencyRecord`:

- The key is scoped to the caller: the API key's prefix, or `user:<id>` for a staff session.
  The request is fingerprinted by SHA-256 over method, path and raw body.
- The first request inserts an in-flight row (unique on scope + key) before the view runs, so
  a concurrent duplicate gets 409 `request_in_progress`.
- When the view answers, its status and JSON body are stored. A retry with the same key and
  the same request replays that response with the header `Idempotent-Replayed: true`; refusals
  that depend on the state of things (404, 409 such as a stock shortage or a duplicate order)
  are stored and replayed too.
- The same key with a different request is 422 `idempotency_key_reused`.
- A 400 (the request itself was refused: malformed or invalid input, nothing written) does
  not use the key up: its row is deleted, so the client may fix the body and send it again
  under the same key. A 5xx answer or an unhandled exception deletes the row too. A 400 whose
  error is itself recorded (`OmsError.recorded`: a wrong pickup code counts as an attempt) is
  stored and replayed like a 409, so a retry does not count twice.
- A missing key where `required=True` is 400 `idempotency_key_required`; a key longer than
  255 characters or with control characters is 400 `idempotency_key_invalid`.
- An in-flight row older than `IN_FLIGHT_TIMEOUT` (its process died) may be taken over.

Records are kept `settings.OMS_IDEMPOTENCY_RETENTION_HOURS`; `idempotency_cleanup()` deletes
older ones (run it periodically). `orders.models` is imported inside functions because this
module is cross-cutting and sits below the apps.
"""

import functools
import hashlib
import json
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from oms_project.api import PROBLEM_CONTENT_TYPE, problem_response
from oms_project.bulk_insert import rows_insert

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
IN_FLIGHT_TIMEOUT = timedelta(minutes=10)


def idempotent(required: bool = False):
    """Make a DRF view method replay its first response for a repeated `Idempotency-Key`.

    With `required=True` a request without the header is refused with 400.
    """

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None or key == "":
                if required:
                    return problem_response(
                        400,
                        "idempotency_key_required",
                        "Idempotency key required",
                        f"This endpoint needs an `{HEADER}` header (e.g. a UUID).",
                    )
                return handler(view, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH or not key.isprintable():
                return problem_response(
                    400,
                    "idempotency_key_invalid",
                    "Invalid idempotency key",
                    f"`{HEADER}` must be 1 to {MAX_KEY_LENGTH} printable characters.",
                )
            scope = idempotency_scope(request)
            if scope is None:
                return handler(view, request, *args, **kwargs)
            request_hash = request_fingerprint(request)
            record, early_response = _claim(scope, key, request_hash)
            if early_response is not None:
                return early_response
            return _run(view, handler, record, request, args, kwargs)

        # Read by `OmsAutoSchema`, which declares the header in the OpenAPI schema.
        wrapper.idempotency_key_required = required
        return wrapper

    return decorate


def idempotency_key_parameter(*, required: bool, description: str = "") -> OpenApiParameter:
    """The `Idempotency-Key` header as the OpenAPI schema declares it.

    `OmsAutoSchema` adds it to every `@idempotent` view; declare it by hand only to say more.
    """
    if not description:
        description = (
            "Required: a retry with the same key and body replays the first answer "
            "(`Idempotent-Replayed: true`); the same key with another body is 422."
            if required
            else "Optional: a retry with the same key and body replays the first answer."
        )
    return OpenApiParameter(
        HEADER,
        {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        OpenApiParameter.HEADER,
        required=required,
        description=description,
    )


def idempotency_scope(request) -> str | None:
    """Who the key belongs to: the API key's prefix, `user:<id>`, or None (anonymous)."""
    api_key = getattr(request, "auth", None)
    prefix = getattr(api_key, "prefix", None)
    if prefix:
        return str(prefix)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def request_fingerprint(request) -> str:
    """SHA-256 over method, path and raw body.

    Multipart uploads are fingerprinted by their fields and the SHA-256 of each file, read in
    chunks, so a large upload is never held in memory twice. If the view consumed the body
    before this runs, the parsed data stands in for it.
    """
    digest = hashlib.sha256()
    digest.update(request.method.upper().encode())
    digest.update(b"\n")
    digest.update(request.path.encode())
    digest.update(b"\n")
    if request.content_type.startswith("multipart/"):
        digest.update(_multipart_fingerprint(request))
        return digest.hexdigest()
    try:
        body = request._request.body
    except RawPostDataException:
        body = json.dumps(request.data, sort_keys=True, default=str).encode()
    digest.update(body)
    return digest.hexdigest()


def _multipart_fingerprint(request) -> bytes:
    parts = {name: request.POST.getlist(name) for name in sorted(request.POST)}
    for name in sorted(request.FILES):
        hashes = []
        for upload in request.FILES.getlist(name):
            file_digest = hashlib.sha256()
            for chunk in upload.chunks():
                file_digest.update(chunk)
            upload.seek(0)
            hashes.append([upload.name, file_digest.hexdigest()])
        parts[f"file:{name}"] = hashes
    return json.dumps(parts, sort_keys=True).encode()


def _claim(scope: str, key: str, request_hash: str):
    """Insert the in-flight row; return (record, None) or (None, response to send instead)."""
    from orders.models import IdempotencyRecord

    # Outside a transaction the INSERT commits by itself (one round trip); inside one, a
    # savepoint keeps a clash from breaking the caller's transaction.
    guard = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with guard:
            (record,) = rows_insert(
                [IdempotencyRecord(scope=scope, key=key, request_hash=request_hash)]
            )
        return record, None
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is None:  # the first attempt failed and was deleted a moment ago
        return None, _in_progress()
    if existing.request_hash != request_hash:
        return None, problem_response(
            422,
            "idempotency_key_reused",
            "Idempotency key reused",
            "This idempotency key was already used with a different request.",
        )
    if existing.is_complete:
        return None, _replay(existing)
    stale_before = timezone.now() - IN_FLIGHT_TIMEOUT
    taken_over = IdempotencyRecord.objects.filter(
        pk=existing.pk, is_complete=False, created_at__lt=stale_before
    ).update(created_at=timezone.now())
    if taken_over:
        return existing, None
    return None, _in_progress()


def _run(view, handler, record, request, args, kwargs):
    from orders.models import IdempotencyRecord

    recorded = False
    try:
        response = handler(view, request, *args, **kwargs)
    except Exception as error:
        recorded = getattr(error, "recorded", False)
        try:
            response = view.handle_exception(error)
        except Exception:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
    if response.status_code >= 500 or (response.status_code == 400 and not recorded):
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response
    _complete(record, response.status_code, _json_body(response))
    return response


def _complete(record, status_code: int, body) -> None:
    """Store the answer on the record: plain SQL, as it runs for every keyed request (see
    oms_project.sql)."""
    from orders.models import IdempotencyRecord

    field = IdempotencyRecord._meta.get_field("response_body")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotencyRecord._meta.db_table} "
            "SET is_complete = %s, response_status = %s, response_body = %s WHERE id = %s",
            [True, status_code, field.get_db_prep_save(body, connection), record.pk],
        )


def _json_body(response):
    data = getattr(response, "data", None)
    if data is None:
        return None
    return json.loads(JSONRenderer().render(data) or b"null")


def _replay(record) -> Response:
    content_type = PROBLEM_CONTENT_TYPE if record.response_status >= 400 else None
    response = Response(
        record.response_body, status=record.response_status, content_type=content_type
    )
    response[REPLAY_HEADER] = "true"
    return response


def _in_progress() -> Response:
    response = problem_response(
        409,
        "request_in_progress",
        "Request in progress",
        "A request with this idempotency key is still being processed; retry shortly.",
    )
    response["Retry-After"] = "1"
    return response


def idempotency_cleanup(*, now=None) -> int:
    """Delete idempotency records older than the retention; return how many were deleted."""
    from orders.models import IdempotencyRecord

    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.OMS_IDEMPOTENCY_RETENTION_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
