"""A copied session cookie at the discharge desk (issue 22 finding 2): after logout it neither
posts, reads nor reverses a claim, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shidian.platform.db.insurance_schema import insurance_desk_claims
from tests.web.session_helpers import copy_of, new_user, signed_in

pytestmark = pytest.mark.usefixtures("insurance_app")


def claim(claim_id: str) -> dict[str, str]:
    return {
        "claim_id": claim_id,
        "person_id": "P04",  # not insured this year: refused by the desk, nothing recorded
        "institution_id": "H1",
        "kind": "inpatient",
        "start_date": "2010-04-01",
        "end_date": "2010-04-03",
        "total_cost": "800",
    }


def test_a_copied_cookie_cannot_use_the_desk_after_logout(insurance_app):
    clerk = signed_in(insurance_app, new_user(insurance_app, "hospital", "H1")[1])
    thief = copy_of(insurance_app, clerk)
    first = thief.post("/api/insurance/claims", json=claim("SESS-1"))
    # the copy works while the session is open: the desk itself answers (P04 is not insured)
    assert first.status_code == 422, first.text
    assert thief.get("/api/insurance/claims/SESS-1").status_code == 404
    clerk.post("/logout", follow_redirects=False)
    for answer in (
        thief.post("/api/insurance/claims", json=claim("SESS-2")),
        thief.get("/api/insurance/claims/SESS-1"),
        thief.post("/api/insurance/claims/SESS-1/reverse"),
    ):
        assert answer.status_code == 401 and answer.json()["problems"][0]["code"] == "auth.required"
    with insurance_app.state.engine.connect() as conn:
        ids = set(
            conn.execute(
                sa.select(insurance_desk_claims.c.claim_id).where(
                    insurance_desk_claims.c.claim_id.like("SESS-%")
                )
            ).scalars()
        )
    assert ids == set()
