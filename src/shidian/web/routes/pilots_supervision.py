"""Supervision (督导): the supervision list, visits, findings, evidence, rectifications.

The pilot office (试点办) sees the units lagging behind their targets (督导名单, from the
attainment of ``shidian.pilots``), records visits with findings (发现问题, with deduction
points for the score card), evidence files (佐证材料) and rectification items with deadlines
(限期整改). The visited unit marks an item done and uploads evidence; the office verifies it
(核实销号). Open items past their deadline are warnings on the office's page. Every change
writes an audit record in the same transaction.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from shidian.pilots.supervision import (
    RECTIFICATION_STATUSES,
    SEVERITIES,
    Rectification,
    overdue_rectifications,
    rectification_transition,
)
from shidian.platform import audit
from shidian.platform.accounts import User
from shidian.platform.clock import now
from shidian.platform.db.pilots_schema import (
    pilot_evidence,
    pilot_findings,
    pilot_plans,
    pilot_rectifications,
    pilot_visits,
)
from shidian.platform.db.schema import units
from shidian.platform.settings import Settings
from shidian.platform.units import all_units
from shidian.problems import Problem, Source
from shidian.web.deps import Conn, check_csrf, require
from shidian.web.drg_api import TEXT
from shidian.web.pilots_reports import plan_unit_ids, plans_for, problem_rows, supervision_list, visible_units
from shidian.web.templating import render

router = APIRouter()
Viewer = Annotated[User, Depends(require("pilots.supervision.view"))]
Manager = Annotated[User, Depends(require("pilots.supervision.manage"))]
Text = Annotated[str, Form(max_length=2000, pattern=TEXT)]
ShortText = Annotated[str, Form(max_length=500, pattern=TEXT)]

#: Evidence files (佐证材料): at most this size, of these types (checked by content, not name).
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"PK\x03\x04": "application/zip",  # .xlsx / .docx are zip containers
}
OFFICE_SUFFIXES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _today() -> date:
    return now().date()


def evidence_type(data: bytes, filename: str) -> str | None:
    """The content type of an evidence file from its first bytes (PDF, PNG, JPEG, xlsx, docx), or None."""
    for magic, kind in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            if kind == "application/zip":
                return OFFICE_SUFFIXES.get(Path(filename).suffix.lower())
            return kind
    return None


def evidence_path(var_dir: Path, sha256: str) -> Path:
    return var_dir / "pilots" / "evidence" / sha256[:2] / sha256


# ---- reading ----------------------------------------------------------------------------------------


def _rectifications(conn: sa.Connection, unit_ids: set[int]) -> list[Any]:
    if not unit_ids:
        return []
    return list(
        conn.execute(
            sa.select(
                pilot_rectifications,
                pilot_findings.c.description.label("finding"),
                pilot_visits.c.id.label("visit_id"),
                units.c.name.label("unit_name"),
                units.c.code.label("unit_code"),
            )
            .join(pilot_findings, pilot_findings.c.id == pilot_rectifications.c.finding_id)
            .join(pilot_visits, pilot_visits.c.id == pilot_findings.c.visit_id)
            .join(units, units.c.id == pilot_visits.c.unit_id)
            .where(pilot_visits.c.unit_id.in_(sorted(unit_ids)))
            .order_by(pilot_rectifications.c.deadline, pilot_rectifications.c.id)
        ).all()
    )


def overdue_warnings(conn: sa.Connection, unit_ids: set[int], as_of: date) -> list[Problem]:
    """Open rectifications past their deadline (逾期未整改) in ``unit_ids``, as warnings."""
    items = [
        Rectification(r.id, r.unit_name, r.action, r.deadline, r.status)
        for r in _rectifications(conn, unit_ids)
    ]
    return overdue_rectifications(items, as_of)


def _visit(conn: sa.Connection, user: User, visit_id: int) -> Any:
    row = conn.execute(
        sa.select(
            pilot_visits,
            units.c.name.label("unit_name"),
            units.c.code.label("unit_code"),
            pilot_plans.c.name.label("plan_name"),
        )
        .join(units, units.c.id == pilot_visits.c.unit_id)
        .join(pilot_plans, pilot_plans.c.id == pilot_visits.c.plan_id)
        .where(pilot_visits.c.id == visit_id)
    ).first()
    if row is None or row.unit_id not in visible_units(all_units(conn), user):
        raise HTTPException(404, "没有这次督导 (no such visit)")
    return row


def _finding(conn: sa.Connection, user: User, finding_id: int) -> tuple[Any, Any]:
    finding = conn.execute(sa.select(pilot_findings).where(pilot_findings.c.id == finding_id)).first()
    if finding is None:
        raise HTTPException(404, "没有这条问题 (no such finding)")
    return finding, _visit(conn, user, finding.visit_id)


def _may_manage(user: User, visit: Any, conn: sa.Connection) -> bool:
    return user.role == "pilot_office" and visit.unit_id in visible_units(all_units(conn), user)


# ---- the office's page --------------------------------------------------------------------------------


@router.get("/pilots/supervision", include_in_schema=False)
def supervision_page(request: Request, conn: Conn, user: Viewer, plan: int | None = None) -> Response:
    tree = all_units(conn)
    visible = visible_units(tree, user)
    today = _today()
    plans = plans_for(conn, user, visible)
    plan_row = next((p for p in plans if p.id == plan), plans[0] if plans else None)
    visits = (
        conn.execute(
            sa.select(pilot_visits, units.c.name.label("unit_name"), pilot_plans.c.name.label("plan_name"))
            .join(units, units.c.id == pilot_visits.c.unit_id)
            .join(pilot_plans, pilot_plans.c.id == pilot_visits.c.plan_id)
            .where(pilot_visits.c.unit_id.in_(sorted(visible)))
            .order_by(pilot_visits.c.visited_on.desc(), pilot_visits.c.id.desc())
        ).all()
        if visible
        else []
    )
    plan_units = plan_unit_ids(conn, plan_row.id) if plan_row is not None else set()
    lagging, lagging_note = (
        supervision_list(conn, plan_row, visible, today) if plan_row is not None else ([], None)
    )
    return render(
        request,
        "pilots/supervision.html",
        {
            "plans": plans,
            "plan": plan_row,
            "warnings": overdue_warnings(conn, visible, today),
            "visits": visits,
            "lagging": lagging,
            "lagging_note": lagging_note,
            # the units one may visit: the plan's reporting units in the user's area
            "units": sorted((tree[u] for u in visible & plan_units), key=lambda u: u.code),
            "may_manage": user.role == "pilot_office",
            "rectifications": _rectifications(conn, visible),
            "statuses": RECTIFICATION_STATUSES,
            "today": today,
        },
    )


@router.post("/pilots/supervision/visits", include_in_schema=False, dependencies=[Depends(check_csrf)])
def visit_create(
    request: Request,
    conn: Conn,
    user: Manager,
    plan_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    unit_code: ShortText,
    visited_on: Annotated[date, Form()],
    team: ShortText,
    summary: Text = "",
) -> Response:
    tree = all_units(conn)
    unit = next((u for u in tree.values() if u.code == unit_code), None)
    if unit is None or unit.id not in visible_units(tree, user):
        raise HTTPException(404, "没有这个单位 (no such unit)")
    if conn.execute(sa.select(pilot_plans.c.id).where(pilot_plans.c.id == plan_id)).first() is None:
        raise HTTPException(404, "没有这个方案 (no such plan)")
    if visited_on > _today() or not team.strip():
        raise HTTPException(422, "督导日期不能晚于今天, 督导组不能为空 (visit date in the future or no team)")
    visit_id = conn.execute(
        pilot_visits.insert().values(
            plan_id=plan_id,
            unit_id=unit.id,
            visited_on=visited_on,
            team=team.strip(),
            summary=summary.strip(),
            created_by=user.id,
            created_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    audit.record(
        conn,
        request,
        user,
        "pilots.visit_created",
        f"pilot_visit/{visit_id}",
        {"unit": unit.code, "on": visited_on.isoformat()},
    )
    return RedirectResponse(f"/pilots/supervision/visits/{visit_id}", status_code=303)


# ---- one visit -------------------------------------------------------------------------------------------


def _visit_page(request: Request, conn: sa.Connection, user: User, visit: Any, problems: list[Problem] | None = None,
                status_code: int = 200) -> Response:  # fmt: skip
    findings = conn.execute(
        sa.select(pilot_findings).where(pilot_findings.c.visit_id == visit.id).order_by(pilot_findings.c.id)
    ).all()
    ids = [f.id for f in findings]
    evidence: dict[int, list[Any]] = {}
    rectifications: dict[int, list[Any]] = {}
    if ids:
        for e in conn.execute(
            sa.select(pilot_evidence)
            .where(pilot_evidence.c.finding_id.in_(ids))
            .order_by(pilot_evidence.c.id)
        ):
            evidence.setdefault(e.finding_id, []).append(e)
        for r in conn.execute(
            sa.select(pilot_rectifications)
            .where(pilot_rectifications.c.finding_id.in_(ids))
            .order_by(pilot_rectifications.c.id)
        ):
            rectifications.setdefault(r.finding_id, []).append(r)
    manage = _may_manage(user, visit, conn)
    return render(
        request,
        "pilots/supervision_visit.html",
        {
            "visit": visit,
            "findings": findings,
            "evidence": evidence,
            "rectifications": rectifications,
            "may_manage": manage,
            "is_visited_unit": user.role == "reporting_unit" and user.unit_id == visit.unit_id,
            "severities": SEVERITIES,
            "statuses": RECTIFICATION_STATUSES,
            "problems": problem_rows(problems or []),
            "today": _today(),
            "total_deduction": sum((f.deduction_points for f in findings), Decimal(0)),
        },
        status_code,
    )


@router.get("/pilots/supervision/visits/{visit_id}", include_in_schema=False)
def visit_page(request: Request, conn: Conn, user: Viewer, visit_id: int) -> Response:
    return _visit_page(request, conn, user, _visit(conn, user, visit_id))


@router.post(
    "/pilots/supervision/visits/{visit_id}/findings",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def finding_create(
    request: Request,
    conn: Conn,
    user: Manager,
    visit_id: int,
    description: Text,
    severity: Annotated[Literal["minor", "major", "serious"], Form()] = "minor",
    deduction_points: Annotated[Decimal, Form(ge=0, le=100, max_digits=6, decimal_places=2)] = Decimal(0),
    indicator_code: ShortText = "",
    task_code: ShortText = "",
) -> Response:
    visit = _visit(conn, user, visit_id)
    if not description.strip():
        problem = Problem(
            "pilots.finding.required",
            "问题描述不能为空 (description required)",
            Source("<form>", column="description"),
        )
        return _visit_page(request, conn, user, visit, [problem], 422)
    finding_id = conn.execute(
        pilot_findings.insert().values(
            visit_id=visit.id,
            indicator_code=indicator_code.strip() or None,
            task_code=task_code.strip() or None,
            description=description.strip(),
            severity=severity,
            deduction_points=deduction_points,
            created_by=user.id,
            created_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    audit.record(conn, request, user, "pilots.finding_created", f"pilot_finding/{finding_id}",
                 {"visit": visit.id, "severity": severity, "deduction": str(deduction_points)})  # fmt: skip
    return RedirectResponse(f"/pilots/supervision/visits/{visit.id}", status_code=303)


@router.post(
    "/pilots/supervision/findings/{finding_id}/evidence",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def evidence_upload(
    request: Request,
    conn: Conn,
    user: Viewer,
    finding_id: int,
    file: Annotated[UploadFile | None, File(description="佐证材料 (PDF/PNG/JPEG/xlsx/docx, ≤ 10 MB)")] = None,
) -> Response:
    finding, visit = _finding(conn, user, finding_id)
    if not (
        _may_manage(user, visit, conn) or (user.role == "reporting_unit" and user.unit_id == visit.unit_id)
    ):
        raise HTTPException(403, "只有试点办或被督导单位可以上传佐证材料 (forbidden)")
    filename = Path(file.filename or "evidence").name[:255] if file is not None else "evidence"
    data = file.file.read(MAX_EVIDENCE_BYTES + 1) if file is not None else b""
    problems: list[Problem] = []
    kind = evidence_type(data, filename)
    if not data:
        problems.append(Problem("pilots.evidence.empty", "没有上传文件 (no file)", Source(filename)))
    elif len(data) > MAX_EVIDENCE_BYTES:
        problems.append(
            Problem("pilots.evidence.too_large", "佐证材料不能超过 10 MB (file too large)", Source(filename))
        )
    elif kind is None:
        problems.append(
            Problem(
                "pilots.evidence.type",
                "只接受 PDF、PNG、JPEG、xlsx、docx 文件 (按内容识别) (file type not allowed)",
                Source(filename),
            )
        )
    if problems:
        return _visit_page(request, conn, user, visit, problems, 422)
    assert kind is not None
    sha = hashlib.sha256(data).hexdigest()
    settings: Settings = request.app.state.settings
    path = evidence_path(settings.var_dir, sha)
    if not path.exists():  # content-addressed: the same file stored once
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    evidence_id = conn.execute(
        pilot_evidence.insert().values(
            finding_id=finding.id,
            filename=filename,
            content_type=kind,
            size=len(data),
            sha256=sha,
            uploaded_by=user.id,
            uploaded_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    audit.record(conn, request, user, "pilots.evidence_uploaded", f"pilot_evidence/{evidence_id}",
                 {"finding": finding.id, "file": filename, "sha256": sha, "size": len(data)})  # fmt: skip
    return RedirectResponse(f"/pilots/supervision/visits/{visit.id}", status_code=303)


@router.get("/pilots/supervision/evidence/{evidence_id}", include_in_schema=False)
def evidence_download(request: Request, conn: Conn, user: Viewer, evidence_id: int) -> Response:
    row = conn.execute(sa.select(pilot_evidence).where(pilot_evidence.c.id == evidence_id)).first()
    if row is None:
        raise HTTPException(404, "没有这份材料 (no such file)")
    _finding(conn, user, row.finding_id)  # 404 unless the user may see the visit
    settings: Settings = request.app.state.settings
    path = evidence_path(settings.var_dir, row.sha256)
    if not path.is_file():
        raise HTTPException(404, "文件已不存在 (file missing)")
    audit.record(
        conn, request, user, "pilots.evidence_viewed", f"pilot_evidence/{row.id}", {"file": row.filename}
    )
    return FileResponse(
        path, media_type=row.content_type, filename=row.filename, content_disposition_type="attachment"
    )


@router.post(
    "/pilots/supervision/findings/{finding_id}/rectifications",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def rectification_create(
    request: Request,
    conn: Conn,
    user: Manager,
    finding_id: int,
    action: Text,
    deadline: Annotated[date, Form()],
) -> Response:
    finding, visit = _finding(conn, user, finding_id)
    if not action.strip():
        problem = Problem(
            "pilots.rectification.required",
            "整改要求不能为空 (action required)",
            Source("<form>", column="action"),
        )
        return _visit_page(request, conn, user, visit, [problem], 422)
    if deadline < visit.visited_on:
        problem = Problem(
            "pilots.rectification.deadline", f"整改期限 {deadline.isoformat()} 早于督导日期 {visit.visited_on.isoformat()} (deadline before the visit)",
            Source("<form>", column="deadline"),
        )  # fmt: skip
        return _visit_page(request, conn, user, visit, [problem], 422)
    item_id = conn.execute(
        pilot_rectifications.insert().values(
            finding_id=finding.id,
            action=action.strip(),
            deadline=deadline,
            status="open",
            created_by=user.id,
            created_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    audit.record(conn, request, user, "pilots.rectification_created", f"pilot_rectification/{item_id}",
                 {"finding": finding.id, "deadline": deadline.isoformat()})  # fmt: skip
    return RedirectResponse(f"/pilots/supervision/visits/{visit.id}", status_code=303)


@router.post(
    "/pilots/supervision/rectifications/{item_id}/{step}",
    include_in_schema=False,
    dependencies=[Depends(check_csrf)],
)
def rectification_step(
    request: Request,
    conn: Conn,
    user: Viewer,
    item_id: int,
    step: Literal["mark_done", "verify", "reopen"],
    note: Text = "",
) -> Response:
    item = conn.execute(sa.select(pilot_rectifications).where(pilot_rectifications.c.id == item_id)).first()
    if item is None:
        raise HTTPException(404, "没有这项整改 (no such item)")
    _, visit = _finding(conn, user, item.finding_id)
    if step == "mark_done":
        allowed = (user.role == "reporting_unit" and user.unit_id == visit.unit_id) or _may_manage(
            user, visit, conn
        )
    else:
        allowed = _may_manage(user, visit, conn)
    if not allowed:
        raise HTTPException(403, "被督导单位报告整改完成, 试点办核实销号 (forbidden)")
    status = rectification_transition(item.status, step)
    if status is None:
        raise HTTPException(
            409,
            f"整改状态为「{RECTIFICATION_STATUSES.get(item.status, item.status)}」, 不能执行该操作 (not allowed)",
        )
    stamp = now()
    fields: dict[str, Any] = {"status": status, "note": note.strip() or item.note}
    if status == "done":
        fields.update(done_by=user.id, done_at=stamp)
    elif status == "verified":
        fields.update(closed_by=user.id, closed_at=stamp)
    else:
        fields.update(done_by=None, done_at=None)
    conn.execute(pilot_rectifications.update().where(pilot_rectifications.c.id == item.id).values(**fields))
    audit.record(conn, request, user, f"pilots.rectification_{step}", f"pilot_rectification/{item.id}",
                 {"from": item.status, "to": status})  # fmt: skip
    return RedirectResponse(f"/pilots/supervision/visits/{visit.id}", status_code=303)
