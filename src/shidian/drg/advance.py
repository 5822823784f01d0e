"""The annual advance (年度预付), 000 篇6 第十七条.

"医保经办机构于每年1月给定点医疗机构预付2个月上年度统筹基金月均支付费用, 以减轻定点医疗机构资金
垫付压力, 预付费用在次年1月重新核定, 差额补退。"

From ``advances`` (per hospital: last year's fund payments, the advance paid last January):

* advance = round_fen(last year's fund payments × ``advance.months`` ÷ 12) — two months of the
  monthly average, rounded once;
* January payment = advance − last January's advance: last year's advance is re-assessed now
  and the difference paid (+) or recovered (−) (差额补退); the whole advance in a first year;
* at the year end the advance is still held by the hospital (it is not a payment for the
  year's cases and is not deducted); this year's fund payments (monthly prepayments + year-end
  settlement, 0 when negative) give next January's advance and its true-up = next advance −
  advance, shown so the fund knows what it will pay or recover.
"""

from __future__ import annotations

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg.model import MONEY
from shidian.money import sql_div

ADVANCES_SCHEMA = pa.schema(
    [
        ("hospital_id", pa.string()),
        ("last_year_fund_paid", MONEY),
        ("advance", MONEY),
        ("previous_advance", MONEY),
        ("january_payment", MONEY),
        ("year_fund_paid", MONEY),
        ("next_advance", MONEY),
        ("next_true_up", MONEY),
    ]
)


def build_advances(con: Engine, months: int) -> pa.Table:
    """The advances of the hospitals listed in ``advances`` (requires ``annual``), by hospital."""
    # exact half-up division (no DOUBLE): 1.23 × 2 ÷ 12 = 0.205 → 0.21
    advance = sql_div(f"a.last_year_fund_paid * {int(months)}", "12", 2, dialect=con.dialect)
    nxt = sql_div(f"year_fund_paid * {int(months)}", "12", 2, dialect=con.dialect)
    table = con.arrow(
        f"""
        WITH y AS (
            SELECT hospital_id, greatest(0, monthly_paid + settlement)::DECIMAL(38,2) AS year_fund_paid
            FROM annual
        ), a AS (
            SELECT a.hospital_id, a.last_year_fund_paid,
                   ({advance})::DECIMAL(38,2) AS advance,
                   coalesce(a.previous_advance, 0)::DECIMAL(38,2) AS previous_advance,
                   coalesce(y.year_fund_paid, 0)::DECIMAL(38,2) AS year_fund_paid
            FROM advances a LEFT JOIN y USING (hospital_id)
        )
        SELECT hospital_id, last_year_fund_paid, advance, previous_advance,
               (advance - previous_advance)::DECIMAL(38,2) AS january_payment, year_fund_paid,
               ({nxt})::DECIMAL(38,2) AS next_advance,
               (({nxt}) - advance)::DECIMAL(38,2) AS next_true_up
        FROM a ORDER BY hospital_id
        """
    )
    return table.cast(ADVANCES_SCHEMA)
