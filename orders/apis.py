"""Orders over the API: create (idempotent), read, pay, hold, cancel, bulk, checkouts."""

import django_filters
from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from customers.selectors import customers_visible
from oms_project.api import (
    CreatedLocationMixin,
    problem_responses,
    request_actor,
    request_channel,
    validation_detail,
)
from oms_project.changes import CHANGE_ORDERING, updated_after_filter
from oms_project.errors import OmsError, ValidationFailed, line_errors_at_positions
from oms_project.filters import MomentFilter
from oms_project.idempotency import idempotency_key_parameter, idempotent
from orders import input_serializers as inputs
from orders import selectors, services
from orders.models import Checkout, FulfillmentMethod, Order, SalesChannel
from orders.serializers import CheckoutSerializer, OrderDetailSerializer, OrderSerializer
from orders.services.addresses import order_shipping_address_change
from orders.services.checkouts import checkout_cancel, checkout_complete, checkout_create
from orders.states import OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    placed_after = MomentFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = MomentFilter(field_name="placed_at", lookup_expr="lt")
    updated_after = updated_after_filter()
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    fulfillment_method = django_filters.ChoiceFilter(choices=FulfillmentMethod.choices)
    payment_method = django_filters.CharFilter()
    shipping_method = django_filters.CharFilter(field_name="shipping_method__code")
    warehouse = django_filters.CharFilter(method="filter_warehouse")
    channel_order_id = django_filters.CharFilter()
    numbers = django_filters.CharFilter(
        method="filter_numbers", help_text="Comma-separated order numbers (up to 500)."
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Order number, channel order id or e-mail."
    )

    class Meta:
        model = Order
        fields = ["status", "channel", "email"]

    def filter_warehouse(self, queryset, name, value):
        return selectors.orders_at_warehouse(queryset, value)

    def filter_numbers(self, queryset, name, value):
        numbers = [number.strip() for number in value.split(",") if number.strip()]
        if len(numbers) > settings.OMS_MAX_BULK_ITEMS:
            raise ValidationFailed(errors={"numbers": ["At most 500 numbers."]})
        return queryset.filter(number__in=numbers)

    def filter_search(self, queryset, name, value):
        return selectors.order_search(queryset, value)


class BulkResultSerializer(serializers.Serializer):
    results = serializers.ListField(child=serializers.DictField())


def _channel_for_write(request, code: str | None) -> SalesChannel:
    channel = request_channel(request)
    if channel is not None:
        if code and code != channel.code:
            raise ValidationFailed(
                "A channel key creates orders for its own channel only.",
                errors={"channel": ["Not this key's channel."]},
            )
        return channel
    if not code:
        raise ValidationFailed("Name the channel.", errors={"channel": ["This field is required."]})
    found = SalesChannel.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise ValidationFailed(errors={"channel": [f"Unknown channel '{code}'."]})
    return found


class AllocationsMixin:
    """Give order serializers where each line's units are allocated, one query per page."""

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "allocations": getattr(self, "_allocations", {}),
        }

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._allocations = selectors.allocations_for_orders(page)
        return page


class OrderViewSet(
    CreatedLocationMixin,
    AllocationsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    scope = "orders"
    created_locations = {"create": ("order-detail", "number", "number")}
    filterset_class = OrderFilter
    ordering_fields = [CHANGE_ORDERING]
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.orders_visible(
            channel=request_channel(self.request), with_events=self.action == "retrieve"
        )

    def get_serializer_class(self):
        if self.action == "create":
            return inputs.OrderCreateSerializer
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def get_object(self):
        order = super().get_object()
        self._allocations = selectors.allocations_for_orders([order])
        return order

    def _render(self, order: Order, status_code=status.HTTP_200_OK, *, as_written=False):
        """The order's detail; `as_written` trusts the related rows its writer attached (JSON
        fields then read as sent; a later read gives the database's normalised form, e.g. its
        key order)."""
        if not (as_written and selectors.order_has_detail_related(order)):
            order = get_object_or_404(selectors.orders_visible(with_events=True), pk=order.pk)
        self._allocations = selectors.allocations_for_orders([order])
        return Response(
            OrderDetailSerializer(order, context=self.get_serializer_context()).data,
            status=status_code,
        )

    @extend_schema(
        request=inputs.OrderCreateSerializer,
        responses={
            201: OrderDetailSerializer,
            **problem_responses(
                {
                    400: "`validation_error` with field errors (nothing is written), or "
                    "`idempotency_key_required` / `idempotency_key_invalid`.",
                    409: "`duplicate_order` (the existing order's `number` is given); "
                    "`insufficient_stock` on a channel that refuses short orders, `errors` "
                    "listing each short line as `{sku, line (its position in the request), "
                    "warehouse, requested, available}`; `request_in_progress` while the same "
                    "key is being processed (retry after `Retry-After`).",
                    422: "`idempotency_key_reused`: this key came with another body.",
                }
            ),
        },
        parameters=[idempotency_key_parameter(required=True)],
    )
    @idempotent(required=True)
    def create(self, request):
        payload = inputs.OrderCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        channel = _channel_for_write(request, data.pop("channel", None))
        order = services.order_create(
            channel=channel, data=data, actor=request_actor(request), with_related=True
        )
        return self._render(order, status.HTTP_201_CREATED, as_written=True)

    @extend_schema(
        request=inputs.PaymentCreateSerializer,
        responses={200: OrderDetailSerializer},
        parameters=[idempotency_key_parameter(required=True)],
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def payments(self, request, number=None):
        order = self.get_object()
        payload = inputs.PaymentCreateSerializer(
            data=request.data, context={"currency": order.currency}
        )
        payload.is_valid(raise_exception=True)
        services.payment_apply(order=order, actor=request_actor(request), **payload.validated_data)
        return self._render(order)

    @extend_schema(
        request=inputs.CancelSerializer,
        responses={200: OrderDetailSerializer},
        parameters=[idempotency_key_parameter(required=True)],
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def cancel(self, request, number=None):
        order = self.get_object()
        payload = inputs.CancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lines = payload.validated_data.get("lines")
        try:
            services.order_cancel(
                order=order,
                actor=request_actor(request),
                reason=payload.validated_data.get("reason", ""),
                lines={item["line_id"]: item["quantity"] for item in lines} if lines else None,
            )
        except OmsError as error:
            if lines:
                known = set(order.lines.values_list("pk", flat=True))
                raise line_errors_at_positions(error, lines, known_ids=known) from None
            raise
        return self._render(order)

    @extend_schema(
        request=inputs.ShippingAddressChangeSerializer,
        responses={
            200: OrderDetailSerializer,
            **problem_responses(
                {
                    400: "Invalid address, or no location of the channel ships there",
                    409: "Units have shipped, it is a pickup order, or a location holding "
                    "units does not ship there (address_change_refused)",
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="shipping-address")
    @idempotent()
    def shipping_address(self, request, number=None):
        """Send the order to another address before any unit ships (the customer is
        e-mailed the new address; `order.address_changed` is emitted)."""
        order = self.get_object()
        payload = inputs.ShippingAddressChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order_shipping_address_change(
            order=order,
            address=payload.validated_data["shipping_address"],
            actor=request_actor(request),
            reason=payload.validated_data.get("reason", ""),
        )
        return self._render(order)

    @extend_schema(request=inputs.HoldSerializer, responses={200: OrderDetailSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, number=None):
        order = self.get_object()
        payload = inputs.HoldSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_hold(
            order=order,
            reason_code=payload.validated_data["reason"],
            note=payload.validated_data.get("note", ""),
            actor=request_actor(request),
        )
        return self._render(order)

    @extend_schema(request=inputs.ReleaseHoldSerializer, responses={200: OrderDetailSerializer})
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request, number=None):
        order = self.get_object()
        payload = inputs.ReleaseHoldSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.order_release_hold(
            order=order, actor=request_actor(request), note=payload.validated_data.get("note", "")
        )
        return self._render(order)

    @extend_schema(request=inputs.BulkCancelSerializer, responses={200: BulkResultSerializer})
    @action(detail=False, methods=["post"], url_path="bulk-cancel")
    @idempotent()
    def bulk_cancel(self, request):
        payload = inputs.BulkCancelSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        numbers = payload.validated_data["numbers"]
        orders = {order.number: order for order in self.get_queryset().filter(number__in=numbers)}
        results = []
        for number in numbers:
            order = orders.get(number)
            if order is None:
                results.append(_failure(number, 404, "not_found", "No such order."))
                continue
            try:
                outcome = services.order_cancel(
                    order=order,
                    actor=request_actor(request),
                    reason=payload.validated_data.get("reason", ""),
                )
            except OmsError as error:
                results.append(_failure(number, error.status, error.code, error.detail))
                continue
            results.append(
                {
                    "number": number,
                    "status": 200,
                    "result": "cancelled",
                    "refund_due": str(outcome["refund_due"]),
                }
            )
        return Response({"results": results})

    @extend_schema(
        request=inputs.BulkCreateSerializer,
        responses={
            200: OpenApiResponse(
                BulkResultSerializer,
                description="One result per order, in the request's order: `{index, status: "
                "201, number, order_status}` for a created order, or `{index, status, code, "
                "detail, errors}` with the code and errors a single POST would answer.",
            ),
            **problem_responses(
                {
                    400: "`validation_error` for the envelope (not a list, over 500 orders); "
                    "`idempotency_key_required` / `idempotency_key_invalid`.",
                    409: "`request_in_progress` while the same key is being processed.",
                    422: "`idempotency_key_reused`: this key came with another body.",
                }
            ),
        },
        parameters=[idempotency_key_parameter(required=True)],
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent(required=True)
    def bulk_create(self, request):
        payload = inputs.BulkCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        results: list = []
        entries, positions = [], []
        channels: dict = {}
        # One serializer validates every item: its fields are built once, not once per order.
        serializer = inputs.OrderCreateSerializer()
        for index, item in enumerate(payload.validated_data["orders"]):
            parsed = self._parse_one(request, index, item, serializer, channels)
            if isinstance(parsed, dict):
                results.append(parsed)
                continue
            results.append(None)
            positions.append(index)
            entries.append(parsed)
        outcomes = services.orders_create_bulk(entries=entries, actor=request_actor(request))
        for index, outcome in zip(positions, outcomes, strict=True):
            results[index] = _bulk_result(index, outcome)
        return Response({"results": results})

    def _parse_one(self, request, index: int, item: dict, serializer, channels: dict):
        """(channel, validated payload) of one bulk item, or its error result."""
        try:
            data = dict(serializer.run_validation(item))
        except serializers.ValidationError as error:
            errors = serializers.as_serializer_error(error)
            return {
                "index": index,
                "status": 400,
                "code": "validation_error",
                "detail": validation_detail(errors),
                "errors": errors,
            }
        code = data.pop("channel", None)
        if code not in channels:
            try:
                channels[code] = _channel_for_write(request, code)
            except OmsError as error:
                channels[code] = error
        if isinstance(channels[code], OmsError):
            return _bulk_result(index, channels[code])
        return channels[code], data


def _bulk_result(index: int, outcome) -> dict:
    if isinstance(outcome, OmsError):
        result = {
            "index": index,
            "status": outcome.status,
            "code": outcome.code,
            "detail": outcome.detail,
            **outcome.extra,
        }
        if outcome.errors is not None:
            result["errors"] = outcome.errors
        return result
    return {"index": index, "status": 201, "number": outcome.number, "order_status": outcome.status}


def _failure(number: str, status_code: int, code: str, detail: str) -> dict:
    return {"number": number, "status": status_code, "code": code, "detail": detail}


class CustomerOrdersViewSet(AllocationsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """`GET /api/v1/customers/{id}/orders/`: a customer's order history, newest first."""

    scope = "orders"
    serializer_class = OrderSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return selectors.orders_visible(channel=request_channel(self.request)).filter(
            customer_id=self.kwargs["customer_id"]
        )

    def list(self, request, *args, **kwargs):
        """404 for a customer this key cannot see (unknown, or not one of its channel's), as
        `GET /customers/{id}/` answers; an empty list means a known customer without orders."""
        channel = request_channel(request)
        visible = customers_visible(channel_code=channel.code if channel else None)
        if not visible.filter(pk=self.kwargs["customer_id"]).exists():
            raise NotFound("No such customer.")
        return super().list(request, *args, **kwargs)


class CheckoutViewSet(CreatedLocationMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Timed stock holds for storefront baskets (`checkouts:write`)."""

    scope = "checkouts"
    created_locations = {
        "create": ("checkout-detail", "token", "token"),
        "complete": ("order-detail", "number", "number"),
    }
    action_scopes = {"complete": "orders:write"}
    serializer_class = CheckoutSerializer
    lookup_field = "token"

    def get_queryset(self):
        channel = request_channel(self.request)
        queryset = Checkout.objects.select_related("channel", "pickup_location", "order")
        return queryset.filter(channel=channel) if channel else queryset

    @extend_schema(
        request=inputs.CheckoutCreateSerializer,
        responses={
            201: CheckoutSerializer,
            **problem_responses(
                {
                    400: "`validation_error` with field errors (nothing is held): unknown SKUs, "
                    "a bad `pickup_location`, or a `destination.country` none of the channel's "
                    "locations ships to; `idempotency_key_required` / `idempotency_key_invalid`.",
                    409: "`insufficient_stock` (nothing is held), `errors` listing each short "
                    "SKU as `{sku, line (its first line's position in the request), warehouse, "
                    "requested, available}`; `request_in_progress` for a key being processed.",
                    422: "`idempotency_key_reused`: this key came with another body.",
                }
            ),
        },
        parameters=[idempotency_key_parameter(required=True)],
    )
    @idempotent(required=True)
    def create(self, request):
        channel = request_channel(request)
        if channel is None:
            raise ValidationFailed("Checkouts are created with a channel key.")
        payload = inputs.CheckoutCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        checkout = checkout_create(
            channel=channel,
            lines=data["lines"],
            actor=request_actor(request),
            destination=data.get("destination"),
            fulfillment_method=data["fulfillment_method"],
            pickup_location=data.get("pickup_location", ""),
        )
        return Response(CheckoutSerializer(checkout).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=inputs.OrderCreateSerializer,
        responses={
            201: OrderDetailSerializer,
            200: OpenApiResponse(
                OrderDetailSerializer, description="The order of an already completed checkout."
            ),
            **problem_responses(
                {
                    400: "`validation_error` naming the field (nothing is written): the order "
                    "is checked like `POST /orders/` and must match the checkout (its units per "
                    "SKU, `fulfillment_method`, `pickup_location`, and a `shipping_address` in "
                    "the destination's country that the holding locations ship to).",
                    409: "`checkout_expired` (the hold ran out), `checkout_closed` (cancelled), "
                    "`duplicate_order`, `request_in_progress`.",
                    422: "`idempotency_key_reused`: this key came with another body.",
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def complete(self, request, token=None):
        checkout = self.get_object()
        payload = inputs.OrderCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        data.pop("channel", None)
        was_completed = checkout.status == Checkout.Status.COMPLETED
        order = checkout_complete(checkout=checkout, data=data, actor=request_actor(request))
        order = selectors.orders_visible(with_events=True).get(pk=order.pk)
        context = {"request": request, "allocations": selectors.allocations_for_orders([order])}
        return Response(
            OrderDetailSerializer(order, context=context).data,
            status=status.HTTP_200_OK if was_completed else status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(
                CheckoutSerializer,
                description="The cancelled checkout; cancelling it again answers the same.",
            ),
            **problem_responses(
                {
                    409: "`checkout_closed` for a completed checkout (its `order_number` is "
                    "given: cancel the order); `checkout_expired` when the hold already ran out.",
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, token=None):
        """Release an open checkout's stock; a cancelled one is answered again unchanged."""
        checkout = checkout_cancel(checkout=self.get_object(), actor=request_actor(request))
        checkout = self.get_queryset().get(pk=checkout.pk)
        return Response(CheckoutSerializer(checkout).data)


def register(router) -> None:
    router.register("orders", OrderViewSet, basename="order")
    router.register(
        r"customers/(?P<customer_id>\d+)/orders", CustomerOrdersViewSet, basename="customer-orders"
    )
    router.register("checkouts", CheckoutViewSet, basename="checkout")
