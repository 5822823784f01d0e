"""Files of datasets and runs (数据集与结算结果文件), under ``var/``.

* ``datasets/<id>/``: the input files as uploaded (CSV or Excel), read again by every run;
* ``runs/<id>/``: the settlement outputs (CSV, report.xlsx, run.json) and ``case_points.parquet``,
  sorted by hospital and case so that a hospital's page reads only its own row groups;
* ``staging/``: uploads being checked (``shidian-upload-*``, ``shidian-insurance-*``,
  ``registry-import-*``, ``rewards-*``, pilots' ``shidian-form-*`` and ``shidian-plan-*``): names and ID numbers stay inside the data directory, never in the
  system's temporary directory; a folder is removed when its check fails or its import lands,
  and whatever a crash left is swept when the server starts (``sweep_staging``).

Pages query the Parquet files with DuckDB; the database holds only metadata.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shidian import duck

_ID = re.compile(r"^[0-9a-f]{8,32}$")


def new_id() -> str:
    """A new dataset's or run's id: 32 lower-case hex digits (what ``dataset_dir`` accepts)."""
    return uuid.uuid4().hex


def _checked(identifier: str) -> str:
    if not _ID.match(identifier):
        raise ValueError(f"bad identifier {identifier!r}")
    return identifier


def dataset_dir(var_dir: Path, dataset_id: str) -> Path:
    return var_dir / "datasets" / _checked(dataset_id)


def run_dir(var_dir: Path, run_id: str) -> Path:
    return var_dir / "runs" / _checked(run_id)


def staging_root(var_dir: Path) -> Path:
    """Where uploads are staged while they are checked: ``var/staging`` (created, owner only)."""
    root = var_dir / "staging"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


@contextmanager
def staged_folder(var_dir: Path, prefix: str) -> Iterator[Path]:
    """A fresh folder under ``var/staging`` for one upload's files, removed when the block ends
    (whether the file was accepted or refused); a crash leaves it to ``sweep_staging``."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=staging_root(var_dir)))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_staging(var_dir: Path, older_than_seconds: float = 0) -> int:
    """Remove what a crash left in ``var/staging`` (every entry, or those older than the given
    age, when other server processes may be staging now); returns how many were removed."""
    root = var_dir / "staging"
    if not root.is_dir():
        return 0
    limit = time.time() - older_than_seconds
    removed = 0
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime <= limit:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed += 1
        except OSError:  # gone already
            continue
    return removed


def write_case_parquet(case_points: pa.Table, path: Path) -> None:
    """Cases sorted by (hospital_id, case_id), in row groups small enough to skip by hospital."""
    ordered = case_points.sort_by([("hospital_id", "ascending"), ("case_id", "ascending")])
    pq.write_table(ordered, path, row_group_size=64 * 1024, compression="zstd")
    write_case_arrow(ordered, path.with_suffix(".arrow"))


def write_case_arrow(case_points: pa.Table, path: Path) -> None:
    """An uncompressed Arrow IPC copy of the cases, for memory-mapped lookups of one case
    (``shidian.drg.results.cases.case_table``); written aside, then renamed into place."""
    partial = path.with_name(path.name + ".partial")
    with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, case_points.schema) as writer:
        writer.write_table(case_points, max_chunksize=64 * 1024)
    partial.replace(path)


def query(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Run one read-only DuckDB query (over Parquet/CSV paths in the SQL) and return dict rows."""
    con = duck.connect()
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def sql_path(path: Path) -> str:
    """A path as a SQL string literal (paths come from our own ids, never from users)."""
    return "'" + str(path).replace("'", "''") + "'"
