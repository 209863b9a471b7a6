"""Shipments over the API: record them (two shapes), read them, and take tracking updates.

- `POST /api/v1/orders/shipments/`: the channels' camelCase shape (DESIGN §4), one object or
  a list; the whole request is applied or nothing is.
- `POST /api/v1/orders/{number}/shipments/`: our snake_case shape for one order.

In both, a reference the order already has is the same parcel sent again: news in it (a
tracking number the shipment lacked, a status, dates) updates the shipment, answered 200 with
it as it is now (`existing` in the camelCase results); other lines, location or tracking
number are 409 `shipment_reference_reused` (`orders.services.shipments.shipment_record`).
- `GET /api/v1/shipments/`, `GET /api/v1/shipments/{id}/`.
- `POST /api/v1/shipments/{id}/events/` (carrier or 3PL scans) and `.../tracking/`.

Channel keys work on their own orders' shipments; integration keys need `shipments:write`
(`shipments:read` to read).
"""

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from oms_project.api import CreatedLocationMixin, HasApiAccess, request_actor, request_channel
from oms_project.changes import CHANGE_ORDERING, updated_after_filter
from oms_project.errors import OmsError, ValidationFailed, line_errors_at_positions
from oms_project.idempotency import idempotency_key_parameter, idempotent
from orders.models import Order, Shipment
from orders.services.shipment_intake import shipments_record
from orders.services.tracking import shipment_track, shipment_tracking_update
from orders.shipment_serializers import (
    CAMEL_FIELDS,
    ChannelShipmentSerializer,
    ChannelShipmentsSerializer,
    ShipmentDetailSerializer,
    ShipmentEventSerializer,
    ShipmentInputSerializer,
    ShipmentSerializer,
    TrackingEventInputSerializer,
    TrackingUpdateInputSerializer,
)

IDEMPOTENCY_KEY = idempotency_key_parameter(required=True)


class ShipmentAccess(HasApiAccess):
    """Channel keys may record and track their own orders' shipments without extra scopes."""

    def has_permission(self, request, view):
        if request_channel(request) is not None:
            return True
        return super().has_permission(request, view)


def _shipments_queryset(request):
    queryset = Shipment.objects.select_related(
        "order", "service_level", "warehouse"
    ).prefetch_related("lines__order_line")
    channel = request_channel(request)
    return queryset.filter(order__channel=channel) if channel else queryset


def _visible_order(request, number: str) -> Order | None:
    queryset = Order.objects.select_related("channel")
    channel = request_channel(request)
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    return queryset.filter(number=number).first()


class ShipmentResultSerializer(serializers.Serializer):
    results = serializers.ListField(child=serializers.DictField())


class ChannelShipmentsView(APIView):
    """Record shipments sent in the channels' camelCase shape, unchanged."""

    scope = "shipments"
    permission_classes = [ShipmentAccess]

    @extend_schema(
        request=ChannelShipmentsSerializer,
        responses={201: ShipmentResultSerializer, 200: ShipmentResultSerializer},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="shipments_record_channel_shape",
    )
    @idempotent(required=True)
    def post(self, request):
        documents = request.data if isinstance(request.data, list) else [request.data]
        if not documents or len(documents) > 500:
            raise ValidationFailed("Send one shipment document or a list of 1 to 500.")
        batches = []
        errors = {}
        for index, document in enumerate(documents):
            serializer = ChannelShipmentsSerializer(data=document)
            if not serializer.is_valid():
                errors[str(index)] = serializer.errors
                continue
            order = _visible_order(request, serializer.validated_data["orderId"])
            if order is None:
                errors[str(index)] = {"orderId": ["No such order."]}
                continue
            entries = [
                ChannelShipmentSerializer.to_shipment(entry)
                for entry in serializer.validated_data["shipments"]
            ]
            batches.append((order, entries))
        if errors:
            raise ValidationFailed(errors=errors if isinstance(request.data, list) else errors["0"])
        try:
            results = shipments_record(batches=batches, actor=request_actor(request))
        except OmsError as error:
            error.errors = _camel_errors(
                _positioned_batch_errors(error, batches), as_list=isinstance(request.data, list)
            )
            raise
        body = {
            "results": [
                {
                    "orderId": order.number,
                    "shipmentRef": shipment.reference,
                    "result": "created" if created else "existing",
                    "shipment": ShipmentSerializer(shipment).data,
                }
                for (order, _), outcomes in zip(batches, results, strict=True)
                for shipment, created in outcomes
            ]
        }
        created_any = any(created for outcomes in results for _, created in outcomes)
        return Response(body, status=status.HTTP_201_CREATED if created_any else status.HTTP_200_OK)


def _lines_at_positions(error: OmsError, order: Order, lines: list[dict]) -> OmsError:
    """A shipment's line errors keyed by the lines' positions in the request."""
    known = set(order.lines.values_list("pk", flat=True))
    return line_errors_at_positions(error, lines, known_ids=known)


def _positioned_batch_errors(error: OmsError, batches: list) -> dict | None:
    """`shipments_record`'s errors (`[batch]["shipments"][shipment]`) with each shipment's
    line errors keyed by position in the request."""
    if not isinstance(error.errors, dict):
        return error.errors
    for batch_index, batch in error.errors.items():
        order, entries = batches[int(batch_index)]
        for shipment_index, errors in (batch.get("shipments") or {}).items():
            one = OmsError(errors=errors)
            _lines_at_positions(one, order, entries[int(shipment_index)]["lines"])
            batch["shipments"][shipment_index] = one.errors
    return error.errors


def _camel_errors(errors, *, as_list: bool):
    """Rename our field names to the camelCase ones inside positioned batch errors."""
    if not isinstance(errors, dict):
        return errors
    renamed = {}
    for batch_index, batch in errors.items():
        shipments = {
            position: (
                {
                    CAMEL_FIELDS.get(field, field): _camel_line_errors(value)
                    if field == "lines"
                    else value
                    for field, value in fields.items()
                }
                if isinstance(fields, dict)
                else fields
            )
            for position, fields in batch.get("shipments", {}).items()
        }
        renamed[batch_index] = {"shipments": shipments}
    return renamed if as_list else renamed.get("0", renamed)


def _camel_line_errors(errors):
    """Line errors by position with `line_id` named `lineItemId`, as the channel sent it."""
    if not isinstance(errors, dict):
        return errors
    return {
        position: (
            {("lineItemId" if name == "line_id" else name): messages
             for name, messages in fields.items()}
            if isinstance(fields, dict)
            else fields
        )
        for position, fields in errors.items()
    }


class OrderShipmentsView(CreatedLocationMixin, APIView):
    """Record one shipment of an order in our snake_case shape."""

    scope = "shipments"
    created_locations = {"post": ("shipment-detail", "pk", "id")}
    permission_classes = [ShipmentAccess]

    @extend_schema(
        request=ShipmentInputSerializer,
        responses={201: ShipmentSerializer, 200: ShipmentSerializer},
        parameters=[IDEMPOTENCY_KEY],
        operation_id="order_shipments_create",
    )
    @idempotent(required=True)
    def post(self, request, number: str):
        order = _visible_order(request, number)
        if order is None:
            raise Http404
        serializer = ShipmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            [[(shipment, created)]] = shipments_record(
                batches=[(order, [serializer.validated_data])], actor=request_actor(request)
            )
        except OmsError as error:
            error.errors = (error.errors or {}).get("0", {}).get("shipments", {}).get("0")
            raise _lines_at_positions(error, order, serializer.validated_data["lines"]) from None
        return Response(
            ShipmentSerializer(shipment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ShipmentFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order__number")
    status = django_filters.MultipleChoiceFilter(choices=Shipment.Status.choices)
    tracking_number = django_filters.CharFilter()
    updated_after = updated_after_filter()

    class Meta:
        model = Shipment
        fields = ["order", "status", "tracking_number"]


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope = "shipments"
    permission_classes = [ShipmentAccess]
    filterset_class = ShipmentFilter
    ordering_fields = [CHANGE_ORDERING]

    def get_queryset(self):
        queryset = _shipments_queryset(self.request)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events")
        return queryset

    def get_serializer_class(self):
        return ShipmentDetailSerializer if self.action == "retrieve" else ShipmentSerializer

    @extend_schema(request=TrackingEventInputSerializer, responses={201: ShipmentEventSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def events(self, request, pk=None):
        shipment = self.get_object()
        serializer = TrackingEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        event = shipment_track(
            shipment=shipment,
            status=data["status"],
            occurred_at=data.get("time"),
            location=data.get("location", ""),
            message=data.get("message", ""),
            actor=request_actor(request),
        )
        return Response(ShipmentEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TrackingUpdateInputSerializer, responses={200: ShipmentSerializer})
    @action(detail=True, methods=["post"])
    @idempotent()
    def tracking(self, request, pk=None):
        shipment = self.get_object()
        serializer = TrackingUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shipment = shipment_tracking_update(
            shipment=shipment,
            tracking_number=data["tracking_number"],
            carrier_name=data.get("carrier", ""),
            tracking_url=data.get("tracking_url", ""),
            actor=request_actor(request),
        )
        return Response(ShipmentSerializer(self.get_queryset().get(pk=shipment.pk)).data)

