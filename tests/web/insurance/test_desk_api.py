"""The discharge desk's API on both databases: pricing, idempotency, 冲正, access, bad input,
agreement with the batch, and concurrent claims of one person (real HTTP, real threads).

Hand-worked numbers cite 004 篇6 三(四)3: level-1 deductible 50 and ratio 75%, level-3 500 and
40%; annual inpatient cap 45,000. 五保户 pay no deductible (三(四)1).
"""

from __future__ import annotations

import csv
import datetime as dt
import http.client
import io
import itertools
import json
import threading
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from shidian.insurance.claims import price_claims
from shidian.insurance.desk_claim import show
from shidian.insurance.model import INSTITUTIONS_SCHEMA, PERSONS_SCHEMA, claims_table
from shidian.insurance.policy import POLICIES
from shidian.platform.db.insurance_schema import insurance_desk_claims, insurance_person_years
from shidian.platform.db.schema import audit_events
from tests.waiting import PATIENCE
from tests.web.insurance.conftest import INSTITUTIONS, PERSONS

#: every test posts against the 2010 county, whichever test of a worker happens to run first
pytestmark = pytest.mark.usefixtures("insurance_app")

URL = "/api/insurance/claims"


def body(claim_id: str, person: str, institution: str, total: str, **extra: Any) -> dict[str, Any]:
    row = {
        "claim_id": claim_id,
        "person_id": person,
        "institution_id": institution,
        "kind": "inpatient",
        "start_date": "2010-03-01",
        "end_date": "2010-03-06",
        "total_cost": total,
    }
    return row | extra


def problems_of(response: Any) -> set[tuple[str, Any]]:
    payload = response.json()
    assert payload["ok"] is False and payload["status"] == response.status_code
    return {
        (p["code"], (p.get("where") or {}).get("column") if isinstance(p.get("where"), dict) else None)
        for p in payload["problems"]
    }


def test_a_claim_is_priced_recorded_and_idempotent(insurance_app, client_for):
    officer = client_for("officer")
    first = officer.post(URL, json=body("D1-01", "P01", "H1", "2000"))
    assert first.status_code == 201, first.text
    answer = first.json()
    # 三(四)3: level 1, deductible 50, 75%: (2000 − 50) × 0.75 = 1462.50
    assert (answer["deductible"], answer["reimbursement"]) == ("50.00", "1462.50")
    assert answer["status"] == "paid" and answer["seq"] == 1
    assert "起付线50.00 (1级医院)" in answer["reason"] and answer["reason"].endswith("报销1462.50元")
    again = officer.post(URL, json=body("D1-01", "P01", "H1", "2000.00", self_pay="0"))  # same meaning
    assert again.status_code == 200 and again.json() == answer
    other = officer.post(URL, json=body("D1-01", "P01", "H1", "2100"))
    assert other.status_code == 409
    assert problems_of(other) == {("insurance.claim.id_reused", "claim_id")}
    assert "total_cost" not in other.json()["problems"][0]["message"]  # no field named (issue 22)
    with insurance_app.state.engine.connect() as conn:
        actions = (
            conn.execute(
                sa.select(audit_events.c.action)
                .where(audit_events.c.target == "D1-01")
                .order_by(audit_events.c.id)
            )
            .scalars()
            .all()
        )
        used = conn.execute(
            sa.select(insurance_person_years.c.inpatient_used_fen).where(
                insurance_person_years.c.person_id == "P01"
            )
        ).scalar()
    assert actions == ["insurance.desk_post", "insurance.desk_replay"]
    assert used == 146250  # the replay used nothing more


def test_reversal_frees_the_cap_and_is_idempotent(insurance_app, client_for):
    officer = client_for("officer")
    # 五保户, no deductible: 60000 × 0.75 = 45000.00, the whole annual cap (三(四)3: 4.5万元)
    a = officer.post(URL, json=body("R-A", "P02", "H1", "60000")).json()
    assert (a["reimbursement"], a["cap_before"], a["cap_after"]) == ("45000.00", "45000.00", "0.00")
    # 1000 × 0.75 = 750.00 computed, nothing left under the cap
    b = officer.post(
        URL, json=body("R-B", "P02", "H1", "1000", start_date="2010-04-01", end_date="2010-04-03")
    ).json()
    assert (b["priced"]["amount_before_cap"], b["reimbursement"]) == ("750.00", "0.00")
    reversed_a = officer.post(f"{URL}/R-A/reverse")
    assert reversed_a.status_code == 200, reversed_a.text
    assert reversed_a.json()["freed"] == "45000.00"
    assert reversed_a.json()["usage_after"] == {"inpatient": "0.00"}
    # the cap is free again: 750.00 paid, 45000.00 − 750.00 = 44250.00 left
    c = officer.post(
        URL, json=body("R-C", "P02", "H1", "1000", start_date="2010-05-01", end_date="2010-05-03")
    ).json()
    assert (c["reimbursement"], c["cap_before"], c["cap_after"]) == ("750.00", "45000.00", "44250.00")
    twice = officer.post(f"{URL}/R-A/reverse")
    assert twice.status_code == 200 and twice.json() == reversed_a.json()
    record = officer.get(f"{URL}/R-A").json()
    assert record["status"] == "reversed" and record["reversal"] == reversed_a.json()
    with insurance_app.state.engine.connect() as conn:
        used = conn.execute(
            sa.select(insurance_person_years.c.inpatient_used_fen).where(
                insurance_person_years.c.person_id == "P02"
            )
        ).scalar()
    assert used == 75000  # R-B 0.00 + R-C 750.00
    assert officer.post(f"{URL}/NOPE/reverse").status_code == 404


def test_a_hospital_posts_for_its_own_institution_only(client_for):
    h1, h3, leader = client_for("h1"), client_for("h3"), client_for("leader")
    foreign = h1.post(URL, json=body("A-1", "P03", "H3", "3000"))
    assert foreign.status_code == 403
    assert problems_of(foreign) == {("auth.forbidden", "institution_id")}
    own = h1.post(URL, json=body("A-2", "P03", "H1", "3000"))
    assert own.status_code == 201
    assert h3.post(f"{URL}/A-2/reverse").status_code == 404
    assert h3.get(f"{URL}/A-2").status_code == 404
    assert h1.get(f"{URL}/A-2").status_code == 200
    assert leader.post(URL, json=body("A-3", "P03", "H1", "3000")).status_code == 403
    assert leader.get(f"{URL}/A-2").status_code == 200


def test_another_institutions_claim_id_looks_like_an_unknown_one(client_for):
    """Issue 22 finding 3: GET and 冲正 of another hospital's claim answer exactly as an unknown
    claim id (404, same body but the id); re-posting its id records a claim of one's own (claim
    ids are each institution's own). The replay over real HTTP, every route and an HIS token:
    ``test_desk_claim_ids.py``."""
    h1, h3 = client_for("h1"), client_for("h3")
    assert h1.post(URL, json=body("X-1", "P03", "H1", "3000")).status_code == 201

    def same(a: Any, b: Any, a_id: str, b_id: str) -> None:
        assert a.status_code == b.status_code
        assert a.text.replace(a_id, "ID") == b.text.replace(b_id, "ID")

    same(h3.get(f"{URL}/X-1"), h3.get(f"{URL}/NOPE-1"), "X-1", "NOPE-1")
    same(h3.post(f"{URL}/X-1/reverse"), h3.post(f"{URL}/NOPE-1/reverse"), "X-1", "NOPE-1")
    foreign = h3.post(URL, json=body("X-1", "P09", "H3", "3000"))
    assert foreign.status_code == 201 and foreign.json()["institution_id"] == "H3"
    assert "H1" not in foreign.text and "P03" not in foreign.text
    assert h1.get(f"{URL}/X-1").json()["person_id"] == "P03"  # untouched


def test_bad_input_names_the_field_and_records_nothing(insurance_app, client_for):
    officer = client_for("officer")
    cases = [
        (body("B-1", "PX", "H1", "100"), ("insurance.claim.unknown_person", "person_id")),
        (body("B-2", "P04", "H1", "100"), ("insurance.claim.not_insured", "person_id")),
        (body("B-3", "P05", "ZZ", "100"), ("insurance.claim.unknown_institution", "institution_id")),
        # 自费 80 + 中医药 30 = 110 > 100: the listed items are a part of the bill
        (
            body("B-4", "P05", "H1", "100", self_pay="80", tcm_cost="30"),
            ("insurance.claim.items_exceed_total", "total_cost"),
        ),
        (
            body("B-5", "P05", "H1", "100", start_date="2011-01-02", end_date="2011-01-05"),
            ("insurance.claim.outside_year", "end_date"),
        ),
        (
            body("B-6", "P05", "H1", "100", start_date="2010-03-09"),
            ("insurance.claim.dates_reversed", "start_date"),
        ),
        (body("B-7", "P05", "N1", "100"), ("insurance.claim.not_designated", "institution_id")),
    ]
    for claim, expected in cases:
        response = officer.post(URL, json=claim)
        assert response.status_code == 422, (claim, response.text)
        assert problems_of(response) == {expected}, claim
        assert officer.get(f"{URL}/{claim['claim_id']}").status_code == 404
    not_insured = officer.post(URL, json=cases[1][0]).json()["problems"][0]["message"]
    assert "未参合" in not_insured
    shape = officer.post(URL, json=body("B-8", "P05", "H1", "100", colour="red"))
    assert shape.status_code == 422 and shape.json()["problems"][0]["code"] == "request.invalid"
    fen = officer.post(URL, json=body("B-9", "P05", "H1", "100.005"))
    assert fen.status_code == 422
    # a refused claim is refused before anything is locked or written: no person-year row, no audit event
    with insurance_app.state.engine.connect() as conn:
        years = conn.execute(
            sa.select(insurance_person_years.c.person_id).where(
                insurance_person_years.c.person_id.in_(["PX", "P04", "P05"])
            )
        ).all()
        events = conn.execute(sa.select(audit_events.c.id).where(audit_events.c.target.like("B-%"))).all()
    assert years == [] and events == []


def test_a_malformed_body_is_answered_422_naming_where(client_for):
    """A body that is not a claim: the app's one 422 shape, each problem located in the body."""
    officer = client_for("officer")

    def where(response: Any) -> list[tuple[str, str]]:
        assert response.status_code == 422, response.text
        payload = response.json()
        assert payload["ok"] is False and payload["status"] == 422
        assert all(p["where"]["file"] == "<request>" for p in payload["problems"])
        return [(p["code"], p["where"]["key"]) for p in payload["problems"]]

    good = json.dumps(body("M-1", "P08", "H1", "100"))
    form = officer.post(URL, content=good, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert where(form) == [("request.invalid", "body")]
    # broken JSON: located at the character where parsing stopped
    broken = len(good) - 1
    assert where(officer.post(URL, content=good[:-1], headers={"Content-Type": "application/json"})) == [
        ("request.invalid", f"body.{broken}")
    ]
    assert where(officer.post(URL, content=b"", headers={"Content-Type": "application/json"})) == [
        ("request.invalid", "body")
    ]
    missing = {k: v for k, v in body("M-2", "P08", "H1", "100").items() if k != "kind"}
    assert where(officer.post(URL, json=missing | {"cataract_eyes": 3})) == [
        ("request.invalid", "body.kind"),
        ("request.invalid", "body.cataract_eyes"),
    ]
    # a JSON number keeps its decimal value (no float rounding on the way in)
    exact = officer.post(URL, json=json.loads(good.replace('"100"', "100.1")))
    assert exact.status_code == 201, exact.text
    assert exact.json()["priced"]["total_cost"] == "100.10"
    assert officer.get(f"{URL}/M-2").status_code == 404


def test_the_desk_and_the_batch_agree_to_the_fen(client_for):
    """The same claims, posted at the desk in discharge order and priced as one batch."""
    officer = client_for("officer")
    rows = [
        body("G-1", "P06", "H1", "1800", self_pay="100", special_exam="1500"),
        body(
            "G-2",
            "P06",
            "S3",
            "20000",
            start_date="2010-03-07",
            end_date="2010-03-20",
            transfer_of="G-1",
            special_material="2500",
            other_insurance_paid="15000",
        ),
        body(
            "G-3",
            "P06",
            "H1",
            "85",
            kind="outpatient",
            start_date="2010-04-02",
            end_date="2010-04-02",
            general_fee="10",
        ),
        body(
            "G-4",
            "P06",
            "H1",
            "900",
            kind="outpatient",
            start_date="2010-05-02",
            end_date="2010-05-02",
            chronic_disease="DM",
        ),
        body("G-5", "P06", "C2", "9000", start_date="2010-06-01", end_date="2010-06-09", tcm_cost="6500"),
        body("G-6", "P06", "H3", "30000", start_date="2010-08-01", end_date="2010-08-19"),
    ]
    answers = []
    for row in rows:
        response = officer.post(URL, json=row)
        assert response.status_code == 201, response.text
        answers.append(response.json()["priced"])
    typed = [
        {
            k: (
                Decimal(v)
                if k.endswith(("cost", "pay", "exam", "material", "fee", "paid"))
                else dt.date.fromisoformat(v)
                if k.endswith("date")
                else v
            )
            for k, v in row.items()
        }
        for row in rows
    ]
    persons = pa.Table.from_pylist(
        [
            {
                "person_id": p,
                "id_number": "",
                "name": "",
                "household_id": "",
                "category": c,
                "village_code": "",
                "insured": i,
            }
            for p, (c, i) in PERSONS.items()
        ],
        schema=PERSONS_SCHEMA,
    )
    institutions = pa.Table.from_pylist(
        [dict(zip(INSTITUTIONS_SCHEMA.names, (*r, None), strict=True)) for r in INSTITUTIONS],  # place blank
        schema=INSTITUTIONS_SCHEMA,
    )
    batch = price_claims(
        claims_table(typed), persons, institutions, POLICIES.named("county-2010")
    ).to_pylist()
    for mine, theirs in zip(answers, batch, strict=True):
        assert mine == {k: show(k, v) for k, v in theirs.items()}
    assert [a["deductible_rule"] for a in answers] == [
        "standard",
        "transfer",
        "none",
        "none",
        "tcm",
        "county_repeat",
    ]


def _post(
    host: str, port: int, headers: dict[str, str], payload: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection(host, port, timeout=PATIENCE)
    try:
        connection.request("POST", URL, body=json.dumps(payload), headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _at_once(
    server: tuple[str, int], client: Any, payloads: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """Post ``payloads`` from as many desks (threads) at once, as ``client``'s user; the answers."""
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"shidian_session={client.cookies['shidian_session']}",
        "X-CSRF-Token": client.headers["X-CSRF-Token"],
    }
    results: list[tuple[int, dict[str, Any]]] = [(0, {})] * len(payloads)
    barrier = threading.Barrier(len(payloads))

    def desk(i: int) -> None:
        barrier.wait()
        results[i] = _post(*server, headers, payloads[i])

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PATIENCE)
        assert not t.is_alive(), "a desk got no answer"
    return results


def test_concurrent_claims_of_one_person_never_use_the_cap_twice(insurance_app, insurance_server, client_for):
    """16 desks post a claim for the same 五保户 at once; each computes 7000 × 0.75 = 5250.00.

    The cap of 45,000 takes 8 whole claims (42,000), 3,000.00 of the 9th, nothing of the rest.
    Serialised, the claims form one chain: each starts from the cap the one before left.
    """
    n = 16
    results = _at_once(
        insurance_server, client_for("officer"), [body(f"K-{i:02}", "P07", "H1", "7000") for i in range(n)]
    )
    assert [status for status, _ in results] == [201] * n, results
    answers = sorted((a for _, a in results), key=lambda a: a["seq"])
    assert [a["seq"] for a in answers] == list(range(1, n + 1))
    paid = [Decimal(a["reimbursement"]) for a in answers]
    assert sum(paid) == Decimal("45000.00")
    assert paid == [Decimal("5250.00")] * 8 + [Decimal("3000.00")] + [Decimal("0.00")] * 7
    for before, after in itertools.pairwise(answers):
        assert after["cap_before"] == before["cap_after"]
    with insurance_app.state.engine.connect() as conn:
        used = conn.execute(
            sa.select(insurance_person_years.c.inpatient_used_fen).where(
                insurance_person_years.c.person_id == "P07"
            )
        ).scalar()
        recorded = conn.execute(
            sa.select(sa.func.sum(insurance_desk_claims.c.reimbursement_fen)).where(
                insurance_desk_claims.c.person_id == "P07", insurance_desk_claims.c.status == "paid"
            )
        ).scalar()
    assert used == recorded == 4_500_000


def test_one_claim_id_at_several_desks_at_once_is_recorded_once(insurance_app, insurance_server, client_for):
    """The same claim sent by 8 desks at once is recorded once (201); the others answer the same
    answer (200). One new claim id sent at once for 3 different persons (3 different locks) is
    recorded for one of them; the others are refused (409) and their years are left untouched."""
    officer = client_for("officer")

    def versions(persons: list[str]) -> dict[str, int]:
        with insurance_app.state.engine.connect() as conn:
            rows = conn.execute(
                sa.select(insurance_person_years.c.person_id, insurance_person_years.c.version).where(
                    insurance_person_years.c.person_id.in_(persons)
                )
            )
            return {r.person_id: r.version for r in rows}

    twins = _at_once(insurance_server, officer, [body("T-1", "P08", "H1", "1000")] * 8)
    assert sorted(status for status, _ in twins) == [200] * 7 + [201], twins
    assert all(answer == twins[0][1] for _, answer in twins)
    # 1000 at level 1 (a township: its deductible every time): (1000 − 50) × 75 % = 712.50 (三(四)3)
    assert twins[0][1]["reimbursement"] == "712.50"

    persons = ["P08", "P09", "P10"]
    before = versions(persons)
    raced = _at_once(insurance_server, officer, [body("T-2", p, "C2", "1000") for p in persons])
    statuses = sorted(status for status, _ in raced)
    assert statuses == [201, 409, 409], raced
    (winner,) = [answer["person_id"] for status, answer in raced if status == 201]
    after = versions(persons)
    with insurance_app.state.engine.connect() as conn:
        recorded = conn.execute(
            sa.select(insurance_desk_claims.c.person_id).where(insurance_desk_claims.c.claim_id == "T-2")
        ).all()
        events = conn.execute(sa.select(audit_events.c.action).where(audit_events.c.target == "T-2")).all()
    assert recorded == [(winner,)]
    assert events == [("insurance.desk_post",)]
    assert {p: after.get(p) for p in persons if p != winner} == {
        p: before.get(p) for p in persons if p != winner
    }
    assert after[winner] == before.get(winner, 0) + 1


def test_a_settlement_run_takes_the_claims_paid_at_the_desk(insurance_app, client_for):
    """The monthly settlement (004 篇6 三(四)4) shows what an institution advanced at its desk:
    the claims paid there against the run's dataset, re-checked by the batch, reversed ones out.

    P08 at H1 (level 1) in November 2010 (no other test uses that month): 1000 → (1000 − 50) ×
    75 % = 712.50; 2000 → (2000 − 50) × 75 % = 1462.50; a third claim is reversed (冲正).
    """
    officer = client_for("officer")
    month = {"start_date": "2010-11-02", "end_date": "2010-11-05"}
    first = officer.post(URL, json=body("S-1", "P08", "H1", "1000", **month))
    second = officer.post(URL, json=body("S-2", "P08", "H1", "2000", **month))
    third = officer.post(URL, json=body("S-3", "P08", "H1", "3000", **month))
    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    assert officer.post(f"{URL}/S-3/reverse").status_code == 200
    assert (first.json()["reimbursement"], second.json()["reimbursement"]) == ("712.50", "1462.50")
    dataset_id = first.json()["dataset_id"]
    started = officer.post(
        "/insurance/runs",
        data={"dataset_id": dataset_id, "csrf_token": officer.headers["X-CSRF-Token"]},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    run_url = started.headers["location"]

    def csv_rows(name: str) -> list[dict[str, str]]:
        answer = officer.get(f"{run_url}/files/{name}")
        assert answer.status_code == 200, (name, answer.text[:500])
        return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))

    claims = {r["claim_id"]: r for r in csv_rows("claims_out.csv")}
    assert (claims["S-1"]["status"], claims["S-1"]["reimbursement"]) == ("paid", "712.50")
    assert (claims["S-2"]["status"], claims["S-2"]["reimbursement"]) == ("paid", "1462.50")
    assert "S-3" not in claims
    (november,) = [r for r in csv_rows("settlement.csv") if (r["institution_id"], r["month"]) == ("H1", "11")]
    assert Decimal(november["advanced"]) == Decimal("2175.00")  # 712.50 + 1462.50
    assert Decimal(november["payable"]) == Decimal("2175.00")  # nothing rejected, no drug deduction
    with insurance_app.state.engine.connect() as conn:
        paid_at_desk = conn.execute(
            sa.select(sa.func.count()).where(
                insurance_desk_claims.c.dataset_id == dataset_id, insurance_desk_claims.c.status == "paid"
            )
        ).scalar_one()
    page = officer.get(run_url)
    assert page.status_code == 200 and "窗口即时结算笔数" in page.text
    record = json.loads(officer.get(f"{run_url}/files/run.json").content)
    assert record["inputs"]["insurance_desk_claims"]["rows"] == paid_at_desk


def test_the_desk_takes_the_kind_by_its_chinese_name_and_refuses_in_chinese(client_for):
    """Issue 19 item 2: kind 住院 is inpatient; 三(四)3 level 1: (1000 − 50) × 75% = 712.50."""
    officer = client_for("officer")
    posted = officer.post(URL, json=body("D19-01", "P10", "H1", "1000", kind="住院"))
    assert posted.status_code == 201, posted.text
    assert posted.json()["reimbursement"] == "712.50"
    refused = officer.post(URL, json=body("D19-02", "P10", "H1", "1000", kind="急诊"))
    assert refused.status_code == 422
    message = refused.json()["problems"][0]["message"]
    assert message.startswith("请求内容 kind 不是允许的取值"), message
