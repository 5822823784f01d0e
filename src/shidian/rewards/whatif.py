"""What-if (模拟测算): the same facts under changed rules, and the difference per unit.

``compare(before, after)`` joins two allocations by ``unit_code``: each unit's total (and each
stage's amount) before and after, and the change. A parameter is changed with the rule file's
own key paths (``fund.pot=6000000``, ``stages.evaluation.steps.pass.min=70``): see
``rules.parse_rules(overrides=...)``.
"""

from __future__ import annotations

import pyarrow as pa

from shidian import duck
from shidian.rewards.allocation import Allocation


def compare(before: Allocation, after: Allocation) -> pa.Table:
    """One row per unit: ``unit_code, unit_name, before_yuan, after_yuan, change_yuan`` (and per
    stage present in both), ordered by the largest change first, then unit_code."""
    con = duck.connect()
    try:
        con.register("b", before.units)
        con.register("a", after.units)
        common = [s.id for s in before.rules.stages if s.id in {t.id for t in after.rules.stages}]
        stage_cols = "".join(
            f", coalesce(b.{s}_yuan, 0) AS {s}_before_yuan, coalesce(a.{s}_yuan, 0) AS {s}_after_yuan"
            for s in common
        )
        return con.sql(
            f"""
            SELECT coalesce(a.unit_code, b.unit_code) AS unit_code, coalesce(a.unit_name, b.unit_name) AS unit_name,
                   CAST(coalesce(b.total_yuan, 0) AS DECIMAL(18,2)) AS before_yuan,
                   CAST(coalesce(a.total_yuan, 0) AS DECIMAL(18,2)) AS after_yuan,
                   CAST(coalesce(a.total_yuan, 0) - coalesce(b.total_yuan, 0) AS DECIMAL(18,2)) AS change_yuan
                   {stage_cols}
            FROM b FULL OUTER JOIN a ON a.unit_code = b.unit_code
            ORDER BY abs(coalesce(a.total_yuan, 0) - coalesce(b.total_yuan, 0)) DESC, unit_code
            """
        ).to_arrow_table()
    finally:
        con.close()
