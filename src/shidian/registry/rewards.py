"""Guardian rewards (有奖监护, 000 篇3 第11项): the year's list for the reward engine, shape 3.

“每年定期开展严重精神障碍患者危险等级评估……三级以上患者监护奖励不少于每年3000元, 三级以下患者
不少于每年500元。” One row per patient who was on the register in the year, has a guardian and
has at least one risk assessment dated in the year: ``category`` ``risk_3_plus`` when the
assessment it rests on is at level ``high_level`` (3) or above (三级以上 includes 3), else
``risk_below_3``.

Which assessment (policy ``rewards.basis``; docs/registry.md): the reward is paid on the year's
*periodic* assessment (“每年定期开展…危险等级评估”), not on the worst visit of the year:

* ``annual`` (the reference): the assessment marked as the year's periodic assessment (年度定期
  评估; the last marked one when several are), else the year's last assessment;
* ``latest``: the year's last assessment, marks ignored;
* ``highest``: the highest level assessed in the year (the latest such assessment when several
  share it) — not the article's reading (one level-3 visit would turn 500 yuan into 3,000),
  kept for a region whose own rule rewards the heaviest level.

"Last" is by date; ties on a day are broken by the higher level, then the assessment id.

Inputs: patients ``(recipient_id, unit_code, has_guardian, registered_on, status, status_on)``;
assessments ``(assessment_id, recipient_id, assessed_on, risk_level[, annual])`` (no ``annual``
column: nothing marked). ``recipient_id`` is the pseudonymous registry number, never the ID
number. ``guardian_rewards`` gives shape 3 for the reward engine; ``guardian_reward_details``
adds the assessment each row rests on (``assessment_id``, ``assessed_on``, ``risk_level``,
``annual``) for the lists. Output ordered by unit, then recipient.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from shidian import duck

BASES = ("annual", "latest", "highest")
SHAPE3 = pa.schema(
    [
        ("recipient_id", pa.string()),
        ("unit_code", pa.string()),
        ("category", pa.string()),
        ("basis", pa.string()),
    ]
)
DETAILS = pa.schema(
    [
        *SHAPE3,
        ("assessment_id", pa.int64()),
        ("assessed_on", pa.date32()),
        ("risk_level", pa.int32()),
        ("annual", pa.bool_()),
    ]
)
_ORDER = {
    "annual": "a.annual DESC, a.assessed_on DESC, a.risk_level DESC, a.assessment_id DESC",
    "latest": "a.assessed_on DESC, a.risk_level DESC, a.assessment_id DESC",
    "highest": "a.risk_level DESC, a.assessed_on DESC, a.assessment_id DESC",
}


def guardian_reward_details(
    patients: pa.Table, assessments: pa.Table, year: int, *, basis: str = "annual", high_level: int = 3
) -> pa.Table:
    """The guardian reward list of ``year`` with the assessment each row rests on, columnar."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, got {basis!r}")
    if "annual" not in assessments.column_names:
        assessments = assessments.append_column(
            "annual", pa.array([False] * assessments.num_rows, pa.bool_())
        )
    start, end = dt.date(year, 1, 1).isoformat(), dt.date(year, 12, 31).isoformat()
    sql = f"""
WITH p AS (
  SELECT recipient_id, unit_code FROM patients
  WHERE has_guardian AND registered_on <= DATE '{end}'
    AND (status NOT IN ('moved', 'deceased') OR status_on >= DATE '{start}')
),
ranked AS (
  SELECT a.*, row_number() OVER (PARTITION BY a.recipient_id ORDER BY {_ORDER[basis]}) AS n
  FROM assessments a JOIN p USING (recipient_id)
  WHERE a.assessed_on BETWEEN DATE '{start}' AND DATE '{end}' AND a.risk_level IS NOT NULL
)
SELECT p.recipient_id, p.unit_code,
  CASE WHEN r.risk_level >= {int(high_level)} THEN 'risk_3_plus' ELSE 'risk_below_3' END AS category,
  strftime(r.assessed_on, '%Y-%m-%d') || ' 危险性评估 ' || CAST(r.risk_level AS VARCHAR) || '级 (评估记录 '
    || CAST(r.assessment_id AS VARCHAR) || ')'
    || CASE WHEN coalesce(r.annual, false) THEN ' 年度定期评估' ELSE '' END AS basis,
  r.assessment_id, r.assessed_on, r.risk_level, coalesce(r.annual, false) AS annual
FROM p JOIN ranked r ON r.recipient_id = p.recipient_id AND r.n = 1
ORDER BY p.unit_code, p.recipient_id
"""
    con = duck.connect()
    try:
        con.register("patients", patients)
        con.register("assessments", assessments)
        return con.sql(sql).to_arrow_table().cast(DETAILS)
    finally:
        con.close()


def guardian_rewards(
    patients: pa.Table, assessments: pa.Table, year: int, *, basis: str = "annual", high_level: int = 3
) -> pa.Table:
    """The guardian reward list of ``year`` (shape 3), columnar."""
    details = guardian_reward_details(patients, assessments, year, basis=basis, high_level=high_level)
    return details.select(SHAPE3.names).cast(SHAPE3)
