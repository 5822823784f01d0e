"""An administrator resets a user's password (issue 19 item 10): the old password no longer
signs in, the new one does, the user's open sessions end, a weak password is refused, only an
administrator may, and the reset is audited."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.platform.accounts import create_user
from shidian.platform.db.schema import audit_events, units, users
from tests.web.conftest import PASSWORD, csrf_of, login

NEW = "a-new-pass-2026"


def _user_id(web_app, username: str) -> int:  # type: ignore[no-untyped-def]
    with web_app.state.engine.begin() as conn:
        found = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar()
        if found is None:
            unit = conn.execute(sa.select(units.c.id).limit(1)).scalar_one()
            found = create_user(conn, username, PASSWORD, "leader", unit, username)
    return int(found)


def test_an_administrator_resets_a_password(web_app, client_for):
    user_id = _user_id(web_app, "forgetful")
    session = login(TestClient(web_app), "forgetful")
    assert session.get("/policies").status_code == 200
    admin = client_for("admin")
    weak = admin.post(f"/admin/users/{user_id}/password", data={"password": "short"})
    assert weak.status_code == 422 and "密码至少" in weak.text
    assert (
        client_for("officer").post(f"/admin/users/{user_id}/password", data={"password": NEW}).status_code
        == 403
    )
    done = admin.post(f"/admin/users/{user_id}/password", data={"password": NEW}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?reset=1"
    assert session.get("/policies", follow_redirects=False).status_code == 303  # its session ended
    client = TestClient(web_app)
    token = csrf_of(client)
    old = client.post("/login", data={"username": "forgetful", "password": PASSWORD, "csrf_token": token})
    assert old.status_code == 401
    login(TestClient(web_app), "forgetful", NEW)
    with web_app.state.engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_events.c.action).where(audit_events.c.target == str(user_id))
        ).scalars()
        assert "admin.user_password_reset" in set(actions)
