"""`GET /api/v1/accounting/journal/?date=YYYY-MM-DD` as JSON or CSV (`accounting:read`)."""

from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import renderers, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from oms_project.errors import ValidationFailed
from orders.accounting import accounting_journal, accounting_journal_csv


class JournalCsvRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "rows" in data:
            return accounting_journal_csv(data["rows"]).encode()
        return renderers.JSONRenderer().render(data)


class JournalSerializer(serializers.Serializer):
    date = serializers.DateField()
    rows = serializers.ListField(child=serializers.DictField())


class AccountingJournalView(APIView):
    """Sales, cancellations and refunds of one day, per channel and currency."""

    scope = "accounting"
    renderer_classes = [renderers.JSONRenderer, JournalCsvRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter("date", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("format", str, enum=["json", "csv"], required=False),
        ],
        responses={200: JournalSerializer},
    )
    def get(self, request):
        text = request.query_params.get("date", "")
        try:
            day = parse_date(text) if text else None
        except ValueError:
            day = None
        if day is None:
            raise ValidationFailed(
                "Name the day of the journal.",
                errors={"date": ["Use a date in the form YYYY-MM-DD."]},
            )
        response = Response({"date": day.isoformat(), "rows": accounting_journal(day=day)})
        if getattr(request.accepted_renderer, "format", "") == "csv":
            response["Content-Disposition"] = f'attachment; filename="journal-{day}.csv"'
        return response
