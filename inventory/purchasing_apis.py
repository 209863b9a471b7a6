"""Purchasing over the API: suppliers, what they supply, purchase orders and receipts.

Everything needs the `purchasing` scope (`purchasing:read` to read, `purchasing:write` to
change). Purchase orders are addressed by number; state changes are action endpoints:
`lines/` (edit a draft), `expected-date/`, `send/`, `cancel/`, `close/`, `receipts/`, and
`POST /purchase-orders/suggest/` runs the reorder suggestion on demand.

A receipt must be safe to retry: it carries the supplier's delivery note (`reference`; a note
already received is 409 `duplicate_receipt`) or an `Idempotency-Key` header (a retry replays
the first response); with neither it is 400 `idempotency_key_required` and nothing is booked.

Every action validates its body before acting: an unknown field is a 400 and nothing runs.
Errors about lines come as `{"lines": [{...}, {}, ...]}`, one entry per line sent, in order,
as order creation reports them. Boolean filters take `true`, `false`, `1` or `0`; anything
else is a 400.

The actions that change what customers are waiting for (sending, rescheduling, cancelling,
receiving, suggesting) call the orders-level wrappers in `orders.replenishment`, which re-date
backorders and fill them; interfaces sit above every app, the purchasing services never look
up at orders.
"""

import django_filters
from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from inventory.models import Product, PurchaseOrder, Supplier, SupplierProduct
from inventory.purchasing import serializers as purchasing_serializers
from inventory.purchasing.errors import BelowMinimumOrderValue, ReceiptKeyRequired
from inventory.purchasing.receiving import ReceiptItem
from inventory.purchasing.selectors import purchase_orders_with_lines
from inventory.purchasing.services import (
    PurchaseItem,
    purchase_order_create,
    purchase_order_line_set,
    supplier_product_save,
)
from inventory.purchasing.states import PurchaseOrderStatus
from inventory.purchasing.suppliers import supplier_update
from oms_project.api import CreatedLocationMixin, request_actor
from oms_project.errors import Conflict, ValidationFailed
from oms_project.filters import StrictBooleanFilter
from oms_project.idempotency import HEADER as IDEMPOTENCY_HEADER
from oms_project.idempotency import idempotency_key_parameter, idempotent
from warehouses.models import Warehouse

S = purchasing_serializers


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _products(skus: list[str], errors: dict) -> dict[str, Product]:
    """Products by SKU; unknown SKUs are added to `errors["lines"]`, a list aligned with
    `skus`."""
    products = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    line_errors = [
        {} if sku in products else {"sku": [f"Unknown SKU '{sku}'."]} for sku in skus
    ]
    if any(line_errors):
        errors["lines"] = line_errors
    return products


class SupplierFilter(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = Supplier
        fields = ["is_active", "currency"]


class SupplierViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    scope = "purchasing"
    created_locations = {"create": ("supplier-detail", "code", "code")}
    queryset = Supplier.objects.all()
    serializer_class = S.SupplierSerializer
    filterset_class = SupplierFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def perform_update(self, serializer):
        serializer.instance = supplier_update(
            supplier=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict("This supplier has purchase orders; deactivate it instead.")


class SupplierProductFilter(django_filters.FilterSet):
    supplier = django_filters.CharFilter(field_name="supplier__code")
    sku = django_filters.CharFilter(field_name="product__sku")
    is_preferred = StrictBooleanFilter()

    class Meta:
        model = SupplierProduct
        fields = ["supplier", "sku", "is_preferred"]


class SupplierProductViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin, viewsets.GenericViewSet,
):
    """What each supplier sells. `POST` creates or updates the (supplier, SKU) pair."""

    scope = "purchasing"
    created_locations = {"create": ("supplier-product-detail", "pk", "id")}
    serializer_class = S.SupplierProductSerializer
    filterset_class = SupplierProductFilter

    def get_queryset(self):
        return SupplierProduct.objects.select_related("supplier", "product")

    @extend_schema(
        request=S.SupplierProductInputSerializer, responses={201: S.SupplierProductSerializer}
    )
    @idempotent()
    def create(self, request):
        data = _valid(S.SupplierProductInputSerializer, request.data)
        errors: dict = {}
        supplier = Supplier.objects.filter(code=data["supplier"]).first()
        if supplier is None:
            errors["supplier"] = [f"No supplier {data['supplier']}."]
        product = Product.objects.filter(sku=data["sku"]).first()
        if product is None:
            errors["sku"] = [f"No product {data['sku']}."]
        if errors:
            raise ValidationFailed("The supplier product is not valid.", errors=errors)
        offer = supplier_product_save(
            supplier=supplier, product=product, unit_cost=data["unit_cost"],
            supplier_sku=data["supplier_sku"], pack_size=data["pack_size"],
            minimum_quantity=data["minimum_quantity"], is_preferred=data["is_preferred"],
        )
        return Response(
            S.SupplierProductSerializer(self.get_queryset().get(pk=offer.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class PurchaseOrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PurchaseOrderStatus.choices)
    supplier = django_filters.CharFilter(field_name="supplier__code")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    expected_before = django_filters.DateFilter(field_name="expected_date", lookup_expr="lte")

    class Meta:
        model = PurchaseOrder
        fields = ["status", "supplier", "warehouse", "expected_before"]


class PurchaseOrderViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Purchase orders: create a draft, edit it, send it, receive deliveries, close it."""

    scope = "purchasing"
    created_locations = {"create": ("purchase-order-detail", "number", "number")}
    serializer_class = S.PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return purchase_orders_with_lines()

    def _render(self, purchase_order, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=purchase_order.pk)
        return Response(S.PurchaseOrderSerializer(fresh).data, status=status_code)

    @extend_schema(
        request=S.PurchaseOrderCreateSerializer, responses={201: S.PurchaseOrderSerializer}
    )
    @idempotent()
    def create(self, request):
        data = _valid(S.PurchaseOrderCreateSerializer, request.data)
        errors: dict = {}
        supplier = Supplier.objects.filter(code=data["supplier"]).first()
        if supplier is None:
            errors["supplier"] = [f"No supplier {data['supplier']}."]
        warehouse = Warehouse.objects.filter(code=data["warehouse"]).first()
        if warehouse is None:
            errors["warehouse"] = [f"No warehouse {data['warehouse']}."]
        products = _products([line["sku"] for line in data["lines"]], errors)
        if errors:
            raise ValidationFailed("The purchase order is not valid.", errors=errors)
        purchase_order = purchase_order_create(
            supplier=supplier, warehouse=warehouse,
            items=[
                PurchaseItem(
                    product=products[line["sku"]], quantity=line["quantity"],
                    unit_cost=line.get("unit_cost"),
                )
                for line in data["lines"]
            ],
            expected_date=data.get("expected_date"), note=data["note"],
            actor=request_actor(request),
        )
        return self._render(purchase_order, status.HTTP_201_CREATED)

    @extend_schema(request=S.PurchaseLineSetSerializer, responses=S.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def lines(self, request, number=None):
        """Set one SKU's quantity (and cost) on a draft; quantity 0 removes the line."""
        purchase_order = self.get_object()
        data = _valid(S.PurchaseLineSetSerializer, request.data)
        errors: dict = {}
        products = _products([data["sku"]], errors)
        if errors:
            raise ValidationFailed("The line is not valid.", errors=errors["lines"][0])
        purchase_order_line_set(
            purchase_order=purchase_order, product=products[data["sku"]],
            quantity=data["quantity"], unit_cost=data.get("unit_cost"),
            actor=request_actor(request),
        )
        return self._render(purchase_order)

    @extend_schema(request=S.ExpectedDateSerializer, responses=S.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"], url_path="expected-date")
    @idempotent()
    def expected_date(self, request, number=None):
        """Move the expected date; customers waiting on this order hear of a new date."""
        from orders.replenishment import purchase_order_reschedule

        purchase_order = self.get_object()
        data = _valid(S.ExpectedDateSerializer, request.data)
        purchase_order_reschedule(
            purchase_order=purchase_order, expected_date=data["expected_date"],
            actor=request_actor(request),
        )
        return self._render(purchase_order)

    @extend_schema(request=S.SendSerializer, responses=S.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def send(self, request, number=None):
        """E-mail the draft to the supplier (HTML with a CSV attachment); it becomes sent.

        An order worth less than the supplier's minimum order value is refused (409
        `below_minimum_order_value`) unless `accept_below_minimum` is true; the override is
        recorded in the order's history with who sent it.
        """
        from orders.replenishment import purchase_order_send_and_date

        purchase_order = self.get_object()
        data = _valid(S.SendSerializer, request.data or {})
        try:
            purchase_order_send_and_date(
                purchase_order=purchase_order, actor=request_actor(request),
                accept_below_minimum=data["accept_below_minimum"],
            )
        except BelowMinimumOrderValue as error:
            raise BelowMinimumOrderValue(
                f'{error.detail} To send it anyway, send again with "accept_below_minimum": '
                "true.",
                extra=error.extra,
            ) from error
        return self._render(purchase_order)

    @extend_schema(request=S.PurchaseOrderReasonSerializer, responses=S.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, number=None):
        """Cancel a draft or a sent order nothing was received against."""
        from orders.replenishment import purchase_order_cancel_and_redate

        purchase_order = self.get_object()
        data = _valid(S.PurchaseOrderReasonSerializer, request.data or {})
        purchase_order_cancel_and_redate(
            purchase_order=purchase_order, actor=request_actor(request), reason=data["reason"]
        )
        return self._render(purchase_order)

    @extend_schema(request=S.PurchaseOrderReasonSerializer, responses=S.PurchaseOrderSerializer)
    @action(detail=True, methods=["post"])
    @idempotent()
    def close(self, request, number=None):
        """Close a received order, or a partially received one whose rest will not come."""
        from orders.replenishment import purchase_order_close_and_redate

        purchase_order = self.get_object()
        data = _valid(S.PurchaseOrderReasonSerializer, request.data or {})
        purchase_order_close_and_redate(
            purchase_order=purchase_order, actor=request_actor(request), reason=data["reason"]
        )
        return self._render(purchase_order)

    @extend_schema(
        request=S.ReceiptInputSerializer,
        responses={201: S.ReceiptResultSerializer},
        parameters=[
            idempotency_key_parameter(
                required=False,
                description="Needed unless the body gives the delivery note's `reference` "
                "(with neither the receipt is 400 `idempotency_key_required`): a retry with "
                "the same key books the receipt once.",
            )
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def receipts(self, request, number=None):
        """Receive a delivery: good units into stock (ledger reason `receipt`), damaged units
        on record; waiting backorders are then filled oldest first.

        Over-receipt policy: per line, received plus damaged units may exceed the ordered
        quantity by the supplier's `over_receipt_percent` (rounded down); beyond that the whole
        receipt is refused with 400 `over_receipt` and nothing is written.

        Retries: give the delivery note as `reference` or send an `Idempotency-Key`; with
        neither the receipt is refused with 400 `idempotency_key_required`.
        """
        from orders.replenishment import purchase_order_receive_and_fill

        purchase_order = self.get_object()
        data = _valid(S.ReceiptInputSerializer, request.data)
        errors: dict = {}
        products = _products([line["sku"] for line in data["lines"]], errors)
        if errors:
            raise ValidationFailed("The receipt is not valid.", errors=errors)
        if not data["reference"] and not request.headers.get(IDEMPOTENCY_HEADER):
            raise ReceiptKeyRequired(
                f"Give the delivery note as `reference` or send an `{IDEMPOTENCY_HEADER}` "
                "header, so that a retried receipt is not booked twice."
            )
        result = purchase_order_receive_and_fill(
            purchase_order=purchase_order,
            items=[
                ReceiptItem(
                    product=products[line["sku"]],
                    quantity_received=line["quantity_received"],
                    quantity_damaged=line["quantity_damaged"],
                )
                for line in data["lines"]
            ],
            reference=data["reference"], note=data["note"], actor=request_actor(request),
        )
        receipt = result["receipt"]
        receipt = type(receipt).objects.prefetch_related("lines__line__product").get(
            pk=receipt.pk
        )
        body = {
            "receipt": S.ReceiptSerializer(receipt).data,
            "purchase_order": S.PurchaseOrderSerializer(
                self.get_queryset().get(pk=purchase_order.pk)
            ).data,
            "orders": result["orders"],
            "filled": result["filled"],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=S.SuggestSerializer, responses=S.SuggestionResultSerializer)
    @action(detail=False, methods=["post"])
    def suggest(self, request):
        """Run the reorder suggestion now: draft purchase orders for every SKU and warehouse
        whose projected stock is at or below its reorder point or short of backorders."""
        from orders.replenishment import replenishment_run

        _valid(S.SuggestSerializer, request.data or {})
        return Response(replenishment_run(actor=request_actor(request)))


def register(router) -> None:
    router.register("suppliers", SupplierViewSet, basename="supplier")
    router.register("supplier-products", SupplierProductViewSet, basename="supplier-product")
    router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")
