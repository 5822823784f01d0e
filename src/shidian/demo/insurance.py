"""Synthetic county (新农合演示数据): the input tables of ``shidian insurance reimburse``.

``generate_insurance_county`` writes a made-up county in the layout of docs/insurance.md
"Inputs": villages with 12-digit administrative codes, households of insured persons with valid
GB 11643 ID numbers and the categories of 004 篇6 (五保户, 低保户, 特困户, 残疾人, 孤儿), institutions
of three levels (village clinics and township health centres, county hospitals, city hospitals
out of the county, private clinics and out-of-area hospitals that are not designated), a year of
outpatient visits and inpatient stays with realistic cost breakdowns, transfers, deliveries,
chronic-disease and cataract visits, migrant workers' certificates, other insurers, a prior
year of reimbursements for the health-check rule, and the contributions received (筹资到账: the
reference policy's rates, in instalments, some late or missing). Some claims are meant to be
rejected.

All randomness comes from ``numpy.random.default_rng(seed)``; arrays are drawn whole
(vectorised), money as integer fen turned into exact ``DECIMAL(18,2)`` by DuckDB. Equal
arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from shidian import duck
from shidian.insurance.id_number import CHECK_CHARS, WEIGHTS
from shidian.insurance.ledger import contributions_due
from shidian.insurance.model import CONTRIBUTIONS_SCHEMA
from shidian.insurance.policy import POLICIES

IntArray = npt.NDArray[np.int64]

COUNTY_CODE = "152922"  # a made-up county code (6 digits); villages are county + 3 + 3 digits
PERSONS_PER_VILLAGE = 1200
VILLAGES_PER_TOWNSHIP = 15
CATEGORY_SHARES = {
    "general": 0.921,
    "wubao": 0.005,
    "dibao": 0.04,
    "tekun": 0.01,
    "disabled": 0.022,
    "orphan": 0.002,
}
UNINSURED_HOUSEHOLD_SHARE = 0.03
OUTPATIENT_VISITS_PER_PERSON = 2.0
ADMISSIONS_PER_PERSON = 0.05
CHRONIC_SHARE = 0.012  # of persons over 45: a chronic disease with monthly visits
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强文海燕春梅云飞金凤宝山福林德胜"
)
_VILLAGE_WORDS = "东西南北前后上下大小新老红白青黑马牛羊沙河湾沟岭坡台营屯堡庄家"
_CHRONIC = ("HBP", "DM", "CHD", "UREMIA")


@dataclass(frozen=True)
class CountyArea:
    """A real county's tree for the generated county (the web demo's 平南县, ``shidian.demo.area``):
    its 6-digit code (the ID numbers' first six digits), its townships (9-digit code, name: each
    gets a ``<name>卫生院``) and its villages (12-digit code, name, township code). Without one the
    county is made up (``COUNTY_CODE``, 15 villages a township, ``第N乡镇卫生院``)."""

    code: str
    townships: tuple[tuple[str, str], ...]
    villages: tuple[tuple[str, str, str], ...]


def generate_insurance_county(
    out_dir: Path,
    *,
    persons: int = 500_000,
    seed: int = 2010,
    year: int = 2010,
    area: CountyArea | None = None,
    policy: str = "county-2010",
) -> dict[str, int]:
    """Write villages, persons, institutions, claims and prior_year (CSV, UTF-8); row counts.

    ``area``: the county's real tree (default: a made-up county); ``policy``: the insurance
    policy whose contribution rates make the contributions due (its year should be ``year``)."""
    tables = build_county(persons=persons, seed=seed, year=year, area=area, policy=policy)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duck.connect()
    try:
        for name, table in tables.items():
            con.register("t", table)
            con.execute(f"COPY t TO '{out_dir / (name + '.csv')}' (HEADER, DELIMITER ',', PRESERVE_ORDER)")
            con.unregister("t")
    finally:
        con.close()
    return {f"{name}.csv": table.num_rows for name, table in tables.items()}


def build_county(
    *, persons: int, seed: int, year: int, area: CountyArea | None = None, policy: str = "county-2010"
) -> dict[str, pa.Table]:
    """The county's tables in memory (villages, persons, institutions, claims, prior_year)."""
    if persons < 100:
        raise ValueError("at least 100 persons")
    rng = np.random.default_rng(seed)
    villages = (
        _villages(rng, max(2, persons // PERSONS_PER_VILLAGE)) if area is None else _area_villages(area)
    )
    people = _persons(rng, persons, villages, year)
    institutions = _institutions(rng, villages)
    con = duck.connect()
    try:
        claims = _claims(rng, con, people, institutions, year)
        prior = _prior_year(rng, people)
    finally:
        con.close()
    person_table = pa.table(
        {
            k: people[k]
            for k in ("person_id", "id_number", "name", "household_id", "category", "village_code", "insured")
        }
    )
    return {
        "villages": pa.table({"village_code": villages["code"], "name": villages["name"]}),
        "persons": person_table,
        "institutions": pa.table(
            {
                k: institutions[k]
                for k in ("institution_id", "name", "level", "designated", "in_county", "place")
            }
        ),
        "claims": claims,
        "prior_year": prior,
        "contributions": _contributions(people, year, policy),
    }


def _pick(rng: np.random.Generator, chars: str, n: int) -> npt.NDArray[np.str_]:
    return np.array(list(chars))[rng.integers(0, len(chars), n)]


def _villages(rng: np.random.Generator, n: int) -> dict[str, Any]:
    township = np.arange(n) // VILLAGES_PER_TOWNSHIP + 1
    village = np.arange(n) % VILLAGES_PER_TOWNSHIP + 1
    codes = np.char.add(
        np.char.add(COUNTY_CODE, np.char.zfill(township.astype(str), 3)),
        np.char.zfill(village.astype(str), 3),
    )
    names = np.char.add(np.char.add(_pick(rng, _VILLAGE_WORDS, n), _pick(rng, _VILLAGE_WORDS, n)), "村")
    names = np.char.add(
        names, np.where(np.arange(n) >= len(_VILLAGE_WORDS) ** 2, (np.arange(n) % 97).astype(str), "")
    )
    return {"code": codes, "name": names, "township": township, "n": n, "county": COUNTY_CODE, "towns": None}


def _area_villages(area: CountyArea) -> dict[str, Any]:
    """The villages of a real county: township numbers 1… in the order of ``area.townships``."""
    number = {code: k for k, (code, _) in enumerate(area.townships, start=1)}
    return {
        "code": np.array([v[0] for v in area.villages]),
        "name": np.array([v[1] for v in area.villages]),
        "township": np.array([number[v[2]] for v in area.villages], dtype=np.int64),
        "n": len(area.villages),
        "county": area.code,
        "towns": [name for _, name in area.townships],
    }


def _id_numbers(
    rng: np.random.Generator, n: int, year: int, county: str = COUNTY_CODE
) -> tuple[npt.NDArray[np.str_], IntArray]:
    """Valid GB 11643 numbers: county code, birth date, sequence, check character; and ages."""
    births = np.datetime64(f"{year - 85}-01-01") + rng.integers(0, 85 * 365, n).astype("timedelta64[D]")
    birth_text = np.char.replace(np.datetime_as_string(births, unit="D"), "-", "")
    order = np.argsort(births, kind="stable")  # sequence codes are unique per birth date
    sorted_births = births[order]
    first = np.r_[0, np.flatnonzero(sorted_births[1:] != sorted_births[:-1]) + 1]
    rank = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n]))
    codes = np.empty(n, dtype=np.int64)
    codes[order] = rank * 7 + rng.integers(0, 7, n)
    if codes.max() > 999:
        raise ValueError("too many persons born on one day for 3-digit sequence codes")
    sequence = np.char.zfill(codes.astype(str), 3)
    first17 = np.char.add(np.char.add(county, birth_text), sequence)
    digits = np.frombuffer("".join(first17.tolist()).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    checks = np.array(list(CHECK_CHARS))[(digits.astype(np.int64) @ np.array(WEIGHTS)) % 11]
    ages = year - (births.astype("datetime64[Y]").astype(np.int64) + 1970)
    return np.char.add(first17, checks), ages


def _persons(rng: np.random.Generator, n: int, villages: dict[str, Any], year: int) -> dict[str, Any]:
    sizes = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.10, 0.22, 0.28, 0.24, 0.11, 0.05])
    household = np.repeat(np.arange(len(sizes)), sizes)[:n]
    households = int(household[-1]) + 1
    household_village = rng.integers(0, villages["n"], households)
    categories = np.array(list(CATEGORY_SHARES))
    household_category = rng.choice(len(categories), size=households, p=list(CATEGORY_SHARES.values()))
    category = categories[household_category[household]]
    # 残疾人 and 孤儿 are persons, not households: keep the category on one member only
    first = np.r_[True, household[1:] != household[:-1]]
    category = np.where(np.isin(category, ["disabled", "orphan"]) & ~first, "general", category)
    insured = (rng.random(households) >= UNINSURED_HOUSEHOLD_SHARE).astype(np.int8)[household]
    id_numbers, ages = _id_numbers(rng, n, year, villages["county"])
    names = np.char.add(_pick(rng, _SURNAMES, n), _pick(rng, _GIVEN, n))
    names = np.where(rng.random(n) < 0.6, np.char.add(names, _pick(rng, _GIVEN, n)), names)
    return {
        "person_id": np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        "id_number": id_numbers,
        "name": names,
        "household_id": np.char.add("H", np.char.zfill((household + 1).astype(str), 7)),
        "category": category,
        "village_code": villages["code"][household_village[household]],
        "village": household_village[household],
        "insured": insured,
        "age": ages,
        "n": n,
    }


def _institutions(rng: np.random.Generator, villages: dict[str, Any]) -> dict[str, Any]:
    """Village clinics, township centres (1); county hospitals (2); city, out-of-area (3)."""
    townships = int(villages["township"].max())
    towns = villages["towns"] or [f"第{t}乡镇" for t in range(1, townships + 1)]
    rows: list[tuple[str, int, int, int]] = [  # name, level, designated, in county
        *(
            (f"{name}卫生室 ({code})", 1, 1, 1)
            for code, name in zip(villages["code"], villages["name"], strict=True)
        ),
        *((f"{town}卫生院", 1, 1, 1) for town in towns),
        *((name, 2, 1, 1) for name in ("县人民医院", "县中医院", "县妇幼保健院")),
        *((name, 3, 1, 0) for name in ("市中心医院", "市中医院", "自治区人民医院")),
        *((f"民营诊所{k}", 1, 0, 1) for k in range(1, 6)),
        *((f"外地医院{k}", level, 0, 0) for k, level in enumerate((2, 2, 3, 3, 3, 2, 3, 2), start=1)),
    ]
    count = len(rows)
    return {
        "institution_id": np.char.add("I", np.char.zfill(np.arange(1, count + 1).astype(str), 5)),
        "name": np.array([r[0] for r in rows]),
        "level": np.array([r[1] for r in rows], dtype=np.int64),
        "designated": np.array([r[2] for r in rows], dtype=np.int8),
        "in_county": np.array([r[3] for r in rows], dtype=np.int8),
        # 所在地 (issue 18): the county's own; the city's hospitals; the region's hospital in the
        # province; the out-of-area hospitals alternately in the province and outside it.
        "place": np.array([_place(name, in_county) for name, _, _, in_county in rows]),
        "villages": villages["n"],
        "townships": townships,
        "village_township": villages["township"] - 1,  # village index → township index
    }


def _place(name: str, in_county: int) -> str:
    if in_county:
        return "county"
    if name.startswith("市"):
        return "city"
    if name.startswith("外地医院"):
        return "province" if int(name.removeprefix("外地医院")) % 2 else "outside"
    return "province"


def _claims(
    rng: np.random.Generator,
    con: duckdb.DuckDBPyConnection,
    people: dict[str, Any],
    inst: dict[str, Any],
    year: int,
) -> pa.Table:
    n_people = people["n"]
    v, t = inst["villages"], inst["townships"]
    county_h = v + t  # first county hospital; then 中医院, 妇幼
    city_h = county_h + 3
    private = city_h + 3
    away = private + 5
    # ---- outpatient visits ----------------------------------------------------------------
    visits = rng.poisson(OUTPATIENT_VISITS_PER_PERSON, n_people)
    op_person = np.repeat(np.arange(n_people), visits)
    n_op = len(op_person)
    where = rng.random(n_op)
    township_of = inst["village_township"][people["village"]].clip(0, t - 1)
    op_inst = np.where(
        where < 0.62,
        people["village"][op_person],
        np.where(where < 0.95, v + township_of[op_person], np.where(where < 0.99, county_h, private)),
    )
    op_cost = np.round(rng.lognormal(np.log(2600), 0.6, n_op)).astype(np.int64) + 800
    op_chronic = np.full(n_op, "", dtype=object)
    # chronic patients: monthly visits at the township centre
    older = np.flatnonzero((people["age"] > 45) & (rng.random(n_people) < CHRONIC_SHARE / 0.4))
    ch_person = np.repeat(older, 12)
    n_ch = len(ch_person)
    ch_disease = np.array(_CHRONIC)[rng.choice(4, len(older), p=[0.55, 0.3, 0.13, 0.02])]
    ch_disease = np.repeat(ch_disease, 12)
    ch_cost = np.where(ch_disease == "UREMIA", 180000, 12000) + rng.integers(0, 8000, n_ch)
    # cataract (outpatient lens implant at the county hospital) and TCM fracture visits
    n_cat = max(1, n_people // 2000)
    cat_person = rng.integers(0, n_people, n_cat)
    n_frac = max(1, n_people // 1000)
    frac_person = rng.integers(0, n_people, n_frac)
    # ---- inpatient stays ------------------------------------------------------------------
    admissions = rng.poisson(ADMISSIONS_PER_PERSON, n_people)
    ip_person = np.repeat(np.arange(n_people), admissions)
    n_ip = len(ip_person)
    level_draw = rng.random(n_ip)
    ip_inst = np.where(
        level_draw < 0.42,
        v + township_of[ip_person],
        np.where(
            level_draw < 0.80,
            county_h + rng.integers(0, 3, n_ip),
            np.where(level_draw < 0.97, city_h + rng.integers(0, 3, n_ip), away + rng.integers(0, 8, n_ip)),
        ),
    )
    ip_level = inst["level"][ip_inst]
    median = np.select([ip_level == 1, ip_level == 2], [110000, 330000], 900000)
    ip_cost = np.round(median * rng.lognormal(0, 0.6, n_ip)).astype(np.int64)
    # ---- assemble ---------------------------------------------------------------------------
    kinds = np.concatenate([np.zeros(n_op + n_ch + n_cat + n_frac, np.int8), np.ones(n_ip, np.int8)])
    person = np.concatenate([op_person, ch_person, cat_person, frac_person, ip_person])
    institution = np.concatenate(
        [
            op_inst,
            v + township_of[ch_person],
            np.full(n_cat, county_h),
            np.full(n_frac, county_h + 1),
            ip_inst,
        ]
    )
    total = np.concatenate(
        [
            op_cost,
            ch_cost,
            300000 + rng.integers(0, 150000, n_cat),
            30000 + rng.integers(0, 50000, n_frac),
            ip_cost,
        ]
    )
    n = len(person)
    start_day = rng.integers(0, 365, n)
    los = np.where(kinds == 1, rng.integers(2, 16, n), 0)
    chronic = np.concatenate(
        [op_chronic, ch_disease.astype(object), np.full(n_cat + n_frac + n_ip, "", dtype=object)]
    )
    chronic_month = np.concatenate(
        [np.zeros(n_op), np.tile(np.arange(12), len(older)), np.zeros(n_cat + n_frac + n_ip)]
    )
    start_day = np.where(
        chronic != "", (chronic_month * 30.4 + rng.integers(0, 28, n)).astype(np.int64), start_day
    )
    eyes = np.concatenate(
        [
            np.zeros(n_op + n_ch, np.int64),
            rng.choice([1, 2], n_cat, p=[0.8, 0.2]),
            np.zeros(n_frac + n_ip, np.int64),
        ]
    )
    fracture = np.concatenate(
        [np.zeros(n_op + n_ch + n_cat, np.int8), np.ones(n_frac, np.int8), np.zeros(n_ip, np.int8)]
    )
    is_ip = kinds == 1
    level = inst["level"][institution]
    share = rng.random((6, n))
    self_pay = (total * np.where(is_ip, 0.03 + 0.12 * share[0], 0.05 * share[0])).astype(np.int64)
    exam = np.where(is_ip & (share[1] < 0.35), (total * 0.12 * share[2]).astype(np.int64), 0)
    treat = np.where(is_ip & (share[1] > 0.85), (total * 0.10 * share[3]).astype(np.int64), 0)
    blood = np.where(
        is_ip & (share[4] < 0.04),
        np.minimum(40000 + (share[5] * 160000).astype(np.int64), total * 3 // 10),
        0,
    )
    material = np.where(
        is_ip & (level >= 2) & (share[4] > 0.9), (total * 0.15 * share[2]).astype(np.int64), 0
    )
    tcm_hospital = institution == county_h + 1
    tcm = np.where(
        tcm_hospital, (total * (0.5 + 0.45 * share[3])).astype(np.int64), np.where(fracture == 1, total, 0)
    )
    tcm = np.minimum(tcm, total - self_pay - exam - treat - blood - material)
    general = np.where(
        ~is_ip & (level == 1) & inst["designated"][institution].astype(bool) & (eyes == 0), 1000, 0
    )
    general = np.minimum(general, total - self_pay - tcm)
    drugs = (total * (0.35 + 0.3 * share[5])).astype(np.int64)
    external_rate = np.where(
        level == 1,
        0.02 + 0.06 * share[0],
        np.where(level == 2, 0.05 + 0.09 * share[1], 0.15 + 0.14 * share[2]),
    )
    external = (drugs * external_rate).astype(np.int64)
    # deliveries: women of childbearing age, at the county maternity or township centres
    female_age = (people["age"][person] >= 20) & (people["age"][person] <= 38)
    delivery = np.where(
        is_ip & female_age & (share[0] < 0.18) & (level <= 2),
        np.where(share[1] < 0.8, "normal", "pathological"),
        "",
    )
    # transfers: 4% of county-and-below stays continue at a city hospital
    ip_index = np.flatnonzero(is_ip & (level <= 2) & (rng.random(n) < 0.04) & (start_day < 330))
    certificate = np.where(is_ip & (institution >= away) & (rng.random(n) < 0.8), 1, 0).astype(np.int8)
    referral = np.where(
        is_ip & (institution >= city_h) & (institution < private) & (rng.random(n) < 0.85), 1, 0
    ).astype(np.int8)
    other = np.where(is_ip & (rng.random(n) < 0.02), (total * (0.2 + 0.4 * share[4])).astype(np.int64), 0)
    raw = {
        "person": person, "institution": institution, "kind": kinds, "start_day": start_day, "los": los,
        "total": total, "self_pay": self_pay, "exam": exam, "treat": treat, "blood": blood, "material": material,
        "tcm": tcm, "delivery": delivery.astype(str), "eyes": eyes, "other": other, "certificate": certificate,
        "referral": referral, "chronic": chronic.astype(str), "fracture": fracture, "general": general,
        "drugs": drugs, "external": external, "parent": np.full(n, -1, np.int64),
    }  # fmt: skip
    # the continuation stays of the transfers, appended
    m = len(ip_index)
    add = {k: a[ip_index].copy() for k, a in raw.items()}
    add["parent"] = ip_index
    add["institution"] = city_h + rng.integers(0, 2, m)
    add["start_day"] = raw["start_day"][ip_index] + raw["los"][ip_index]
    add["total"] = np.round(900000 * rng.lognormal(0, 0.6, m)).astype(np.int64)
    for key in ("exam", "treat", "blood", "material", "tcm", "other", "general"):
        add[key] = np.zeros(m, np.int64)
    add["self_pay"] = (add["total"] * 0.08).astype(np.int64)
    add["drugs"] = (add["total"] * 0.4).astype(np.int64)
    add["external"] = (add["drugs"] * 0.2).astype(np.int64)
    add["delivery"] = np.full(m, "")
    add["referral"] = np.zeros(m, np.int8)
    raw = {k: np.concatenate([raw[k], add[k]]) for k in raw}
    # a few claims that must be rejected: unknown institution, items above the total
    total_n = len(raw["person"])
    bad = rng.choice(total_n, size=min(40, total_n), replace=False)
    raw["institution"][bad[:20]] = -1
    raw["self_pay"][bad[20:]] = raw["total"][bad[20:]] + 100
    return _claims_table(con, raw, people, inst, year)


def _claims_table(
    con: duckdb.DuckDBPyConnection,
    raw: dict[str, Any],
    people: dict[str, Any],
    inst: dict[str, Any],
    year: int,
) -> pa.Table:
    n = len(raw["person"])
    order = np.lexsort((raw["person"], raw["start_day"]))
    ids = np.empty(n, dtype=object)
    ids[order] = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 8))
    ids = ids.astype(str)
    parent = np.where(raw["parent"] >= 0, ids[raw["parent"].clip(0)], "")
    institution_ids = np.where(
        raw["institution"] >= 0, inst["institution_id"][raw["institution"].clip(0)], "I99999"
    )
    arrays = {
        "claim_id": ids,
        "person_id": people["person_id"][raw["person"]],
        "institution_id": institution_ids,
        "kind": np.where(raw["kind"] == 1, "inpatient", "outpatient"),
        "start_day": raw["start_day"].astype(np.int64),
        "los": raw["los"].astype(np.int64),
        **{
            k: raw[k].astype(np.int64)
            for k in (
                "total",
                "self_pay",
                "exam",
                "treat",
                "blood",
                "material",
                "tcm",
                "other",
                "general",
                "drugs",
                "external",
            )
        },
        "delivery": raw["delivery"],
        "eyes": raw["eyes"].astype(np.int64),
        "transfer_of": parent,
        "certificate": raw["certificate"].astype(np.int8),
        "referral": raw["referral"].astype(np.int8),
        "chronic": raw["chronic"],
        "fracture": raw["fracture"].astype(np.int8),
    }
    con.register("raw", pa.table(arrays))
    money = ", ".join(
        f"(raw.{src}::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS {dst}"
        for src, dst in (
            ("total", "total_cost"), ("self_pay", "self_pay"), ("exam", "special_exam"), ("treat", "special_treatment"),
            ("blood", "blood"), ("material", "special_material"), ("tcm", "tcm_cost"),
        )
    )  # fmt: skip
    extra = ", ".join(
        f"(raw.{src}::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS {dst}"
        for src, dst in (
            ("general", "general_fee"),
            ("drugs", "drug_cost"),
            ("external", "catalogue_external_drug_cost"),
        )
    )
    return con.sql(
        f"""
        SELECT claim_id, person_id, institution_id, kind,
               DATE '{year}-01-01' + start_day::INTEGER AS start_date,
               DATE '{year}-01-01' + (start_day + los)::INTEGER AS end_date,
               {money}, nullif(delivery, '') AS delivery, eyes AS cataract_eyes,
               (other::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS other_insurance_paid,
               nullif(transfer_of, '') AS transfer_of, certificate, referral,
               nullif(chronic, '') AS chronic_disease, fracture AS tcm_fracture, {extra},
               NULL::DECIMAL(18,2) AS desk_paid, NULL::VARCHAR AS inpatient_category
        FROM raw ORDER BY claim_id
        """
    ).to_arrow_table()


#: How each source's money arrives (share of what is due, date): individuals pay in the autumn
#: before the year (the collection campaign) and a little in January; governments in
#: instalments, the centre's last 5% after the year, a quarter of the county's never.
_RECEIPTS = {  # per mille of what is due, and the day it arrives
    "individual": (
        (300, "{y0}-09-30"),
        (350, "{y0}-10-31"),
        (200, "{y0}-11-30"),
        (120, "{y0}-12-31"),
        (30, "{y}-01-31"),
    ),
    "civil_affairs": ((1000, "{y}-01-20"),),
    "central": ((500, "{y}-04-15"), (450, "{y}-09-10"), (50, "{y1}-02-20")),
    "region": ((600, "{y}-03-20"), (400, "{y}-08-20")),
    "city": ((1000, "{y}-06-30"),),
    "county": ((500, "{y}-02-28"), (250, "{y}-10-31")),
}


def _contributions(people: dict[str, Any], year: int, policy_name: str = "county-2010") -> pa.Table:
    """筹资到账: what the policy makes due (``ledger.contributions_due``), received in
    instalments."""
    policy = POLICIES.named(policy_name)
    assert policy is not None
    categories, counts = np.unique(people["category"][people["insured"] == 1], return_counts=True)
    due_rows = contributions_due(dict(zip(categories.tolist(), counts.tolist(), strict=True)), policy)
    due: dict[str, int] = {}
    for source, amount in zip(
        due_rows.column("source").to_pylist(), due_rows.column("amount").to_pylist(), strict=True
    ):
        due[source] = due.get(source, 0) + int(amount * 100)  # fen
    rows = []
    for source, parts in _RECEIPTS.items():
        paid = 0
        for number, (per_mille, day) in enumerate(parts, start=1):
            fen = due[source] * per_mille // 1000  # integers: the fen left over go with the last instalment
            if number == len(parts) and sum(p for p, _ in parts) == 1000:
                fen = due[source] - paid
            paid += fen
            rows.append(
                {
                    "source": source,
                    "received_date": dt.date.fromisoformat(day.format(y0=year - 1, y=year, y1=year + 1)),
                    "amount": Decimal(fen) / 100,
                    "reference": f"{year}-{source}-{number}",
                }
            )
    return pa.Table.from_pylist(rows, schema=CONTRIBUTIONS_SCHEMA)


def _prior_year(rng: np.random.Generator, people: dict[str, Any]) -> pa.Table:
    """Last year's insured (most of this year's) and what each was reimbursed."""
    n = people["n"]
    keep = np.flatnonzero(rng.random(n) < 0.95)
    none = rng.random(len(keep)) < 0.55
    fen = np.where(none, 0, np.round(rng.lognormal(np.log(20000), 1.3, len(keep)))).astype(np.int64)
    checked = (none & (rng.random(len(keep)) < 0.2)).astype(np.int8)
    con = duck.connect()
    try:
        con.register(
            "p", pa.table({"person_id": people["person_id"][keep], "fen": fen, "health_check": checked})
        )
        return con.sql(
            "SELECT person_id, (fen::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS reimbursement, health_check FROM p ORDER BY person_id"
        ).to_arrow_table()
    finally:
        con.close()
