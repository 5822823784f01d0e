"""The insurance workflows without HTTP (``shidian.insurance.service``), on a real SQLite database.

Hand-worked numbers cite 004 篇6 三(四)3: level-1 deductible 50 and ratio 75%, level-3 500 and
40%; annual inpatient cap 45,000. 五保户 pay no deductible (三(四)1). The county is the desk
API's (``tests/web/insurance/conftest.py``): P01 general, P02 五保户, P04 not insured this year;
H1 a level-1 township hospital, H3 a level-3 hospital.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shidian.insurance.service.datasets import import_dataset
from shidian.insurance.service.desk import (
    DeskError,
    desk_overview,
    find_patient,
    post_claim,
    preview_claim,
    read_claim,
    reverse_claim,
)
from shidian.insurance.service.overview import overview
from shidian.insurance.service.runs import run_dataset, run_download, view_run
from shidian.insurance.store.desk import lock_person_year
from shidian.platform.accounts import User, create_unit, create_user, get_user
from shidian.platform.audit import Client
from shidian.platform.db.engine import make_engine, upgrade
from shidian.platform.db.insurance_schema import insurance_person_years
from shidian.platform.db.schema import audit_events
from shidian.problems import Refused
from tests.web.insurance.conftest import county_files

CLIENT = Client("127.0.0.1", "test-agent")


@dataclass
class County:
    engine: sa.Engine
    var_dir: Path
    dataset_id: str
    officer: User
    h1: User
    h3: User
    leader: User


def _user(conn: sa.Connection, name: str, role: str, unit: int) -> User:
    user = get_user(conn, create_user(conn, name, f"{name}-password-2010", role, unit, name))
    assert user is not None
    return user


@pytest.fixture
def county(tmp_path: Path) -> Iterator[County]:
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    upgrade(engine)
    var_dir = tmp_path / "var"
    with engine.begin() as conn:
        bureau = create_unit(conn, "B", "医保局", "bureau")
        officer = _user(conn, "officer", "settlement_officer", bureau)
        leader = _user(conn, "leader", "leader", bureau)
        h1 = _user(conn, "h1", "hospital", create_unit(conn, "H1", "卫生院", "hospital", hospital_id="H1"))
        h3 = _user(conn, "h3", "hospital", create_unit(conn, "H3", "人民医院", "hospital", hospital_id="H3"))
    dataset_id, problems = import_dataset(
        engine, officer, var_dir, county_files(), "county-2010", "测试县", CLIENT
    )
    assert dataset_id is not None, problems
    yield County(engine, var_dir, dataset_id, officer, h1, h3, leader)
    engine.dispose()


def claim(claim_id: str, person: str, institution: str, total: str, **extra: Any) -> dict[str, Any]:
    row = {
        "claim_id": claim_id,
        "person_id": person,
        "institution_id": institution,
        "kind": "inpatient",
        "start_date": dt.date(2010, 3, 1),
        "end_date": dt.date(2010, 3, 6),
        "total_cost": Decimal(total),
    }
    return row | extra


def actions(engine: sa.Engine, target: str) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(audit_events.c.action).where(audit_events.c.target == target)
        return list(conn.execute(query.order_by(audit_events.c.id)).scalars())


def test_import_is_audited_and_needs_the_import_permission(county: County):
    assert actions(county.engine, county.dataset_id) == ["insurance.import"]
    with pytest.raises(Refused) as refused:
        import_dataset(county.engine, county.h1, county.var_dir, county_files(), "county-2010", "x")
    assert refused.value.reason == "forbidden"
    bad = [(name, content.replace(b"P02", b"")) for name, content in county_files()]
    dataset_id, problems = import_dataset(
        county.engine, county.officer, county.var_dir, bad, "county-2010", "x"
    )
    assert dataset_id is None and problems  # every problem, nothing landed
    with county.engine.connect() as conn:
        imports = conn.execute(
            sa.select(audit_events.c.target).where(audit_events.c.action == "insurance.import")
        )
        assert imports.scalars().all() == [county.dataset_id]


def test_post_claim_prices_records_and_replays(county: County):
    with county.engine.begin() as conn:
        first = post_claim(conn, county.officer, claim("S-1", "P01", "H1", "2000"), CLIENT)
    # 三(四)3: level 1, deductible 50, 75 %: (2000 − 50) × 0.75 = 1462.50
    assert first.recorded and (first.body["deductible"], first.body["reimbursement"]) == ("50.00", "1462.50")
    assert first.body["seq"] == 1
    with county.engine.begin() as conn:
        again = post_claim(conn, county.officer, claim("S-1", "P01", "H1", "2000.00"), CLIENT)
    assert not again.recorded and again.body == first.body
    with county.engine.begin() as conn, pytest.raises(DeskError) as conflict:
        post_claim(conn, county.officer, claim("S-1", "P01", "H1", "2100"), CLIENT)
    assert conflict.value.reason == "conflict" and not conflict.value.wrote
    assert [p.code for p in conflict.value.problems] == ["insurance.claim.id_reused"]
    assert actions(county.engine, "S-1") == ["insurance.desk_post", "insurance.desk_replay"]
    with county.engine.connect() as conn:
        year = lock_person_year(conn, 2010, "P01")
    assert year.claims == 1 and year.state.used("inpatient") == Decimal("1462.50")


def test_a_refused_claim_locks_and_writes_nothing(county: County):
    cases = [
        (claim("B-1", "PX", "H1", "100"), "insurance.claim.unknown_person", "person_id"),
        (claim("B-2", "P04", "H1", "100"), "insurance.claim.not_insured", "person_id"),
        (claim("B-3", "P01", "ZZ", "100"), "insurance.claim.unknown_institution", "institution_id"),
        (claim("B-4", "P01", "N1", "100"), "insurance.claim.not_designated", "institution_id"),
        (
            claim("B-5", "P01", "H1", "100", start_date=dt.date(2010, 3, 9)),
            "insurance.claim.dates_reversed",
            "start_date",
        ),
        (
            claim("B-6", "P01", "H1", "100", end_date=dt.date(2011, 1, 5)),
            "insurance.claim.outside_year",
            "end_date",
        ),
    ]
    for body, code, column in cases:
        with county.engine.begin() as conn, pytest.raises(DeskError) as refused:
            post_claim(conn, county.officer, body, CLIENT)
        assert refused.value.reason == "invalid" and not refused.value.wrote
        assert [(p.code, p.where.file, p.where.column) for p in refused.value.problems] == [
            (code, "<request>", column)
        ]
    with county.engine.connect() as conn:
        years = conn.execute(sa.select(insurance_person_years.c.person_id)).all()
        events = conn.execute(sa.select(audit_events.c.id).where(audit_events.c.target.like("B-%"))).all()
    assert years == [] and events == []


def test_posting_and_reversing_are_scoped_to_the_users_institution(county: County):
    with county.engine.begin() as conn, pytest.raises(DeskError) as foreign:
        post_claim(conn, county.h1, claim("A-1", "P03", "H3", "3000"))
    assert foreign.value.reason == "forbidden"
    with county.engine.begin() as conn, pytest.raises(DeskError) as leader:
        post_claim(conn, county.leader, claim("A-1", "P03", "H1", "3000"))
    assert leader.value.reason == "forbidden"
    with county.engine.begin() as conn:
        assert post_claim(conn, county.h1, claim("A-2", "P03", "H1", "3000")).recorded
    with county.engine.begin() as conn, pytest.raises(DeskError) as other:
        reverse_claim(conn, county.h3, "A-2")
    assert other.value.reason == "not_found"  # as an unknown claim id (issue 22 finding 3)
    with county.engine.begin() as conn, pytest.raises(DeskError) as hidden:
        read_claim(conn, county.h3, "A-2")
    assert hidden.value.reason == "not_found"
    with county.engine.begin() as conn:
        assert read_claim(conn, county.leader, "A-2")["person_id"] == "P03"
        assert read_claim(conn, county.h1, "A-2")["status"] == "paid"
    assert actions(county.engine, "A-2") == [
        "insurance.desk_post",
        "insurance.desk_claim_view",
        "insurance.desk_claim_view",
    ]


def test_reversal_frees_the_cap_and_answers_twice_the_same(county: County):
    with county.engine.begin() as conn:
        # 五保户, no deductible: 60000 × 0.75 = 45000.00, the whole annual cap (4.5万元)
        whole = post_claim(conn, county.officer, claim("R-A", "P02", "H1", "60000")).body
    assert (whole["reimbursement"], whole["cap_after"]) == ("45000.00", "0.00")
    with county.engine.begin() as conn:
        reversed_a = reverse_claim(conn, county.officer, "R-A", CLIENT)
    assert reversed_a.recorded and reversed_a.body["freed"] == "45000.00"
    assert reversed_a.body["usage_after"] == {}  # no paid claim of the year remains
    with county.engine.begin() as conn:
        twice = reverse_claim(conn, county.officer, "R-A", CLIENT)
        # the cap is free again: 1000 × 0.75 = 750.00
        after = post_claim(
            conn, county.officer, claim("R-B", "P02", "H1", "1000", end_date=dt.date(2010, 4, 3))
        ).body
    assert not twice.recorded and twice.body == reversed_a.body
    assert (after["reimbursement"], after["cap_before"]) == ("750.00", "45000.00")
    assert actions(county.engine, "R-A") == [
        "insurance.desk_post",
        "insurance.desk_reverse",
        "insurance.desk_reverse_replay",
    ]
    with county.engine.begin() as conn, pytest.raises(DeskError) as missing:
        reverse_claim(conn, county.officer, "NOPE")
    assert missing.value.reason == "not_found"


def test_the_desk_overview_shows_a_hospital_its_own_claims(county: County):
    with county.engine.begin() as conn:
        post_claim(conn, county.officer, claim("O-1", "P09", "H3", "1000"))  # (1000 − 500) × 40 % = 200.00
        post_claim(conn, county.officer, claim("O-2", "P10", "H1", "1000"))  # (1000 − 50) × 75 % = 712.50
        post_claim(conn, county.officer, claim("O-3", "P08", "H1", "2000"))  # (2000 − 50) × 75 % = 1462.50
    with county.engine.begin() as conn:
        mine = desk_overview(conn, county.h1, CLIENT)
        everything = overview(conn, county.officer, CLIENT)
    assert [(s["institution_id"], s["claims"], s["amount"]) for s in mine.summary] == [("H1", 2, "2175.00")]
    assert {r["claim_id"] for r in mine.recent} == {"O-2", "O-3"}
    assert [(s["institution_id"], s["amount"]) for s in everything["desk_summary"]] == [
        ("H1", "2175.00"),
        ("H3", "200.00"),
    ]
    assert [d["id"] for d in everything["datasets"]] == [county.dataset_id]
    assert "county-2010" in everything["policies"]


def test_a_run_takes_the_desk_claims_and_is_scoped(county: County):
    """P01 at H1 in November: (1000 − 50) × 75 % = 712.50 advanced at the desk (三(四)4)."""
    november = {"start_date": dt.date(2010, 11, 2), "end_date": dt.date(2010, 11, 5)}
    with county.engine.begin() as conn:
        post_claim(conn, county.officer, claim("N-1", "P01", "H1", "1000", **november))
    with pytest.raises(Refused) as refused:
        run_dataset(county.engine, county.h1, county.var_dir, county.dataset_id)
    assert refused.value.reason == "forbidden"
    run_id = run_dataset(county.engine, county.officer, county.var_dir, county.dataset_id, CLIENT)
    assert actions(county.engine, run_id) == ["insurance.run"]
    with county.engine.begin() as conn:
        page = view_run(conn, county.officer, county.var_dir, run_id, CLIENT)
        own = view_run(conn, county.h1, county.var_dir, run_id)
        statement = run_download(conn, county.h1, county.var_dir, run_id, "statements/H1.xlsx")
        with pytest.raises(Refused) as other:
            run_download(conn, county.h1, county.var_dir, run_id, "claims_out.csv")
    assert page["run"]["status"] == "done" and page["totals"]["desk_claims"] == "1"
    (h1,) = [r for r in page["settlement"] if (r["institution_id"], r["month"]) == ("H1", "11")]
    assert Decimal(h1["advanced"]) == Decimal("712.50")
    assert "monthly" not in own and {r["institution_id"] for r in own["settlement"]} == {"H1"}
    assert statement.name == "H1.xlsx" and other.value.reason == "forbidden"
    assert actions(county.engine, run_id) == [
        "insurance.run",
        "insurance.run_view",
        "insurance.run_download",
    ]


def test_the_desk_reads_the_institutions_place_for_a_place_tiered_policy(tmp_path: Path):
    """A dataset under illustrative-city-tiers whose institutions file has ``place``: the desk
    prices a stay at S3 (level 3, place city) on the 县外市内 tier — 起付线600, 60%: (2000 − 600)
    × 60% = 840.00 — and one at H3, given ``outside`` in the file (its in-county flag alone would
    make it 县级), on the 省外 tier — 起付线1500, 40%: (2000 − 1500) × 40% = 200.00."""
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    upgrade(engine)
    files = dict(county_files())
    places = {"H1": "county", "H3": "outside", "C2": "county", "S3": "city", "N1": "county"}
    lines = files["institutions.csv"].decode("utf-8").splitlines()
    rows = [lines[0] + ",place"] + [line + "," + places[line.split(",")[0]] for line in lines[1:]]
    files["institutions.csv"] = ("\n".join(rows) + "\n").encode("utf-8")
    with engine.begin() as conn:
        bureau = create_unit(conn, "B", "医保局", "bureau")
        officer = _user(conn, "officer", "settlement_officer", bureau)
    dataset_id, problems = import_dataset(
        engine, officer, tmp_path / "var", list(files.items()), "illustrative-city-tiers", "示例市", CLIENT
    )
    assert dataset_id is not None, problems
    with engine.begin() as conn:
        city = post_claim(conn, officer, claim("T-1", "P01", "S3", "2000", referral=1), CLIENT)
        outside = post_claim(conn, officer, claim("T-2", "P03", "H3", "2000"), CLIENT)
    assert (city.body["deductible"], city.body["reimbursement"]) == ("600.00", "840.00")
    assert (outside.body["deductible"], outside.body["reimbursement"]) == ("1500.00", "200.00")
    assert city.body["reason"].startswith("住院·县外市内医院")
    engine.dispose()


def test_preview_prices_a_stay_by_the_institutions_place_as_posting_does(county: County):
    """Under a policy with tiers by place (illustrative-city-tiers: 县外市内医院 起付线600元, 60%),
    the preview (试算) takes the institution's place as ``post_claim`` does: S3 is a city
    hospital out of the county, referred: (3000 − 600) × 60% = 1440.00 in both."""
    files = []
    for name, content in county_files():
        if name == "institutions.csv":
            lines = content.decode("utf-8").splitlines()
            places = {"S3": "city"}
            content = "\n".join(
                [lines[0] + ",place", *(f"{line},{places.get(line.split(',')[0], '')}" for line in lines[1:])]
            ).encode("utf-8")
        files.append((name, content))
    dataset_id, problems = import_dataset(
        county.engine, county.officer, county.var_dir, files, "illustrative-city-tiers", "示例市", CLIENT
    )
    assert dataset_id is not None, problems
    stay = claim("PL-1", "P03", "S3", "3000", referral=1)
    with county.engine.begin() as conn:
        previewed = preview_claim(conn, county.officer, stay)
    with county.engine.begin() as conn:
        posted = post_claim(conn, county.officer, stay, CLIENT).body["priced"]
    assert previewed["reimbursement"] == posted["reimbursement"] == "1440.00"
    assert previewed == posted
    # the patient's standing at S3 shows the same tier's deductible (县外市内医院 600)
    with county.engine.begin() as conn:
        found = find_patient(conn, county.officer, county.var_dir, "P05", 2010, "S3", CLIENT)
    assert (found.standing.deductible, found.standing.deductible_rule) == (Decimal("600"), "standard")
