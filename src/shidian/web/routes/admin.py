"""Administration (系统管理): users and the audit log."""

from __future__ import annotations

import csv
import io
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from shidian.platform import audit
from shidian.platform.accounts import AccountError, User, create_user, list_units, list_users, set_active
from shidian.platform.clock import TIME_ZONE
from shidian.platform.db.schema import ROLES, audit_events
from shidian.web.deps import Conn, check_csrf, client_of, require
from shidian.web.templating import local_time, render

router = APIRouter(prefix="/admin")
Admin = Annotated[User, Depends(require("admin.users"))]
Auditor = Annotated[User, Depends(require("admin.audit"))]
AUDIT_PAGE = 100


@router.get("/users", include_in_schema=False)
def users_page(request: Request, conn: Conn, user: Admin, error: str | None = None) -> Response:
    return render(
        request,
        "admin/users.html",
        {"users": list_users(conn), "units": list_units(conn), "roles": ROLES, "error": error},
    )


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
    try:
        new_id = create_user(conn, username, password, role, unit_id, display_name or None)
    except AccountError as exc:
        return render(
            request,
            "admin/users.html",
            {"users": list_users(conn), "units": list_units(conn), "roles": ROLES, "error": str(exc)},
            422,
        )
    audit.log(conn, audit.UserCreated(target=username, user_id=new_id, role=role), user, client_of(request))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active", include_in_schema=False, dependencies=[Depends(check_csrf)])
def set_user_active(
    request: Request, conn: Conn, user: Admin, user_id: int, active: Annotated[bool, Form()]
) -> Response:
    if user_id == user.id and not active:
        return RedirectResponse("/admin/users?error=不能停用自己", status_code=303)
    set_active(conn, user_id, active)
    event = audit.UserEnabled if active else audit.UserDisabled
    audit.log(conn, event(target=str(user_id)), user, client_of(request))
    return RedirectResponse("/admin/users", status_code=303)


def _audit_query(action: str | None, username: str | None) -> sa.Select[tuple[object, ...]]:
    query = sa.select(audit_events).order_by(audit_events.c.id.desc())
    if action:
        query = query.where(audit_events.c.action == action)
    if username:
        query = query.where(audit_events.c.username == username)
    return query


@router.get("/audit", include_in_schema=False)
def audit_page(
    request: Request,
    conn: Conn,
    user: Auditor,
    action: str | None = None,
    username: str | None = None,
    page: int = 1,
) -> Response:
    page = max(page, 1)
    rows = (
        conn.execute(_audit_query(action, username).limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE))
        .mappings()
        .all()
    )
    actions = (
        conn.execute(sa.select(audit_events.c.action).distinct().order_by(audit_events.c.action))
        .scalars()
        .all()
    )
    return render(
        request,
        "admin/audit.html",
        {
            "events": rows[:AUDIT_PAGE],
            "has_next": len(rows) > AUDIT_PAGE,
            "page": page,
            "actions": actions,
            "action": action or "",
            "username": username or "",
        },
    )


@router.get("/audit.csv", include_in_schema=False)
def audit_export(
    request: Request, conn: Conn, user: Auditor, action: str | None = None, username: str | None = None
) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", f"时间 ({TIME_ZONE.key})", "用户", "角色", "单位", "操作", "对象", "详情", "IP"])
    for row in conn.execute(_audit_query(action, username)).mappings():
        writer.writerow(
            [row["id"], local_time(row["at"], "%Y-%m-%d %H:%M:%S"), row["username"], row["role"], row["unit_id"], row["action"], row["target"],
             row["detail"], row["ip"]]
        )  # fmt: skip
    audit.log(conn, audit.AuditExported(action_filter=action, username=username), user, client_of(request))
    data = "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 CSV correctly
    return StreamingResponse(
        iter([data.encode("utf-8")]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
