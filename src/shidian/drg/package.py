"""The 医共体 package (医共体打包支付), 000 篇6 第八条.

"覃塘区医保经办可对覃塘区紧密型县域医共体各成员单位DRG付费等进行单独核算, 经牵头医疗机构提出,
医保经办机构可统一打包支付给牵头医疗机构。" Each member keeps its own accounts (its rows of
``monthly_payments`` and ``annual`` are unchanged: 单独核算); a member whose ``hospitals.package_to``
names its lead hospital (the lead having asked: 经牵头医疗机构提出, recorded by filling the column)
is paid through the lead: ``packages.csv`` gives every hospital's payee and each payee's total.
"""

from __future__ import annotations

import pyarrow as pa

from shidian.dialect import Engine
from shidian.drg.model import MONEY

PACKAGES_SCHEMA = pa.schema(
    [
        ("hospital_id", pa.string()),
        ("payee", pa.string()),
        ("monthly_paid", MONEY),
        ("settlement", MONEY),
        ("fund_payment", MONEY),
        ("payee_total", MONEY),
    ]
)


def has_packages(con: Engine) -> bool:
    """Whether any hospital's payments are packaged to another (``package_to`` given)."""
    ((count,),) = con.execute(
        "SELECT count(*) FROM hospitals WHERE package_to IS NOT NULL AND package_to <> hospital_id"
    ).fetchall()
    return bool(count)


def build_packages(con: Engine) -> pa.Table:
    """Every hospital's payee and payments (requires ``annual``), by payee then hospital."""
    return con.arrow(
        """
            WITH p AS (
                SELECT a.hospital_id, coalesce(h.package_to, a.hospital_id) AS payee, a.monthly_paid,
                       a.settlement, (a.monthly_paid + a.settlement)::DECIMAL(38,2) AS fund_payment
                FROM annual a JOIN hospitals h USING (hospital_id)
            )
            SELECT *, (sum(fund_payment) OVER (PARTITION BY payee))::DECIMAL(38,2) AS payee_total
            FROM p ORDER BY payee, hospital_id <> payee, hospital_id
            """
    ).cast(PACKAGES_SCHEMA)
