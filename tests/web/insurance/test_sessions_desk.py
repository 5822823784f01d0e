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
        "person_id": "P11",
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
    assert first.status_code == 201, first.text  # the copy works while the session is open
    clerk.post("/logout", follow_redirects=False)
    assert thief.post("/api/insurance/claims", json=claim("SESS-2")).status_code == 401
    assert thief.get("/api/insurance/claims/SESS-1").status_code == 401
    assert thief.post("/api/insurance/claims/SESS-1/reverse").status_code == 401
    with insurance_app.state.engine.connect() as conn:
        ids = set(
            conn.execute(
                sa.select(insurance_desk_claims.c.claim_id).where(
                    insurance_desk_claims.c.claim_id.like("SESS-%")
                )
            ).scalars()
        )
    assert ids == {"SESS-1"}
