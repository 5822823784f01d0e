"""Cancelling a running import from the DRG or registry import page (``POST /imports/{job}/cancel``,
``shidian.platform.import_jobs``): the importer or an administrator; back to the page it came from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from shidian.platform.import_jobs import cancel_import
from shidian.web.deps import Conn, CurrentUser, check_csrf, client_of

router = APIRouter()

#: The pages a cancel form comes from (anything else goes back to the home page).
PAGES = ("/drg/imports", "/registry/import")

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.post("/imports/{job_id}/cancel", include_in_schema=False, dependencies=[Depends(check_csrf)])
def import_cancel(
    request: Request, conn: Conn, user: CurrentUser, job_id: JobId, back: Annotated[str, Form()] = "/"
) -> Response:
    cancel_import(conn, user, job_id, client_of(request))
    target = back if back in PAGES else "/"
    return RedirectResponse(f"{target}?cancelled=1", status_code=303)
