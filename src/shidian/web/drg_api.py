"""The DRG JSON API's shapes (接口数据结构): datasets, runs and the one error shape.

Pydantic models, so that ``/api/openapi.json`` describes every request and response; the
converters turn the repository rows of ``shidian.web.drg_runs`` into them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

#: Ids of datasets and runs: 32 lower-case hex digits (``uuid4().hex``).
HEX_ID = r"^[0-9a-f]{32}$"
#: Free text from users: no NUL (PostgreSQL refuses it in text columns).
TEXT = r"^[^\x00]*$"

RunId = Annotated[str, Field(pattern=HEX_ID, description="结算批次编号 (run id)")]
DatasetId = Annotated[str, Field(pattern=HEX_ID, description="数据集编号 (dataset id)")]


def _as_utc(value: object) -> object:
    """Times are stored in UTC; SQLite gives them back without the zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_as_utc)]
RunStatus = Literal["queued", "running", "draft", "published", "failed"]


class FileOut(BaseModel):
    sha256: str
    rows: int | None = None


class DatasetOut(BaseModel):
    """A validated set of DRG input files (数据集)."""

    id: str
    name: str
    year: int
    uploaded_by: int | None
    uploaded_at: Timestamp
    cases: int | None
    files: dict[str, FileOut]


class CheckOut(BaseModel):
    """One invariant check of a run (自检): name, what it checks, result, the numbers."""

    name: str
    description: str = ""
    ok: bool
    detail: str = ""


class RunOut(BaseModel):
    """A settlement run (结算批次); ``totals`` are decimal strings in yuan or points."""

    id: str
    status: RunStatus
    progress: str | None
    year: int
    dataset_id: str
    policy_id: str
    policy_version: str | None
    corrects_run_id: str | None
    note: str | None
    created_by: int | None
    created_at: Timestamp
    finished_at: Timestamp | None
    published_by: int | None
    published_at: Timestamp | None
    totals: dict[str, str] | None
    checks: list[CheckOut] | None
    warnings: int | None
    error: str | None = Field(description="失败原因 (first line of the error of a failed run)")


class RunCreate(BaseModel):
    """Start a run: settle a dataset under a reference policy, optionally correcting a published run."""

    dataset_id: DatasetId
    policy_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    corrects_run_id: RunId | None = None
    note: Annotated[str, Field(max_length=2000, pattern=TEXT)] | None = None


def dataset_out(row: dict[str, Any]) -> DatasetOut:
    manifest = row.get("manifest") or {}
    files = {name: FileOut(**info) for name, info in (manifest.get("files") or {}).items()}
    return DatasetOut(
        id=row["id"],
        name=row["name"],
        year=row["year"],
        uploaded_by=row["uploaded_by"],
        uploaded_at=row["uploaded_at"],
        cases=manifest.get("cases"),
        files=files,
    )


def error_summary(error: str | None) -> str | None:
    """The first line of a failed run's error (the traceback stays in the database)."""
    return None if not error else error.split("\n", 1)[0]


def run_out(row: dict[str, Any]) -> RunOut:
    fields: dict[str, Any] = {name: row.get(name) for name in RunOut.model_fields}
    fields["error"] = error_summary(row.get("error"))
    return RunOut.model_validate(fields)
