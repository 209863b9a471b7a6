"""The OpenAPI schema describes what the server really answers.

One realistic scenario (paid, unpaid, pickup and split orders, fulfillment orders, shipments,
returns and refunds, stock, customers, subscriptions, purchase orders, webhooks, checkouts,
routing decisions, the accounting journal) is built from the usual fixtures; every response
body the API gives for it is validated with `jsonschema` against the schema drf-spectacular
generates for that operation and status code. Objects are checked strictly: a field the server
sends but the schema does not declare is a mismatch too.
"""

import copy
import functools
import json
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from oms_project.webhooks import webhook_subscription_create
from orders.models import FulfillmentOrder, Order, RoutingDecision
from orders.services import order_create
from orders.services.api_keys import KNOWN_SCOPES
from orders.services.routing_config import routing_config_forget
from orders.subscriptions.services import subscription_create
from tests.factories import CustomerFactory
from tests.factories.purchasing import SupplierFactory, SupplierProductFactory
from tests.inventory.test_product_apis import valid_product
from tests.orders import conftest as order_fixtures
from tests.orders.conftest import order_data
from tests.orders.test_subscription_support import subscription_data
from tests.returns.conftest import deliver_order, lines_by_sku
from tests.warehouses.test_apis import valid_payload as valid_warehouse

pytestmark = pytest.mark.django_db

API = "/api/v1"
SCHEMA_URI = "urn:oms:openapi"

# The order tests' fixtures: a web channel with EAST, WEST and a pickup store, and stock.
shop = order_fixtures.shop
stock = order_fixtures.stock


# --- The schema, as JSON Schema --------------------------------------------------------------


def _to_json_schema(node):
    """Turn an OpenAPI 3.0 schema object into JSON Schema 2020-12, strict about objects."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_json_schema(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        if "type" in node and not any(key in node for key in ("$ref", "allOf", "oneOf", "anyOf")):
            node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value) -> bool:
    """An absolute URI, as OpenAPI's `format: uri` means (jsonschema checks it only with an
    optional package installed)."""
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path)) and " " not in value


@functools.cache
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def _registry() -> Registry:
    document = {"components": _to_json_schema(copy.deepcopy(openapi()["components"]))}
    return Registry().with_resource(SCHEMA_URI, Resource(document, specification=DRAFT202012))


def _response_schema(method: str, path_template: str, status: int, media_type: str) -> dict:
    operations = openapi()["paths"].get(path_template)
    assert operations is not None, f"{path_template} is not in the schema"
    operation = operations.get(method.lower())
    assert operation is not None, f"{method} {path_template} is not in the schema"
    responses = operation["responses"]
    declared = responses.get(str(status))
    assert declared is not None, (
        f"{method} {path_template} answered {status}, which the schema does not declare "
        f"(declared: {sorted(responses)})"
    )
    content = declared.get("content")
    assert content, f"{method} {path_template} {status} has a body the schema says it has not"
    assert media_type in content, (
        f"{method} {path_template} {status} answered {media_type}, declared {sorted(content)}"
    )
    return _to_json_schema(copy.deepcopy(content[media_type].get("schema", {})))


def _declared_headers(method: str, path_template: str, status: int) -> set[str]:
    operation = openapi()["paths"][path_template][method.lower()]
    return set(operation["responses"][str(status)].get("headers", {}))


def _rebase_refs(node):
    """Point `#/components/...` references at the registered components document."""
    if isinstance(node, list):
        return [_rebase_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (f"{SCHEMA_URI}{value}" if key == "$ref" and value.startswith("#/") else
              _rebase_refs(value))
        for key, value in node.items()
    }


def assert_conforms(response, method: str, path_template: str):
    """Assert the response's body matches the schema of its operation and status code.

    `path_template` is the schema's path without the `/api/v1` prefix, e.g.
    `/orders/{number}/`. Returns the decoded body.
    """
    path_template = f"{API}{path_template}"
    media_type = response["Content-Type"].split(";")[0].strip()
    schema = _rebase_refs(_response_schema(method, path_template, response.status_code, media_type))
    if response.status_code in (201, 202):
        declared = "Location" in _declared_headers(method, path_template, response.status_code)
        assert response.has_header("Location") == declared, (
            f"{method} {path_template} {response.status_code}: Location sent "
            f"{response.has_header('Location')}, declared {declared}"
        )
        if declared:
            assert _is_uri(response["Location"]), response["Location"]
    body = json.loads(response.content)
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=FORMATS)
    errors = sorted(validator.iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, f"{method} {path_template} {response.status_code} does not match:\n" + (
        "\n".join(
            f"  at {'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:300]}"
            for error in errors[:20]
        )
    )
    return body


# --- The scenario --------------------------------------------------------------------------


def post(client, path: str, body=None, *, key: str | None = "auto"):
    headers = {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = str(uuid.uuid4()) if key == "auto" else key
    return client.post(f"{API}{path}", body if body is not None else {}, format="json", **headers)


def get(client, path: str):
    return client.get(f"{API}{path}")


@pytest.fixture
def world(shop, stock, make_client):
    """The `web` channel's world: a channel key (`web`), a back-office key holding every scope
    (`office`), stock, and orders paid (at EAST), unpaid (no fulfillment order yet), for pickup
    at STORE1, split over EAST and WEST, and delivered (`tests.returns.conftest`)."""
    stock("A", "EAST", 30)
    stock("A", "WEST", 30)
    stock("B", "EAST", 3)
    stock("B", "WEST", 10)
    stock("A", "STORE1", 5)
    stock("C", "EAST", 3)
    stock("C", "WEST", 3)
    channel = shop["channel"]
    paid = order_create(channel=channel, data=order_data(channel_order_id="PAID"), actor="test")
    unpaid_data = order_data(channel_order_id="UNPAID")
    del unpaid_data["payment"]
    unpaid = order_create(channel=channel, data=unpaid_data, actor="test")
    pickup = order_create(
        channel=channel,
        data=order_data(
            channel_order_id="PICKUP", fulfillment_method="pickup", pickup_location="STORE1",
            notify_customer=False,  # so that ready-for-pickup answers with the code
        ),
        actor="test",
    )
    split = order_create(
        channel=channel,
        data=order_data(
            channel_order_id="SPLIT",
            lines=[{"sku": "C", "quantity": 5, "unit_price": Decimal("10.00")}],
            payment={"method": "card", "amount": Decimal("57.00"), "status": "captured",
                     "reference": "pay-split"},
        ),
        actor="test",
    )
    delivered = deliver_order(shop, stock, channel_order_id="DELIVERED")
    customer = CustomerFactory(email="bo@example.com")
    return {
        "shop": shop,
        "web": make_client(channel=channel, name="web shop"),
        "office": make_client(scopes=sorted(KNOWN_SCOPES), name="back office"),
        "paid": paid,
        "unpaid": unpaid,
        "pickup": pickup,
        "split": split,
        "delivered": delivered,
        "customer": customer,
    }


def fulfillment_of(order: Order) -> FulfillmentOrder:
    return FulfillmentOrder.objects.filter(order=order).order_by("pk").first()


def first_result(body: dict) -> dict:
    assert body["results"], "the list is empty, so its items were not checked"
    return body["results"][0]


# --- Orders --------------------------------------------------------------------------------


def test_order_reads_conform(world):
    web, office = world["web"], world["office"]
    for client in (web, office):
        listed = assert_conforms(get(client, "/orders/?limit=50"), "GET", "/orders/")
        assert len(listed["results"]) == 5
    for name in ("paid", "unpaid", "pickup", "split", "delivered"):
        number = world[name].number
        for client in (web, office):
            assert_conforms(get(client, f"/orders/{number}/"), "GET", "/orders/{number}/")
        assert_conforms(
            get(office, f"/orders/{number}/fulfillment/"), "GET", "/orders/{number}/fulfillment/"
        )
        assert_conforms(
            get(web, f"/orders/{number}/returns/"), "GET", "/orders/{number}/returns/"
        )


def test_order_writes_conform(world):
    web = world["web"]
    created = post(web, "/orders/", order_data(channel_order_id="API-1"))
    assert created.status_code == 201, created.content
    assert_conforms(created, "POST", "/orders/")
    unpaid = world["unpaid"].number
    paid = post(web, f"/orders/{unpaid}/payments/",
                {"method": "card", "amount": "27.00", "status": "captured", "reference": "p-2"})
    assert_conforms(paid, "POST", "/orders/{number}/payments/")
    number = world["paid"].number
    held = post(web, f"/orders/{number}/hold/", {"reason": "address_issue"})
    assert_conforms(held, "POST", "/orders/{number}/hold/")
    released = post(web, f"/orders/{number}/release-hold/", {"note": "fixed"})
    assert_conforms(released, "POST", "/orders/{number}/release-hold/")
    address = {**order_data()["shipping_address"], "line1": "2 Main St"}
    moved = post(web, f"/orders/{number}/shipping-address/", {"shipping_address": address})
    assert_conforms(moved, "POST", "/orders/{number}/shipping-address/")
    line = world["paid"].lines.get()
    shipped = post(web, f"/orders/{number}/shipments/", {
        "reference": "S-1", "service_level": "ground", "tracking_number": "1Z9",
        "warehouse": "EAST", "lines": [{"line_id": line.pk, "quantity": 1}],
    })
    assert shipped.status_code == 201, shipped.content
    assert_conforms(shipped, "POST", "/orders/{number}/shipments/")
    cancelled = post(web, f"/orders/{created.json()['number']}/cancel/", {"reason": "fraud"})
    assert_conforms(cancelled, "POST", "/orders/{number}/cancel/")
    bulk = post(web, "/orders/bulk/", {"orders": [order_data(channel_order_id="API-2")]})
    assert bulk.status_code == 200, bulk.content
    assert_conforms(bulk, "POST", "/orders/bulk/")
    bulk_cancel = post(web, "/orders/bulk-cancel/", {"numbers": [world["unpaid"].number, "NOPE"]})
    assert_conforms(bulk_cancel, "POST", "/orders/bulk-cancel/")


# --- Fulfillment ---------------------------------------------------------------------------


def test_fulfillment_reads_conform(world):
    office, web = world["office"], world["web"]
    for client in (office, web):
        listed = assert_conforms(get(client, "/fulfillment-orders/?limit=50"), "GET",
                                 "/fulfillment-orders/")
        assert len(listed["results"]) == 5  # the split order has two; the unpaid one none
    for item in listed["results"]:
        assert_conforms(get(office, f"/fulfillment-orders/{item['id']}/"), "GET",
                        "/fulfillment-orders/{id}/")
    decisions = assert_conforms(get(office, "/routing-decisions/"), "GET", "/routing-decisions/")
    decision = first_result(decisions)
    assert_conforms(get(office, f"/routing-decisions/{decision['id']}/"), "GET",
                    "/routing-decisions/{id}/")
    assert RoutingDecision.objects.exists()


def test_fulfillment_work_conforms(world):
    office = world["office"]
    base = f"/fulfillment-orders/{fulfillment_of(world['paid']).pk}"
    assert_conforms(post(office, f"{base}/pick/"), "POST", "/fulfillment-orders/{id}/pick/")
    packed = post(office, f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2}]})
    assert_conforms(packed, "POST", "/fulfillment-orders/{id}/pack/")
    shipped = post(office, f"{base}/ship/", {"tracking_number": "1Z1"})
    assert_conforms(shipped, "POST", "/fulfillment-orders/{id}/ship/")
    again = post(office, f"{base}/pick/")
    assert again.status_code == 409
    assert_conforms(again, "POST", "/fulfillment-orders/{id}/pick/")


def test_pickup_and_reroute_conform(world):
    office = world["office"]
    base = f"/fulfillment-orders/{fulfillment_of(world['pickup']).pk}"
    post(office, f"{base}/pick/")
    post(office, f"{base}/pack/", {"items": [{"sku": "A", "quantity": 2}]})
    ready = post(office, f"{base}/ready-for-pickup/")
    assert ready.status_code == 200, ready.content
    body = assert_conforms(ready, "POST", "/fulfillment-orders/{id}/ready-for-pickup/")
    wrong = post(office, f"{base}/collect/", {"code": "00000000"})
    assert wrong.status_code == 400, wrong.content
    assert_conforms(wrong, "POST", "/fulfillment-orders/{id}/collect/")
    collected = post(office, f"{base}/collect/", {"code": body["pickup_code"]})
    assert collected.status_code == 200, collected.content
    assert_conforms(collected, "POST", "/fulfillment-orders/{id}/collect/")
    rerouted = post(office, f"/fulfillment-orders/{fulfillment_of(world['paid']).pk}/reroute/",
                    {"warehouse": "WEST", "reason": "EAST closed"})
    assert rerouted.status_code == 200, rerouted.content
    assert_conforms(rerouted, "POST", "/fulfillment-orders/{id}/reroute/")
    held = post(office, f"/fulfillment-orders/{fulfillment_of(world['split']).pk}/hold/",
                {"reason": "damaged"})
    assert_conforms(held, "POST", "/fulfillment-orders/{id}/hold/")
    released = post(office, f"/fulfillment-orders/{fulfillment_of(world['split']).pk}/release/")
    assert_conforms(released, "POST", "/fulfillment-orders/{id}/release/")


# --- Shipments and stock -------------------------------------------------------------------


def test_shipment_reads_and_writes_conform(world):
    office, web = world["office"], world["web"]
    west = FulfillmentOrder.objects.get(order=world["split"], warehouse__code="WEST")
    base = f"/fulfillment-orders/{west.pk}"
    post(office, f"{base}/pick/")
    post(office, f"{base}/pack/", {"items": [{"sku": "C", "quantity": west.lines.get().quantity}]})
    assert post(office, f"{base}/ship/").status_code == 200  # a shipment without tracking
    line = world["paid"].lines.get()
    bare = post(web, f"/orders/{world['paid'].number}/shipments/", {
        "reference": "S-BARE", "lines": [{"line_id": line.pk, "quantity": 1}]})
    assert bare.status_code == 201, bare.content  # no warehouse, service level or tracking
    assert_conforms(bare, "POST", "/orders/{number}/shipments/")
    for client in (office, web):
        listed = assert_conforms(get(client, "/shipments/"), "GET", "/shipments/")
    shipment = first_result(listed)
    assert_conforms(get(office, f"/shipments/{shipment['id']}/"), "GET", "/shipments/{id}/")
    tracked = post(office, f"/shipments/{shipment['id']}/tracking/", {"tracking_number": "1Z7"})
    assert_conforms(tracked, "POST", "/shipments/{id}/tracking/")
    event = post(office, f"/shipments/{shipment['id']}/events/", {
        "status": "in_transit", "time": timezone.now().isoformat(), "location": "Hub",
    })
    assert event.status_code == 201, event.content
    assert_conforms(event, "POST", "/shipments/{id}/events/")


def test_stock_reads_and_adjustments_conform(world):
    office, web = world["office"], world["web"]
    for client in (office, web):
        listed = assert_conforms(get(client, "/stock-levels/"), "GET", "/stock-levels/")
        level = first_result(listed)
        assert_conforms(get(client, f"/stock-levels/{level['id']}/"), "GET",
                        "/stock-levels/{id}/")
        summary = assert_conforms(get(client, "/stock-levels/summary/"), "GET",
                                  "/stock-levels/summary/")
        first_result(summary)
        available = get(client, "/availability/?channel=web&skus=A,B,NOPE&breakdown=1")
        assert_conforms(available, "GET", "/availability/")
    adjusted = post(office, "/inventory/adjustments/", {"items": [
        {"sku": "A", "warehouse": "EAST", "delta": 2, "reason": "receipt"},
        {"sku": "NOPE", "warehouse": "EAST", "delta": 1, "reason": "receipt"},
    ]})
    assert adjusted.status_code == 200, adjusted.content
    assert_conforms(adjusted, "POST", "/inventory/adjustments/")
    keyless = post(office, "/inventory/adjustments/", {"items": []}, key=None)
    assert keyless.status_code == 400
    assert_conforms(keyless, "POST", "/inventory/adjustments/")
    transfer = post(office, "/transfers/", {
        "source": "EAST", "destination": "WEST", "lines": [{"sku": "A", "quantity": 1}]})
    assert transfer.status_code == 201, transfer.content
    number = assert_conforms(transfer, "POST", "/transfers/")["number"]
    shipped = post(office, f"/transfers/{number}/ship/")
    assert_conforms(shipped, "POST", "/transfers/{number}/ship/")
    received = post(office, f"/transfers/{number}/receive/")
    assert_conforms(received, "POST", "/transfers/{number}/receive/")
    assert_conforms(get(office, "/transfers/"), "GET", "/transfers/")
    assert_conforms(get(office, f"/transfers/{number}/"), "GET", "/transfers/{number}/")


# --- Returns and refunds -------------------------------------------------------------------


def test_return_flow_conforms(world):
    web, office = world["web"], world["office"]
    lines = lines_by_sku(world["delivered"])
    opened = post(web, "/returns/", {"order": world["delivered"].number, "lines": [
        {"line_id": lines["A"].pk, "quantity": 1, "reason": "defective"}]})
    assert opened.status_code == 201, opened.content
    number = assert_conforms(opened, "POST", "/returns/")["number"]
    assert_conforms(post(office, f"/returns/{number}/approve/"), "POST",
                    "/returns/{number}/approve/")
    received = post(office, f"/returns/{number}/receive/", {"lines": [
        {"line_id": lines["A"].pk, "condition": "resellable", "quantity": 1, "location": "EAST"}]})
    assert_conforms(received, "POST", "/returns/{number}/receive/")
    assert_conforms(get(office, f"/returns/{number}/refund-quote/"), "GET",
                    "/returns/{number}/refund-quote/")
    refunded = post(office, f"/returns/{number}/refund/")
    assert refunded.status_code == 201, refunded.content
    assert_conforms(refunded, "POST", "/returns/{number}/refund/")
    for client in (web, office):
        assert_conforms(get(client, "/returns/"), "GET", "/returns/")
        assert_conforms(get(client, f"/returns/{number}/"), "GET", "/returns/{number}/")
    refunds = assert_conforms(get(office, "/refunds/"), "GET", "/refunds/")
    assert_conforms(get(office, f"/refunds/{first_result(refunds)['number']}/"), "GET",
                    "/refunds/{number}/")
    second = post(web, "/returns/", {"order": world["delivered"].number, "lines": [
        {"line_id": lines["B"].pk, "quantity": 1, "reason": "defective"}]}).json()["number"]
    assert_conforms(post(office, f"/returns/{second}/reject/", {"reason": "worn"}), "POST",
                    "/returns/{number}/reject/")
    third = post(web, "/returns/", {"order": world["delivered"].number, "lines": [
        {"line_id": lines["B"].pk, "quantity": 1, "reason": "defective"}]}).json()["number"]
    assert_conforms(post(web, f"/returns/{third}/cancel/"), "POST", "/returns/{number}/cancel/")
    assert_conforms(post(office, f"/returns/{number}/close/"), "POST", "/returns/{number}/close/")
    goodwill = post(office, "/refunds/", {
        "order": world["delivered"].number, "kind": "goodwill", "amount": "5.00",
        "reason": "Late", "method": "store_credit", "processor_reference": "gc-1"})
    assert goodwill.status_code == 201, goodwill.content
    assert_conforms(goodwill, "POST", "/refunds/")


# --- Catalogue, customers, back office -------------------------------------------------------


def test_catalogue_and_customers_conform(world):
    web, office = world["web"], world["office"]
    for client in (web, office):
        assert_conforms(get(client, "/products/"), "GET", "/products/")
        assert_conforms(get(client, "/products/A/"), "GET", "/products/{sku}/")
        assert_conforms(get(client, "/warehouses/"), "GET", "/warehouses/")
        customers = assert_conforms(get(client, "/customers/"), "GET", "/customers/")
        customer = first_result(customers)["id"]
        assert_conforms(get(client, f"/customers/{customer}/"), "GET", "/customers/{id}/")
        assert_conforms(get(client, f"/customers/{customer}/orders/"), "GET",
                        "/customers/{customer_id}/orders/")
    assert_conforms(get(office, "/warehouses/EAST/"), "GET", "/warehouses/{code}/")
    carriers = assert_conforms(get(office, "/carriers/"), "GET", "/carriers/")
    assert_conforms(get(office, f"/carriers/{first_result(carriers)['code']}/"), "GET",
                    "/carriers/{code}/")
    created = post(web, "/customers/", {"email": "new@example.com", "first_name": "New"})
    assert created.status_code == 201, created.content
    assert_conforms(created, "POST", "/customers/")
    known = post(web, "/customers/", {"email": "bo@example.com"})
    assert_conforms(known, "POST", "/customers/")


def test_back_office_writes_conform(world):
    office, web = world["office"], world["web"]
    warehouse = post(office, "/warehouses/", valid_warehouse())
    assert warehouse.status_code == 201, warehouse.content
    assert_conforms(warehouse, "POST", "/warehouses/")
    changed = office.patch(f"{API}/warehouses/RENO-1/", {"priority": 6}, format="json")
    assert_conforms(changed, "PATCH", "/warehouses/{code}/")
    product = post(office, "/products/", valid_product())
    assert product.status_code == 201, product.content
    assert_conforms(product, "POST", "/products/")
    renamed = office.patch(f"{API}/products/TEE-RED-M/", {"name": "Red tee"}, format="json")
    assert_conforms(renamed, "PATCH", "/products/{sku}/")
    supplier = post(office, "/suppliers/", {
        "code": "BOLT", "name": "Bolt Ltd", "contact_emails": "po@bolt.test", "currency": "USD"})
    assert supplier.status_code == 201, supplier.content
    assert_conforms(supplier, "POST", "/suppliers/")
    offer = post(office, "/supplier-products/", {
        "supplier": "BOLT", "sku": "A", "supplier_sku": "B-A", "unit_cost": "2.5000"})
    assert offer.status_code == 201, offer.content
    assert_conforms(offer, "POST", "/supplier-products/")
    customer = world["customer"]
    edited = office.patch(f"{API}/customers/{customer.pk}/", {"first_name": "Bo"}, format="json")
    assert_conforms(edited, "PATCH", "/customers/{id}/")
    line = world["paid"].lines.get()
    camel = post(web, "/orders/shipments/", {"orderId": world["paid"].number, "shipments": [{
        "shipmentRef": "PKG-1", "shipmentCarrier": "UPS", "trackingNumber": "1Z999",
        "shipmentCarrierUrl": "https://ups.example/track/1Z999",
        "lineItems": [{"lineItemId": line.pk, "quantity": 1}], "shipmentStatus": "in_transit",
    }]})
    assert camel.status_code == 201, camel.content
    assert_conforms(camel, "POST", "/orders/shipments/")


def test_subscriptions_conform(world):
    web = world["web"]
    subscription_create(channel=world["shop"]["channel"], data=subscription_data(), actor="test")
    listed = assert_conforms(get(web, "/subscriptions/"), "GET", "/subscriptions/")
    identifier = first_result(listed)["id"]
    assert_conforms(get(web, f"/subscriptions/{identifier}/"), "GET", "/subscriptions/{id}/")
    paused = post(web, f"/subscriptions/{identifier}/pause/")
    assert_conforms(paused, "POST", "/subscriptions/{id}/pause/")
    resumed = post(web, f"/subscriptions/{identifier}/resume/")
    assert_conforms(resumed, "POST", "/subscriptions/{id}/resume/")
    skipped = post(web, f"/subscriptions/{identifier}/skip-next/")
    assert_conforms(skipped, "POST", "/subscriptions/{id}/skip-next/")
    changed = web.patch(f"{API}/subscriptions/{identifier}/", {"shipping_method": "ground"},
                        format="json", HTTP_IDEMPOTENCY_KEY="patch-1")
    assert_conforms(changed, "PATCH", "/subscriptions/{id}/")
    cancelled = post(web, f"/subscriptions/{identifier}/cancel/", {"reason": "Moving abroad"})
    assert_conforms(cancelled, "POST", "/subscriptions/{id}/cancel/")
    start = (timezone.localdate() + timedelta(days=3)).isoformat()
    created = post(web, "/subscriptions/", {
        **{key: value for key, value in subscription_data().items() if key not in (
            "local_time", "start_date", "tax_total")},
        "local_time": "09:00", "start_date": start,
    })
    assert created.status_code == 201, created.content
    assert_conforms(created, "POST", "/subscriptions/")


def test_purchasing_conforms(world):
    office = world["office"]
    supplier = SupplierFactory(code="ACME")
    for sku in ("A", "B"):
        SupplierProductFactory(supplier=supplier, product=world["shop"]["products"][sku])
    assert_conforms(get(office, "/suppliers/"), "GET", "/suppliers/")
    assert_conforms(get(office, "/suppliers/ACME/"), "GET", "/suppliers/{code}/")
    products = assert_conforms(get(office, "/supplier-products/"), "GET", "/supplier-products/")
    assert_conforms(get(office, f"/supplier-products/{first_result(products)['id']}/"), "GET",
                    "/supplier-products/{id}/")
    created = post(office, "/purchase-orders/", {
        "supplier": "ACME", "warehouse": "EAST", "lines": [{"sku": "A", "quantity": 10}]})
    assert created.status_code == 201, created.content
    number = assert_conforms(created, "POST", "/purchase-orders/")["number"]
    assert_conforms(post(office, f"/purchase-orders/{number}/send/"), "POST",
                    "/purchase-orders/{number}/send/")
    received = post(office, f"/purchase-orders/{number}/receipts/",
                    {"reference": "DN-1", "lines": [{"sku": "A", "quantity_received": 4}]})
    assert received.status_code == 201, received.content
    assert_conforms(received, "POST", "/purchase-orders/{number}/receipts/")
    close = post(office, f"/purchase-orders/{number}/close/", {"reason": "The rest is not coming"})
    assert_conforms(close, "POST", "/purchase-orders/{number}/close/")
    draft = post(office, "/purchase-orders/", {
        "supplier": "ACME", "warehouse": "WEST", "lines": [{"sku": "B", "quantity": 3}]})
    draft_number = draft.json()["number"]
    lines = post(office, f"/purchase-orders/{draft_number}/lines/", {"sku": "A", "quantity": 6})
    assert_conforms(lines, "POST", "/purchase-orders/{number}/lines/")
    later = (timezone.localdate() + timedelta(days=20)).isoformat()
    dated = post(office, f"/purchase-orders/{draft_number}/expected-date/",
                 {"expected_date": later})
    assert_conforms(dated, "POST", "/purchase-orders/{number}/expected-date/")
    assert_conforms(post(office, f"/purchase-orders/{draft_number}/cancel/"), "POST",
                    "/purchase-orders/{number}/cancel/")
    assert_conforms(post(office, "/purchase-orders/suggest/"), "POST", "/purchase-orders/suggest/")
    assert_conforms(get(office, "/purchase-orders/"), "GET", "/purchase-orders/")
    assert_conforms(get(office, f"/purchase-orders/{number}/"), "GET",
                    "/purchase-orders/{number}/")


def test_webhooks_and_journal_conform(world, settings):
    settings.OMS_WEBHOOK_ALLOW_INTERNAL_URLS = True
    office = world["office"]
    created = post(office, "/webhooks/subscriptions/", {
        "name": "ERP", "url": "http://127.0.0.1:9/oms", "events": ["order.*"]})
    assert created.status_code == 201, created.content
    identifier = assert_conforms(created, "POST", "/webhooks/subscriptions/")["id"]
    changed = office.patch(f"{API}/webhooks/subscriptions/{identifier}/", {"is_active": False},
                           format="json")
    assert_conforms(changed, "PATCH", "/webhooks/subscriptions/{id}/")
    subscription = webhook_subscription_create(
        name="WMS", url="http://127.0.0.1:9/wms", events=["order.*"], secret="s" * 32
    )
    assert_conforms(get(office, "/webhooks/subscriptions/"), "GET", "/webhooks/subscriptions/")
    assert_conforms(get(office, f"/webhooks/subscriptions/{subscription.pk}/"), "GET",
                    "/webhooks/subscriptions/{id}/")
    assert_conforms(get(office, "/webhooks/deliveries/"), "GET", "/webhooks/deliveries/")
    today = timezone.localdate().isoformat()
    assert_conforms(get(office, f"/accounting/journal/?date={today}"), "GET",
                    "/accounting/journal/")


def test_checkouts_conform(world):
    web = world["web"]
    opened = post(web, "/checkouts/", {"lines": [{"sku": "A", "quantity": 1}]})
    assert opened.status_code == 201, opened.content
    token = assert_conforms(opened, "POST", "/checkouts/")["token"]
    assert_conforms(get(web, f"/checkouts/{token}/"), "GET", "/checkouts/{token}/")
    completed = post(web, f"/checkouts/{token}/complete/", order_data(
        channel_order_id="CHK-1",
        lines=[{"sku": "A", "quantity": 1, "unit_price": Decimal("10.00")}],
        payment={"method": "card", "amount": Decimal("17.00"), "status": "captured",
                 "reference": "pay-chk"}))
    assert completed.status_code == 201, completed.content
    assert_conforms(completed, "POST", "/checkouts/{token}/complete/")
    other = post(web, "/checkouts/", {"lines": [{"sku": "A", "quantity": 1}]}).json()["token"]
    assert_conforms(post(web, f"/checkouts/{other}/cancel/"), "POST",
                    "/checkouts/{token}/cancel/")


def test_location_of_what_was_created_reads_it_back_also_when_replayed(world):
    web, office = world["web"], world["office"]
    body = order_data(channel_order_id="LOC-1")
    created = post(web, "/orders/", body, key="loc-1")
    replayed = post(web, "/orders/", body, key="loc-1")
    assert replayed["Idempotent-Replayed"] == "true"
    assert created["Location"] == replayed["Location"]
    number = created.json()["number"]
    assert urlsplit(created["Location"]).path == f"{API}/orders/{number}/"
    assert web.get(created["Location"]).json()["number"] == number

    token = post(web, "/checkouts/", {"lines": [{"sku": "A", "quantity": 1}]}).json()["token"]
    completed = post(web, f"/checkouts/{token}/complete/", order_data(
        channel_order_id="LOC-2",
        lines=[{"sku": "A", "quantity": 1, "unit_price": Decimal("10.00")}],
        payment={"method": "card", "amount": Decimal("17.00"), "status": "captured",
                 "reference": "pay-loc"}))
    assert completed.status_code == 201, completed.content
    assert web.get(completed["Location"]).json()["channel_order_id"] == "LOC-2"

    supplier = post(office, "/suppliers/", {
        "code": "LOC", "name": "Loc Supplies", "contact_emails": "po@loc.example"})
    assert supplier.status_code == 201, supplier.content
    assert office.get(supplier["Location"]).json()["code"] == "LOC"
    # Answers that are not a creation name no location.
    assert not post(web, f"/orders/{number}/hold/", {"reason": "address_issue"}).has_header(
        "Location"
    )


# --- Problem answers -----------------------------------------------------------------------


def test_problem_answers_conform(world):
    web = world["web"]
    world["shop"]["channel"].shortage_policy = "reject"
    world["shop"]["channel"].save()
    routing_config_forget()
    invalid = post(web, "/orders/", {"lines": []})
    assert invalid.status_code == 400
    assert_conforms(invalid, "POST", "/orders/")
    short = post(web, "/orders/", order_data(
        channel_order_id="SHORT", lines=[{"sku": "C", "quantity": 10, "unit_price": "2.00"}]))
    assert short.status_code == 409, short.content
    assert_conforms(short, "POST", "/orders/")
    number = world["paid"].number
    data = order_data(channel_order_id="PAID")
    duplicate = post(web, "/orders/", data)
    assert duplicate.status_code == 409, duplicate.content
    assert_conforms(duplicate, "POST", "/orders/")
    key = str(uuid.uuid4())
    post(web, "/orders/", order_data(channel_order_id="KEY-1"), key=key)
    reused = post(web, "/orders/", order_data(channel_order_id="KEY-2"), key=key)
    assert reused.status_code == 422, reused.content
    assert_conforms(reused, "POST", "/orders/")
    unknown_checkout = post(web, "/checkouts/", {"lines": [{"sku": "C", "quantity": 999}]})
    assert unknown_checkout.status_code == 409
    assert_conforms(unknown_checkout, "POST", "/checkouts/")
    address = post(web, f"/orders/{number}/shipping-address/", {"shipping_address": {}})
    assert address.status_code == 400
    assert_conforms(address, "POST", "/orders/{number}/shipping-address/")


# --- Declared constraints --------------------------------------------------------------------


def operations():
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_idempotency_keys_are_declared_with_their_bounds():
    declared = {
        name: parameter
        for name, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    }
    assert {f"POST {API}{path}" for path in (
        "/orders/", "/orders/{number}/payments/", "/orders/{number}/cancel/",
        "/orders/{number}/shipments/", "/inventory/adjustments/", "/checkouts/",
        "/refunds/", "/purchase-orders/{number}/receipts/",
    )} <= set(declared)
    for name, parameter in declared.items():
        assert parameter["in"] == "header", name
        assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}, name
    assert declared[f"POST {API}/inventory/adjustments/"]["required"] is True
    receipt = declared[f"POST {API}/purchase-orders/{{number}}/receipts/"]
    assert receipt.get("required", False) is False
    assert "`reference`" in receipt["description"]


def test_page_sizes_are_bounded():
    limits = [
        (name, parameter["schema"])
        for name, operation in operations()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "limit"
    ]
    assert len(limits) > 10
    for name, schema in limits:
        assert (schema["minimum"], schema["maximum"]) == (1, 500), name


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("OrderCreateRequest", "lines"),
        ("BulkCreateRequest", "orders"),
        ("BulkCancelRequest", "numbers"),
        ("PackRequest", "items"),
        ("AdjustmentBatchRequest", "items"),
        ("PurchaseOrderCreateRequest", "lines"),
        ("ReceiptInputRequest", "lines"),
        ("ReturnCreateRequest", "lines"),
        ("TransferCreateRequest", "lines"),
        ("SubscriptionInputRequest", "events"),
    ],
)
def test_request_lists_that_refuse_empty_lists_say_so(component, field):
    schema = openapi()["components"]["schemas"][component]["properties"][field]
    assert schema["type"] == "array" and schema["minItems"] == 1


def test_idempotency_keys_are_required_exactly_where_the_server_requires_them():
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    paths = openapi()["paths"]
    checked = 0
    for path, _regex, method, callback in generator.endpoints:
        view = generator.create_view(callback, method)
        path = generator.coerce_path(path, method, view)
        if method.lower() not in paths.get(path, {}):
            continue  # the schema and docs views, which the schema leaves out
        handler = getattr(view, getattr(view, "action", None) or method.lower(), None)
        required = getattr(handler, "idempotency_key_required", None)
        parameters = paths[path][method.lower()].get("parameters", [])
        keys = [parameter for parameter in parameters if parameter["name"] == "Idempotency-Key"]
        if required is None:
            assert keys == [], f"{method} {path} declares a key it ignores"
            continue
        assert len(keys) == 1, f"{method} {path} takes an Idempotency-Key it does not declare"
        assert keys[0].get("required", False) is required, f"{method} {path}"
        checked += 1
    assert checked > 40
