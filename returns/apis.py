"""Returns and refunds over the API: open a return, move it through its states, refund.

Scope `returns`. A channel key (default `returns:read` and `returns:write`) opens, reads and
withdraws returns of its own channel's orders: a customer asks to send something back; other
channels' objects are 404. Deciding on a return (approve, reject), receiving and restocking
it, refunding and closing are back-office work (`back_office` below): they need `returns:write`
granted on the key (integration keys) or a staff session, and a channel key granted it
restocks only at its channel's locations. Refunds need an `Idempotency-Key`; the other POSTs
accept one.
"""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from oms_project.api import CreatedLocationMixin, is_staff_request, request_actor, request_channel
from oms_project.errors import ValidationFailed
from oms_project.filters import MomentFilter
from oms_project.idempotency import idempotency_key_parameter, idempotent
from orders.errors import OrderNotFound
from orders.models import Order
from returns import selectors, services
from returns import serializers as shapes
from returns.models import Refund, ReturnReason, ReturnRequest
from returns.states import ReturnStatus

IDEMPOTENCY_REQUIRED = idempotency_key_parameter(required=True)
IDEMPOTENCY_OPTIONAL = idempotency_key_parameter(required=False)


def _order_for(request, number: str) -> Order:
    """The order with this number, if the caller may see it (else 404 `order_not_found`)."""
    queryset = Order.objects.select_related("channel")
    channel = request_channel(request)
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    order = queryset.filter(number=number).first()
    if order is None:
        raise OrderNotFound(f"No order {number}.")
    return order


def _check_restock_locations(request, lines: list[dict]) -> None:
    """Refuse a channel key restocking anywhere but at its channel's locations."""
    channel = request_channel(request)
    if channel is None:
        return
    allowed = selectors.channel_location_codes(channel=channel)
    # Keyed by order line id, as the receiving service keys its line errors.
    errors = {
        str(line["line_id"]): [f"'{line['location']}' is not one of this channel's locations."]
        for line in lines
        if line.get("location") and line["location"] not in allowed
    }
    if errors:
        raise ValidationFailed(
            "A channel restocks returned units only at its own locations.",
            errors={"lines": errors},
        )


class ReturnFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ReturnStatus.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    order = django_filters.CharFilter(field_name="order__number")
    reason = django_filters.ChoiceFilter(
        choices=ReturnReason.choices, method="filter_reason", help_text="Any line's reason."
    )
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = ReturnRequest
        fields = ["status", "channel", "order"]

    def filter_reason(self, queryset, name, value):
        return queryset.filter(
            pk__in=ReturnRequest.objects.filter(lines__reason=value).values("pk")
        )


class ReturnViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Returns (RMAs): create, list, read, and one POST per move of the state machine."""

    scope = "returns"
    created_locations = {
        "create": ("return-detail", "number", "number"),
        "refund": ("refund-detail", "number", "number"),
    }
    # Channel keys: create, read, refund-quote, cancel. Everything that decides on a return,
    # moves stock or pays money is the merchant's: `returns:write` granted on the key.
    back_office = frozenset({"approve", "reject", "receive", "refund", "close"})
    filterset_class = ReturnFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.returns_visible(
            channel=request_channel(self.request), with_details=self.action != "list"
        )

    def get_serializer_class(self):
        return shapes.ReturnSerializer if self.action == "list" else shapes.ReturnDetailSerializer

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._statuses = selectors.order_return_statuses({item.order_id for item in page})
        return page

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "return_statuses": getattr(
            self, "_statuses", {})}

    def get_object(self):
        return_request = super().get_object()
        self._statuses = selectors.order_return_statuses([return_request.order_id])
        return return_request

    def _render(self, return_request: ReturnRequest, status_code=status.HTTP_200_OK):
        return_request = get_object_or_404(self.get_queryset(), pk=return_request.pk)
        self._statuses = selectors.order_return_statuses([return_request.order_id])
        return Response(
            shapes.ReturnDetailSerializer(
                return_request, context=self.get_serializer_context()
            ).data,
            status=status_code,
        )

    def _input(self, serializer_class):
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    @extend_schema(
        request=shapes.ReturnCreateSerializer,
        responses={201: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @idempotent()
    def create(self, request):
        data = self._input(shapes.ReturnCreateSerializer)
        override = data.get("window_override_reason", "").strip()
        if override and not is_staff_request(request):
            raise ValidationFailed(
                "Only staff may accept a return outside the return window.",
                errors={"window_override_reason": ["Staff only."]},
            )
        return_request = services.return_create(
            order=_order_for(request, data["order"]),
            lines=[dict(line) for line in data["lines"]],
            exchange_items=[dict(item) for item in data.get("exchange_items", [])],
            customer_note=data.get("customer_note", ""),
            window_override_reason=override,
            actor=request_actor(request),
        )
        return self._render(return_request, status.HTTP_201_CREATED)

    @extend_schema(
        request=shapes.ReturnApproveSerializer,
        responses={200: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def approve(self, request, number=None):
        """Accept a requested return (back office: `returns:write` granted on the key)."""
        return_request = self.get_object()
        services.return_approve(
            return_request=return_request,
            actor=request_actor(request),
            **self._input(shapes.ReturnApproveSerializer),
        )
        return self._render(return_request)

    @extend_schema(
        request=shapes.ReturnRejectSerializer,
        responses={200: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def reject(self, request, number=None):
        """Refuse a requested return (back office: `returns:write` granted on the key)."""
        return_request = self.get_object()
        data = self._input(shapes.ReturnRejectSerializer)
        services.return_reject(
            return_request=return_request, actor=request_actor(request), reason=data["reason"]
        )
        return self._render(return_request)

    @extend_schema(
        request=shapes.ReturnReceiveSerializer,
        responses={200: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def receive(self, request, number=None):
        """Record what came back; resellable units go on hand at `location` (back office;
        a channel key granted `returns:write` restocks only at its channel's locations)."""
        return_request = self.get_object()
        data = self._input(shapes.ReturnReceiveSerializer)
        _check_restock_locations(request, data["lines"])
        services.return_receive(
            return_request=return_request,
            actor=request_actor(request),
            lines=[dict(line) for line in data["lines"]],
            note=data.get("note", ""),
        )
        return self._render(return_request)

    @extend_schema(
        parameters=[
            OpenApiParameter("refund_shipping", bool),
            OpenApiParameter("restocking_fee", str),
            OpenApiParameter("adjustment", str),
            OpenApiParameter("adjustment_reason", str),
        ],
        responses={200: shapes.RefundQuoteSerializer},
    )
    @action(detail=True, methods=["get"], url_path="refund-quote")
    def refund_quote(self, request, number=None):
        """What `refund` would pay with these options (nothing is written)."""
        return_request = self.get_object()
        options = shapes.RefundOptionsSerializer(data=request.query_params.dict())
        options.is_valid(raise_exception=True)
        quote = services.refund_quote(return_request=return_request, **options.validated_data)
        return Response(quote.as_dict())

    @extend_schema(
        request=shapes.ReturnRefundSerializer,
        responses={201: shapes.RefundSerializer},
        parameters=[IDEMPOTENCY_REQUIRED],
    )
    @action(detail=True, methods=["post"])
    @idempotent(required=True)
    def refund(self, request, number=None):
        """Pay back a received return (back office: `returns:write` granted on the key)."""
        return_request = self.get_object()
        data = self._input(shapes.ReturnRefundSerializer)
        refund = services.return_refund(
            return_request=return_request, actor=request_actor(request), **data
        )
        refund = selectors.refunds_visible().get(pk=refund.pk)
        return Response(shapes.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=shapes.ReturnNoteSerializer,
        responses={200: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def close(self, request, number=None):
        """Close a refunded return, or a received one with nothing to refund (back office)."""
        return_request = self.get_object()
        data = self._input(shapes.ReturnNoteSerializer)
        services.return_close(
            return_request=return_request, actor=request_actor(request), note=data.get("note", "")
        )
        return self._render(return_request)

    @extend_schema(
        request=shapes.ReturnNoteSerializer,
        responses={200: shapes.ReturnDetailSerializer},
        parameters=[IDEMPOTENCY_OPTIONAL],
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def cancel(self, request, number=None):
        """Withdraw a return that has not arrived (channel keys may, for their customers)."""
        return_request = self.get_object()
        data = self._input(shapes.ReturnNoteSerializer)
        services.return_cancel(
            return_request=return_request,
            actor=request_actor(request),
            reason=data.get("note", ""),
        )
        return self._render(return_request)


class RefundFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Refund.Kind.choices)
    order = django_filters.CharFilter(field_name="order__number")
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Refund
        fields = ["kind", "order"]


class RefundViewSet(
    CreatedLocationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Refunds of every kind; POST records a refund without a return (cancelled units or
    goodwill)."""

    scope = "returns"
    created_locations = {"create": ("refund-detail", "number", "number")}
    back_office = frozenset({"create"})
    serializer_class = shapes.RefundSerializer
    filterset_class = RefundFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.refunds_visible(channel=request_channel(self.request))

    @extend_schema(
        request=shapes.OrderRefundCreateSerializer,
        responses={201: shapes.RefundSerializer},
        parameters=[IDEMPOTENCY_REQUIRED],
    )
    @idempotent(required=True)
    def create(self, request):
        """Refund cancelled units or goodwill without a return (back office: `returns:write`
        granted on the key)."""
        payload = shapes.OrderRefundCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        refund = services.order_refund(
            order=_order_for(request, data.pop("order")),
            actor=request_actor(request),
            kind=data.pop("kind"),
            reason=data.pop("reason", ""),
            **data,
        )
        refund = self.get_queryset().get(pk=refund.pk)
        return Response(shapes.RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class OrderReturnsView(APIView):
    """An order's return status, per-line returned and returnable units, and its returns."""

    scope = "returns"

    @extend_schema(responses={200: shapes.OrderReturnsSerializer})
    def get(self, request, number: str):
        order = _order_for(request, number)
        summary = selectors.order_returns_summary(order=order)
        returns = selectors.returns_visible().filter(order=order).order_by("id")
        context = {"return_statuses": {order.pk: summary["return_status"]}}
        return Response(
            shapes.OrderReturnsSerializer({**summary, "returns": returns}, context=context).data
        )


def register(router) -> None:
    router.register("returns", ReturnViewSet, basename="return")
    router.register("refunds", RefundViewSet, basename="refund")
