"""The OpenAPI schema generator's per-view inspector, with the project's conventions."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from oms_project.api import CreatedLocationMixin
from oms_project.idempotency import idempotency_key_parameter

LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    response=[201, 202],
    description="The URL of what the request created.",
)


class OmsAutoSchema(AutoSchema):
    """drf-spectacular's `AutoSchema`, declaring what it leaves out on its own.

    - `Idempotency-Key` on every `@idempotent` view. A parameter declared with
      `extend_schema` under the same name wins, so a view can say more about its key (see
      `idempotency_key_parameter`).
    - The `Location` header of a 201 or 202 answer, on views that set it
      (`CreatedLocationMixin`).
    - `minItems: 1` on request lists that refuse an empty list (`allow_empty=False`).
    """

    def get_override_parameters(self):
        declared = super().get_override_parameters()
        if isinstance(self.view, CreatedLocationMixin) and self.view.created_location_route(
            self.method
        ):
            declared = [*declared, LOCATION_HEADER]
        required = getattr(self._handler(), "idempotency_key_required", None)
        if required is None:
            return declared
        return [idempotency_key_parameter(required=required), *declared]

    def _handler(self):
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        refuses_empty = isinstance(field, serializers.ListSerializer | serializers.ListField) and (
            field.allow_empty is False
        )
        if direction == "request" and refuses_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        return schema
