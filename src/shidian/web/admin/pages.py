"""Administration (系统管理): users and the audit log. Each route calls one workflow of
``shidian.platform.admin`` (users) or ``shidian.platform.audit`` (browse, export)."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from shidian.cells import csv_row
from shidian.platform import admin, audit, tokens
from shidian.platform.accounts import User
from shidian.platform.clock import TIME_ZONE
from shidian.platform.db.schema import ROLES
from shidian.problems import Problem
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.templating import language, local_time, render

router = APIRouter(prefix="/admin")
Admin = Annotated[User, Depends(require("admin.users"))]
Auditor = Annotated[User, Depends(require("admin.audit"))]


def _users_page(request: Request, conn: Conn, user: User, error: str | None, status: int = 200) -> Response:
    found = admin.directory(conn, user)
    context = {"users": found.users, "units": found.units, "roles": found.roles, "error": error}
    return render(request, "admin/users.html", context, status)


def _message(problems: list[Problem]) -> str:
    return "；".join(p.message for p in problems)


@router.get("/users", include_in_schema=False)
def users_page(request: Request, conn: Conn, user: Admin, error: str | None = None) -> Response:
    return _users_page(request, conn, user, error)


@router.post("/users", include_in_schema=False, dependencies=[Depends(check_csrf)])
def create_user_form(
    request: Request,
    conn: Conn,
    user: Admin,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    unit_id: Annotated[int, Form()],
    display_name: Annotated[str, Form()] = "",
) -> Response:
    new_id, problems = admin.add_user(
        conn, user, username, password, role, unit_id, display_name or None, client_of(request)
    )
    if new_id is None:
        return _users_page(request, conn, user, _message(problems), 422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active", include_in_schema=False, dependencies=[Depends(check_csrf)])
def set_user_active(
    request: Request, conn: Conn, user: Admin, user_id: int, active: Annotated[bool, Form()]
) -> Response:
    problems = admin.set_user_active(conn, user, user_id, active, client_of(request))
    if problems:
        return RedirectResponse(f"/admin/users?error={_message(problems)}", status_code=303)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/password", include_in_schema=False, dependencies=[Depends(check_csrf)])
def reset_user_password(
    request: Request, conn: Conn, user: Admin, user_id: int, password: Annotated[str, Form(max_length=200)]
) -> Response:
    """重置密码: the administrator gives the user a new password (the user's sessions end)."""
    problems = admin.reset_password(conn, user, user_id, password, client_of(request))
    if problems:
        return _users_page(request, conn, user, _message(problems), 422)
    return RedirectResponse("/admin/users?reset=1", status_code=303)


@router.post("/users/{user_id}/sessions/revoke", include_in_schema=False, dependencies=[Depends(check_csrf)])
def sign_out_everywhere(request: Request, conn: Conn, user: Admin, user_id: int) -> Response:
    problems = admin.sign_out_everywhere(conn, user, user_id, client_of(request))
    if problems:
        return _users_page(request, conn, user, _message(problems), 404)
    return RedirectResponse("/admin/users", status_code=303)


def _tokens_page(
    request: Request, conn: Conn, user: User, new_token: str | None, status: int = 200
) -> Response:
    hospitals = [u for u in admin.directory(conn, user).units if u["kind"] == "hospital" and u["hospital_id"]]
    context = {"tokens": tokens.list_tokens(conn, user), "hospitals": hospitals, "new_token": new_token}
    return render(request, "admin/tokens.html", context, status)


@router.get("/tokens", include_in_schema=False)
def tokens_page(request: Request, conn: Conn, user: Admin) -> Response:
    """机构接口令牌: the institutions' HIS tokens (never their secrets)."""
    return _tokens_page(request, conn, user, None)


@router.post("/tokens", include_in_schema=False, dependencies=[Depends(check_csrf)])
def issue_token(
    request: Request,
    conn: Conn,
    user: Admin,
    unit_id: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=200, pattern=r"^[^\x00]*$")] = "",
) -> Response:
    """签发: the token is shown once, on this answer, and never again."""
    token = tokens.issue(conn, user, unit_id, name, client_of(request))
    return _tokens_page(request, conn, user, token, 201)


@router.post("/tokens/{token_id}/revoke", include_in_schema=False, dependencies=[Depends(check_csrf)])
def revoke_token(
    request: Request, conn: Conn, user: Admin, token_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{16}$")]
) -> Response:
    tokens.revoke(conn, user, token_id, client_of(request))
    return RedirectResponse("/admin/tokens", status_code=303)


@router.get("/audit", include_in_schema=False)
def audit_page(
    request: Request,
    conn: Conn,
    user: Auditor,
    action: str | None = None,
    username: str | None = None,
    page: int = 1,
) -> Response:
    found = audit.browse(conn, user, action, username, page, client_of(request))
    context = {
        "events": found.events,
        "has_next": found.has_next,
        "page": max(page, 1),
        "actions": found.actions,
        "action": action or "",
        "username": username or "",
        **audit_labels(),
    }
    return render(request, "admin/audit.html", context)


def audit_labels() -> dict[str, dict[str, str]]:
    """Actions, roles and detail fields by their Chinese names on the Chinese pages (``summary``
    of each audit event, the role names, ``DETAIL_LABELS``); the English pages keep the codes."""
    if language.get() != "zh_CN":
        return {"action_labels": {}, "role_labels": {}, "detail_labels": {}}
    return {
        "action_labels": {code: event.summary for code, event in audit.EVENTS.items()},
        "role_labels": dict(ROLES),
        "detail_labels": audit.DETAIL_LABELS,
    }


@router.get("/audit.csv", include_in_schema=False)
def audit_export(
    request: Request, conn: Conn, user: Auditor, action: str | None = None, username: str | None = None
) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", f"时间 ({TIME_ZONE.key})", "用户", "角色", "单位", "操作", "对象", "详情", "IP"])
    for row in audit.export(conn, user, action, username, client_of(request)):
        writer.writerow(csv_row(
            [row["id"], local_time(row["at"], "%Y-%m-%d %H:%M:%S"), row["username"], row["role"], row["unit_id"], row["action"], row["target"],
             row["detail"], row["ip"]]
        ))  # fmt: skip
    data = "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 CSV correctly
    return StreamingResponse(
        iter([data.encode("utf-8")]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
