"""Inventory over the API: products, stock levels and their search summary, availability for
storefronts, transfers between warehouses and bulk adjustments.

Reads need `inventory:read` (`catalog:read` for products); changes need `inventory:write`.
A channel key reads stock levels and availability of its own channel's locations only (other
locations' levels are filtered out, or 404); transfers and adjustments are back-office work,
which its default scopes never cover (403 unless the scope is granted on the key).
Views parse and render; the services in `inventory.services`, `inventory.transfers` and
`inventory.adjustments` do the writing.
"""

from dataclasses import asdict

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from inventory import catalog, selectors
from inventory.adjustments import Adjustment, stock_adjust_batch
from inventory.models import Product, StockLevel, Transfer, TransferLine
from inventory.serializers import (
    AdjustmentBatchResultSerializer,
    AdjustmentBatchSerializer,
    ProductSerializer,
    StockLevelSerializer,
    StockSummaryPageSerializer,
    TransferActionSerializer,
    TransferCloseSerializer,
    TransferCreateSerializer,
    TransferReceiveSerializer,
    TransferSerializer,
)
from inventory.transfers import (
    TransferItem,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from oms_project.api import (
    CreatedLocationMixin,
    problem_response,
    problem_responses,
    request_actor,
    request_channel,
)
from oms_project.changes import CHANGE_ORDERING, updated_after_filter
from oms_project.errors import ValidationFailed, item_errors
from oms_project.filters import StrictBooleanFilter
from oms_project.idempotency import idempotent
from warehouses.models import Warehouse


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter()
    barcode = django_filters.CharFilter()
    external_id = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search")
    is_active = StrictBooleanFilter()

    class Meta:
        model = Product
        fields = ["sku", "barcode", "external_id", "freight_class", "is_active"]

    def filter_search(self, queryset, name, value):
        return selectors.product_search(queryset, value)


class ProductViewSet(CreatedLocationMixin, viewsets.ModelViewSet):
    scope = "catalog"
    created_locations = {"create": ("product-detail", "sku", "sku")}
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "sku"
    lookup_value_regex = "[^/]+"

    def perform_create(self, serializer):
        serializer.instance = catalog.product_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = catalog.product_update(
            product=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        catalog.product_delete(product=instance)


class StockLevelFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="product__sku")
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    search = django_filters.CharFilter(method="filter_search")
    low_stock = StrictBooleanFilter(method="filter_low_stock")
    out_of_stock = StrictBooleanFilter(method="filter_out_of_stock")
    updated_after = updated_after_filter()

    class Meta:
        model = StockLevel
        fields = ["sku", "warehouse"]

    def filter_search(self, queryset, name, value):
        return selectors.stock_level_search(queryset, value)

    def filter_low_stock(self, queryset, name, value):
        return selectors.stock_levels_low(queryset, value)

    def filter_out_of_stock(self, queryset, name, value):
        return selectors.stock_levels_out_of_stock(queryset, value)


class StockLevelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    scope = "inventory"
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    ordering_fields = [CHANGE_ORDERING]

    def get_queryset(self):
        levels = selectors.stock_levels_with_availability()
        channel = request_channel(self.request)
        if channel is not None:
            levels = levels.filter(warehouse__in=channel.warehouses.values("pk"))
        return levels

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": 500},
                description="SKUs per page (default 50).",
            ),
            OpenApiParameter("after", str, description="The last SKU of the previous page."),
        ],
        responses={200: StockSummaryPageSerializer},
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """Per-SKU totals with one row per warehouse, for the same filters as the list.

        Pages by SKU: `?limit=` (default 50, max 500) and `?after=<last SKU of the page>`.
        """
        limit = _limit(request.query_params.get("limit"))
        levels = self.filter_queryset(self.get_queryset())
        page = selectors.stock_summary(
            levels, after_sku=request.query_params.get("after", ""), limit=limit
        )
        return Response(page)


def _limit(raw: str | None, default: int = 50, maximum: int = 500) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationFailed(
            "Invalid limit.", errors={"limit": [f"A whole number from 1 to {maximum}."]}
        )
    return int(raw)


class AvailabilityViewSet(viewsets.GenericViewSet):
    """`GET /availability/?channel=web&skus=A,B&breakdown=1`: what a storefront may sell.

    A channel key answers for its own channel (the `channel` parameter may be left out);
    other callers must name the channel.
    """

    scope = "inventory"
    pagination_class = None
    filter_backends = []

    @extend_schema(
        parameters=[
            OpenApiParameter("skus", str, description="Comma-separated SKUs (up to 500)."),
            OpenApiParameter("channel", str, description="Channel code; implied by a channel key."),
            OpenApiParameter("breakdown", bool, description="Add per-warehouse numbers."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def list(self, request):
        skus = [sku.strip() for sku in request.query_params.get("skus", "").split(",")]
        skus = [sku for sku in skus if sku]
        if not skus:
            raise ValidationFailed(
                "Give the SKUs to look up.", errors={"skus": ["A comma-separated list of SKUs."]}
            )
        if len(set(skus)) > selectors.MAX_AVAILABILITY_SKUS:
            raise ValidationFailed(
                f"At most {selectors.MAX_AVAILABILITY_SKUS} SKUs per request.",
                errors={"skus": [f"{len(set(skus))} SKUs given."]},
            )
        code = self._channel_code(request)
        warehouse_ids = _channel_warehouse_ids(code)
        breakdown = request.query_params.get("breakdown", "").lower() in {"1", "true", "yes"}
        answer = selectors.availability_for_skus(
            skus=skus, warehouse_ids=warehouse_ids, breakdown=breakdown
        )
        return Response({"channel": code, **answer})

    @staticmethod
    def _channel_code(request) -> str:
        code = request.query_params.get("channel", "").strip()
        channel = request_channel(request)
        if channel is not None:
            if code and code != channel.code:
                raise exceptions.PermissionDenied(
                    "A channel key may only ask about its own channel."
                )
            return channel.code
        if not code:
            raise ValidationFailed(
                "Name the sales channel.", errors={"channel": ["This parameter is required."]}
            )
        return code


def _channel_warehouse_ids(code: str) -> list[int]:
    """Active warehouses serving a channel that its routing rules may use, in one query;
    unknown channels are refused.

    Locations the channel's active rule set excludes are left out, as routing leaves them out
    (`orders.services.routing_rules.routing_rules_for`): a storefront must not promise stock
    no order will be sent to.
    """
    from orders.models import SalesChannel  # orders sits above inventory

    rows = list(
        SalesChannel.objects.filter(code=code, is_active=True).values_list(
            "warehouses__id", "warehouses__is_active", "warehouses__code",
            "routing_rules__is_active", "routing_rules__excluded_locations",
        )
    )
    if not rows:
        raise ValidationFailed(
            f"Unknown sales channel '{code}'.", errors={"channel": [f"No active channel {code}."]}
        )
    _, _, _, rules_active, excluded = rows[0]
    excluded = set(excluded or []) if rules_active else set()
    return [
        warehouse_id
        for warehouse_id, is_active, warehouse_code, _, _ in rows
        if warehouse_id and is_active and warehouse_code not in excluded
    ]


class TransferFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Transfer.Status.choices)
    source = django_filters.CharFilter(field_name="source__code")
    destination = django_filters.CharFilter(field_name="destination__code")

    class Meta:
        model = Transfer
        fields = ["status", "source", "destination"]


class TransferViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Transfers between warehouses: create a draft, ship it, receive it (in parts if need be),
    cancel it before it ships, or close it short when the rest will not arrive."""

    scope = "inventory"
    created_locations = {"create": ("transfer-detail", "number", "number")}
    back_office = True
    serializer_class = TransferSerializer
    filterset_class = TransferFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Transfer.objects.select_related("source", "destination").prefetch_related(
            Prefetch("lines", queryset=TransferLine.objects.select_related("product")
                     .order_by("pk"))
        )

    def get_serializer_class(self):
        if self.action == "create":
            return TransferCreateSerializer
        if self.action == "receive":
            return TransferReceiveSerializer
        if self.action == "close":
            return TransferCloseSerializer
        return TransferSerializer

    def _render(self, transfer: Transfer, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(
            TransferSerializer(self.get_queryset().get(pk=transfer.pk)).data, status=status_code
        )

    @extend_schema(request=TransferCreateSerializer, responses={201: TransferSerializer})
    @idempotent()
    def create(self, request):
        data = _valid(TransferCreateSerializer, request.data)
        warehouses = {
            warehouse.code: warehouse
            for warehouse in Warehouse.objects.filter(
                code__in=[data["source"], data["destination"]]
            )
        }
        errors = {
            name: [f"No warehouse {data[name]}."]
            for name in ("source", "destination")
            if data[name] not in warehouses
        }
        items = _items(data["lines"], errors)
        if errors:
            raise ValidationFailed("The transfer is not valid.", errors=errors)
        transfer = transfer_create(
            source=warehouses[data["source"]],
            destination=warehouses[data["destination"]],
            items=items,
            note=data["note"],
            actor=request_actor(request),
        )
        return self._render(transfer, status.HTTP_201_CREATED)

    @extend_schema(request=TransferActionSerializer, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def ship(self, request, number=None):
        transfer = self.get_object()
        _valid(TransferActionSerializer, request.data or {})
        transfer = transfer_ship(transfer=transfer, actor=request_actor(request))
        return self._render(transfer)

    @extend_schema(request=TransferReceiveSerializer, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def receive(self, request, number=None):
        transfer = self.get_object()
        data = _valid(TransferReceiveSerializer, request.data or {})
        items = None
        if "lines" in data:
            errors: dict = {}
            items = _items(data["lines"], errors)
            if errors:
                raise ValidationFailed("The receipt is not valid.", errors=errors)
        transfer = transfer_receive(transfer=transfer, items=items, actor=request_actor(request))
        return self._render(transfer)

    @extend_schema(request=TransferActionSerializer, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, number=None):
        transfer = self.get_object()
        _valid(TransferActionSerializer, request.data or {})
        transfer = transfer_cancel(transfer=transfer, actor=request_actor(request))
        return self._render(transfer)

    @extend_schema(
        request=TransferCloseSerializer,
        responses={
            200: TransferSerializer,
            **problem_responses({
                400: "`validation_error`: no `reason`.",
                409: "`invalid_transition`: the transfer is not in transit (a draft is "
                "cancelled instead; received, closed and cancelled transfers are final).",
            }),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def close(self, request, number=None):
        """Close an in-transit transfer short: the units still in transit are written off as
        lost (each line's `quantity_lost`). No stock level changes: the units left the
        source's on hand when the transfer shipped."""
        transfer = self.get_object()
        data = _valid(TransferCloseSerializer, request.data or {})
        transfer = transfer_close(
            transfer=transfer, reason=data["reason"], actor=request_actor(request)
        )
        return self._render(transfer)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _items(lines: list[dict], errors: dict) -> list[TransferItem]:
    """Resolve `{sku, quantity}` lines to products; an unknown SKU (one deleted since the
    serializer checked) is added to `errors`, keyed by its line's position."""
    products = {
        product.sku: product
        for product in Product.objects.filter(sku__in=[line["sku"] for line in lines])
    }
    items, line_errors = [], []
    for line in lines:
        product = products.get(line["sku"])
        if product is None:
            line_errors.append({"sku": [f"Unknown SKU '{line['sku']}'."]})
        else:
            line_errors.append({})
            items.append(TransferItem(product=product, quantity=line["quantity"]))
    if any(line_errors):
        errors["lines"] = item_errors(line_errors)
    return items


class AdjustmentViewSet(viewsets.GenericViewSet):
    """`POST /inventory/adjustments/`: up to 1,000 `set` or `delta` items, a result per item.

    Needs an `Idempotency-Key`. With `"atomic": true` any failed item rolls everything back
    and the answer is a problem (`adjustments_rejected`) whose `errors` are the item results.
    """

    scope = "inventory"
    back_office = True
    serializer_class = AdjustmentBatchSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        request=AdjustmentBatchSerializer,
        responses={
            200: AdjustmentBatchResultSerializer,
            **problem_responses(
                {
                    400: "`validation_error`, `idempotency_key_required`, or "
                    "`adjustments_rejected` (atomic batch; `errors` are the item results).",
                    409: "`adjustments_rejected`: an atomic batch whose failed items all "
                    "failed with 409 (`stock_changed`...).",
                    422: "`idempotency_key_reused`: the same key with another body.",
                }
            ),
        },
    )
    @idempotent(required=True)
    def create(self, request):
        data = _valid(AdjustmentBatchSerializer, request.data)
        adjustments = [
            Adjustment(
                sku=item["sku"], warehouse=item["warehouse"], reason=item["reason"],
                set_to=item.get("set"), delta=item.get("delta"),
                expected_on_hand=item.get("expected_on_hand"), note=item["note"],
            )
            for item in data["items"]
        ]
        key = request.headers.get("Idempotency-Key", "")
        results = stock_adjust_batch(
            adjustments=adjustments, actor=request_actor(request),
            reference=f"adjustments:{key}"[:100], atomic=data["atomic"],
        )
        rows = [asdict(result) for result in results]
        failed = sum(result.status == "failed" for result in results)
        if data["atomic"] and failed:
            statuses = {result.error["status"] for result in results if result.error}
            return problem_response(
                409 if statuses == {409} else 400,
                "adjustments_rejected",
                "Adjustments rejected",
                f"{failed} of {len(results)} items failed; nothing was changed.",
                rows,
            )
        return Response(
            {
                "atomic": data["atomic"],
                "applied": sum(result.status == "applied" for result in results),
                "unchanged": sum(result.status == "unchanged" for result in results),
                "failed": failed,
                "results": rows,
            }
        )


def register(router) -> None:
    router.register("products", ProductViewSet, basename="product")
    router.register("stock-levels", StockLevelViewSet, basename="stock-level")
    router.register("availability", AvailabilityViewSet, basename="availability")
    router.register("transfers", TransferViewSet, basename="transfer")
    router.register("inventory/adjustments", AdjustmentViewSet, basename="inventory-adjustment")
