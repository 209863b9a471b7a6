"""Bulk stock updates from CSV files: checked, previewed, applied set-based, reported per row.

The public surface is re-exported here; see `jobs` (services), `reader` (file format),
`orm_writer` and `postgres_writer` (the two write paths, which give identical results).
"""

from inventory.imports.errors import ImportFileInvalid, RowError, row_error_message
from inventory.imports.jobs import (
    default_write_path,
    import_job_create,
    import_job_error_lines,
    import_job_rerun,
    import_job_run,
    import_job_start,
    import_jobs_close_stale,
)
from inventory.imports.outcome import neutralise_formula

__all__ = [
    "ImportFileInvalid",
    "RowError",
    "default_write_path",
    "import_job_create",
    "import_job_error_lines",
    "import_job_rerun",
    "import_job_run",
    "import_jobs_close_stale",
    "import_job_start",
    "neutralise_formula",
    "row_error_message",
]
