"""The application log (issue 22, "Also"): one JSON object a line per request, with request id,
route template, status, duration and user id — and never a query string, an ID number, a name
or an exception's message (both databases)."""

from __future__ import annotations

import json
import logging

import pytest

from shidian.cli.logs import log_config
from tests.web.registry.test_registry_api import register


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "shidian.app"]


def test_each_request_is_one_json_line_without_personal_data(reg_client, registry_app, caplog):
    doc = reg_client("reg_doc_a")
    response, body = register(doc, name="欧阳修")
    no = response.json()["registry_no"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="shidian.app"):
        doc.get(f"/registry/patients/{no}", headers={"X-Request-ID": "req-42"})
        doc.get("/api/registry/patients", params={"q": body["id_number"]})  # refused, still logged
        doc.post("/api/registry/patients/search", json={"q": body["id_number"]})
    logged = lines(caplog)
    assert [(x["method"], x["route"], x["status"]) for x in logged] == [
        ("GET", "/registry/patients/{registry_no}", 200),
        ("GET", "/api/registry/patients", 422),
        ("POST", "/api/registry/patients/search", 200),
    ]
    assert logged[0]["request_id"] == "req-42"
    assert all(isinstance(x["user_id"], int) and isinstance(x["duration_ms"], float) for x in logged)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert body["id_number"] not in text and "欧阳修" not in text and no not in text


def test_a_failed_request_logs_the_error_type_and_frames_not_its_message(
    web_app, client_for, caplog, monkeypatch
):
    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("第3行 姓名 张三 身份证 450821198001010011")  # what a reader might quote

    monkeypatch.setattr("shidian.drg.uploads.read_inputs", crash)
    officer = client_for("officer")
    with caplog.at_level(logging.INFO, logger="shidian.app"), pytest.raises(RuntimeError):
        officer.post("/api/drg/imports", files=[("files", ("cases.csv", b"case_id\n1\n", "text/csv"))])
    (line,) = [x for x in lines(caplog) if x["route"] == "/api/drg/imports"]
    assert line["level"] == "error" and line["error"] == "RuntimeError" and line["status"] == 500
    assert any("crash" in frame for frame in line["at"])  # type: ignore[union-attr]
    assert "张三" not in json.dumps(line, ensure_ascii=False)


def test_serve_logs_json_to_stderr_or_a_file_without_access_log_or_tracebacks(tmp_path):
    config = log_config(str(tmp_path / "app.log"))
    assert config["handlers"]["app"]["filename"] == str(tmp_path / "app.log")
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    drop = config["filters"]["no_traceback"]["()"]()
    failed = logging.LogRecord(
        "uvicorn.error",
        logging.ERROR,
        "",
        0,
        "Exception in ASGI application",
        (),
        (RuntimeError, RuntimeError("张三"), None),
    )
    assert drop.filter(failed) is False
    assert drop.filter(logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "Started", (), None)) is True
    assert log_config(None)["handlers"]["app"]["stream"] == "ext://sys.stderr"
