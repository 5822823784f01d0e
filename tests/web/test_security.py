"""Security: sign-in, sessions, CSRF, throttling, roles, audit — on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.platform.db.schema import audit_events
from tests.web.conftest import PASSWORD, csrf_of, login


def audit_actions(app, username: str | None = None) -> list[str]:
    query = sa.select(audit_events.c.action).order_by(audit_events.c.id)
    if username:
        query = query.where(audit_events.c.username == username)
    with app.state.engine.connect() as conn:
        return list(conn.execute(query).scalars())


def test_pages_and_api_need_a_signed_in_user(anonymous: TestClient):
    page = anonymous.get("/admin/users", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    api = anonymous.get("/api/drg/runs")
    assert api.status_code == 401
    assert api.json() == {
        "ok": False,
        "status": 401,
        "problems": [
            {
                "code": "auth.required",
                "message": "请先登录 (login required)",
                "where": {"file": "<request>"},
                "severity": "error",
            }
        ],
    }


def test_login_sets_a_signed_httponly_samesite_cookie(web_app):
    client = TestClient(web_app)
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert PASSWORD not in cookie and "admin" not in cookie.split(";")[0].split("=", 1)[1][:0]


def test_login_without_csrf_token_is_refused(web_app):
    client = TestClient(web_app)
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403


def test_form_post_without_csrf_token_is_refused(client_for):
    client = client_for("admin")
    del client.headers["X-CSRF-Token"]
    response = client.post(
        "/admin/users", data={"username": "x", "password": "abcdefgh123", "role": "leader", "unit_id": "1"}
    )
    assert response.status_code == 403


def test_login_is_throttled_after_repeated_failures(web_app):
    client = TestClient(web_app)
    token = csrf_of(client)
    for _ in range(web_app.state.settings.login_max_failures):
        bad = client.post("/login", data={"username": "leader", "password": "wrong", "csrf_token": token})
        assert bad.status_code == 401
    # even the right password is refused while throttled
    refused = client.post("/login", data={"username": "leader", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429
    assert "auth.login_throttled" in audit_actions(web_app)
    with web_app.state.engine.begin() as conn:  # let the other tests sign in as leader again
        from shidian.platform.db.schema import login_throttle

        conn.execute(login_throttle.delete().where(login_throttle.c.bucket.like("%leader%")))


def test_non_admin_cannot_manage_users(client_for):
    client = client_for("officer")
    assert client.get("/admin/users").status_code == 403
    response = client.post(
        "/admin/users", data={"username": "x", "password": "abcdefgh123", "role": "admin", "unit_id": "1"}
    )
    assert response.status_code == 403


def test_admin_creates_and_disables_a_user_and_both_are_audited(web_app, client_for):
    admin = client_for("admin")
    weak = admin.post(
        "/admin/users", data={"username": "newbie", "password": "short", "role": "leader", "unit_id": "1"}
    )
    assert weak.status_code == 422 and "密码至少" in weak.text
    created = admin.post(
        "/admin/users",
        data={"username": "newbie", "password": "newbie-pass-123", "role": "leader", "unit_id": "1"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    newbie = login(TestClient(web_app), "newbie", "newbie-pass-123")
    from shidian.platform.db.schema import users

    with web_app.state.engine.connect() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username == "newbie")).scalar_one()
    admin.post(f"/admin/users/{user_id}/active", data={"active": "false"})
    # a disabled user's existing session stops working at once
    assert newbie.get("/admin/audit", follow_redirects=False).status_code == 303
    actions = audit_actions(web_app, "admin")
    assert "admin.user_created" in actions and "admin.user_disabled" in actions


def test_audit_log_is_browsable_and_exportable_by_admin(client_for):
    admin = client_for("admin")
    page = admin.get("/admin/audit?action=auth.login")
    assert page.status_code == 200 and "auth.login" in page.text
    export = admin.get("/admin/audit.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "auth.login" in export.content.decode("utf-8-sig")


def test_security_headers_and_no_external_assets(client_for):
    page = client_for("admin").get("/admin/users")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert "http://" not in page.text and "https://" not in page.text


def test_open_redirect_after_login_is_refused(web_app):
    client = TestClient(web_app)
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_the_audit_page_names_each_detail_in_chinese(client_for):
    """The Chinese audit page shows an event's details as 名称: 值, not as JSON keys; the English
    page keeps the field names (the code as each name's tooltip on both)."""
    admin = client_for("admin")
    admin.get("/admin/audit", params={"action": "auth.login", "page": 1})  # audited: action_filter, page
    zh = admin.get("/admin/audit?action=admin.audit_browsed&lang=zh_CN").text
    assert '<span title="action_filter">按操作筛选</span>: auth.login' in zh
    assert '<span title="page">页码</span>: 1' in zh and '"action_filter":' not in zh
    en = admin.get("/admin/audit?action=admin.audit_browsed&lang=en").text
    assert '<span title="action_filter">action_filter</span>: auth.login' in en


def test_every_audit_detail_has_a_chinese_name():
    import dataclasses

    import shidian.docs  # noqa: F401  (imports every domain's events)
    from shidian.platform.audit import DETAIL_LABELS, EVENTS

    fields = {f.name for event in EVENTS.values() for f in dataclasses.fields(event)} - {"target"}
    assert sorted(fields - DETAIL_LABELS.keys()) == []
