"""The global search box (搜索): a hospital, a unit, a DRG case id or a desk claim id, among what
the user may see. Each kind is looked up through its domain's own scope: hospitals for users
who see the county (a hospital user: its own), units the user's pilot scope reaches, a case of
the latest settlement the user may read (``drg`` explain, audited as a case viewed), a desk
claim the user may read (``insurance`` desk, audited)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shidian.drg.service.results import explain_run_case
from shidian.insurance.service.desk import claims_named
from shidian.pilots.scope import visible_units
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.platform.units import all_units
from shidian.problems import Refused
from shidian.web.deps import Conn, CurrentUser, client_of
from shidian.web.templating import render

router = APIRouter()
#: At most this many hospitals and units each.
LIMIT = 20


def _hospitals(user: User, tree: dict[int, Any], q: str) -> list[dict[str, str]]:
    if can(user, "drg.view_all") or can(user, "insurance.view_all"):
        allowed = None
    elif user.hospital_id:
        allowed = {user.hospital_id}
    else:
        return []
    found = [
        u
        for u in tree.values()
        if u.kind == "hospital"
        and (allowed is None or u.code in allowed)
        and (q in u.code.lower() or q in u.name.lower())
    ]
    link = (
        "/drg/hospitals/{}"
        if can(user, "drg.view_all") or can(user, "drg.view_own_hospital")
        else "/insurance"
    )
    return [
        {"code": u.code, "name": u.name, "link": link.format(u.code)}
        for u in sorted(found, key=lambda u: u.code)[:LIMIT]
    ]


def _units(user: User, tree: dict[int, Any], q: str) -> list[dict[str, str]]:
    if not can(user, "pilots.reports.view") and not can(user, "registry.view"):
        return []
    visible = visible_units(tree, user)
    found = [tree[i] for i in visible if i in tree and tree[i].kind != "hospital"]
    found = [u for u in found if q in u.code.lower() or q in u.name.lower()]
    link = "/registry/indicators?area={}" if can(user, "registry.view") else "/pilots/reports"
    return [
        {"code": u.code, "name": u.name, "link": link.format(u.code)}
        for u in sorted(found, key=lambda u: u.code)[:LIMIT]
    ]


@router.get("/search", include_in_schema=False)
def search_page(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=64, pattern=r"^[^\x00]*$")] = "",
) -> Response:
    text = q.strip()
    needle = text.lower()
    results: dict[str, list[dict[str, str]]] = {"hospitals": [], "units": [], "cases": [], "claims": []}
    if text:
        tree = all_units(conn)
        results["hospitals"] = _hospitals(user, tree, needle)
        results["units"] = _units(user, tree, needle)
        client = client_of(request)
        if can(user, "drg.view_all") or can(user, "drg.view_own_hospital"):
            try:
                opened, _ = explain_run_case(conn, user, request.app.state.settings.var_dir, "", text, client)
                results["cases"] = [{"code": text, "name": "", "link": f"/drg/runs/{opened.id}/cases/{text}"}]
            except Refused:
                pass
        if can(user, "insurance.claims_view"):
            results["claims"] = [
                {
                    "code": text,
                    "name": f"{claim['person_id']} · {claim['institution_id']}",
                    "link": f"/insurance/desk/claims/{text}/slip?{urlencode({'institution_id': claim['institution_id']})}",
                }
                for claim in claims_named(conn, user, text, client)
            ]
    total = sum(len(v) for v in results.values())
    return render(request, "search.html", {"q": text, "results": results, "total": total})
