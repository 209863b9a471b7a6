"""The OpenAPI schema and its docs page: served, valid, free of warnings, no CDN."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
OWNED_MODULES = (
    "oms_project/api.py", "oms_project/serializers.py", "warehouses/apis.py",
    "warehouses/serializers.py", "customers/apis.py", "customers/serializers.py",
)


@pytest.fixture(scope="module")
def schema_generation(tmp_path_factory) -> tuple[int, list[str]]:
    """Run `manage.py spectacular --validate` once; return its exit code and its problems."""
    output = tmp_path_factory.mktemp("schema") / "schema.yaml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--file", str(output)],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
    )
    problems = [
        line for line in result.stderr.splitlines()
        if re.search(r"\b(Warning|Error)\b", line) and not line.startswith(("Warnings:", "Errors:"))
    ]
    return result.returncode, problems


def test_schema_generation_succeeds(schema_generation):
    returncode, _ = schema_generation
    assert returncode == 0


def test_schema_has_no_warnings_from_core_warehouse_or_customer_apis(
    schema_generation,
):
    _, problems = schema_generation
    owned = [line for line in problems if any(module in line for module in OWNED_MODULES)]
    assert owned == []


def test_schema_has_no_warnings_at_all(schema_generation):
    _, problems = schema_generation
    assert problems == []


@pytest.mark.django_db
def test_schema_endpoint_serves_openapi(client):
    assert client.get("/api/v1/schema/").status_code == 200
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "OMS API"
    for path in ("/api/v1/warehouses/", "/api/v1/warehouses/{code}/", "/api/v1/carriers/",
                 "/api/v1/products/", "/api/v1/products/{sku}/", "/api/v1/stock-levels/",
                 "/api/v1/customers/", "/api/v1/customers/{id}/", "/api/v1/orders/",
                 "/api/v1/orders/{number}/"):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key issued in the admin or by `manage.py create_api_key`.",
    }
    parameters = {p["name"] for p in schema["paths"]["/api/v1/orders/"]["get"]["parameters"]}
    assert {"status", "channel", "placed_after", "placed_before", "email", "cursor",
            "limit"} <= parameters


@pytest.fixture
def unhashed_static(settings):
    """Serve static files without a collectstatic manifest, as `make run` does."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.mark.django_db
def test_docs_page_uses_only_local_assets(client, unhashed_static):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert re.findall(r"https?://", html) == []
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        if hasattr(served, "streaming_content"):
            b"".join(served.streaming_content)


@pytest.mark.django_db
def test_order_creation_documents_its_error_answers(client):
    schema = json.loads(client.get("/api/v1/schema/?format=json").content)
    single = schema["paths"]["/api/v1/orders/"]["post"]["responses"]
    bulk = schema["paths"]["/api/v1/orders/bulk/"]["post"]["responses"]
    assert set(single) == {"201", "400", "409", "422"}
    assert set(bulk) == {"200", "400", "409", "422"}
    for code in ("duplicate_order", "insufficient_stock", "request_in_progress"):
        assert code in single["409"]["description"]
    content = single["409"]["content"]
    assert list(content) == ["application/problem+json"]
    problem = content["application/problem+json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][problem]["properties"]) == {
        "type", "title", "status", "detail", "code", "errors",
    }
