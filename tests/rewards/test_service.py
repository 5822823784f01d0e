"""以奖代补 workflows without HTTP (``shidian.rewards.service``) on a real SQLite database.

Expected amounts are those of 002 篇二 第六条(二) hand-worked in ``test_seed_cases.py``
(eldercare-2017): upfront 50% of each project's own approved funds, settlement of each project's
own remainder when it scores 60 points or more. Units A 1,000,000/90 pts, B 3,000,000/55 pts, C 6,000,000/80 pts:
A 1,000,000.00, B 1,500,000.00 (fails the 60-point threshold), C 6,000,000.00.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.audit import Client
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.schema import audit_events
from shidian.problems import Refused
from shidian.rewards import service

B = "450821100002"  # the reporting village's GB/T 2260 code
UNITS = (
    "unit_code,unit_name,核定项目资金,考核得分\n"
    f"A,甲项目,1000000,90\n{B},乙项目,3000000,55\nC,丙项目,6000000,80\n"
).encode()


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    upgrade(engine)
    return engine


@pytest.fixture
def users(engine: sa.Engine) -> dict[str, User]:
    found = {}
    with engine.begin() as conn:
        office = create_unit(conn, "RW-OFFICE", "试点办", "township")
        village = create_unit(conn, "RW-V2", "乙村", "village", region_code=B)
        for name, role, unit in (
            ("office", "pilot_office", office),
            ("leader", "leader", office),
            ("village", "reporting_unit", village),
        ):
            user = get_user(conn, create_user(conn, name, "secret-pass-2020", role, unit))
            assert user is not None
            found[name] = user
    return found


def audits(engine: sa.Engine) -> list[tuple[str, str | None, dict[str, object]]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_events.c.action, audit_events.c.target, audit_events.c.detail))
        return [(r.action, r.target, r.detail) for r in rows]


def allocate(engine, user, var_dir, overrides="", files=(("units.csv", UNITS),), rules="eldercare-2017"):
    with engine.begin() as conn:
        return service.allocate_uploads(
            conn, user, var_dir, rules, list(files), overrides, Client("10.0.0.1", "pytest")
        )


def test_allocate_stores_audits_and_every_unit_is_read_by_the_office(engine, users, tmp_path):
    run_id, problems = allocate(engine, users["office"], tmp_path)
    assert problems == [] and run_id is not None
    assert audits(engine) == [
        ("rewards.allocate", run_id, {"rules": "eldercare-2017", "files": ["units.csv"]})
    ]
    with engine.connect() as conn:
        view = service.allocation_view(conn, users["leader"], tmp_path, run_id)
        listed = service.overview(conn, users["office"], tmp_path)
    assert view.full and view.meta["run_id"] == run_id
    totals = {r["unit_code"]: Decimal(r["total_yuan"]) for r in view.rows}
    assert totals == {"A": Decimal("1000000.00"), B: Decimal("1500000.00"), "C": Decimal("6000000.00")}
    assert [r[0] for r in view.top] == ["C", B, "A"]  # the chart: largest totals first
    assert [m["run_id"] for m in listed.runs] == [run_id] and listed.own == {}
    assert "eldercare-2017" in {c.name for c in listed.rules}


def test_the_same_inputs_give_the_same_allocation_id(engine, users, tmp_path):
    first, _ = allocate(engine, users["office"], tmp_path)
    again, _ = allocate(engine, users["office"], tmp_path)
    changed, _ = allocate(engine, users["office"], tmp_path, overrides="fund.pot=12000000")
    assert first == again != changed


def test_every_input_problem_at_once_and_nothing_stored(engine, users, tmp_path):
    bad = (("units.csv", b"unit_code,approved_amount,score\nA,-1,101\n"),)
    run_id, problems = allocate(engine, users["office"], tmp_path, files=bad)
    assert run_id is None
    assert {"table.cell.below_min", "table.cell.above_max"} <= {p.code for p in problems}
    run_id, problems = allocate(engine, users["office"], tmp_path, overrides="no equals sign\n\nx=1\n=2")
    assert run_id is None and [(p.code, p.where.row) for p in problems] == [
        ("rewards.rules.override_unknown", 1),
        ("rewards.rules.override_unknown", 4),
    ]
    assert allocate(engine, users["office"], tmp_path, rules="nope")[1][0].code == "rewards.rules.unknown"
    assert allocate(engine, users["office"], tmp_path, files=())[1][0].code == "rewards.facts.no_tables"
    assert not (tmp_path / "rewards").exists() and audits(engine) == []


def test_a_reporting_unit_reads_its_own_unit_only(engine, users, tmp_path):
    run_id, _ = allocate(engine, users["office"], tmp_path)
    village = users["village"]
    with engine.connect() as conn:
        listed = service.overview(conn, village, tmp_path)
        view = service.allocation_view(conn, village, tmp_path, run_id)
        meta, row = service.unit_explanation(conn, village, tmp_path, run_id, B)
        with pytest.raises(Refused) as other:
            service.unit_explanation(conn, village, tmp_path, run_id, "A")
    assert listed.rules == [] and [r["unit_code"] for r in listed.own[run_id]] == [B]
    assert not view.full and [r["unit_code"] for r in view.rows] == [B] and view.top == []
    assert meta["rules"] == "eldercare-2017" and row["total_shown"] == "1,500,000.00"
    assert "考核得分 55 < 60分" in row["explanation"]
    assert other.value.reason == "not_found"
    with engine.begin() as conn, pytest.raises(Refused) as download:
        service.download_workbook(conn, village, tmp_path, run_id)
    assert download.value.reason == "forbidden"
    with pytest.raises(Refused) as allocating:
        allocate(engine, village, tmp_path)
    assert allocating.value.reason == "forbidden"


def test_download_is_audited_and_an_unknown_allocation_is_not_found(engine, users, tmp_path):
    run_id, _ = allocate(engine, users["office"], tmp_path)
    with engine.begin() as conn:
        path = service.download_workbook(conn, users["leader"], tmp_path, run_id, Client("10.0.0.2"))
    assert path.name == "allocations.xlsx" and path.is_file()
    assert audits(engine)[-1] == ("rewards.download", run_id, {})
    with engine.connect() as conn:
        for call in (
            lambda: service.allocation_view(conn, users["leader"], tmp_path, "0" * 16),
            lambda: service.allocation_view(conn, users["leader"], tmp_path, "../../etc"),
            lambda: service.download_workbook(conn, users["leader"], tmp_path, "0" * 16),
        ):
            with pytest.raises(Refused) as refused:
                call()
            assert refused.value.reason == "not_found"


def test_compare_lists_each_unit_whose_total_changes(engine, users, tmp_path):
    """Lowering the pass mark to 50 lets B keep its own remainder (002 篇二 六(二) "剩余经费根据考核
    结果进行结算"), which was returned to the fund: 3,000,000 − 1,500,000 = 1,500,000.00 more for B;
    A and C unchanged."""
    base, _ = allocate(engine, users["office"], tmp_path)
    lower, _ = allocate(engine, users["office"], tmp_path, overrides="stages.evaluation.steps.pass.min=50")
    before, after, rows = service.compare_allocations(users["leader"], tmp_path, base, lower)
    assert (before["run_id"], after["run_id"]) == (base, lower)
    assert [(r["unit_code"], r["before"], r["after"], r["change"]) for r in rows] == [
        (B, "1,500,000.00", "3,000,000.00", "+1,500,000.00")
    ]
    with pytest.raises(Refused) as refused:
        service.compare_allocations(users["village"], tmp_path, base, lower)
    assert refused.value.reason == "forbidden"


def test_allocate_files_is_the_cli_path(tmp_path):
    facts = tmp_path / "units.csv"
    facts.write_bytes(UNITS)
    allocation, manifest, problems = service.allocate_files("eldercare-2017", [facts])
    assert allocation is not None and problems == [] and service.failed_checks(allocation) == []
    assert allocation.total == Decimal("8500000.00") and allocation.returned == Decimal("1500000.00")
    assert set(manifest) == {"units.csv"}
    missing, _, problems = service.allocate_files("eldercare-2017", [tmp_path / "nope.csv"])
    assert missing is None and problems
