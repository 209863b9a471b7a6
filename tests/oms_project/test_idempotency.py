"""`Idempotency-Key` handling: replay, reuse, in-flight, failures, scoping and cleanup."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from oms_project.errors import Conflict, ValidationFailed
from oms_project.idempotency import (
    IN_FLIGHT_TIMEOUT,
    idempotency_cleanup,
    idempotent,
    request_fingerprint,
)
from orders.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

factory = APIRequestFactory()
calls: list[dict] = []


class CountingView(APIView):
    """Answers 201 with a counter; `{"fail": "conflict"|"invalid"|"crash"|"server"}` makes it
    fail."""

    scope = None

    @idempotent(required=True)
    def post(self, request):
        calls.append(dict(request.data))
        failure = request.data.get("fail")
        if failure == "conflict":
            raise Conflict("Already done.")
        if failure == "invalid":
            raise ValidationFailed("Bad value.", errors={"value": ["Bad value."]})
        if failure == "crash":
            raise RuntimeError("boom")
        if failure == "server":
            return Response({"detail": "down"}, status=503)
        return Response({"call": len(calls), "echo": request.data.get("value")}, status=201)


class OptionalView(APIView):
    scope = None

    @idempotent()
    def post(self, request):
        calls.append(dict(request.data))
        return Response({"call": len(calls)}, status=201)


@pytest.fixture(autouse=True)
def reset_calls():
    calls.clear()


@pytest.fixture
def api_key(make_client):
    return make_client(scopes=["inventory:write"]).raw_key


def post(view, body, *, key=None, raw_key=None, user=None, path="/api/v1/things/"):
    headers = {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    if raw_key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    request = factory.post(path, body, format="json", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    response = view.as_view()(request)
    response.render()
    return response


def problem_code(response) -> str:
    assert response["Content-Type"].startswith("application/problem+json")
    return response.data["code"]


def test_missing_key_is_refused_when_required(api_key):
    response = post(CountingView, {"value": 1}, raw_key=api_key)
    assert response.status_code == 400
    assert problem_code(response) == "idempotency_key_required"
    assert calls == []
    assert IdempotencyRecord.objects.count() == 0


def test_missing_key_runs_every_time_when_optional(api_key):
    assert post(OptionalView, {"value": 1}, raw_key=api_key).data == {"call": 1}
    assert post(OptionalView, {"value": 1}, raw_key=api_key).data == {"call": 2}
    assert IdempotencyRecord.objects.count() == 0


def test_same_key_same_body_replays_first_response(api_key):
    first = post(CountingView, {"value": 7}, key="k-1", raw_key=api_key)
    second = post(CountingView, {"value": 7}, key="k-1", raw_key=api_key)
    assert first.status_code == second.status_code == 201
    assert first.data == {"call": 1, "echo": 7}
    assert second.data == {"call": 1, "echo": 7}
    assert second["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert len(calls) == 1
    record = IdempotencyRecord.objects.get()
    assert record.is_complete is True
    assert record.response_status == 201
    assert record.response_body == {"call": 1, "echo": 7}


def test_same_key_different_body_is_422(api_key):
    post(CountingView, {"value": 7}, key="k-1", raw_key=api_key)
    response = post(CountingView, {"value": 8}, key="k-1", raw_key=api_key)
    assert response.status_code == 422
    assert problem_code(response) == "idempotency_key_reused"
    assert len(calls) == 1


def test_same_key_other_path_is_422(api_key):
    post(CountingView, {"value": 7}, key="k-1", raw_key=api_key)
    response = post(CountingView, {"value": 7}, key="k-1", raw_key=api_key, path="/api/v1/other/")
    assert response.status_code == 422
    assert len(calls) == 1


def test_request_in_flight_is_409(api_key, make_client):
    request = factory.post("/api/v1/things/", {"value": 7}, format="json")
    fingerprint = request_fingerprint(APIView().initialize_request(request))
    client = make_client(scopes=["inventory:write"])
    IdempotencyRecord.objects.create(
        scope=client.api_key.prefix, key="k-1", request_hash=fingerprint
    )
    response = post(CountingView, {"value": 7}, key="k-1", raw_key=client.raw_key)
    assert response.status_code == 409
    assert problem_code(response) == "request_in_progress"
    assert response["Retry-After"] == "1"
    assert calls == []


def test_stale_in_flight_record_is_taken_over(make_client):
    client = make_client(scopes=["inventory:write"])
    request = factory.post("/api/v1/things/", {"value": 7}, format="json")
    fingerprint = request_fingerprint(APIView().initialize_request(request))
    record = IdempotencyRecord.objects.create(
        scope=client.api_key.prefix, key="k-1", request_hash=fingerprint
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    )
    response = post(CountingView, {"value": 7}, key="k-1", raw_key=client.raw_key)
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().is_complete is True


def test_client_error_is_stored_and_replayed(api_key):
    first = post(CountingView, {"fail": "conflict"}, key="k-2", raw_key=api_key)
    second = post(CountingView, {"fail": "conflict"}, key="k-2", raw_key=api_key)
    assert first.status_code == second.status_code == 409
    assert problem_code(first) == problem_code(second) == "conflict"
    assert second["Idempotent-Replayed"] == "true"
    assert len(calls) == 1


def test_a_refused_request_does_not_use_the_key_up(api_key):
    """A 400 wrote nothing: the client may fix the body and send it under the same key."""
    first = post(CountingView, {"fail": "invalid"}, key="k-5", raw_key=api_key)
    assert first.status_code == 400
    assert IdempotencyRecord.objects.count() == 0
    fixed = post(CountingView, {"value": 1}, key="k-5", raw_key=api_key)
    assert fixed.status_code == 201
    replayed = post(CountingView, {"value": 1}, key="k-5", raw_key=api_key)
    assert replayed["Idempotent-Replayed"] == "true"
    assert len(calls) == 2


def test_unhandled_exception_frees_the_key_for_a_retry(api_key):
    first = post(CountingView, {"fail": "crash"}, key="k-3", raw_key=api_key)
    assert first.status_code == 500
    assert IdempotencyRecord.objects.count() == 0
    post(CountingView, {"fail": "crash"}, key="k-3", raw_key=api_key)
    assert len(calls) == 2


def test_server_error_response_frees_the_key(api_key):
    assert post(CountingView, {"fail": "server"}, key="k-4", raw_key=api_key).status_code == 503
    assert IdempotencyRecord.objects.count() == 0


def test_keys_are_scoped_per_api_key(make_client):
    first = make_client(scopes=["inventory:write"]).raw_key
    second = make_client(scopes=["inventory:write"]).raw_key
    assert post(CountingView, {"value": 1}, key="shared", raw_key=first).data["call"] == 1
    assert post(CountingView, {"value": 1}, key="shared", raw_key=second).data["call"] == 2
    assert IdempotencyRecord.objects.count() == 2


def test_staff_session_scope_is_user_id(admin_user):
    response = post(CountingView, {"value": 1}, key="k-5", user=admin_user)
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().scope == f"user:{admin_user.pk}"


@pytest.mark.parametrize("key", ["x" * 256, "line\nbreak"])
def test_invalid_key_is_400(api_key, key):
    response = post(CountingView, {"value": 1}, key=key, raw_key=api_key)
    assert response.status_code == 400
    assert problem_code(response) == "idempotency_key_invalid"
    assert calls == []


def test_cleanup_deletes_only_expired_records(settings):
    settings.OMS_IDEMPOTENCY_RETENTION_HOURS = 24
    old = IdempotencyRecord.objects.create(scope="a", key="old", request_hash="h")
    fresh = IdempotencyRecord.objects.create(scope="a", key="fresh", request_hash="h")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency_cleanup() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]

