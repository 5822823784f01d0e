"""The landing page: sends each role to its own work (issue 19 item 5).

A doctor lands on the registry's work list, a reporting unit on its reports (the forms due), a
pilot office on supervision (the rectifications it follows; pending approvals are on the
reports page it links to), a settlement officer on the DRG runs, a leader or an administrator on
the DRG overview, and a hospital on its DRG statement when a published settlement has the
hospital, else on its discharge desk (a hospital of the resident insurance only).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from shidian.drg.service.results import open_hospital
from shidian.platform.access import can
from shidian.platform.accounts import User
from shidian.problems import Refused
from shidian.web.deps import Conn, CurrentUser

router = APIRouter()

#: role → its landing page (hospitals: ``_hospital_landing``).
LANDING = {
    "mental_health_doctor": "/registry/worklist",
    "reporting_unit": "/pilots/reports",
    "pilot_office": "/pilots/supervision",
    "settlement_officer": "/drg/runs",
    "leader": "/drg/overview",
    "admin": "/drg/overview",
}


def _hospital_landing(request: Request, conn: Conn, user: User) -> str:
    if user.hospital_id and can(user, "drg.view_own_hospital"):
        try:
            open_hospital(conn, user, request.app.state.settings.var_dir, None, user.hospital_id)
            return f"/drg/hospitals/{user.hospital_id}"
        except Refused:
            pass
    return "/insurance/desk" if can(user, "insurance.desk") else "/policies"


@router.get("/", include_in_schema=False)
def home(request: Request, conn: Conn, user: CurrentUser) -> Response:
    if user.role == "hospital":
        return RedirectResponse(_hospital_landing(request, conn, user), status_code=303)
    return RedirectResponse(LANDING.get(user.role, "/policies"), status_code=303)
