"""A registry import is a job of the lane ``imports`` (issue 22 finding 7): while another import
runs in any server process, the API and the page answer 409 job.busy and register nobody, and the
import page shows the running import's stage; once it has finished the same file imports."""

from __future__ import annotations

import sqlalchemy as sa

from shidian.platform import jobs
from shidian.platform.db.registry_schema import registry_patients
from tests.web.registry.conftest import V1, id_number


def _patients(app) -> int:
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(registry_patients)).scalar_one())


def test_a_registry_import_while_another_import_runs_answers_409_and_registers_nobody(
    reg_client, registry_app
):
    doctor = reg_client("reg_doc_a")
    text = "姓名,身份证号,村代码,诊断编码,登记日期\n" + f"周并发,{id_number()},{V1},F20,2019-03-01\n"
    upload = {"file": ("名册.csv", text.encode("utf-8"), "text/csv")}
    before = _patients(registry_app)
    engine = registry_app.state.engine
    held = jobs.started(engine, "drg.import")  # a DRG import in another server process
    jobs.step(engine, held, "读取并校验 5 个文件")
    try:
        page = doctor.get("/registry/import")
        assert page.status_code == 200
        assert 'id="import-running"' in page.text and "读取并校验 5 个文件" in page.text
        api = doctor.post("/api/registry/imports", files=upload)
        assert api.status_code == 409, api.text
        assert [p["code"] for p in api.json()["problems"]] == ["job.busy"]
        form = doctor.post(
            "/registry/import", data={"csrf_token": doctor.headers["X-CSRF-Token"]}, files=upload
        )
        assert form.status_code == 409 and "另一项数据导入正在进行" in form.text
    finally:
        jobs.finish(engine, held)
    assert _patients(registry_app) == before
    assert 'id="import-running"' not in doctor.get("/registry/import").text
    done = doctor.post("/api/registry/imports", files=upload)
    assert done.status_code == 200 and done.json()["imported"] == 1
    assert _patients(registry_app) == before + 1
