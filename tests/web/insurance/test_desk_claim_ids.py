"""Issue 22 finding 3 replayed over real HTTP (uvicorn) on SQLite and PostgreSQL: a claim id is
each institution's own, so hospital H3 (a clerk's session, or its HIS's API token) naming H1's
claim id gets exactly what an unknown claim id gets, in every route: the JSON API's read and
冲正, the desk page's 试算, 确认结算 and slip, and the search box; a claim it posts under that id is
its own (201, recorded for H3), and H1's claim is untouched. The id's own re-post stays
idempotent (200) or 409 within the institution. A user who sees the county names the
institution when two have the id (422 ``insurance.claim.ambiguous`` otherwise).

Amount: 三(四)3 level 1 (H1, the deductible every stay): (1000 − 50) × 75 % = 712.50.
"""

from __future__ import annotations

import http.client
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from shidian.platform.db.insurance_schema import insurance_desk_claims
from tests.waiting import PATIENCE
from tests.web.insurance.test_tokens import issue
from tests.web.session_helpers import new_user, signed_in

pytestmark = pytest.mark.usefixtures("insurance_app")

URL = "/api/insurance/claims"
DECEMBER = {"start_date": "2010-12-01", "end_date": "2010-12-03"}


def body(claim_id: str, person: str, institution: str, total: str = "1000", **extra: Any) -> dict[str, Any]:
    row = {"claim_id": claim_id, "person_id": person, "institution_id": institution, "kind": "inpatient"}
    return row | DECEMBER | {"total_cost": total} | extra


class Desk:
    """One caller over real HTTP: a signed-in user's cookie and CSRF token, or an API token."""

    def __init__(self, server: tuple[str, int], *, client: Any = None, token: str | None = None):
        self.server = server
        if token is not None:
            self.headers = {"Authorization": f"Bearer {token}"}
        else:
            self.headers = {
                "Cookie": f"shidian_session={client.cookies['shidian_session']}",
                "X-CSRF-Token": client.headers["X-CSRF-Token"],
            }

    def call(
        self, method: str, path: str, payload: Any = None, form: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        headers = dict(self.headers)
        data = None
        if payload is not None:
            data, headers["Content-Type"] = json.dumps(payload), "application/json"
        elif form is not None:
            data = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(*self.server, timeout=PATIENCE)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8"), dict(response.getheaders())
        finally:
            connection.close()


def same(a: tuple[int, str, Any], b: tuple[int, str, Any], a_id: str, b_id: str) -> None:
    """The same status and the same body but for the claim id each named."""
    assert a[0] == b[0], (a[:2], b[:2])
    assert a[1].replace(a_id, "ID") == b[1].replace(b_id, "ID")


def _recorded(app: Any, claim_id: str) -> dict[str, tuple[str, str]]:
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                insurance_desk_claims.c.institution_id,
                insurance_desk_claims.c.person_id,
                insurance_desk_claims.c.status,
            ).where(insurance_desk_claims.c.claim_id == claim_id)
        ).all()
    return {r.institution_id: (r.person_id, r.status) for r in rows}


@pytest.mark.parametrize("caller", ["session", "token"])
def test_another_hospitals_claim_id_is_an_unknown_one_in_every_route(
    insurance_app, insurance_server, client_for, caller
):
    x, unknown, fresh = f"XI-{caller}", f"NOPE-{caller}", f"NEW-{caller}"
    h1 = Desk(insurance_server, client=client_for("h1"))
    if caller == "token":
        admin = signed_in(insurance_app, new_user(insurance_app, "admin", "BUREAU")[1])
        h3 = Desk(insurance_server, token=issue(insurance_app, admin, "H3"))
    else:
        h3 = Desk(insurance_server, client=client_for("h3"))
    status, text, _ = h1.call("POST", URL, body(x, "P03", "H1"))
    assert status == 201 and json.loads(text)["reimbursement"] == "712.50", text

    # read and 冲正 of H1's id: exactly the unknown id's answer (404), naming it or not
    same(h3.call("GET", f"{URL}/{x}"), h3.call("GET", f"{URL}/{unknown}"), x, unknown)
    same(h3.call("GET", f"{URL}/{x}?institution_id=H1"), h3.call("GET", f"{URL}/{unknown}"), x, unknown)
    same(h3.call("POST", f"{URL}/{x}/reverse"), h3.call("POST", f"{URL}/{unknown}/reverse"), x, unknown)
    assert h3.call("GET", f"{URL}/{unknown}")[0] == 404

    # posting under H1's id is posting a new claim of H3's: 201, as with an id nobody used
    reused = h3.call("POST", URL, body(x, "P09", "H3"))
    new = h3.call("POST", URL, body(fresh, "P09", "H3", start_date="2010-12-04", end_date="2010-12-06"))
    assert (reused[0], new[0]) == (201, 201), (reused, new)
    mine = json.loads(reused[1])
    assert set(mine) == set(json.loads(new[1]))
    assert (mine["institution_id"], mine["person_id"], mine["seq"]) == (
        "H3",
        "P09",
        json.loads(new[1])["seq"] - 1,
    )
    assert "H1" not in reused[1] and "P03" not in reused[1]
    assert _recorded(insurance_app, x) == {"H1": ("P03", "paid"), "H3": ("P09", "paid")}

    # within H3 the id is now H3's: idempotent, 409 with another body, read and reversed as H3's
    again = h3.call("POST", URL, body(x, "P09", "H3"))
    assert again[0] == 200 and json.loads(again[1]) == mine
    assert h3.call("POST", URL, body(x, "P09", "H3", total="1100"))[0] == 409
    read = h3.call("GET", f"{URL}/{x}?institution_id=H1")  # a hospital always means its own
    assert read[0] == 200 and json.loads(read[1])["person_id"] == "P09"
    reversed_ = h3.call("POST", f"{URL}/{x}/reverse")
    assert reversed_[0] == 200 and json.loads(reversed_[1])["institution_id"] == "H3"
    assert _recorded(insurance_app, x) == {"H1": ("P03", "paid"), "H3": ("P09", "reversed")}
    status, text, _ = h1.call("GET", f"{URL}/{x}")
    assert status == 200 and json.loads(text)["status"] == "paid"  # H1's claim untouched


def test_the_desk_page_and_search_treat_another_hospitals_id_as_unknown(
    insurance_app, insurance_server, client_for
):
    h1, h3 = Desk(insurance_server, client=client_for("h1")), Desk(insurance_server, client=client_for("h3"))
    csrf = h3.headers["X-CSRF-Token"]
    assert (
        h1.call("POST", URL, body("XP-1", "P03", "H1", start_date="2010-12-10", end_date="2010-12-12"))[0]
        == 201
    )

    def form(claim_id: str) -> dict[str, str]:
        fields = body(claim_id, "P09", "H3", start_date="2010-12-10", end_date="2010-12-12")
        return {**fields, "csrf_token": csrf}

    # 试算 with H1's id answers as with an unknown id (before: 409 "already used")
    same(
        h3.call("POST", "/insurance/desk/price", form=form("XP-1")),
        h3.call("POST", "/insurance/desk/price", form=form("NOPE-P")),
        "XP-1",
        "NOPE-P",
    )
    # the slip and the page's 冲正 of H1's id: the unknown id's 404
    same(
        h3.call("GET", "/insurance/desk/claims/XP-1/slip?institution_id=H1"),
        h3.call("GET", "/insurance/desk/claims/NOPE-P/slip?institution_id=H1"),
        "XP-1",
        "NOPE-P",
    )
    reverse = {"reason": "录入错误", "csrf_token": csrf}
    same(
        h3.call("POST", "/insurance/desk/claims/XP-1/reverse", form=reverse),
        h3.call("POST", "/insurance/desk/claims/NOPE-P/reverse", form=reverse),
        "XP-1",
        "NOPE-P",
    )
    # the search box finds nothing of H1's
    same(h3.call("GET", "/search?q=XP-1"), h3.call("GET", "/search?q=NOPE-P"), "XP-1", "NOPE-P")
    # 确认结算 under H1's id records H3's own claim and leads to H3's slip
    status, _, headers = h3.call("POST", "/insurance/desk/claims", form=form("XP-1"))
    assert status == 303 and headers["location"] == "/insurance/desk/claims/XP-1/slip?institution_id=H3"
    slip = h3.call("GET", headers["location"])
    assert slip[0] == 200 and "P09" in slip[1] and "P03" not in slip[1]
    assert _recorded(insurance_app, "XP-1") == {"H1": ("P03", "paid"), "H3": ("P09", "paid")}


def test_an_officer_names_the_institution_when_two_have_the_id(insurance_app, insurance_server, client_for):
    h1, h3 = Desk(insurance_server, client=client_for("h1")), Desk(insurance_server, client=client_for("h3"))
    officer = Desk(insurance_server, client=client_for("officer"))
    assert (
        h1.call("POST", URL, body("XO-1", "P03", "H1", start_date="2010-12-14", end_date="2010-12-15"))[0]
        == 201
    )
    alone = officer.call("GET", f"{URL}/XO-1")  # one institution has it: no need to name it
    assert alone[0] == 200 and json.loads(alone[1])["institution_id"] == "H1"
    assert (
        h3.call("POST", URL, body("XO-1", "P09", "H3", start_date="2010-12-14", end_date="2010-12-15"))[0]
        == 201
    )
    status, text, _ = officer.call("GET", f"{URL}/XO-1")
    assert status == 422
    (problem,) = json.loads(text)["problems"]
    assert problem["code"] == "insurance.claim.ambiguous" and "H1" in problem["message"]
    assert officer.call("POST", f"{URL}/XO-1/reverse")[0] == 422  # nothing reversed
    for institution, person in (("H1", "P03"), ("H3", "P09")):
        status, text, _ = officer.call("GET", f"{URL}/XO-1?institution_id={institution}")
        assert status == 200 and json.loads(text)["person_id"] == person
    reversed_ = officer.call("POST", f"{URL}/XO-1/reverse?institution_id=H3")
    assert reversed_[0] == 200 and json.loads(reversed_[1])["person_id"] == "P09"
    assert _recorded(insurance_app, "XO-1") == {"H1": ("P03", "paid"), "H3": ("P09", "reversed")}
    found = officer.call("GET", "/search?q=XO-1")[1]
    assert len(re.findall(r"/insurance/desk/claims/XO-1/slip\?institution_id=H[13]", found)) == 2
