"""The DRG workflows without HTTP (``shidian.drg.service``), on a real SQLite database.

The region is the caps region of ``tests/drg/test_caps.py``: two hospitals with three cases of
1000 yuan each and a budget of 5820.00, so the year point value is 12.7 and each hospital's
entitlement 300 × 12.7 = 3810.00 (000 篇6 第十九条(一)); the hand-worked region of
``tests/drg/data/handworked`` for case explanations (K02 is a high-ratio case, 第十六条(三)).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from shidian.drg import store
from shidian.drg.service import (
    check_upload,
    execute_run,
    explain_case,
    explain_run_case,
    import_dataset,
    import_folder,
    import_uploads,
    publish_run,
    settle_folder,
    start_run,
)
from shidian.drg.service.datasets import Upload
from shidian.drg.service.results import open_hospital, visible_run
from shidian.drg.service.runs import run_problems
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.schema import audit_events
from shidian.platform.jobs import INTERRUPTED, Jobs, fail_interrupted_runs
from shidian.problems import Refused
from tests.conftest import HANDWORKED
from tests.drg.test_caps import write_region


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'shidian.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        bureau = create_unit(conn, "BUREAU", "医疗保障局", "bureau")
        h1 = create_unit(conn, "H1", "平南县第一卫生院", "hospital", hospital_id="H1")
        create_user(conn, "officer", "secret-pass-2020", "settlement_officer", bureau, "经办")
        create_user(conn, "leader", "secret-pass-2020", "leader", bureau, "领导")
        create_user(conn, "h1", "secret-pass-2020", "hospital", h1, "H1 医保办")
    return engine


def user(engine: sa.Engine, username: str) -> User:
    from shidian.platform.db.schema import users

    with engine.connect() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.username == username)).scalar_one()
        found = get_user(conn, user_id)
    assert found is not None
    return found


def actions(engine: sa.Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_events.c.action, audit_events.c.target).order_by(audit_events.c.id)
        )
        return [(r.action, r.target) for r in rows]


def imported(engine: sa.Engine, var_dir: Path, folder: Path) -> str:
    with engine.begin() as conn:
        dataset, problems = import_folder(conn, user(engine, "officer"), var_dir, folder, "区域 {year}")
    assert dataset is not None, problems
    assert dataset["name"] == "区域 2020" and dataset["year"] == 2020
    return str(dataset["id"])


def settled_run(engine: sa.Engine, var_dir: Path, dataset_id: str, corrects: str | None = None) -> str:
    with engine.begin() as conn:
        run_id = start_run(conn, user(engine, "officer"), dataset_id, "guigang-2020", corrects, "测试")
    execute_run(engine, var_dir, run_id)
    return run_id


# ---- the one settlement workflow -------------------------------------------------------------------


def test_settle_folder_writes_everything_and_reports_the_caps(tmp_path: Path):
    labels: list[str] = []
    settled, warnings = settle_folder(
        write_region(tmp_path / "in"), tmp_path / "out", "guigang-2020", progress=labels.append
    )
    assert settled is not None
    assert settled.result.totals["year_point_value"] == "12.70000000"
    assert settled.result.totals["entitlement"] == "7620.00"
    assert [(n.hospital_id, n.cap) for n in settled.near_caps] == [
        ("P1", "surplus"),
        ("P2", "self_pay"),
        ("P2", "surplus"),
    ]
    assert {"report.xlsx", "annual.csv", "run.json"} <= {p.name for p in (tmp_path / "out").iterdir()}
    assert (tmp_path / "out" / "case_points.parquet").is_file()  # the default outputs (issue 20)
    assert not (tmp_path / "out" / "case_points.arrow").exists()  # the web's copy: only when asked
    assert labels[0] == "读取输入 reading inputs" and labels[-1] == "写出结果 writing outputs"
    assert len(warnings) == len(settled.result.warnings)


def test_settle_folder_returns_every_problem_and_writes_nothing(tmp_path: Path):
    data = write_region(tmp_path / "in")
    text = (data / "cases.csv").read_text(encoding="utf-8")
    (data / "cases.csv").write_text(
        text.replace("P1-1,P1,", "P1-1,P9,").replace(
            "P2-2,P2,2020-02-15,A,1000.00", "P2-2,P2,2020-02-15,A,abc"
        ),
        encoding="utf-8",
    )
    settled, problems = settle_folder(data, tmp_path / "out", "guigang-2020")
    assert settled is None and not (tmp_path / "out").exists()
    assert any(p.code == "table.cell.not_number" and p.where.row == 5 for p in problems)
    missing, problems = settle_folder(tmp_path / "nowhere", tmp_path / "out", "guigang-2020")
    assert missing is None and [p.code for p in problems] == ["drg.input.missing_dir"]
    unknown, problems = settle_folder(data, tmp_path / "out", "nowhere-1999")
    assert unknown is None and problems


# ---- runs: start, execute, publish, correct ---------------------------------------------------------


def test_a_run_is_settled_in_the_background_published_once_and_corrected(engine: sa.Engine, tmp_path: Path):
    var_dir = tmp_path / "var"
    dataset_id = imported(engine, var_dir, write_region(tmp_path / "in"))
    run_id = settled_run(engine, var_dir, dataset_id)
    officer = user(engine, "officer")
    with engine.begin() as conn:
        run = store.get_run(conn, run_id)
        assert run is not None and run["status"] == "draft" and run["progress"] == "完成"
        assert run["totals"]["entitlement"] == "7620.00" and all(c["ok"] for c in run["checks"])
        assert (var_dir / "runs" / run_id / "case_points.parquet").is_file()
        published = publish_run(conn, officer, run_id)
        assert published["status"] == "published" and published["published_by"] == officer.id
    with engine.begin() as conn, pytest.raises(Refused) as again:
        publish_run(conn, officer, run_id)
    assert again.value.reason == "conflict"
    correction = settled_run(engine, var_dir, dataset_id, corrects=run_id)
    with engine.begin() as conn:
        assert store.get_run(conn, correction)["corrects_run_id"] == run_id  # type: ignore[index]
        with pytest.raises(Refused) as draft:
            start_run(conn, officer, dataset_id, "guigang-2020", correction)
        assert draft.value.reason == "invalid" and "published" in draft.value.problems[0].message
    started = [t for a, t in actions(engine) if a == "drg.run_started"]
    assert started == [run_id, correction]
    assert ("drg.run_published", run_id) in actions(engine)


def test_who_may_start_and_publish(engine: sa.Engine, tmp_path: Path):
    var_dir = tmp_path / "var"
    dataset_id = imported(engine, var_dir, write_region(tmp_path / "in"))
    run_id = settled_run(engine, var_dir, dataset_id)
    for username in ("leader", "h1"):
        with engine.begin() as conn, pytest.raises(Refused) as refused:
            start_run(conn, user(engine, username), dataset_id, "guigang-2020")
        assert refused.value.reason == "forbidden"
        with engine.begin() as conn, pytest.raises(Refused) as refused:
            publish_run(conn, user(engine, username), run_id)
        assert refused.value.reason == "forbidden"
    with engine.begin() as conn:
        for dataset, policy in (
            ("f" * 32, "guigang-2020"),
            (dataset_id, "nowhere-1999"),
            ("x", "guigang-2020"),
        ):
            with pytest.raises(Refused) as refused:
                start_run(conn, user(engine, "officer"), dataset, policy)
            assert refused.value.reason == "invalid"


def test_a_run_stopped_by_problems_keeps_them_as_problems(engine: sa.Engine, tmp_path: Path):
    var_dir = tmp_path / "var"
    dataset_id = imported(engine, var_dir, write_region(tmp_path / "in"))
    (var_dir / "datasets" / dataset_id / "drg_groups.csv").unlink()  # lost after the import
    run_id = settled_run(engine, var_dir, dataset_id)
    with engine.connect() as conn:
        run = store.get_run(conn, run_id)
    assert run is not None and run["status"] == "failed"
    problems = run_problems(run["error"])
    assert problems and problems[0].code == "drg.input.missing_file"
    assert "drg.input.missing_file" in run["error"].split("\n", 1)[0]  # the summary line


def test_jobs_run_one_at_a_time_and_interrupted_runs_are_marked_failed(engine: sa.Engine, tmp_path: Path):
    var_dir = tmp_path / "var"
    dataset_id = imported(engine, var_dir, write_region(tmp_path / "in"))
    with engine.begin() as conn:
        queued = start_run(conn, user(engine, "officer"), dataset_id, "guigang-2020")
    jobs = Jobs(engine, var_dir, execute_run)
    jobs.submit(queued).result()
    jobs.shutdown()
    with pytest.raises(RuntimeError):
        jobs.submit(queued)
    with engine.begin() as conn:
        left = start_run(conn, user(engine, "officer"), dataset_id, "guigang-2020")
        assert fail_interrupted_runs(conn) == [left]
        assert store.get_run(conn, left)["error"] == INTERRUPTED  # type: ignore[index]
        assert store.get_run(conn, queued)["status"] == "draft"  # type: ignore[index]


# ---- imports ---------------------------------------------------------------------------------------


def uploads(folder: Path, *extra: tuple[str, bytes]) -> list[Upload]:
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())] + list(extra)
    return [Upload(name, len(content), lambda content=content: content) for name, content in files]


def test_an_upload_is_checked_previewed_and_imported_once(engine: sa.Engine, tmp_path: Path):
    var_dir, officer = tmp_path / "var", user(engine, "officer")
    checked, problems = check_upload(engine, officer, var_dir, uploads(HANDWORKED), " 手算 ")
    assert checked is not None and problems == []
    assert checked.manifest["cases"] == 12 and checked.manifest["year"] == 2020
    assert [t["table"] for t in checked.tables][:3] == ["hospitals", "drg_groups", "cases"]
    dataset = import_dataset(engine, officer, var_dir, checked.token)
    assert dataset["name"] == "手算" and (var_dir / "datasets" / dataset["id"] / "cases.csv").is_file()
    with pytest.raises(Refused) as twice:
        import_dataset(engine, officer, var_dir, checked.token)
    assert twice.value.reason == "not_found"
    assert [a for a, _ in actions(engine)] == ["drg.import_checked", "drg.dataset_imported"]


def test_bad_uploads_get_every_problem_and_nothing_is_kept(engine: sa.Engine, tmp_path: Path):
    var_dir, officer = tmp_path / "var", user(engine, "officer")
    files = uploads(HANDWORKED, ("notes.txt", b"hello"))
    dataset, problems = import_uploads(engine, officer, var_dir, files, "坏")
    assert dataset is None and ("upload.file.unexpected", "notes.txt") in {
        (p.code, p.where.file) for p in problems
    }
    with engine.connect() as conn:
        assert store.list_datasets(conn) == []
    with pytest.raises(Refused) as refused:
        check_upload(engine, user(engine, "h1"), var_dir, files, "x")
    assert refused.value.reason == "forbidden"
    assert not (var_dir / "datasets").exists()


# ---- results and explanations ------------------------------------------------------------------------


def test_explain_a_case_of_a_settled_folder(tmp_path: Path):
    settled, _ = settle_folder(HANDWORKED, tmp_path / "out", "guigang-2020")
    assert settled is not None
    explained = explain_case(tmp_path / "out", "K02")
    assert explained.policy_matches_run and explained.found.explanation.consistent
    assert "第十六条(三)" in explained.found.explanation.text()
    with pytest.raises(Refused) as missing:
        explain_case(tmp_path / "out", "NOPE")
    assert missing.value.reason == "not_found" and missing.value.problems[0].code == "drg.case.not_found"
    with pytest.raises(Refused) as not_a_run:
        explain_case(tmp_path, "K02")
    assert not_a_run.value.problems[0].code == "drg.run.missing"


def test_a_hospital_user_sees_published_runs_and_its_own_cases_only(engine: sa.Engine, tmp_path: Path):
    var_dir = tmp_path / "var"
    dataset_id = imported(engine, var_dir, HANDWORKED)
    run_id = settled_run(engine, var_dir, dataset_id)
    h1 = user(engine, "h1")
    with engine.begin() as conn:
        with pytest.raises(Refused) as draft:
            visible_run(conn, h1, run_id)
        assert draft.value.reason == "not_found"
        publish_run(conn, user(engine, "officer"), run_id)
        opened, year = open_hospital(conn, h1, var_dir, None, "H1")
        assert opened.id == run_id and year.name == "平南县第一卫生院"
        with pytest.raises(Refused):
            open_hospital(conn, h1, var_dir, run_id, "H3")
        _, explained = explain_run_case(conn, h1, var_dir, run_id, "K02")
        assert explained.found.case["hospital_id"] == "H1"
        with pytest.raises(Refused) as other:
            explain_run_case(conn, h1, var_dir, run_id, "K05")  # H3's case
        assert other.value.problems[0].message == "没有该医疗机构或病例 (not found)"
    viewed = [(a, t) for a, t in actions(engine) if a == "drg.case_viewed"]
    assert viewed == [("drg.case_viewed", "K02")]
