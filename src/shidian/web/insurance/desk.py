"""The discharge desk page (出院结算窗口) a hospital clerk uses all day.

Find the patient (人员编号/医保卡号 or 身份证号) and read the standing (eligibility, category,
the deductible of a new stay here, what is left of each cap); enter the stay (the claim's
fields with its breakdown); price it (试算, nothing recorded); confirm (the desk's service
prices it again under the person's lock and records it); print the settlement slip (结算单)
with the rule trail; list today's claims; reverse one (冲正) with a reason. Thin routes: every
rule is in ``insurance.service.desk`` (the same service as ``POST /api/insurance/claims``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import urlencode

import pydantic
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from shidian.insurance.policy import POLICIES
from shidian.insurance.service.desk import (
    desk_years,
    find_patient,
    post_claim,
    preview_claim,
    read_claim,
    reverse_claim,
    today_claims,
)
from shidian.money import D, from_fen
from shidian.platform.accounts import User
from shidian.platform.clock import local, now, today
from shidian.problems import REQUEST, Problem, Refused, Source
from shidian.web.deps import Conn, FormBody, check_csrf, client_of, require
from shidian.web.insurance.models import ClaimIdPath, ClaimIn, InstitutionQuery
from shidian.web.templating import render

router = APIRouter()
Clerk = Annotated[User, Depends(require("insurance.desk"))]
Viewer = Annotated[User, Depends(require("insurance.claims_view"))]

#: The claim's fields the desk form sends (``ClaimIn``'s, in the form's order).
FIELDS = tuple(ClaimIn.model_fields)
FLAGS = ("certificate", "referral", "tcm_fracture")


def _claim_of(form: dict[str, str]) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The form's claim as ``ClaimIn`` checks it (empty fields take their defaults), or the
    problems naming each field."""
    data: dict[str, Any] = {k: v.strip() for k, v in form.items() if k in FIELDS and v.strip()}
    for flag in FLAGS:
        data[flag] = 1 if data.get(flag) in ("1", "on") else 0
    if "cataract_eyes" in data and data["cataract_eyes"].isdigit():
        data["cataract_eyes"] = int(data["cataract_eyes"])
    try:
        return ClaimIn.model_validate(data).model_dump(), []
    except pydantic.ValidationError as exc:
        return None, [
            Problem(
                "request.invalid",
                f"{e['loc'][0] if e['loc'] else ''}: {e['msg']}",
                Source("<form>", column=str(e["loc"][0]) if e["loc"] else None),
            )
            for e in exc.errors()
        ]


def _suggested_claim_id(user: User) -> str:
    """A fresh 就诊编号 for the form: the institution and the time to the second."""
    return f"{user.hospital_id or 'DESK'}-{local(now()).strftime('%Y%m%d%H%M%S')}"


def _desk(request: Request, conn: Conn, user: User, extra: dict[str, Any], status: int = 200) -> Response:
    client = client_of(request)
    claims = today_claims(conn, user, client)
    paid = sum(int(c["reimbursement_fen"]) for c in claims if c["status"] == "paid")
    context: dict[str, Any] = {
        "years": desk_years(conn, user),
        "patient": None,
        "problems": [],
        "form": {},
        "today": today(),
        "claims": claims,
        "paid_total": from_fen(paid),
        "D": D,
        "chronic": [],
        **extra,
    }
    return render(request, "insurance/desk.html", context, status)


def _chronic(policy_id: str) -> list[Any]:
    return list(POLICIES.named(policy_id).chronic_diseases)


#: An ID number (身份证号, 15 or 18 characters) is a personal identifier: it never travels in a URL
#: (issue 22 finding 6), so the desk's search form posts it; a link may carry the card number only.
_ID_NUMBER = re.compile(r"^\s*(\d{17}[\dXx]|\d{15})\s*$")


@router.get("/insurance/desk", include_in_schema=False)
def desk_page(
    request: Request,
    conn: Conn,
    user: Clerk,
    q: Annotated[str, Query(max_length=64, pattern=r"^[^\x00]*$")] = "",
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    institution_id: Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = "",
) -> Response:
    if _ID_NUMBER.match(q):
        message = (
            "身份证号不可放在网址中, 请在查询框中输入 (an ID number is never sent in a URL: use the form)"
        )
        problem = Problem("insurance.desk.id_in_url", message, Source(REQUEST, column="q"))
        return _desk(request, conn, user, {"q": "", "problems": [problem]}, 422)
    return _find(request, conn, user, q, year, institution_id)


@router.post("/insurance/desk", include_in_schema=False, dependencies=[Depends(check_csrf)])
def desk_search(
    request: Request,
    conn: Conn,
    user: Clerk,
    q: Annotated[str, Form(max_length=64, pattern=r"^[^\x00]*$")] = "",
    year: Annotated[int | None, Form(ge=1990, le=2100)] = None,
    institution_id: Annotated[str, Form(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] = "",
) -> Response:
    """查询参合人员 by card number or ID number, posted so that the ID number stays out of URLs."""
    return _find(request, conn, user, q, year, institution_id)


def _find(
    request: Request, conn: Conn, user: User, q: str, year: int | None, institution_id: str
) -> Response:
    if not q.strip():
        return _desk(request, conn, user, {"q": q})
    try:
        patient = find_patient(
            conn,
            user,
            request.app.state.settings.var_dir,
            q,
            year,
            institution_id or None,
            client_of(request),
        )
    except Refused as exc:
        return _desk(
            request, conn, user, {"q": "" if _ID_NUMBER.match(q) else q, "problems": exc.problems}, 404
        )
    form = {
        "claim_id": _suggested_claim_id(user),
        "person_id": patient.person_id,
        "institution_id": patient.institution_id or "",
        "kind": "inpatient",
        "start_date": "",
        "end_date": "",
    }
    # the box shows the card number found, not the ID number typed (kept off the page)
    context = {
        "q": patient.person_id,
        "patient": patient,
        "form": form,
        "chronic": _chronic(patient.policy_id),
    }
    return _desk(request, conn, user, context)


def _form(data: FormData) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str) and "\x00" not in v}


@router.post("/insurance/desk/price", include_in_schema=False, dependencies=[Depends(check_csrf)])
def desk_price(request: Request, submitted: FormBody, conn: Conn, user: Clerk) -> Response:
    """试算: the claim priced as it would be now; nothing recorded until the clerk confirms."""
    form = _form(submitted)
    claim, problems = _claim_of(form)
    priced: dict[str, Any] | None = None
    if claim is not None:
        try:
            priced = preview_claim(conn, user, claim)
        except Refused as exc:
            problems = exc.problems
    patient = None
    chronic: list[Any] = []
    if form.get("q"):
        try:
            patient = find_patient(conn, user, request.app.state.settings.var_dir, form["q"], None, None)
            chronic = _chronic(patient.policy_id)
        except Refused:
            patient = None
    extra = {"q": form.get("q", ""), "patient": patient, "form": form, "priced": priced, "chronic": chronic}
    return _desk(request, conn, user, {**extra, "problems": problems}, 200 if priced else 422)


@router.post("/insurance/desk/claims", include_in_schema=False, dependencies=[Depends(check_csrf)])
def desk_confirm(request: Request, submitted: FormBody, conn: Conn, user: Clerk) -> Response:
    """确认结算: record the claim (the desk's service prices it again under the lock)."""
    claim, problems = _claim_of(_form(submitted))
    if claim is None:
        raise Refused("invalid", problems)
    answer = post_claim(conn, user, claim, client_of(request))
    return RedirectResponse(
        _slip_url(answer.body["claim_id"], answer.body["institution_id"]), status_code=303
    )


def _slip_url(claim_id: str, institution_id: str) -> str:
    """The slip of the institution's claim (a claim id is an institution's own)."""
    return f"/insurance/desk/claims/{claim_id}/slip?{urlencode({'institution_id': institution_id})}"


@router.get("/insurance/desk/claims/{claim_id}/slip", include_in_schema=False)
def desk_slip(
    request: Request, conn: Conn, user: Viewer, claim_id: ClaimIdPath, institution_id: InstitutionQuery = None
) -> Response:
    """结算单: the settlement slip for the patient, with the rule trail (prints on A4)."""
    record = read_claim(conn, user, claim_id, client_of(request), institution_id)
    reversal = record.get("reversal") or {}
    context = {
        "c": record,
        "p": record["priced"],
        "D": D,
        "institution_name": user.unit_name if user.hospital_id == record["institution_id"] else "",
        "reversed_at": dt.datetime.fromisoformat(reversal["reversed_at"]) if reversal else None,
    }
    return render(request, "insurance/slip.html", context)


@router.post(
    "/insurance/desk/claims/{claim_id}/reverse", include_in_schema=False, dependencies=[Depends(check_csrf)]
)
def desk_reverse(
    request: Request,
    conn: Conn,
    user: Clerk,
    claim_id: ClaimIdPath,
    reason: Annotated[str, Form(min_length=2, max_length=200, pattern=r"^[^\x00]*$")],
    institution_id: InstitutionQuery = None,
) -> Response:
    """冲正 with a reason: frees what the claim used of the caps; the slip shows the reversal."""
    answer = reverse_claim(conn, user, claim_id, client_of(request), reason, institution_id)
    return RedirectResponse(_slip_url(claim_id, answer.body["institution_id"]), status_code=303)
