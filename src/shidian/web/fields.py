"""Field types shared by every JSON API (接口字段类型): ids, free text without NUL, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import HTTPException, UploadFile
from pydantic import AwareDatetime, BeforeValidator, Field

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


def read_uploads(files: list[UploadFile] | None, limit: int) -> list[tuple[str, bytes]]:
    """The named uploaded files as (file name, content); one larger than ``limit`` bytes is
    refused with 413 before more of it is read.

    Plain file reads: the form is parsed (spooled to memory or a temporary file) before the route
    runs, so a sync route reads it in its worker thread, as Starlette's ``await upload.read()``
    would for a file on disk, and keeps its database work and page there too."""
    uploads = []
    for upload in files or []:
        content = upload.file.read(limit + 1)
        if len(content) > limit:
            raise HTTPException(status_code=413, detail="文件过大 (file too large)")
        if upload.filename:
            uploads.append((upload.filename, content))
    return uploads
