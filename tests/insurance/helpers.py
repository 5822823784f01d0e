"""Small in-code county for the insurance tests: persons, institutions, claims, pricing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa

from shidian.insurance.claims import price_claims
from shidian.insurance.id_number import check_char
from shidian.insurance.model import INSTITUTIONS_SCHEMA, PERSONS_SCHEMA, PriorState, claims_table
from shidian.insurance.policy import InsurancePolicy, parse_insurance_policy
from shidian.policy import read_reference_policy

YEAR = 2010
VILLAGE = "152922001001"


def insurance_policy(base: str = "county-2010", /, **overrides: str) -> InsurancePolicy:
    """A shipped policy (county-2010 unless ``base`` names another) with dotted keys replaced,
    e.g. ``{"inpatient.annual_cap": "1000"}``.

    Pass overrides as ``insurance_policy(**{"partial_pay.reading": '"formula_line"'})``.
    """
    text, source = read_reference_policy("insurance", base)
    lines = text.splitlines()
    section = ""
    seen = set()
    headers: dict[str, int] = {}
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            section = stripped.strip("[]")
            headers[section] = i
            continue
        if "=" in stripped and not stripped.startswith("#"):
            key = f"{section}.{stripped.split('=')[0].strip()}"
            if key in overrides:
                lines[i] = f"{stripped.split('=')[0].strip()} = {overrides[key]}"
                seen.add(key)
    # an optional key the file leaves out goes right under its table's header
    for key in sorted(set(overrides) - seen, key=lambda k: -headers.get(k.rpartition(".")[0], -1)):
        table, _, name = key.rpartition(".")
        if table in headers:
            lines.insert(headers[table] + 1, f"{name} = {overrides[key]}")
            seen.add(key)
    assert seen == set(overrides), f"unknown keys {set(overrides) - seen}"
    policy, problems = parse_insurance_policy("\n".join(lines), source)
    assert policy is not None, problems
    return policy


#: The shipped variant that applies 002 篇四's 一般诊疗费 (county-2010 does not).
GENERAL_FEE = "county-2010-general-fee"
#: The illustrative policies of issue 18: tiers by place with bands and an uplift; bands on the
#: reimbursable cost with a floor, stay and tier caps, a factor uplift and a visit limit.
CITY_TIERS = "illustrative-city-tiers"
COUNTY_FLOOR = "illustrative-county-floor"


def id_number(serial: int, birth: str = "19700101") -> str:
    first17 = f"152922{birth}{serial % 1000:03d}"
    return first17 + check_char(first17)


def persons(*rows: tuple[str, str] | tuple[str, str, int]) -> pa.Table:
    """Persons from (person_id, category[, insured]); valid ID numbers, one village."""
    records = []
    for n, row in enumerate(rows, start=1):
        person_id, category = row[0], row[1]
        insured = row[2] if len(row) > 2 else 1
        records.append(
            {
                "person_id": person_id,
                "id_number": id_number(n),
                "name": "张小" + "三四五六七八九十"[n % 8],
                "household_id": f"H{n}",
                "category": category,
                "village_code": VILLAGE,
                "insured": insured,
            }
        )
    return pa.Table.from_pylist(records, schema=PERSONS_SCHEMA)


#: (id, level, designated, in county, place): township centre, village clinic, county hospital
#: (and the county TCM hospital), a city hospital out of the county (designated), a private
#: clinic in the county, an out-of-area hospital (neither designated, place not given) and a
#: designated hospital outside the province (the illustrative policies' place tiers).
INSTITUTIONS = pa.Table.from_pylist(
    [
        {"institution_id": i, "name": n, "level": lv, "designated": d, "in_county": c, "place": p}
        for i, n, lv, d, c, p in (
            ("T1", "第1乡镇卫生院", 1, 1, 1, "county"),
            ("V1", "村卫生室", 1, 1, 1, None),
            ("C2", "县人民医院", 2, 1, 1, "county"),
            ("M2", "县中医院", 2, 1, 1, None),
            ("S3", "市中心医院", 3, 1, 0, "city"),
            ("N1", "民营诊所", 1, 0, 1, None),
            ("A3", "外地医院", 3, 0, 0, None),
            ("O2", "省外医院", 2, 1, 0, "outside"),
        )
    ],
    schema=INSTITUTIONS_SCHEMA,
)


def claim(
    claim_id: str,
    person_id: str,
    institution_id: str,
    total_cost: str,
    *,
    kind: str = "inpatient",
    month: int = 1,
    day: int = 1,
    days: int | None = None,
    **columns: Any,
) -> dict[str, Any]:
    """One claim row; money as strings; stays last 5 days, visits 0, unless ``days`` is given."""
    start = dt.date(YEAR, month, day)
    length = days if days is not None else (5 if kind == "inpatient" else 0)
    row: dict[str, Any] = {
        "claim_id": claim_id,
        "person_id": person_id,
        "institution_id": institution_id,
        "kind": kind,
        "start_date": start,
        "end_date": start + dt.timedelta(days=length),
        "total_cost": Decimal(total_cost),
    }
    for key, value in columns.items():
        row[key] = Decimal(value) if isinstance(value, str) and key not in _TEXT else value
    return row


_TEXT = {"delivery", "transfer_of", "chronic_disease", "inpatient_category"}


def price(
    rows: list[dict[str, Any]],
    people: pa.Table | None = None,
    policy: InsurancePolicy | None = None,
    prior: PriorState | None = None,
) -> dict[str, dict[str, Any]]:
    """Price the claims; the priced rows by claim id."""
    table = price_claims(
        claims_table(rows),
        people if people is not None else persons(("P1", "general")),
        INSTITUTIONS,
        policy or insurance_policy(),
        prior,
    )
    return {row["claim_id"]: row for row in table.to_pylist()}


def D(text: str) -> Decimal:
    return Decimal(text)
