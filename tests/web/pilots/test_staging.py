"""Pilot uploads are staged inside the data directory (issue 22 finding 6): a filled form or a
plan workbook is read from a folder under ``var/staging``, never the system's temporary
directory, and the folder is gone once the upload is refused (or accepted)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.pilots import form_excel
from shidian.pilots.service import plans as plan_service
from tests.web.pilots.conftest import COUNTY


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory, watched: the app must leave nothing there."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Path]:
    """Record the path each call of ``owner.name`` reads (its first argument)."""
    seen: list[Path] = []
    real = getattr(owner, name)

    def spy(path: Path, *args: Any, **kwargs: Any) -> Any:
        seen.append(path)
        assert path.is_file()  # the upload is on disk while it is read …
        return real(path, *args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return seen


def _left(app: FastAPI) -> list[Path]:
    root = app.state.settings.var_dir / "staging"
    return sorted(root.iterdir()) if root.is_dir() else []


def test_a_refused_form_upload_is_staged_in_var_and_leaves_nothing(
    pilots_app: FastAPI,
    plan_id: int,
    pilot_client: Callable[[str], TestClient],
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy(monkeypatch, form_excel, "read_table")
    bad = b"PK\x03\x04" + "not a workbook, 张三 450821198001010011".encode()
    answer = pilot_client("county_user").post(
        f"/pilots/reports/{plan_id}/{COUNTY}/2021-07-01/upload", files={"file": ("form.xlsx", bad, "x/y")}
    )
    assert answer.status_code == 422
    staging = pilots_app.state.settings.var_dir / "staging"
    assert len(seen) == 1 and seen[0].parent.parent == staging  # … under var/staging
    assert _left(pilots_app) == [] and list(private_tmp.iterdir()) == []


def test_a_refused_plan_workbook_is_staged_in_var_and_leaves_nothing(
    pilots_app: FastAPI,
    pilot_client: Callable[[str], TestClient],
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _spy(monkeypatch, plan_service, "read_plan_xlsx")
    answer = pilot_client("pilot_office").post(
        "/pilots/reports/plans/upload", files={"file": ("plan.xlsx", b"PK\x03\x04 broken", "x/y")}
    )
    assert answer.status_code == 422 and "pilots.plan.unreadable" in answer.text
    staging = pilots_app.state.settings.var_dir / "staging"
    assert len(seen) == 1 and seen[0].parent.parent == staging
    assert _left(pilots_app) == [] and list(private_tmp.iterdir()) == []
