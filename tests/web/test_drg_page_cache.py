"""Pages of a published run are rendered once and revalidated with ETag / 304 (issue 20), without
skipping the permission check or the audit of a personal-data view."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

from shidian.platform.db.schema import audit_events

PAGES = ("/drg/overview", "/drg/hospitals/H1", "/drg/hospitals/H1/cases?page=1")


def audit_count(app: FastAPI, action: str) -> int:
    with app.state.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).where(audit_events.c.action == action)).scalar_one()
        )


def test_published_pages_answer_304_to_their_etag(client_for: Any, run_id: str) -> None:
    officer = client_for("officer")
    for path in (*PAGES, f"/drg/runs/{run_id}/cases/K02"):
        first = officer.get(path)
        assert first.status_code == 200, (path, first.text[:200])
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "private, no-cache"
        again = officer.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b"" and again.headers["etag"] == etag
        cached = officer.get(path)  # from the page cache: the same bytes
        assert cached.status_code == 200 and cached.content == first.content
        assert officer.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_etag_differs_by_user_language_and_url(client_for: Any) -> None:
    officer, leader = client_for("officer"), client_for("leader")
    tags = {
        officer.get("/drg/overview").headers["etag"],
        leader.get("/drg/overview").headers["etag"],
        officer.get("/drg/overview?lang=en").headers["etag"],
        officer.get("/drg/hospitals/H1/cases?page=2").headers["etag"],
    }
    assert len(tags) == 4
    # a user's page never validates another user's copy
    tag = officer.get("/drg/overview").headers["etag"]
    assert leader.get("/drg/overview", headers={"If-None-Match": tag}).status_code == 200


def test_a_304_still_checks_permission_and_audits_the_view(
    web_app: FastAPI, client_for: Any, run_id: str
) -> None:
    h1 = client_for("h1")
    page = h1.get("/drg/hospitals/H1")
    assert page.status_code == 200
    before = audit_count(web_app, "drg.hospital_viewed")
    assert h1.get("/drg/hospitals/H1", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    assert audit_count(web_app, "drg.hospital_viewed") == before + 1
    # another hospital's page: not found for it (its existence is not revealed), whatever validator is sent
    assert h1.get("/drg/hospitals/H3", headers={"If-None-Match": page.headers["etag"]}).status_code == 404
    assert h1.get("/drg/overview", headers={"If-None-Match": page.headers["etag"]}).status_code == 403
