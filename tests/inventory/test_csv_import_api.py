"""Stock CSV imports over the API and in the admin: job flow, error CSV, preview, confirm."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import ImportJob, StockLevel, StockMovement
from tests.factories import ProductFactory

URL = "/api/v1/inventory/imports/"
GOOD = "sku,warehouse,on_hand\nSKU-A,MAIN,7\n"
MIXED = "sku,warehouse,on_hand\nSKU-A,MAIN,7\n=HYPERLINK(1),MAIN,1\n"


def csv_file(content: str, name: str = "stock.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


@pytest.fixture
def writer(make_client, stock):
    stock("SKU-A", "MAIN", 10)
    return make_client(scopes=["inventory:write"])


def on_hand(sku: str = "SKU-A") -> int:
    return StockLevel.objects.get(product__sku=sku).on_hand


@pytest.mark.django_db
def test_small_import_runs_at_once_and_returns_the_job(writer):
    response = writer.post(URL, {"file": csv_file(GOOD)}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in ("status", "mode", "dry_run", "total_rows",
                                        "processed_rows", "progress_percent", "error_rows",
                                        "inserted", "updated", "unchanged", "errors")} == {
        "status": "completed", "mode": "all_or_nothing", "dry_run": False, "total_rows": 1,
        "processed_rows": 1, "progress_percent": 100, "error_rows": 0, "inserted": 0,
        "updated": 1, "unchanged": 0, "errors": [],
    }
    assert body["errors_url"].endswith(f"/api/v1/inventory/imports/{body['id']}/errors.csv")
    assert on_hand() == 7
    assert StockMovement.objects.filter(reference=f"import:{body['id']}").count() == 1


@pytest.mark.django_db
def test_bad_rows_fail_the_job_and_the_error_csv_is_formula_safe(writer):
    created = writer.post(URL, {"file": csv_file(MIXED)}, format="multipart").json()

    job = writer.get(f"{URL}{created['id']}/").json()
    assert (job["status"], job["error_rows"]) == ("failed", 1)
    assert job["errors"] == [{
        "row": 3, "sku": "=HYPERLINK(1)", "warehouse": "MAIN", "code": "unknown_sku",
        "message": "Unknown SKU '=HYPERLINK(1)'.",
    }]
    assert on_hand() == 10
    response = writer.get(f"{URL}{created['id']}/errors.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).decode().splitlines() == [
        "row,sku,warehouse,code,message",
        "3,'=HYPERLINK(1),MAIN,unknown_sku,Unknown SKU '=HYPERLINK(1)'.",
    ]


@pytest.mark.django_db
def test_apply_valid_and_dry_run_are_chosen_in_the_form(writer):
    dry = writer.post(URL, {"file": csv_file(MIXED), "mode": "apply_valid", "dry_run": "true"},
                      format="multipart").json()
    assert (dry["status"], dry["dry_run"], dry["updated"], on_hand()) == (
        "completed", True, 1, 10
    )

    applied = writer.post(URL, {"file": csv_file(MIXED), "mode": "apply_valid"},
                          format="multipart").json()
    assert (applied["status"], applied["updated"], applied["error_rows"]) == ("completed", 1, 1)
    assert on_hand() == 7


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"file": csv_file("")}, 400, "empty_file"),
        ({"file": csv_file("sku,on_hand\nSKU-A,1\n")}, 400, "missing_columns"),
        ({"file": csv_file(GOOD), "mode": "everything"}, 400, "validation_error"),
        ({}, 400, "validation_error"),
    ],
)
def test_unusable_uploads_are_problems_and_create_no_job(writer, data, status, code):
    response = writer.post(URL, data, format="multipart")

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert ImportJob.objects.count() == 0
    assert on_hand() == 10


@pytest.mark.django_db
def test_too_large_upload_is_413(writer, settings):
    settings.OMS_CSV_IMPORT_MAX_BYTES = 10

    response = writer.post(URL, {"file": csv_file(GOOD)}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (413, "file_too_large")
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_import_needs_the_inventory_write_scope(make_client, stock):
    stock("SKU-A", "MAIN", 10)
    reader = make_client(scopes=["inventory:read"])

    response = reader.post(URL, {"file": csv_file(GOOD)}, format="multipart")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_idempotency_key_replays_the_first_job(writer):
    first = writer.post(URL, {"file": csv_file(GOOD)}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="import-1")
    again = writer.post(URL, {"file": csv_file(GOOD)}, format="multipart",
                        HTTP_IDEMPOTENCY_KEY="import-1")

    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
def test_big_upload_is_queued_and_polled(writer, monkeypatch, django_capture_on_commit_callbacks):
    from inventory.imports import jobs
    from inventory.tasks import stock_import_run_task

    monkeypatch.setattr(jobs, "BACKGROUND_ROWS", 1)
    monkeypatch.setattr(stock_import_run_task, "delay", lambda job_id: None)
    ProductFactory(sku="SKU-B")

    with django_capture_on_commit_callbacks(execute=True):
        response = writer.post(URL, {"file": csv_file(GOOD + "SKU-B,MAIN,3\n")},
                               format="multipart")

    assert (response.status_code, response.json()["status"]) == (202, "pending")
    stock_import_run_task(response.json()["id"])
    polled = writer.get(f"{URL}{response.json()['id']}/").json()
    assert (polled["status"], polled["processed_rows"], polled["inserted"]) == ("completed", 2, 1)


@pytest.mark.django_db
def test_unknown_job_is_404(writer):
    response = writer.get(f"{URL}999999/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- Admin: upload -> dry-run preview -> confirm ------------------------------------------


@pytest.mark.django_db
def test_admin_upload_previews_errors_then_confirm_applies_valid_rows(admin_client, stock):
    stock("SKU-A", "MAIN", 10)

    page = admin_client.get("/admin/inventory/importjob/import/")
    assert page.status_code == 200
    uploaded = admin_client.post(
        "/admin/inventory/importjob/import/",
        {"file": csv_file(MIXED), "mode": "all_or_nothing"},
    )
    dry_run = ImportJob.objects.get()
    assert uploaded.status_code == 302
    assert uploaded["Location"] == f"/admin/inventory/importjob/{dry_run.pk}/preview/"
    assert (dry_run.is_dry_run, on_hand()) == (True, 10)

    preview = admin_client.get(uploaded["Location"])
    content = preview.content.decode()
    assert "Unknown SKU &#x27;=HYPERLINK(1)&#x27;." in content
    assert 'id="stock-import-confirm"' in content

    confirmed = admin_client.post(uploaded["Location"], {"mode": "apply_valid"})
    applied = ImportJob.objects.exclude(pk=dry_run.pk).get()
    assert confirmed["Location"] == f"/admin/inventory/importjob/{applied.pk}/change/"
    assert (applied.is_dry_run, applied.mode, applied.status) == (False, "apply_valid",
                                                                   "completed")
    assert on_hand() == 7
    change_page = admin_client.get(confirmed["Location"])
    assert change_page.status_code == 200
    assert "Download all 1 bad rows (CSV)" in change_page.content.decode()
    errors = admin_client.get(f"/admin/inventory/importjob/{applied.pk}/errors.csv")
    assert b"".join(errors.streaming_content).decode().splitlines()[1].startswith("3,'=HYPER")


@pytest.mark.django_db
def test_admin_upload_of_an_unusable_file_shows_the_reason(admin_client, stock):
    stock("SKU-A", "MAIN", 10)

    response = admin_client.post(
        "/admin/inventory/importjob/import/", {"file": csv_file("a;b\n1;2\n"),
                                               "mode": "all_or_nothing"},
    )

    assert response.status_code == 200
    assert "Unknown column(s): a, b" in response.content.decode()
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_admin_all_or_nothing_confirm_writes_nothing(admin_client, stock):
    stock("SKU-A", "MAIN", 10)
    admin_client.post("/admin/inventory/importjob/import/",
                      {"file": csv_file(MIXED), "mode": "all_or_nothing"})
    dry_run = ImportJob.objects.get()

    admin_client.post(f"/admin/inventory/importjob/{dry_run.pk}/preview/",
                      {"mode": "all_or_nothing"})

    applied = ImportJob.objects.exclude(pk=dry_run.pk).get()
    assert (applied.status, applied.error_rows, on_hand()) == ("failed", 1, 10)
