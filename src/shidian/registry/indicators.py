"""Registry indicators (严重精神障碍管理指标) for a period and an area, in interfaces.md shape 1.

One SQL query computes every numerator and denominator from three relations, so the same text
runs in DuckDB over Arrow (``compute_indicators``, tests and files) and in PostgreSQL or SQLite
over the registry tables (the web adapter passes sub-selects restricted to an area):

* patients ``(patient_id, disorder, registered_on, status, status_on)``;
* follow-ups ``(patient_id, followed_on, risk_level, treatment, rehab, psy_support)``;
* services ``(unit_code, month, counselling_rooms, hotline_contacts)`` (may be empty).

Definitions (000 篇3 第12、14项, 000 篇7 (八); readings in docs/registry.md):

* 在册 (registered) at the period's end: registered on or before it, and not moved away or
  deceased on or before it (失访 patients stay on the register);
* ``SMD_REGULAR_MGMT_RATE`` 在册患者规范管理率: registered patients with at least
  ⌈min_followups × months ÷ 12⌉ follow-ups with a risk assessment in the period ÷ registered;
* ``SMD_TREATMENT_RATE`` 在册患者治疗率: registered patients with a follow-up in the period
  recording treatment (on medication or in hospital) ÷ registered;
* ``SMD_SCHIZ_TREATMENT_RATE`` 精神分裂症治疗率: the same among schizophrenia patients;
* ``SMD_REHAB_RATE`` 居家患者社区康复参与率: home patients (not in hospital at their last
  follow-up in the period) taking part in community rehabilitation ÷ home patients;
* ``SMD_PSY_SUPPORT_RATE`` 居家患者及家属心理支持比例: home patients given psychological support
  (the patient or the family) ÷ home patients;
* ``PSY_COUNSELLING_ROOMS`` 心理咨询室数: per unit, the latest count recorded up to the period's
  end, summed; ``PSY_HOTLINE_CONTACTS`` 心理援助热线服务人次: contacts recorded for months in the
  period, summed. Both only where recorded (no row otherwise).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from shidian import duck
from shidian.registry.policy import RegistryPolicy

INDICATORS: dict[str, tuple[str, str]] = {
    "SMD_REGULAR_MGMT_RATE": ("在册患者规范管理率", "rate"),
    "SMD_TREATMENT_RATE": ("在册患者治疗率", "rate"),
    "SMD_SCHIZ_TREATMENT_RATE": ("精神分裂症治疗率", "rate"),
    "SMD_REHAB_RATE": ("居家患者社区康复参与率", "rate"),
    "SMD_PSY_SUPPORT_RATE": ("居家患者及家属心理支持比例", "rate"),
    "PSY_COUNSELLING_ROOMS": ("心理咨询室数", "count"),
    "PSY_HOTLINE_CONTACTS": ("心理援助热线服务人次", "count"),
}
#: indicator → (numerator column, denominator column) of the query's one row.
_COLUMNS = {
    "SMD_REGULAR_MGMT_RATE": ("managed", "registered"),
    "SMD_TREATMENT_RATE": ("treated", "registered"),
    "SMD_SCHIZ_TREATMENT_RATE": ("schiz_treated", "schiz_registered"),
    "SMD_REHAB_RATE": ("home_rehab", "home"),
    "SMD_PSY_SUPPORT_RATE": ("home_support", "home"),
}
SHAPE1 = pa.schema(
    [
        ("unit_code", pa.string()),
        ("indicator_code", pa.string()),
        ("period_start", pa.date32()),
        ("population", pa.string()),
        ("numerator", pa.decimal128(38, 8)),
        ("denominator", pa.decimal128(38, 8)),
    ]
)
_PERIOD = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


@dataclass(frozen=True)
class Period:
    """A reporting period (报告期): whole months, ``start`` the 1st, ``end`` the last day."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.start.day != 1 or self.end != _month_end(self.end) or self.end < self.start:
            raise ValueError(f"a period is whole months: {self.start} – {self.end}")

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2020`` (year), ``2020-Q2`` (quarter) or ``2020-06`` (month); ValueError otherwise."""
        match = _PERIOD.match(text.strip())
        if not match or not 1900 <= int(match.group(1)) <= 2200:
            raise ValueError(f"报告期应为 YYYY、YYYY-Qn 或 YYYY-MM (period), 实际为 {text!r}")
        year = int(match.group(1))
        if match.group(2):
            first = (int(match.group(2)) - 1) * 3 + 1
            return cls(dt.date(year, first, 1), _month_end(dt.date(year, first + 2, 1)))
        if match.group(3):
            month = int(match.group(3))
            if not 1 <= month <= 12:
                raise ValueError(f"月份应为 01–12, 实际为 {text!r}")
            return cls(dt.date(year, month, 1), _month_end(dt.date(year, month, 1)))
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def required_followups(policy: RegistryPolicy, period: Period) -> int:
    """Follow-ups with a risk assessment a period needs: ⌈min_followups × months ÷ 12⌉ (year: 4)."""
    return math.ceil(policy.min_followups * period.months / 12)


def indicator_sql(patients: str, followups: str, period: Period, required: int, by: str | None = None) -> str:
    """The one query of the patient indicators over two relations: one row of counts, or with
    ``by`` (a column of the patients, e.g. their village's ``unit_code``) one row per value of it
    (its values as ``unit_code``, in order; a value without patients has no row). ``followed``
    counts the patients with any follow-up in the period."""
    start, end = period.start.isoformat(), period.end.isoformat()
    key = "" if by is None else f", {by}"
    head = "" if by is None else f"p.{by} AS unit_code,\n  "
    tail = "" if by is None else f"\nGROUP BY p.{by} ORDER BY p.{by}"
    return f"""
WITH p AS (
  SELECT patient_id, disorder{key} FROM {patients}
  WHERE registered_on <= '{end}' AND (status NOT IN ('moved', 'deceased') OR status_on > '{end}')
),
f AS (
  SELECT fu.patient_id,
    SUM(CASE WHEN fu.risk_level IS NOT NULL THEN 1 ELSE 0 END) AS assessed,
    MAX(CASE WHEN fu.treatment IN ('medication', 'hospital') THEN 1 ELSE 0 END) AS treated,
    MAX(CASE WHEN fu.rehab THEN 1 ELSE 0 END) AS rehab,
    MAX(CASE WHEN fu.psy_support THEN 1 ELSE 0 END) AS support,
    MAX(fu.followed_on) AS last_on,
    MAX(CASE WHEN fu.treatment = 'hospital' THEN fu.followed_on END) AS last_hospital_on
  FROM {followups} fu JOIN p ON p.patient_id = fu.patient_id
  WHERE fu.followed_on >= '{start}' AND fu.followed_on <= '{end}'
  GROUP BY fu.patient_id
),
h AS (
  SELECT patient_id, assessed, treated, rehab, support,
    CASE WHEN last_hospital_on = last_on THEN 1 ELSE 0 END AS in_hospital
  FROM f
)
SELECT
  {head}COUNT(*) AS registered,
  SUM(CASE WHEN f.patient_id IS NULL THEN 0 ELSE 1 END) AS followed,
  SUM(CASE WHEN f.assessed >= {int(required)} THEN 1 ELSE 0 END) AS managed,
  SUM(CASE WHEN f.treated = 1 THEN 1 ELSE 0 END) AS treated,
  SUM(CASE WHEN p.disorder = 'schizophrenia' THEN 1 ELSE 0 END) AS schiz_registered,
  SUM(CASE WHEN p.disorder = 'schizophrenia' AND f.treated = 1 THEN 1 ELSE 0 END) AS schiz_treated,
  SUM(CASE WHEN COALESCE(f.in_hospital, 0) = 0 THEN 1 ELSE 0 END) AS home,
  SUM(CASE WHEN COALESCE(f.in_hospital, 0) = 0 AND f.rehab = 1 THEN 1 ELSE 0 END) AS home_rehab,
  SUM(CASE WHEN COALESCE(f.in_hospital, 0) = 0 AND f.support = 1 THEN 1 ELSE 0 END) AS home_support
FROM p LEFT JOIN h AS f ON f.patient_id = p.patient_id{tail}
"""


def services_sql(services: str, period: Period) -> str:
    """Counselling rooms (latest per unit up to the end) and hotline contacts (in the period)."""
    start, end = period.start.isoformat(), period.end.isoformat()
    return f"""
SELECT
  (SELECT SUM(s.counselling_rooms) FROM {services} s
    WHERE s.counselling_rooms IS NOT NULL AND s.month = (
      SELECT MAX(s2.month) FROM {services} s2
      WHERE s2.unit_code = s.unit_code AND s2.month <= '{end}' AND s2.counselling_rooms IS NOT NULL)
  ) AS rooms,
  (SELECT SUM(s.hotline_contacts) FROM {services} s
    WHERE s.hotline_contacts IS NOT NULL AND s.month >= '{start}' AND s.month <= '{end}') AS hotline
"""


def unit_services_sql(services: str, period: Period) -> str:
    """Per recording unit (``unit_code, indicator_code, n``): its own latest counselling-room count
    up to the period's end and its hotline contacts in the period (``services_sql`` unsummed)."""
    start, end = period.start.isoformat(), period.end.isoformat()
    return f"""
SELECT s.unit_code, 'PSY_COUNSELLING_ROOMS' AS indicator_code, s.counselling_rooms AS n FROM {services} s
WHERE s.counselling_rooms IS NOT NULL AND s.month = (
  SELECT MAX(s2.month) FROM {services} s2
  WHERE s2.unit_code = s.unit_code AND s2.month <= '{end}' AND s2.counselling_rooms IS NOT NULL)
UNION ALL
SELECT s.unit_code, 'PSY_HOTLINE_CONTACTS' AS indicator_code, SUM(s.hotline_contacts) AS n FROM {services} s
WHERE s.hotline_contacts IS NOT NULL AND s.month >= '{start}' AND s.month <= '{end}'
GROUP BY s.unit_code
"""


COUNT_COLUMNS = (
    "registered",
    "managed",
    "treated",
    "schiz_registered",
    "schiz_treated",
    "home",
    "home_rehab",
    "home_support",
)


def indicator_table(
    counts: Mapping[str, object], services: Mapping[str, object], unit_code: str, period: Period
) -> pa.Table:
    """Shape 1 rows from the queries' counts (null counts are 0; absent services are omitted)."""
    rows: dict[str, list[object]] = {name: [] for name in SHAPE1.names}

    def add(code: str, numerator: int, denominator: int | None) -> None:
        rows["unit_code"].append(unit_code)
        rows["indicator_code"].append(code)
        rows["period_start"].append(period.start)
        rows["population"].append("")
        rows["numerator"].append(Decimal(numerator))
        rows["denominator"].append(None if denominator is None else Decimal(denominator))

    for code, (num, den) in _COLUMNS.items():
        add(code, int(counts.get(num) or 0), int(counts.get(den) or 0))  # type: ignore[call-overload]
    if services.get("rooms") is not None:
        add("PSY_COUNSELLING_ROOMS", int(services["rooms"]), None)  # type: ignore[call-overload]
    if services.get("hotline") is not None:
        add("PSY_HOTLINE_CONTACTS", int(services["hotline"]), None)  # type: ignore[call-overload]
    return pa.table(rows, schema=SHAPE1)


def unit_indicator_table(
    counts: Sequence[Mapping[str, object]], services: Sequence[Mapping[str, object]], period: Period
) -> pa.Table:
    """Shape 1 per unit: the five patient indicators of every unit of ``counts`` (rows of
    ``indicator_sql(..., by=...)``) and the service counts of every recording unit of
    ``services`` (rows of ``unit_services_sql``), ordered by unit and indicator."""
    rows: dict[str, list[object]] = {name: [] for name in SHAPE1.names}
    found: list[tuple[str, str, int, int | None]] = []
    for row in counts:
        for code, (num, den) in _COLUMNS.items():
            found.append((str(row["unit_code"]), code, int(row[num] or 0), int(row[den] or 0)))  # type: ignore[call-overload]
    for row in services:
        if row["n"] is not None:
            found.append((str(row["unit_code"]), str(row["indicator_code"]), int(row["n"]), None))  # type: ignore[call-overload]
    for unit, code, numerator, denominator in sorted(found, key=lambda r: (r[0], r[1])):
        rows["unit_code"].append(unit)
        rows["indicator_code"].append(code)
        rows["period_start"].append(period.start)
        rows["population"].append("")
        rows["numerator"].append(Decimal(numerator))
        rows["denominator"].append(None if denominator is None else Decimal(denominator))
    return pa.table(rows, schema=SHAPE1)


def compute_indicators(
    patients: pa.Table,
    followups: pa.Table,
    services: pa.Table | None,
    period: Period,
    unit_code: str,
    policy: RegistryPolicy,
) -> pa.Table:
    """The indicators of the patients given (already restricted to the area), shape 1."""
    con = duck.connect()
    try:
        con.register("patients", patients)
        con.register("followups", followups)
        sql = indicator_sql("patients", "followups", period, required_followups(policy, period))
        counts = _one_row(con, sql)
        service_counts: dict[str, object] = {}
        if services is not None and services.num_rows:
            con.register("services", services)
            service_counts = _one_row(con, services_sql("services", period))
        return indicator_table(counts, service_counts, unit_code, period)
    finally:
        con.close()


def _one_row(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, object]:
    rows = con.sql(sql).to_arrow_table().to_pylist()
    return dict(rows[0]) if rows else {}


def rate_text(numerator: Decimal, denominator: Decimal | None) -> str:
    """``93/100 = 93.0%`` for display (one decimal, half up); ``—`` without a denominator."""
    if denominator is None:
        return str(int(numerator))
    if denominator == 0:
        return f"{int(numerator)}/0 = —"
    pct = (numerator * 1000 / denominator).to_integral_value(rounding="ROUND_HALF_UP") / 10
    return f"{int(numerator)}/{int(denominator)} = {pct:.1f}%"
