"""``shidian registry import`` and ``shidian registry indicators`` on a SQLite database."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from shidian.cli import app
from shidian.insurance.id_number import check_char
from shidian.platform import clock, jobs
from shidian.platform.accounts import create_unit, create_user
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.registry_schema import registry_doctor_areas


def _county_with_a_doctor(tmp_path, monkeypatch):
    """A SQLite database the CLI finds through the environment: 平南县, a town, a village and the
    doctor cli_doc responsible for it. Returns (url, engine)."""
    url = f"sqlite:///{tmp_path}/db.sqlite"
    monkeypatch.setenv("SHIDIAN_DATABASE_URL", url)
    monkeypatch.setenv("SHIDIAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHIDIAN_SECRET_KEY", "c" * 48)
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        county = create_unit(conn, "450821", "平南县", "county", region_code="450821")
        town = create_unit(conn, "450821100", "平南镇", "township", parent_id=county)
        village = create_unit(conn, "450821100001", "东村", "village", parent_id=town)
        doctor = create_user(conn, "cli_doc", "secret-pass-2020", "mental_health_doctor", town, "医生")
        conn.execute(registry_doctor_areas.insert().values(user_id=doctor, unit_id=village))
    return url, engine


def test_cli_import_then_indicators(tmp_path, monkeypatch):
    url, engine = _county_with_a_doctor(tmp_path, monkeypatch)
    engine.dispose()
    first17 = "45082119800101123"
    good = first17 + check_char(first17)
    year = clock.today().year - 1
    path = tmp_path / "old.csv"
    path.write_bytes(
        f"姓名,身份证号,村代码,诊断编码,登记日期\n周一,{good},450821100001,F20,{year}-03-01\n".encode("gbk")
    )
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"姓名,身份证号,村代码,诊断编码,登记日期\n周一,{good[:17]}Y,450821100001,F20,{year}-03-01\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["registry", "import", str(bad), "--as", "cli_doc"])
    assert result.exit_code == 1 and "registry.patient.invalid_id" in result.output
    engine = make_engine(url)  # an import running in the server (lane imports): the CLI waits its turn
    held = jobs.started(engine, "insurance.import")
    result = runner.invoke(app, ["registry", "import", str(path), "--as", "cli_doc", "--json"])
    assert result.exit_code == 2 and "另一项数据导入正在进行" in result.output, result.output
    jobs.finish(engine, held)
    engine.dispose()
    result = runner.invoke(app, ["registry", "import", str(path), "--as", "cli_doc", "--json"])
    assert result.exit_code == 0, result.output
    assert '"imported": 1' in result.output
    result = runner.invoke(app, ["registry", "indicators", "--period", str(year), "--area", "450821"])
    assert result.exit_code == 0, result.output
    # 1 patient registered, no follow-up: 规范管理 0/1
    assert f"450821,SMD_REGULAR_MGMT_RATE,{year}-01-01,,0.00000000,1.00000000" in result.output


def test_without_a_database_the_commands_say_where_to_point_and_create_nothing(tmp_path, monkeypatch):
    """Issue 19 item 11: no SHIDIAN_VAR_DIR and no database: a clear message, exit 2, no empty
    database left behind (it printed a SQLAlchemy traceback and created one)."""
    monkeypatch.delenv("SHIDIAN_DATABASE_URL", raising=False)
    monkeypatch.setenv("SHIDIAN_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    result = runner.invoke(app, ["registry", "indicators", "--period", "2020", "--area", "450821"])
    assert result.exit_code == 2, result.output
    assert "没有找到数据库" in result.output and "SHIDIAN_VAR_DIR" in result.output
    result = runner.invoke(app, ["registry", "import", str(tmp_path / "x.csv"), "--as", "doctor"])
    assert result.exit_code == 2 and "没有找到数据库" in result.output
    assert not (tmp_path / "var" / "shidian.db").exists()


def test_an_import_cancelled_on_the_web_page_ends_the_command_with_a_message_and_nothing_imported(
    tmp_path, monkeypatch
):
    """取消导入 on the import page while ``shidian registry import`` runs: the command stops at its
    next stage with the job.cancelled problem (it ended in a traceback), exit 1, no patient."""
    _url, engine = _county_with_a_doctor(tmp_path, monkeypatch)
    first17 = "45082119800101123"
    path = tmp_path / "old.csv"
    path.write_text(
        f"姓名,身份证号,村代码,诊断编码,登记日期\n周一,{first17 + check_char(first17)},450821100001,F20,"
        f"{clock.today().year - 1}-03-01\n",
        encoding="utf-8",
    )
    real_step = jobs.step

    def cancelled_from_the_page(job_engine, job_id, label):  # the web's 取消导入 lands before the stage
        with job_engine.begin() as conn:
            assert jobs.cancel_job(conn, job_id) == "running"
        real_step(job_engine, job_id, label)

    monkeypatch.setattr(jobs, "step", cancelled_from_the_page)
    for json_flag in ([], ["--json"]):
        result = CliRunner().invoke(app, ["registry", "import", str(path), "--as", "cli_doc", *json_flag])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "job.cancelled" in result.output and "未导入任何患者" in result.output
    with engine.connect() as conn:
        statuses = (
            conn.execute(sa.text("SELECT status FROM jobs WHERE kind = 'registry.import'")).scalars().all()
        )
        patients = conn.execute(sa.text("SELECT count(*) FROM registry_patients")).scalar()
    engine.dispose()
    assert statuses == ["cancelled", "cancelled"] and patients == 0
