"""Server-side sessions (issue 22 finding 2), on SQLite and PostgreSQL over the app's HTTP: a
copied cookie stops working on pages, the API and forms once its session ends — at logout, a
password change, the user disabled, an administrator's "sign out everywhere", after the idle
timeout and at the absolute lifetime."""

from __future__ import annotations

import base64
import datetime as dt
import json

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shidian.platform import clock
from shidian.platform.db.schema import audit_events, sessions, users
from tests.web.session_helpers import COOKIE, copy_of, new_user, signed_in


def signed_out(client: TestClient) -> bool:
    """Whether the client is refused as signed out on a page, the JSON API and a form post."""
    page = client.get("/policies", follow_redirects=False)
    api = client.get("/api/drg/runs")
    return (
        page.status_code == 303 and page.headers["location"].startswith("/login") and api.status_code == 401
    )


def test_a_copied_cookie_is_worthless_after_logout(web_app: FastAPI):
    _, name = new_user(web_app, "admin", "BUREAU")
    victim = signed_in(web_app, name)
    thief = copy_of(web_app, victim)
    assert not signed_out(thief)  # the copy works while the session is open (the attack before logout)
    victim.post("/logout", follow_redirects=False)
    assert signed_out(thief)
    assert signed_out(victim)
    # a write with the copied cookie and its CSRF token: refused, nothing created
    created = thief.post(
        "/admin/users",
        data={"username": f"{name}_x", "password": "another-pass-1", "role": "leader", "unit_id": "1"},
        headers={"X-CSRF-Token": thief.headers["X-CSRF-Token"]},
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"].startswith("/login")
    with web_app.state.engine.connect() as conn:
        assert conn.execute(sa.select(users.c.id).where(users.c.username == f"{name}_x")).first() is None


def test_the_cookie_holds_a_random_token_and_the_table_only_its_hash(web_app: FastAPI):
    user_id, name = new_user(web_app, "leader", "BUREAU")
    client = signed_in(web_app, name)
    payload = client.cookies[COOKIE].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}  # no user id, no role
    with web_app.state.engine.connect() as conn:
        stored = list(conn.execute(sa.select(sessions.c.id).where(sessions.c.user_id == user_id)).scalars())
    assert len(stored) == 1 and stored[0] != data["sid"] and len(stored[0]) == 64


def test_a_password_change_ends_every_session_of_the_user(web_app: FastAPI):
    admin = signed_in(web_app, new_user(web_app, "admin", "BUREAU")[1])
    user_id, name = new_user(web_app, "leader", "BUREAU")
    first, second = signed_in(web_app, name), signed_in(web_app, name)
    thief = copy_of(web_app, first)
    changed = admin.post(
        f"/admin/users/{user_id}/password", data={"password": "new-pass-2021"}, follow_redirects=False
    )
    assert changed.status_code == 303, changed.text
    assert signed_out(first) and signed_out(second) and signed_out(thief)
    assert not signed_out(admin)
    assert not signed_out(signed_in_with(web_app, name, "new-pass-2021"))
    weak = admin.post(f"/admin/users/{user_id}/password", data={"password": "short"}, follow_redirects=False)
    assert weak.status_code == 422


def signed_in_with(app: FastAPI, name: str, password: str) -> TestClient:
    from tests.web.conftest import login

    return login(TestClient(app), name, password)


def test_disabling_a_user_ends_its_sessions_and_enabling_does_not_revive_them(web_app: FastAPI):
    admin = signed_in(web_app, new_user(web_app, "admin", "BUREAU")[1])
    user_id, name = new_user(web_app, "leader", "BUREAU")
    victim = signed_in(web_app, name)
    thief = copy_of(web_app, victim)
    admin.post(f"/admin/users/{user_id}/active", data={"active": "false"}, follow_redirects=False)
    assert signed_out(thief)
    admin.post(f"/admin/users/{user_id}/active", data={"active": "true"}, follow_redirects=False)
    assert signed_out(thief) and signed_out(victim)


def test_an_admin_signs_a_user_out_everywhere_audited(web_app: FastAPI):
    admin = signed_in(web_app, new_user(web_app, "admin", "BUREAU")[1])
    user_id, name = new_user(web_app, "leader", "BUREAU")
    clients = [signed_in(web_app, name) for _ in range(3)]
    answer = admin.post(f"/admin/users/{user_id}/sessions/revoke", follow_redirects=False)
    assert answer.status_code == 303
    assert all(signed_out(c) for c in clients)
    with web_app.state.engine.connect() as conn:
        detail = conn.execute(
            sa.select(audit_events.c.detail).where(
                audit_events.c.action == "admin.sessions_revoked", audit_events.c.target == name
            )
        ).scalar_one()
    assert detail == {"sessions": 3}
    unknown = admin.post("/admin/users/999999/sessions/revoke", follow_redirects=False)
    assert unknown.status_code == 404
    not_admin = signed_in(web_app, new_user(web_app, "leader", "BUREAU")[1])
    assert not_admin.post(f"/admin/users/{user_id}/sessions/revoke").status_code == 403


def _age_session(app: FastAPI, user_id: int, **columns: dt.datetime) -> None:
    with app.state.engine.begin() as conn:
        conn.execute(sessions.update().where(sessions.c.user_id == user_id).values(**columns))


def test_an_idle_session_ends_after_the_idle_timeout(web_app: FastAPI):
    idle = web_app.state.settings.session_idle_seconds
    user_id, name = new_user(web_app, "leader", "BUREAU")
    client = signed_in(web_app, name)
    now = clock.now()
    _age_session(web_app, user_id, last_seen_at=now - dt.timedelta(seconds=idle - 120))
    assert not signed_out(client)  # used within the timeout: still open, and marked seen again
    with web_app.state.engine.connect() as conn:
        seen = conn.execute(
            sa.select(sessions.c.last_seen_at).where(sessions.c.user_id == user_id)
        ).scalar_one()
    assert seen.replace(tzinfo=dt.UTC) > now - dt.timedelta(seconds=60)
    _age_session(web_app, user_id, last_seen_at=now - dt.timedelta(seconds=idle + 1))
    assert signed_out(client)


def test_a_busy_session_still_ends_at_its_absolute_lifetime(web_app: FastAPI):
    user_id, name = new_user(web_app, "leader", "BUREAU")
    client = signed_in(web_app, name)
    with web_app.state.engine.connect() as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.user_id == user_id)).mappings().one()
    lifetime = row["expires_at"] - row["created_at"]
    assert lifetime == dt.timedelta(seconds=web_app.state.settings.session_max_age_seconds)
    _age_session(web_app, user_id, expires_at=clock.now() - dt.timedelta(seconds=1))
    assert signed_out(client)
