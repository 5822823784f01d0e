"""API tokens of hospital information systems (issue 22, "Also"), on both databases over the app's
HTTP: an admin issues a token for one institution (shown once, stored hashed); the HIS posts and
reads desk claims with it and no CSRF token or cookie; it is refused for another institution and
on every route but the desk's; revoked, it signs in nothing; it is rate-limited and audited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from shidian.platform import clock
from shidian.platform.db.schema import api_tokens, audit_events, units
from shidian.web.app import create_app
from tests.web.session_helpers import new_user, signed_in

pytestmark = pytest.mark.usefixtures("insurance_app")


def claim(claim_id: str, institution: str = "H1") -> dict[str, str]:
    return {
        "claim_id": claim_id,
        "person_id": "P04",  # not insured this year: refused by the desk itself, nothing recorded
        "institution_id": institution,
        "kind": "inpatient",
        "start_date": "2010-04-01",
        "end_date": "2010-04-03",
        "total_cost": "800",
    }


def issue(app, admin: TestClient, unit_code: str = "H1") -> str:
    with app.state.engine.connect() as conn:
        unit_id = conn.execute(sa.select(units.c.id).where(units.c.code == unit_code)).scalar_one()
    page = admin.post("/admin/tokens", data={"unit_id": str(unit_id), "name": "HIS 测试"})
    assert page.status_code == 201, page.text
    match = re.search(r'<code id="new-token">(shd_[0-9a-f]{16}_[A-Za-z0-9_-]+)</code>', page.text)
    assert match
    return match.group(1)


def his(app, token: str) -> TestClient:
    """A machine client: no cookie, no CSRF token, only the bearer token."""
    client = TestClient(app)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_a_token_reaches_its_institutions_desk_only_and_dies_when_revoked(insurance_app):
    admin = signed_in(insurance_app, new_user(insurance_app, "admin", "BUREAU")[1])
    token = issue(insurance_app, admin)
    token_id = token[4:20]
    with insurance_app.state.engine.connect() as conn:
        stored = conn.execute(
            sa.select(api_tokens.c.secret_sha256).where(api_tokens.c.id == token_id)
        ).scalar_one()
    assert token.split("_", 2)[2] not in stored and len(stored) == 64  # only a hash
    assert token not in admin.get("/admin/tokens").text  # shown once
    client = his(insurance_app, token)
    own = client.post("/api/insurance/claims", json=claim("TOK-1"))
    assert own.status_code == 422, own.text  # through to the desk's rules, without CSRF or cookie
    assert own.json()["problems"][0]["code"] != "auth.forbidden"
    other = client.post("/api/insurance/claims", json=claim("TOK-2", "H3"))
    assert other.status_code == 403
    assert client.get("/api/insurance/claims/TOK-1").status_code == 404
    for path in ("/api/drg/runs", "/api/registry/patients", "/insurance", "/policies"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (401, 303), path  # the desk's routes only
    assert (
        his(insurance_app, token[:-2] + "xx").post("/api/insurance/claims", json=claim("TOK-3")).status_code
        == 401
    )
    revoked = admin.post(f"/admin/tokens/{token_id}/revoke", follow_redirects=False)
    assert revoked.status_code == 303
    assert client.post("/api/insurance/claims", json=claim("TOK-4")).status_code == 401
    with insurance_app.state.engine.connect() as conn:
        actions = set(
            conn.execute(sa.select(audit_events.c.action).where(audit_events.c.target == token_id)).scalars()
        )
    assert actions == {"admin.token_created", "admin.token_revoked"}


def test_a_token_is_rate_limited_across_worker_processes(insurance_app):
    """Two apps on one database, each with its own engine, are what two worker processes of
    ``shidian serve --workers 2`` are: a token's requests are counted in the database, so with 3
    a minute the 4th request — whichever process serves it — is refused, 429 in Chinese with
    Retry-After (the seconds left of the minute from the token's first request); a refused request
    counts too; the next minute starts afresh. (Counted per process, each would let 3 through: 6.)"""
    admin = signed_in(insurance_app, new_user(insurance_app, "admin", "BUREAU")[1])
    token = issue(insurance_app, admin)
    kept = insurance_app.state.settings
    settings = dataclasses.replace(kept, token_rate_per_minute=3)
    insurance_app.state.settings = settings
    other = create_app(settings, migrate=False)
    minute = clock.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    clock.start_at(minute + dt.timedelta(seconds=1))
    try:
        workers = [his(insurance_app, token), his(other, token)]
        answers = [workers[i % 2].get("/api/insurance/claims/TOK-R") for i in range(6)]
        assert [a.status_code for a in answers] == [404, 404, 404, 429, 429, 429]
        refused = answers[3]
        assert refused.json()["problems"][0]["code"] == "auth.throttled"
        assert "请求过于频繁" in refused.json()["problems"][0]["message"]
        assert 50 <= int(refused.headers["Retry-After"]) <= 60  # the window: 60 s from the 1st
        assert workers[1].post("/api/insurance/claims", json=claim("TOK-R")).status_code == 429
        clock.start_at(minute + dt.timedelta(minutes=1, seconds=2))
        assert workers[1].get("/api/insurance/claims/TOK-R").status_code == 404
    finally:
        clock.reset()
        insurance_app.state.settings = kept
        other.state.engine.dispose()


def test_only_an_admin_issues_tokens_and_only_to_hospitals(insurance_app, client_for):
    officer = client_for("officer")
    assert officer.post("/admin/tokens", data={"unit_id": "1", "name": "x"}).status_code == 403
    admin = signed_in(insurance_app, new_user(insurance_app, "admin", "BUREAU")[1])
    with insurance_app.state.engine.connect() as conn:
        bureau = conn.execute(sa.select(units.c.id).where(units.c.code == "BUREAU")).scalar_one()
    refused = admin.post("/admin/tokens", data={"unit_id": str(bureau), "name": "x"})
    assert refused.status_code == 422 and "医疗机构" in refused.text
