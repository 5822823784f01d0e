"""The landing page: sends each role to its main page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from shidian.platform.access import can
from shidian.web.deps import CurrentUser

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(user: CurrentUser) -> Response:
    if can(user, "drg.view_all"):
        return RedirectResponse("/drg/overview", status_code=303)
    if can(user, "drg.view_own_hospital") and user.hospital_id:
        return RedirectResponse(f"/drg/hospitals/{user.hospital_id}", status_code=303)
    return RedirectResponse("/policies", status_code=303)
