"""DRG data import pages (数据导入): upload, check, preview, confirm — whole or not at all.

An officer uploads the input tables (CSV in UTF-8 or GBK, or Excel) and ``settlement.toml``;
the check answers with every problem (file, row, column, reason) and imports nothing, or with a
preview, and the officer confirms (``shidian.drg.service.datasets``). The API does both steps
in one request (``shidian.web.drg.api``). Each step is an import job (one import at a time across
the server's processes: a second answers 409 ``job.busy``); the page shows the running import's stage.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from shidian.drg import store
from shidian.drg.service import check_upload, import_dataset, import_running
from shidian.drg.uploads import INPUT_LABELS, INPUT_NAMES
from shidian.platform.accounts import User
from shidian.platform.import_jobs import may_cancel
from shidian.problems import Refused
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.drg.api import DatasetName, Uploads, uploads_of
from shidian.web.templating import render

router = APIRouter()
Importer = Annotated[User, Depends(require("drg.import"))]


@router.get("/drg/imports", include_in_schema=False)
def imports_page(request: Request, conn: Conn, user: Importer, imported: str | None = None) -> Response:
    datasets = store.list_datasets(conn)
    running = import_running(conn, user)
    return render(
        request,
        "drg/imports.html",
        {
            "datasets": datasets,
            "imported": next((d for d in datasets if d["id"] == imported), None),
            "input_names": INPUT_NAMES,
            "input_labels": INPUT_LABELS,
            "running": running,
            "can_cancel": may_cancel(user, running),
        },
    )


@router.post("/drg/imports/check", include_in_schema=False, dependencies=[Depends(check_csrf)])
def check_upload_form(
    request: Request, user: Importer, files: Uploads = None, name: DatasetName = ""
) -> Response:
    engine, var_dir = request.app.state.engine, request.app.state.settings.var_dir
    try:
        checked, problems = check_upload(engine, user, var_dir, uploads_of(files), name, client_of(request))
    except Refused as refused:
        if refused.reason != "conflict" or not request.headers.get("HX-Request"):
            raise  # 409 job.busy: the error page
        # HTMX swaps only 2xx answers: another import runs, said where the report would be
        return render(request, "drg/_import_result.html", {"busy": refused.problems, "problems": []})
    context: dict[str, Any] = {"problems": problems, "name": name}
    if checked is not None:
        context.update(token=checked.token, manifest=checked.manifest, tables=checked.tables)
    if request.headers.get("HX-Request"):  # HTMX swaps only 2xx answers: the report is the content
        return render(request, "drg/_import_result.html", context)
    return render(request, "drg/imports_check.html", context, 422 if problems else 200)


@router.post("/drg/imports/{token}/commit", include_in_schema=False, dependencies=[Depends(check_csrf)])
def commit_upload(request: Request, user: Importer, token: str) -> Response:
    engine, var_dir = request.app.state.engine, request.app.state.settings.var_dir
    dataset = import_dataset(engine, user, var_dir, token, client_of(request))
    return RedirectResponse(f"/drg/imports?imported={dataset['id']}", status_code=303)
