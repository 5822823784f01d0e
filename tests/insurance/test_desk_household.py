"""The discharge desk under household pooling of the outpatient cap (户内共享, issue 18), on
SQLite and PostgreSQL: the service prices a member's outpatient visit against the household's
bucket after what the other members used at the desk, locking every member's year.

Hand-worked from county-2010's outpatient terms (004 篇6 三(四)3: “每次门诊补偿比例为门诊费用的
30%”) with the yearly outpatient cap 75 元 per person held by the household (``outpatient.
cap_scope = "household"``, ``household_cap = "per_member"``): household HA has Q1 and Q2 insured
and Q3 not insured this year, so its cap is 75 × 2 = 150 元.
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shidian.insurance.policy import InsurancePolicy
from shidian.insurance.service import desk as desk_service
from shidian.insurance.service import runs as runs_service
from shidian.insurance.service.datasets import import_dataset
from shidian.insurance.service.desk import DeskError, find_patient, post_claim, preview_claim, reverse_claim
from shidian.insurance.service.runs import run_dataset
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.audit import Client
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.insurance_schema import insurance_desk_claims, insurance_persons
from shidian.platform.files import run_dir
from tests.insurance.helpers import id_number, insurance_policy
from tests.waiting import PATIENCE
from tests.web.conftest import fresh_database
from tests.web.insurance.conftest import INSTITUTIONS, _csv

CLIENT = Client("127.0.0.1", "test-agent")
POOLED = insurance_policy(**{"outpatient.cap_scope": '"household"', "outpatient.annual_cap": "75"})
HOUSEHOLD_BUCKET = "outpatient_household:HA"
#: (person id, household id, insured): HA = Q1, Q2 insured, Q3 not; Q4 alone in HB.
PERSONS = (("Q1", "HA", 1), ("Q2", "HA", 1), ("Q3", "HA", 0), ("Q4", "HB", 1))


@dataclass
class County:
    engine: sa.Engine
    var_dir: Path
    dataset_id: str
    officer: User


def _files() -> list[tuple[str, bytes]]:
    persons = [
        [pid, id_number(n), f"李小{n}", household, "general", "152922001001", insured]
        for n, (pid, household, insured) in enumerate(PERSONS, start=1)
    ]
    header = ["person_id", "id_number", "name", "household_id", "category", "village_code", "insured"]
    institutions = ["institution_id", "name", "level", "designated", "in_county"]
    return [
        ("persons.csv", _csv(header, persons)),
        ("institutions.csv", _csv(institutions, [list(r) for r in INSTITUTIONS])),
    ]


class _Pooled:
    """``POLICIES`` answering the pooled variant of county-2010 (no shipped policy pools)."""

    def named(self, name: str) -> InsurancePolicy:
        return POOLED


@pytest.fixture(params=["sqlite", "postgresql"])
def county(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[County]:
    with fresh_database(request.param, tmp_path, "shidian_hh") as url:
        yield from _county(url, tmp_path, monkeypatch)


def _county(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[County]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        var_dir = tmp_path / "var"
        with engine.begin() as conn:
            bureau = create_unit(conn, "B", "医保局", "bureau")
            officer = get_user(
                conn, create_user(conn, "officer", "officer-password-2010", "settlement_officer", bureau, "o")
            )
            assert officer is not None
        dataset_id, problems = import_dataset(
            engine, officer, var_dir, _files(), "county-2010", "户内共享县", CLIENT
        )
        assert dataset_id is not None, problems
        monkeypatch.setattr(desk_service, "POLICIES", _Pooled())
        monkeypatch.setattr(runs_service, "POLICIES", _Pooled())
        yield County(engine, var_dir, dataset_id, officer)
    finally:
        engine.dispose()


def visit(claim_id: str, person: str, total: str, day: int, **extra: Any) -> dict[str, Any]:
    when = dt.date(2010, 3, day)
    return {
        "claim_id": claim_id,
        "person_id": person,
        "institution_id": "H1",
        "kind": "outpatient",
        "start_date": when,
        "end_date": when,
        "total_cost": Decimal(total),
    } | extra


def _post(county: County, claim: dict[str, Any]) -> dict[str, Any]:
    with county.engine.begin() as conn:
        return post_claim(conn, county.officer, claim, CLIENT).body


def _outpatient_cap(county: County, person: str) -> tuple[str, Decimal, Decimal, Decimal]:
    with county.engine.begin() as conn:
        found = find_patient(conn, county.officer, county.var_dir, person, 2010, "H1", CLIENT)
    (cap,) = [c for c in found.standing.caps if c.bucket.startswith("outpatient")]
    return cap.label, cap.cap, cap.used, cap.left


def test_import_stores_each_persons_household_and_its_insured_members(county: County):
    with county.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                insurance_persons.c.person_id,
                insurance_persons.c.household_id,
                insurance_persons.c.household_members,
            )
            .where(insurance_persons.c.dataset_id == county.dataset_id)
            .order_by(insurance_persons.c.person_id)
        ).all()
    assert [tuple(r) for r in rows] == [("Q1", "HA", 2), ("Q2", "HA", 2), ("Q3", "HA", 2), ("Q4", "HB", 1)]


def test_two_members_share_the_household_cap_at_the_desk(county: County):
    """Cap 75 × 2 insured = 150 for HA. Q1 1 Mar: 400 × 30% = 120.00, paid 120.00 (150 → 30).
    Q2 2 Mar: 200 × 30% = 60.00, 30.00 left: paid 30.00 (30 → 0). Q1 3 Mar: 100 × 30% = 30.00,
    nothing left: paid 0.00. Q4 (HB, one member: 75): 400 × 30% = 120.00, paid 75.00."""
    assert _outpatient_cap(county, "Q2") == (
        "门诊统筹家庭封顶线 (户内共享)",
        Decimal(150),
        Decimal(0),
        Decimal(150),
    )
    with county.engine.begin() as conn:
        tried = preview_claim(conn, county.officer, visit("V-1", "Q1", "400", 1))
    assert (tried["reimbursement"], tried["cap_bucket"], tried["cap_before"]) == (
        "120.00",
        HOUSEHOLD_BUCKET,
        "150.00",
    )
    first = _post(county, visit("V-1", "Q1", "400", 1))
    second = _post(county, visit("V-2", "Q2", "200", 2))
    with county.engine.begin() as conn:
        tried = preview_claim(conn, county.officer, visit("V-3", "Q1", "100", 3))
    third = _post(county, visit("V-3", "Q1", "100", 3))
    alone = _post(county, visit("V-4", "Q4", "400", 1))
    assert [(a["reimbursement"], a["cap_before"], a["cap_after"]) for a in (first, second, third)] == [
        ("120.00", "150.00", "30.00"),
        ("30.00", "30.00", "0.00"),
        ("0.00", "0.00", "0.00"),
    ]
    assert tried["reimbursement"] == "0.00"
    assert {a["cap_bucket"] for a in (first, second, third)} == {HOUSEHOLD_BUCKET}
    assert "户内共享" in second["reason"] and "超出部分30.00不予补偿" in second["reason"]
    assert (alone["reimbursement"], alone["cap_bucket"]) == ("75.00", "outpatient_household:HB")
    assert _outpatient_cap(county, "Q1") == (
        "门诊统筹家庭封顶线 (户内共享)",
        Decimal(150),
        Decimal(150),
        Decimal(0),
    )
    assert _outpatient_cap(county, "Q4") == (
        "门诊统筹家庭封顶线 (户内共享)",
        Decimal(75),
        Decimal(75),
        Decimal(0),
    )


def test_a_reversal_frees_the_household_bucket_for_every_member(county: County):
    """Q1 120.00 and Q2 30.00 use HA's 150. 冲正 of Q1's claim frees its 120.00: Q2's next visit
    (200 × 30% = 60.00) is paid in full, 120 → 60 left; the standing says 60 left."""
    _post(county, visit("R-1", "Q1", "400", 1))
    _post(county, visit("R-2", "Q2", "200", 2))
    with county.engine.begin() as conn:
        reversal = reverse_claim(conn, county.officer, "R-1", CLIENT, "录入错误").body
    assert (reversal["freed"], reversal["cap_bucket"]) == ("120.00", HOUSEHOLD_BUCKET)
    assert _outpatient_cap(county, "Q2")[2:] == (Decimal(30), Decimal(120))
    again = _post(county, visit("R-3", "Q2", "200", 4))
    assert (again["reimbursement"], again["cap_before"], again["cap_after"]) == ("60.00", "120.00", "60.00")
    assert _outpatient_cap(county, "Q1")[2:] == (Decimal(90), Decimal(60))


def test_the_batch_settling_the_desk_claims_pays_the_same(county: County):
    """A settlement run prices the desk's claims with the batch (``claims._caps_sql``, the
    household's window in (start_date, end_date, claim_id) order): 120.00, 30.00, 0.00 as the
    desk paid, nothing adjusted."""
    posted = {
        c: _post(county, visit(c, p, t, d))
        for c, p, t, d in (("B-1", "Q1", "400", 1), ("B-2", "Q2", "200", 2), ("B-3", "Q1", "100", 3))
    }
    run_id = run_dataset(county.engine, county.officer, county.var_dir, county.dataset_id, CLIENT)
    with (run_dir(county.var_dir, run_id) / "claims_out.csv").open(encoding="utf-8-sig") as f:
        batch = {r["claim_id"]: r for r in csv.DictReader(f)}
    assert {c: batch[c]["reimbursement"] for c in posted} == {
        c: a["reimbursement"] for c, a in posted.items()
    }
    assert [batch[c]["reimbursement"] for c in ("B-1", "B-2", "B-3")] == ["120.00", "30.00", "0.00"]


def test_a_dataset_imported_before_households_were_stored_is_refused(county: County):
    """Persons imported before revision 0012 have no household recorded (NULL members): a pooled
    outpatient visit is refused rather than priced against a personal cap; a stay is priced."""
    with county.engine.begin() as conn:
        conn.execute(insurance_persons.update().values(household_id=None, household_members=None))
    with county.engine.begin() as conn, pytest.raises(DeskError) as refused:
        post_claim(conn, county.officer, visit("O-1", "Q1", "400", 1), CLIENT)
    assert [(p.code, p.where.column) for p in refused.value.problems] == [
        ("insurance.desk.household_pooling", "kind")
    ]
    stay = visit("O-2", "Q1", "2000", 1, kind="inpatient")
    assert _post(county, stay)["reimbursement"] == "1462.50"  # (2000 − 50) × 75 % (三(四)3)


def test_concurrent_visits_of_two_members_never_exceed_the_household_cap(county: County):
    """12 desks post at once, alternately for Q1 and Q2, each 400 × 30% = 120.00: the members'
    years are locked together (in person id order), so HA's 150 is paid exactly once over:
    120.00, 30.00, then nothing, whatever the order."""
    if county.engine.dialect.name != "postgresql":
        pytest.skip("row locks across processes: PostgreSQL (SQLite serialises every write)")
    n = 12
    answers: list[dict[str, Any] | BaseException] = [{}] * n
    barrier = threading.Barrier(n)

    def desk(i: int) -> None:
        barrier.wait()
        try:
            answers[i] = _post(county, visit(f"K-{i:02}", ("Q1", "Q2")[i % 2], "400", 5))
        except BaseException as exc:  # reported below
            answers[i] = exc

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=PATIENCE)
        assert not t.is_alive(), "a desk got no answer"
    assert all(isinstance(a, dict) for a in answers), answers
    paid = sorted((Decimal(a["reimbursement"]) for a in answers if isinstance(a, dict)), reverse=True)
    assert paid == [Decimal("120.00"), Decimal("30.00")] + [Decimal("0.00")] * (n - 2)
    with county.engine.connect() as conn:
        recorded = conn.execute(
            sa.select(sa.func.sum(insurance_desk_claims.c.cap_used_fen)).where(
                insurance_desk_claims.c.cap_bucket == HOUSEHOLD_BUCKET
            )
        ).scalar()
    assert recorded == 15_000
