"""Admin pages for products and stock, and stock adjustment through the ledger."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import (
    ImportJob,
    MovementReason,
    Product,
    StockLevel,
    StockMovement,
    StockReservation,
    Transfer,
    TransferLine,
)
from inventory.services import Hold, stock_allocate, stock_receive
from tests.factories import ProductFactory, StockLevelFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def stocked_level():
    """10 on hand, 4 of them allocated to an order line."""
    product = ProductFactory(sku="MUG-RED", name="Red mug", external_id="P-77", barcode="400123")
    warehouse = WarehouseFactory(code="RENO")
    stock_receive(product=product, warehouse=warehouse, quantity=10, reference="po:1")
    stock_allocate(
        holds=[
            Hold(
                product_id=product.pk,
                warehouse_id=warehouse.pk,
                quantity=4,
                reference="order_line:1",
            )
        ]
    )
    return StockLevel.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def inventory_records(stocked_level):
    transfer = Transfer.objects.create(
        number="TR-1", source=stocked_level.warehouse, destination=WarehouseFactory(code="SPARKS")
    )
    TransferLine.objects.create(transfer=transfer, product=stocked_level.product, quantity=2)
    job = ImportJob.objects.create(
        file="imports/stock.csv",
        filename="stock.csv",
        total_rows=10,
        processed_rows=5,
        errors=[{"row": 3, "message": "Unknown SKU <b>X</b>"}],
    )
    return {
        Product: stocked_level.product,
        StockLevel: stocked_level,
        StockMovement: stocked_level.movements.first(),
        StockReservation: stocked_level.reservations.get(),
        Transfer: transfer,
        ImportJob: job,
    }


@pytest.mark.parametrize(
    "model",
    [Product, StockLevel, StockMovement, StockReservation, Transfer, ImportJob],
    ids=lambda model: model.__name__,
)
def test_changelist_and_change_pages_render(admin_client, inventory_records, model):
    obj = inventory_records[model]
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [Product, StockLevel, Transfer], ids=lambda m: m.__name__)
def test_add_pages_render(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    "model", [StockMovement, StockReservation, ImportJob], ids=lambda m: m.__name__
)
def test_ledger_and_import_records_cannot_be_added(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 403


def test_movements_and_reservations_are_view_only(admin_client, inventory_records):
    movement = inventory_records[StockMovement]
    response = admin_client.post(
        admin_url(StockMovement, "change", movement.pk), {"delta_on_hand": 99}
    )
    assert response.status_code == 403
    reservation = inventory_records[StockReservation]
    response = admin_client.post(
        admin_url(StockReservation, "delete", reservation.pk), {"post": "yes"}
    )
    assert response.status_code == 403
    assert StockReservation.objects.filter(pk=reservation.pk).exists()


def test_import_job_page_escapes_row_errors(admin_client, inventory_records):
    response = admin_client.get(admin_url(ImportJob, "change", inventory_records[ImportJob].pk))
    assert b"Unknown SKU &lt;b&gt;X&lt;/b&gt;" in response.content
    assert b'<progress max="100" value="50">' in response.content


@pytest.mark.parametrize("term", ["MUG-RED", "mug-", "P-77", "400123", "Red m"])
def test_product_search_finds_by_sku_product_id_barcode_and_name(admin_client, term):
    ProductFactory(sku="MUG-RED", name="Red mug", external_id="P-77", barcode="400123")
    ProductFactory(sku="CUP-BLUE", name="Blue cup", external_id="P-78", barcode="400124")
    response = admin_client.get(admin_url(Product, "changelist"), {"q": term})
    assert [product.sku for product in response.context["cl"].result_list] == ["MUG-RED"]


@pytest.mark.parametrize("term", ["MUG-RED", "P-77", "400123", "Red mug"])
def test_stock_level_search_finds_by_product(admin_client, stocked_level, term):
    StockLevelFactory(product=ProductFactory(sku="CUP-BLUE", name="Blue cup"))
    response = admin_client.get(admin_url(StockLevel, "changelist"), {"q": term})
    assert list(response.context["cl"].result_list) == [stocked_level]


def test_stock_numbers_are_read_only_on_the_change_form(admin_client, stocked_level):
    response = admin_client.get(admin_url(StockLevel, "change", stocked_level.pk))
    form = response.context["adminform"].form
    assert "on_hand" not in form.fields
    assert "allocated" not in form.fields
    assert set(form.fields) == {"safety_stock", "reorder_point", "reorder_quantity"}


def test_saving_settings_does_not_touch_stock(admin_client, stocked_level):
    response = admin_client.post(
        admin_url(StockLevel, "change", stocked_level.pk),
        {"safety_stock": 2, "reorder_point": 3, "reorder_quantity": 20, "on_hand": 999},
    )
    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert (stocked_level.on_hand, stocked_level.allocated) == (10, 4)
    assert (stocked_level.safety_stock, stocked_level.reorder_point) == (2, 3)


def test_negative_safety_stock_is_refused(admin_client, stocked_level):
    response = admin_client.post(
        admin_url(StockLevel, "change", stocked_level.pk),
        {"safety_stock": -1, "reorder_point": 0, "reorder_quantity": 0},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    stocked_level.refresh_from_db()
    assert stocked_level.safety_stock == 0


def adjust(client, levels, **data):
    url = reverse("admin:inventory_stocklevel_adjust")
    ids = ",".join(str(level.pk) for level in levels)
    return client.post(f"{url}?ids={ids}", {"reason": "adjustment", "note": "cycle count", **data})


def test_adjust_action_opens_the_form_for_the_selected_levels(admin_client, stocked_level):
    response = admin_client.post(
        admin_url(StockLevel, "changelist"),
        {"action": "adjust_stock", "_selected_action": [stocked_level.pk]},
        follow=True,
    )
    assert response.status_code == 200
    [row] = response.context["table"]["rows"]
    assert row[:3] == [stocked_level.product.sku, "Red mug", stocked_level.warehouse.code]
    assert b"Red mug" in response.content
    assert b"Adjust 1 stock level" in response.content


def test_adjust_by_delta_writes_a_ledger_movement(admin_client, admin_user, stocked_level):
    response = adjust(admin_client, [stocked_level], mode="change", quantity="5")

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert (stocked_level.on_hand, stocked_level.allocated) == (15, 4)
    movement = stocked_level.movements.order_by("-id").first()
    assert (movement.delta_on_hand, movement.delta_allocated) == (5, 0)
    assert movement.reason == MovementReason.ADJUSTMENT
    assert movement.actor == f"admin:{admin_user.username}"
    assert movement.note == "cycle count"
    assert message_texts(response) == ["MUG-RED @ RENO: on hand 10 → 15."]


def test_adjust_to_a_counted_quantity_records_the_difference(admin_client, stocked_level):
    response = adjust(admin_client, [stocked_level], mode="set", quantity="7", reason="count")

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 7
    movement = stocked_level.movements.order_by("-id").first()
    assert (movement.delta_on_hand, movement.reason) == (-3, MovementReason.COUNT)
    assert movement.reference == "admin: cycle count"
    assert sum(stocked_level.movements.values_list("delta_on_hand", flat=True)) == 7


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"mode": "change", "quantity": "abc"}, "quantity", "Enter a whole number."),
        ({"mode": "change", "quantity": "2.5"}, "quantity", "Enter a whole number."),
        (
            {"mode": "change", "quantity": "0"},
            "quantity",
            "A change must add or remove at least one unit.",
        ),
        ({"mode": "set", "quantity": "-1"}, "quantity", "A counted quantity cannot be negative."),
        ({"mode": "change", "quantity": "1", "note": ""}, "note", "This field is required."),
        (
            {"mode": "sideways", "quantity": "1"},
            "mode",
            "Select a valid choice. sideways is not one of the available choices.",
        ),
    ],
)
def test_adjust_refuses_bad_input_and_changes_nothing(
    admin_client, stocked_level, data, field, error
):
    movements_before = StockMovement.objects.count()

    response = adjust(admin_client, [stocked_level], **data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [error]
    stocked_level.refresh_from_db()
    assert (stocked_level.on_hand, stocked_level.allocated) == (10, 4)
    assert StockMovement.objects.count() == movements_before


@pytest.mark.parametrize(("mode", "quantity"), [("change", "-7"), ("set", "3")])
def test_adjust_below_allocated_is_refused_and_changes_nothing(
    admin_client, stocked_level, mode, quantity
):
    other = StockLevelFactory(
        product=ProductFactory(sku="CUP-BLUE"), warehouse=stocked_level.warehouse
    )
    stock_receive(product=other.product, warehouse=other.warehouse, quantity=20)
    movements_before = StockMovement.objects.count()

    response = adjust(admin_client, [stocked_level, other], mode=mode, quantity=quantity)

    assert response.status_code == 200
    texts = message_texts(response)
    assert texts[-1] == "No stock was changed."
    assert texts[0].startswith("MUG-RED @ RENO: ")
    assert "4 allocated" in texts[0] or "4 units are allocated" in texts[0]
    stocked_level.refresh_from_db()
    other.refresh_from_db()
    assert (stocked_level.on_hand, other.on_hand) == (10, 20)
    assert StockMovement.objects.count() == movements_before


def test_adjust_several_levels_reports_each(admin_client, stocked_level):
    other = StockLevelFactory(
        product=ProductFactory(sku="CUP-BLUE"), warehouse=stocked_level.warehouse
    )

    response = adjust(admin_client, [stocked_level, other], mode="change", quantity="3")

    assert response.status_code == 302
    assert message_texts(response) == [
        "MUG-RED @ RENO: on hand 10 → 13.",
        "CUP-BLUE @ RENO: on hand 0 → 3.",
    ]


def test_adjust_without_levels_goes_back_to_the_list(admin_client):
    response = admin_client.get(reverse("admin:inventory_stocklevel_adjust") + "?ids=x")
    assert response.status_code == 302
    assert message_texts(response) == ["Choose at least one stock level to adjust."]


def test_adjust_needs_change_permission(client, django_user_model, stocked_level):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    response = adjust(client, [stocked_level], mode="change", quantity="5")
    assert response.status_code == 403
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 10


def test_stock_level_page_links_to_the_adjust_form(admin_client, stocked_level):
    response = admin_client.get(admin_url(StockLevel, "change", stocked_level.pk))
    expected = reverse("admin:inventory_stocklevel_adjust") + f"?ids={stocked_level.pk}"
    assert expected.encode() in response.content


def test_product_and_warehouse_pages_show_stock(admin_client, stocked_level):
    product_page = admin_client.get(admin_url(Product, "change", stocked_level.product.pk))
    warehouse_page = admin_client.get(
        reverse("admin:warehouses_warehouse_change", args=[stocked_level.warehouse.pk])
    )
    for response in (product_page, warehouse_page):
        inline = response.context["inline_admin_formsets"][-1]
        assert [form.original for form in inline if form.original] == [stocked_level]


def test_stock_state_filter_lists_empty_and_low_levels(admin_client, stock):
    from inventory.models import StockLevel

    empty = stock("SKU-E", on_hand=0)
    low = stock("SKU-L", on_hand=3, reorder_point=5)
    plenty = stock("SKU-P", on_hand=50, reorder_point=5)
    url = admin_url(StockLevel, "changelist")

    def shown(state):
        changelist = admin_client.get(url, {"stock": state}).context["cl"]
        return {level.pk for level in changelist.result_list}

    assert shown("out") == {empty.pk}
    assert shown("reorder") == {low.pk}
    assert plenty.pk not in shown("reorder") | shown("out")
