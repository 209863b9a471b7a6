"""Fulfillment over the API: fulfillment orders and their work actions (pick, pack, ship,
pickup collection and staff hand-over, hold, re-route), routing decisions, and an order's
promise.

Channel keys read their own channel's records; the work actions need an integration key with
`orders:write` (a WMS, a store system) or a staff session.
"""

import django_filters
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from oms_project.api import problem_responses, request_actor, request_channel
from oms_project.errors import ValidationFailed
from oms_project.filters import MomentFilter
from oms_project.idempotency import idempotency_key_parameter, idempotent
from orders import fulfillment_serializers as shapes
from orders.fulfillment_states import FulfillmentStatus
from orders.models import FulfillmentOrder, FulfillmentOrderLine, Order, RoutingDecision
from orders.notifications import customer_may_be_emailed
from orders.services import fulfillment as services
from warehouses.models import Warehouse

IDEMPOTENCY_KEY = idempotency_key_parameter(required=False)


def work_responses(ok, described: dict[int, str] | None = None) -> dict:
    """The answers of a fulfillment work action: `ok` on success, else a problem.

    `described` overrides or adds the description of error statuses.
    """
    problems = {
        400: "`validation_error`: an unknown field or a bad value.",
        403: "`permission_denied`: a channel key, or a key without `orders:write`.",
        404: "`not_found`: no such fulfillment order.",
        409: "`invalid_transition`: not allowed in the fulfillment order's status, or the "
        "order is on hold.",
    }
    problems.update(described or {})
    return {200: ok, **problem_responses(problems)}


class FulfillmentOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=FulfillmentStatus.choices)
    warehouse = django_filters.CharFilter(field_name="warehouse__code")
    order = django_filters.CharFilter(field_name="order__number")

    class Meta:
        model = FulfillmentOrder
        fields = ["status", "warehouse", "order"]


def fulfillment_orders_visible(channel=None):
    queryset = FulfillmentOrder.objects.select_related(
        "order", "warehouse", "service_level", "shipment"
    ).prefetch_related(
        Prefetch(
            "lines",
            queryset=FulfillmentOrderLine.objects.select_related("order_line").order_by("id"),
        )
    )
    if channel is not None:
        queryset = queryset.filter(order__channel=channel)
    return queryset


class FulfillmentOrderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    scope = "orders"
    serializer_class = shapes.FulfillmentOrderSerializer
    filterset_class = FulfillmentOrderFilter

    def get_queryset(self):
        return fulfillment_orders_visible(request_channel(self.request))

    def _work_target(self) -> FulfillmentOrder:
        if request_channel(self.request) is not None:
            raise exceptions.PermissionDenied(
                "Fulfillment work needs an integration key or a staff session."
            )
        return self.get_object()

    def _input(self, shape=shapes.NoInputSerializer) -> dict:
        """The action's validated input; unknown fields are refused before any work starts."""
        payload = shape(data=self.request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    def _render(self, fulfillment_order: FulfillmentOrder) -> Response:
        fresh = get_object_or_404(fulfillment_orders_visible(), pk=fulfillment_order.pk)
        return Response(shapes.FulfillmentOrderSerializer(fresh).data)

    @extend_schema(request=None, responses=work_responses(shapes.FulfillmentOrderSerializer))
    @action(detail=True, methods=["post"])
    @idempotent()
    def pick(self, request, pk=None):
        fulfillment_order = self._work_target()
        self._input()
        services.fulfillment_pick_start(
            fulfillment_order=fulfillment_order, actor=request_actor(request)
        )
        return self._render(fulfillment_order)

    @extend_schema(
        request=shapes.PackSerializer,
        responses=work_responses(
            shapes.FulfillmentOrderSerializer,
            {
                400: "`pack_mismatch` (scanned units differ from the lines; `errors` per "
                "SKU) or `validation_error`."
            },
        ),
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def pack(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.PackSerializer)
        services.fulfillment_pack(
            fulfillment_order=fulfillment_order,
            scans=data["items"],
            actor=request_actor(request),
        )
        return self._render(fulfillment_order)

    @extend_schema(
        request=shapes.ShipSerializer,
        responses=work_responses(shapes.FulfillmentOrderSerializer),
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def ship(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.ShipSerializer)
        services.fulfillment_ship(
            fulfillment_order=fulfillment_order,
            actor=request_actor(request),
            reference=data.get("reference", ""),
            carrier_name=data.get("carrier", ""),
            tracking_number=data.get("tracking_number", ""),
            tracking_url=data.get("tracking_url", ""),
        )
        return self._render(fulfillment_order)

    @extend_schema(request=None, responses=work_responses(shapes.ReadyForPickupSerializer))
    @action(detail=True, methods=["post"], url_path="ready-for-pickup")
    @idempotent()
    def ready_for_pickup(self, request, pk=None):
        fulfillment_order = self._work_target()
        self._input()
        fulfillment_order, code = services.fulfillment_ready_for_pickup(
            fulfillment_order=fulfillment_order, actor=request_actor(request)
        )
        data = self._render(fulfillment_order).data
        emailed = customer_may_be_emailed(fulfillment_order.order)
        return Response({**data, "pickup_code": None if emailed else code})

    @extend_schema(
        request=shapes.CollectSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: shapes.FulfillmentOrderSerializer,
            **problem_responses(
                {
                    400: "`invalid_pickup_code` (counted; `attempts_left` says how many more "
                    "are allowed) or `validation_error`.",
                    409: "`pickup_code_used`, or `invalid_transition` when not ready for "
                    "pickup or the order is on hold.",
                    429: "`pickup_code_locked`: too many wrong codes; no code is checked "
                    "before `locked_until` (`retry_after` seconds). Staff can hand over "
                    "after checking the customer's identity: `POST "
                    "/api/v1/fulfillment-orders/{id}/hand-over/`.",
                }
            ),
        },
    )
    @action(detail=True, methods=["post"])
    @idempotent()
    def collect(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.CollectSerializer)
        services.fulfillment_collect(
            fulfillment_order=fulfillment_order,
            code=data["code"],
            actor=request_actor(request),
        )
        return self._render(fulfillment_order)

    @extend_schema(
        summary="Hand a ready pickup order over without its code",
        description="Staff who checked the customer's identity hand the order over without "
        "the pickup code (it was lost, or wrong codes locked the counter out); its units leave "
        "stock as collected, and the order completes when nothing else is left to hand over. "
        "The reason is required and recorded on the order.",
        request=shapes.HandOverSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            200: shapes.FulfillmentOrderSerializer,
            **problem_responses(
                {
                    400: "`validation_error`: no reason, or an unknown field.",
                    403: "`permission_denied`: a channel key, or a key without "
                    "`orders:write`.",
                    404: "`not_found`: no such fulfillment order.",
                    409: "`pickup_code_used` when the order was already collected or handed "
                    "over, or `invalid_transition` when it is not ready for pickup or the "
                    "order is on hold.",
                }
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="hand-over")
    @idempotent()
    def hand_over(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.HandOverSerializer)
        services.fulfillment_hand_over(
            fulfillment_order=fulfillment_order,
            reason=data["reason"],
            actor=request_actor(request),
        )
        return self._render(fulfillment_order)

    @extend_schema(
        request=shapes.ReasonSerializer,
        responses=work_responses(shapes.FulfillmentOrderSerializer),
    )
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.ReasonSerializer)
        services.fulfillment_hold(
            fulfillment_order=fulfillment_order,
            reason=data["reason"],
            actor=request_actor(request),
        )
        return self._render(fulfillment_order)

    @extend_schema(request=None, responses=work_responses(shapes.FulfillmentOrderSerializer))
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        fulfillment_order = self._work_target()
        self._input()
        services.fulfillment_release(
            fulfillment_order=fulfillment_order, actor=request_actor(request)
        )
        return self._render(fulfillment_order)

    @extend_schema(request=None, responses=work_responses(shapes.FulfillmentOrderSerializer))
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        fulfillment_order = self._work_target()
        self._input()
        services.fulfillment_close(
            fulfillment_order=fulfillment_order, actor=request_actor(request)
        )
        return self._render(fulfillment_order)

    @extend_schema(
        request=shapes.RerouteSerializer,
        responses=work_responses(
            shapes.FulfillmentOrderSerializer(many=True),
            {
                400: "`validation_error`: no reason, or an unknown `warehouse`.",
                409: "`reroute_refused`: no location (or not the one named) can take "
                "every unit; `invalid_transition` when the work has started.",
            },
        ),
    )
    # The fulfillment orders now holding the units, as a plain (unpaged) list.
    @action(detail=True, methods=["post"], pagination_class=None)
    @idempotent()
    def reroute(self, request, pk=None):
        fulfillment_order = self._work_target()
        data = self._input(shapes.RerouteSerializer)
        code = data.get("warehouse") or ""
        warehouse = None
        if code:
            warehouse = Warehouse.objects.filter(code=code, is_active=True).first()
            if warehouse is None:
                raise ValidationFailed(errors={"warehouse": [f"Unknown location '{code}'."]})
        created = services.fulfillment_reroute(
            fulfillment_order=fulfillment_order,
            actor=request_actor(request),
            reason=data["reason"],
            warehouse=warehouse,
        )
        fresh = fulfillment_orders_visible().filter(pk__in=[item.pk for item in created])
        return Response(shapes.FulfillmentOrderSerializer(fresh, many=True).data)


class RoutingDecisionFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order__number")
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = RoutingDecision
        fields = ["order", "trigger"]


class RoutingDecisionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Why each order went where it went: candidates, rejections, scores and the plan."""

    scope = "orders"
    serializer_class = shapes.RoutingDecisionSerializer
    filterset_class = RoutingDecisionFilter

    def get_queryset(self):
        queryset = RoutingDecision.objects.select_related("order")
        channel = request_channel(self.request)
        return queryset.filter(order__channel=channel) if channel is not None else queryset


class OrderFulfillmentViewSet(viewsets.GenericViewSet):
    """An order's promise with its fulfillment orders and routing decisions."""

    scope = "orders"
    serializer_class = shapes.OrderPromiseSerializer
    pagination_class = None
    queryset = Order.objects.none()  # answers come from `list`; this names the model

    @extend_schema(responses={200: shapes.OrderPromiseSerializer})
    def list(self, request, number=None):
        orders = Order.objects.all()
        channel = request_channel(request)
        if channel is not None:
            orders = orders.filter(channel=channel)
        order = get_object_or_404(orders, number=number)
        data = {
            "order": order.number,
            "promised_ship_date": order.promised_ship_date,
            "promised_delivery_date": order.promised_delivery_date,
            "fulfillment_orders": fulfillment_orders_visible().filter(order=order),
            "routing_decisions": order.routing_decisions.select_related("order").order_by("-id"),
        }
        return Response(shapes.OrderPromiseSerializer(data).data)


def register(router) -> None:
    router.register("fulfillment-orders", FulfillmentOrderViewSet, basename="fulfillment-order")
    router.register("routing-decisions", RoutingDecisionViewSet, basename="routing-decision")
    router.register(
        r"orders/(?P<number>[^/]+)/fulfillment", OrderFulfillmentViewSet,
        basename="order-fulfillment",
    )
