"""Stock CSV imports over the API: upload a file as a job, poll it, download its errors.

`POST /api/v1/inventory/imports/` (multipart: `file`, optional `mode`, `dry_run`) needs the
`inventory:write` scope and accepts an optional `Idempotency-Key`. Small files are processed
before the answer (201); big ones are queued in Celery (202) and polled with
`GET /api/v1/inventory/imports/{id}/`; `.../errors.csv` streams every bad row.

Import jobs are back-office work: reading one needs `inventory:read` granted on the key (a
channel key's default scopes do not cover it).
"""

from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from inventory.imports import import_job_create, import_job_error_lines
from inventory.models import ImportJob
from oms_project.api import CreatedLocationMixin, request_actor
from oms_project.idempotency import idempotent
from oms_project.serializers import StrictSerializer


class ImportJobCreateSerializer(StrictSerializer):
    file = serializers.FileField(allow_empty_file=True)
    mode = serializers.ChoiceField(
        choices=ImportJob.Mode.choices, default=ImportJob.Mode.ALL_OR_NOTHING
    )
    dry_run = serializers.BooleanField(default=False)


class ImportJobSerializer(serializers.ModelSerializer):
    dry_run = serializers.BooleanField(source="is_dry_run", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    errors = serializers.SerializerMethodField()
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "filename", "status", "mode", "dry_run", "total_rows", "processed_rows",
            "progress_percent", "error_rows", "inserted", "updated", "unchanged", "message",
            "errors", "errors_url", "created_by", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_errors(self, job: ImportJob) -> list[dict]:
        """The first bad rows: row, sku, warehouse, code, message."""
        return job.errors

    def get_errors_url(self, job: ImportJob) -> str:
        return reverse(
            "inventory-import-errors", kwargs={"pk": job.pk}, request=self.context.get("request")
        )


class ImportJobCollectionView(CreatedLocationMixin, APIView):
    scope = "inventory"
    created_locations = {"post": ("inventory-import", "pk", "id")}
    back_office = True
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=ImportJobCreateSerializer, responses={201: ImportJobSerializer,
                                                                 202: ImportJobSerializer})
    @idempotent()
    def post(self, request):
        """Upload a stock CSV (`sku, warehouse, on_hand` or `delta`) as an import job."""
        form = ImportJobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = import_job_create(
            file=form.validated_data["file"],
            mode=form.validated_data["mode"],
            is_dry_run=form.validated_data["dry_run"],
            actor=request_actor(request),
        )
        is_queued = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
        body = ImportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED if is_queued else 201)


class ImportJobDetailView(APIView):
    scope = "inventory"
    back_office = True

    @extend_schema(responses=ImportJobSerializer)
    def get(self, request, pk: int):
        """Status, progress, counts and the first ~1,000 bad rows of an import job."""
        job = get_object_or_404(ImportJob, pk=pk)
        return Response(ImportJobSerializer(job, context={"request": request}).data)


class CsvRenderer(BaseRenderer):
    """Lets clients ask for `text/csv`; errors are still problem+json."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class ImportJobErrorsView(APIView):
    scope = "inventory"
    back_office = True
    renderer_classes = [CsvRenderer, JSONRenderer]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, pk: int):
        """Every bad row of an import job as CSV (spreadsheet formulas neutralised)."""
        job = get_object_or_404(ImportJob, pk=pk)
        return import_errors_response(job)


def import_errors_response(job: ImportJob) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        import_job_error_lines(job=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


urlpatterns = [
    path("inventory/imports/", ImportJobCollectionView.as_view(), name="inventory-imports"),
    path("inventory/imports/<int:pk>/", ImportJobDetailView.as_view(), name="inventory-import"),
    path(
        "inventory/imports/<int:pk>/errors.csv",
        ImportJobErrorsView.as_view(),
        name="inventory-import-errors",
    ),
]
