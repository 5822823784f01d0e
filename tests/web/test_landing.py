"""Each role lands on its own work (issue 19 item 5): ``/`` redirects by role; a hospital of the
DRG settlement lands on its statement, a hospital the DRG runs do not know on its desk."""

from __future__ import annotations

import pytest

from shidian.platform.accounts import create_unit, create_user
from tests.web.conftest import PASSWORD, login


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("officer", "/drg/runs"),
        ("leader", "/drg/overview"),
        ("admin", "/drg/overview"),
        ("reporter", "/pilots/reports"),
        ("h1", "/drg/hospitals/H1"),
    ],
)
def test_each_role_lands_on_its_work(client_for, username, landing):
    response = client_for(username).get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == landing


def test_a_desk_only_hospital_lands_on_its_desk(web_app):
    from fastapi.testclient import TestClient

    with web_app.state.engine.begin() as conn:
        if not conn.exec_driver_sql("SELECT 1 FROM users WHERE username = 'desk-landing'").first():
            unit = create_unit(conn, "C9", "县人民医院", "hospital", hospital_id="C9")
            create_user(conn, "desk-landing", PASSWORD, "hospital", unit, "窗口")
    client = login(TestClient(web_app), "desk-landing")
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/insurance/desk"
