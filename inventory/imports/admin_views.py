"""Admin pages of the stock CSV import: upload, dry-run preview with per-row errors, confirm.

`StockImportAdminMixin` goes on the `ImportJob` admin. Uploading always starts a dry run; its
preview page lists the bad rows and, once the dry run has finished, offers to apply the file
in the chosen mode, which starts a new job whose change page shows its progress.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from inventory.imports.errors import ImportFileInvalid
from inventory.imports.jobs import (
    import_job_create,
    import_job_error_lines,
    import_job_rerun,
    max_import_bytes,
)
from inventory.models import ImportJob

PREVIEW_ERRORS = 1000


class StockImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns sku, warehouse and on_hand (absolute) or delta; optional "
        "safety_stock, reorder_point, reorder_quantity. UTF-8, comma or semicolon.",
    )
    mode = forms.ChoiceField(
        choices=ImportJob.Mode.choices, initial=ImportJob.Mode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )


class StockImportConfirmForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportJob.Mode.choices, widget=forms.RadioSelect)


class StockImportAdminMixin:
    """Adds `import/`, `<id>/preview/` and `<id>/errors.csv` to the ImportJob admin."""

    change_list_template = "admin/inventory/importjob/change_list.html"
    change_form_template = "admin/inventory/importjob/change_form.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.upload_view), name="inventory_importjob_upload"),
            path("<int:job_id>/preview/", wrap(self.preview_view),
                 name="inventory_importjob_preview"),
            path("<int:job_id>/errors.csv", wrap(self.errors_view),
                 name="inventory_importjob_errors"),
            *super().get_urls(),
        ]

    def _check_import_permission(self, request) -> None:
        if not request.user.has_perm("inventory.change_stocklevel"):
            raise PermissionDenied

    def upload_view(self, request):
        self._check_import_permission(request)
        form = StockImportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = import_job_create(
                    file=form.cleaned_data["file"], mode=form.cleaned_data["mode"],
                    is_dry_run=True, actor=f"user:{request.user.get_username()}",
                )
            except ImportFileInvalid as error:
                form.add_error("file", error.detail)
            else:
                return redirect(reverse("admin:inventory_importjob_preview", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import stock from CSV",
            "form": form,
            "max_megabytes": round(max_import_bytes() / 1024 / 1024, 1),
        }
        return TemplateResponse(request, "admin/inventory/importjob/upload.html", context)

    def preview_view(self, request, job_id: int):
        self._check_import_permission(request)
        job = get_object_or_404(ImportJob, pk=job_id)
        if not job.is_dry_run:
            return redirect(reverse("admin:inventory_importjob_change", args=[job.pk]))
        form = StockImportConfirmForm(request.POST or None, initial={"mode": job.mode})
        is_ready = job.status == ImportJob.Status.COMPLETED
        if request.method == "POST" and is_ready and form.is_valid():
            applied = import_job_rerun(
                job=job, mode=form.cleaned_data["mode"],
                actor=f"user:{request.user.get_username()}",
            )
            applied.refresh_from_db()
            level = messages.SUCCESS
            if applied.status == ImportJob.Status.FAILED:
                level = messages.ERROR
            self.message_user(request, applied.message or "The import was queued.", level)
            return redirect(reverse("admin:inventory_importjob_change", args=[applied.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Preview of {job.filename}",
            "job": job,
            "form": form,
            "is_ready": is_ready,
            "is_running": job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING),
            "errors": job.errors[:PREVIEW_ERRORS],
        }
        return TemplateResponse(request, "admin/inventory/importjob/preview.html", context)

    def errors_view(self, request, job_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(ImportJob, pk=job_id)
        response = StreamingHttpResponse(
            import_job_error_lines(job=job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "is_running": bool(job and job.status in (ImportJob.Status.PENDING,
                                                      ImportJob.Status.RUNNING)),
        }
        return super().change_view(request, object_id, form_url, extra_context)
