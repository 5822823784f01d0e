"""Per-request registry glue (请求上下文): the app's data keys, and an uploaded file on disk."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import Request, UploadFile

from shidian.platform.crypto import DataKeys
from shidian.platform.files import staging_root


def keys(request: Request) -> DataKeys:
    """The data keys, derived once per app from SHIDIAN_DATA_KEY or the secret key."""
    state = request.app.state
    found: DataKeys | None = getattr(state, "registry_keys", None)
    if found is None:
        found = DataKeys.from_env(state.settings.secret_key)
        state.registry_keys = found
    return found


@contextmanager
def uploaded(request: Request, file: UploadFile) -> Iterator[tuple[Path, str]]:
    """(a temporary copy of the upload in ``var/staging``, its display name), removed afterwards."""
    name = Path(file.filename or "registry.csv").name[:100]
    suffix = ".xlsx" if name.lower().endswith(".xlsx") else ".csv"
    folder = Path(
        tempfile.mkdtemp(prefix="registry-import-", dir=staging_root(request.app.state.settings.var_dir))
    )
    try:
        path = folder / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        yield path, name
    finally:
        shutil.rmtree(folder, ignore_errors=True)
