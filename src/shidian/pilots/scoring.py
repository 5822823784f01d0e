"""Score cards (考核评分): weights per indicator, scoring rules, deductions, totals and ranking.

A ``model.Scorecard`` lists items (an indicator and population, a weight 分值, a rule) and
deductions per supervision finding (督导发现问题, by severity, with a cap). ``score(plan,
attained, findings)`` takes the attainment table (``attainment.attainment``) and the findings
(``FINDINGS_SCHEMA``: one row per finding) and returns two tables, computed in DuckDB:

* ``items`` — one row per unit × item: value, target, the rule's share (0…1) and the points
  (weight × share, half up to 2 decimals):

  - ``linear`` (线性计分): for ≥ targets share = value ÷ target, capped at 1; for ≤ targets share
    = 1 when value ≤ target, else max(0, 1 − (value − target) ÷ target);
  - ``thresholds`` (阈值计分): the share of the highest threshold reached ([[80, 1], [70, 0.6]]:
    80 or more → 100%, 70 or more → 60%, below → 0);
  - ``achieved`` (达标计分): all (target met) or nothing;
  - a unit without a value scores 0 on the item;

* ``totals`` — one row per unit: Σ points, deductions (points per finding of a severity, or the
  finding's own ``points`` when the findings table has that column and it is set; at most the
  cap per severity; a severity the card does not list deducts only its own points), total = max(0, Σ points − deductions), and the rank within its level
  (1 = best; equal totals share a rank, the next rank skips: 1, 2, 2, 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shidian import duck
from shidian.money import sql_div, sql_round
from shidian.pilots.model import Plan, Scorecard

FINDINGS_SCHEMA = pa.schema([("unit_code", pa.string()), ("severity", pa.string())])

SCORE = pa.decimal128(18, 2)
ITEMS_SCHEMA = pa.schema(
    [
        ("unit_code", pa.string()),
        ("level", pa.string()),
        ("item", pa.int64()),
        ("indicator_code", pa.string()),
        ("name", pa.string()),
        ("population", pa.string()),
        ("weight", SCORE),
        ("rule", pa.string()),
        ("value", pa.decimal128(38, 8)),
        ("target", pa.decimal128(38, 8)),
        ("share", pa.decimal128(18, 8)),
        ("points", SCORE),
    ]
)
TOTALS_SCHEMA = pa.schema(
    [
        ("unit_code", pa.string()),
        ("level", pa.string()),
        ("points", SCORE),
        ("deduction", SCORE),
        ("total", SCORE),
        ("rank", pa.int64()),
        ("findings", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Scores:
    """The result of scoring: per unit × item, and per unit with its rank."""

    items: pa.Table
    totals: pa.Table


def empty_findings() -> pa.Table:
    return FINDINGS_SCHEMA.empty_table()


def _items_table(plan: Plan, card: Scorecard) -> tuple[pa.Table, pa.Table]:
    names = {i.code: i.name for i in plan.indicators}
    items = pa.table(
        {
            "item": pa.array(range(len(card.items)), pa.int64()),
            "indicator_code": pa.array([it.indicator for it in card.items], pa.string()),
            "name": pa.array(
                [it.name or names.get(it.indicator, it.indicator) for it in card.items], pa.string()
            ),
            "population": pa.array([it.population for it in card.items], pa.string()),
            "weight": pa.array([it.weight for it in card.items], SCORE),
            "rule": pa.array([it.rule for it in card.items], pa.string()),
        }
    )
    thresholds = pa.table(
        {
            "item": pa.array([n for n, it in enumerate(card.items) for _ in it.thresholds], pa.int64()),
            "at": pa.array([a for it in card.items for a, _ in it.thresholds], pa.decimal128(38, 8)),
            "share": pa.array([s for it in card.items for _, s in it.thresholds], pa.decimal128(18, 8)),
        }
    )
    return items, thresholds


def score(
    plan: Plan, attained: pa.Table, findings: pa.Table | None = None, card: Scorecard | None = None
) -> Scores:
    """Score every unit of the score card's level (every level when it names none)."""
    card = card or plan.scorecard
    if card is None:
        return Scores(ITEMS_SCHEMA.empty_table(), TOTALS_SCHEMA.empty_table())
    items, thresholds = _items_table(plan, card)
    deductions = pa.table(
        {
            "severity": pa.array([d.severity for d in card.deductions], pa.string()),
            "points": pa.array([d.points for d in card.deductions], SCORE),
            "cap": pa.array([d.cap for d in card.deductions], SCORE),
        }
    )
    con = duck.connect()
    con.register("a", attained)
    con.register("items", items)
    con.register("th", thresholds)
    con.register("ded", deductions)
    found = findings if findings is not None else empty_findings()
    if "points" not in found.column_names:
        found = found.append_column("points", pa.nulls(found.num_rows, SCORE))
    con.register("f", found)
    level_filter = "" if not card.level else "WHERE level = $level"
    params = {"level": card.level} if card.level else {}
    met = "(CASE WHEN r.direction = '>=' THEN r.value >= {b} ELSE r.value <= {b} END)"
    share = f"""
        CASE WHEN r.value IS NULL OR r.target IS NULL THEN 0
             WHEN r.rule = 'achieved' THEN CASE WHEN {met.format(b="r.target")} THEN 1 ELSE 0 END
             WHEN r.rule = 'thresholds' THEN coalesce((SELECT max(th.share) FROM th
                  WHERE th.item = r.item AND {met.format(b="th.at")}), 0)
             WHEN r.direction = '>=' THEN CASE WHEN r.target = 0 OR r.value >= r.target THEN 1
                  ELSE {sql_div("r.value", "r.target", 8)} END
             WHEN r.value <= r.target THEN 1
             WHEN r.target = 0 THEN 0
             ELSE greatest(0, 1 - {sql_div("r.value - r.target", "r.target", 8)}) END
    """
    item_rows = con.sql(
        f"""
        WITH units AS (SELECT DISTINCT CAST(unit_code AS VARCHAR) AS unit_code, CAST(level AS VARCHAR) AS level
                       FROM a {level_filter}),
        rows AS (
            SELECT CAST(unit_code AS VARCHAR) AS unit_code, CAST(indicator_code AS VARCHAR) AS indicator_code,
                   CAST(population AS VARCHAR) AS population, value, target, direction,
                   row_number() OVER (PARTITION BY unit_code, indicator_code, population ORDER BY deadline DESC,
                                      target_index) AS n
            FROM a
        ),
        joined AS (
            SELECT u.unit_code, u.level, it.item, it.indicator_code, it.name, it.population, it.weight, it.rule,
                   r.value, r.target, r.direction
            FROM units u CROSS JOIN items it
            LEFT JOIN rows r ON r.unit_code = u.unit_code AND r.indicator_code = it.indicator_code
                 AND r.population = it.population AND r.n = 1
        )
        SELECT unit_code, level, item, indicator_code, name, population, weight, rule, value, target,
               CAST(share AS DECIMAL(18,8)) AS share,
               {sql_round("weight * share", 2)} AS points
        FROM (SELECT r.*, {share} AS share FROM joined r)
        ORDER BY unit_code, item
        """,
        params=params,
    ).to_arrow_table()
    con.register("scored", item_rows)
    totals = con.sql(
        """
        WITH per_unit AS (SELECT unit_code, any_value(level) AS level, sum(points) AS points FROM scored
                          GROUP BY unit_code),
        found AS (SELECT CAST(unit_code AS VARCHAR) AS unit_code, CAST(severity AS VARCHAR) AS severity,
                         count(*) AS n, coalesce(sum(points), 0) AS given, count(points) AS n_given
                  FROM f GROUP BY ALL),
        per_severity AS (
            SELECT found.unit_code, found.n,
                   found.given + (found.n - found.n_given) * coalesce(ded.points, 0) AS raw, ded.cap
            FROM found LEFT JOIN ded ON ded.severity = found.severity
        ),
        deducted AS (
            SELECT unit_code, sum(CASE WHEN cap IS NULL THEN raw ELSE least(raw, cap) END) AS deduction,
                   sum(n) AS findings
            FROM per_severity GROUP BY unit_code
        )
        SELECT p.unit_code, p.level, CAST(p.points AS DECIMAL(18,2)) AS points,
               CAST(coalesce(d.deduction, 0) AS DECIMAL(18,2)) AS deduction,
               CAST(greatest(0, p.points - coalesce(d.deduction, 0)) AS DECIMAL(18,2)) AS total,
               rank() OVER (PARTITION BY p.level ORDER BY greatest(0, p.points - coalesce(d.deduction, 0)) DESC)
                   AS rank,
               coalesce(d.findings, 0) AS findings
        FROM per_unit p LEFT JOIN deducted d ON d.unit_code = p.unit_code
        ORDER BY p.level, rank, p.unit_code
        """
    ).to_arrow_table()
    return Scores(item_rows.cast(ITEMS_SCHEMA), totals.cast(TOTALS_SCHEMA))


def chart_data(totals: pa.Table, limit: int = 30) -> dict[str, object]:
    """ECharts data for a ranking bar chart: unit codes (or names) and totals, best first."""
    rows = totals.sort_by([("total", "descending"), ("unit_code", "ascending")]).slice(0, limit).to_pylist()
    return {
        "type": "bar",
        "categories": [str(r["unit_code"]) for r in rows],
        "series": [{"name": "总分", "data": [float(r["total"]) for r in rows]}],
    }
