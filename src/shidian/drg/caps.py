"""Year-end caps (年终清算限制, 000 篇6 第十九条(三)): which hospitals are at or near them.

The article: a hospital's year surplus (结余) may not exceed 30% of its actual total cost
(实际消费总额), and self-pay cost (自费费用) should not exceed 10% of its total cost; the part
over a cap is not paid. The settlement cuts what is over (``settlement._build_annual``, with the
policy's ``year_end.surplus_cap_ratio`` and ``self_pay_cap_ratio``); this module says who is
close, for an officer's attention, the same way for the pages, the CLI summary and report.xlsx:

* self-pay: self-pay cost at least (cap − ``NEAR_SELF_PAY_MARGIN``) of total cost;
* surplus: surplus (entitlement − total cost) at least ``NEAR_SURPLUS_FRACTION`` of the surplus
  cap (``surplus_cap_ratio`` × total cost).

Hospitals already over a cap are listed too (their cut is in annual.csv). Nothing is listed when
the policy does not apply the caps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

import pyarrow as pa

from shidian.drg.policy import DrgPolicy
from shidian.money import D, div_round

#: "near the self-pay cap": within this share of total cost (one percentage point) of the cap …
NEAR_SELF_PAY_MARGIN = Decimal("0.01")
#: … "near the surplus cap": a surplus of at least this fraction of the cap.
NEAR_SURPLUS_FRACTION = Decimal("0.9")

Cap = Literal["self_pay", "surplus"]


class HospitalAmounts(Protocol):
    """What the rule reads of a hospital's year (annual.csv): its cost, self-pay and entitlement."""

    @property
    def hospital_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def total_cost(self) -> Decimal: ...
    @property
    def self_pay(self) -> Decimal: ...
    @property
    def entitlement(self) -> Decimal: ...


@dataclass(frozen=True)
class YearAmounts:
    """A hospital's amounts for the rule (see ``year_amounts``)."""

    hospital_id: str
    name: str
    total_cost: Decimal
    self_pay: Decimal
    entitlement: Decimal


@dataclass(frozen=True)
class NearCap:
    """A hospital at or near a cap: which one, the actual and the cap share in percent."""

    hospital_id: str
    name: str
    cap: Cap
    actual_pct: Decimal
    cap_pct: Decimal
    message: str


def _plain(value: Decimal) -> Decimal:
    """``10.00`` → ``10``, ``0.50`` → ``0.5`` (never ``1E+1``): for percentages shown to people."""
    return Decimal(format(value.normalize(), "f"))


def near_caps(hospitals: Iterable[HospitalAmounts], policy: DrgPolicy) -> list[NearCap]:
    """The hospitals at or near a year-end cap, in the order given, self-pay before surplus."""
    if not policy.apply_caps:
        return []
    found: list[NearCap] = []
    self_pay_floor = policy.self_pay_cap_ratio - NEAR_SELF_PAY_MARGIN
    for h in hospitals:
        if h.total_cost <= 0:
            continue
        if h.self_pay >= self_pay_floor * h.total_cost:
            actual = div_round(h.self_pay * 100, h.total_cost, 2)
            cap = _plain(policy.self_pay_cap_ratio * 100)
            found.append(
                NearCap(
                    h.hospital_id,
                    h.name,
                    "self_pay",
                    actual,
                    cap,
                    f"自费费用占医疗总费用 {actual}%, 上限 {cap}%",
                )
            )
        surplus_cap = policy.surplus_cap_ratio * h.total_cost
        surplus = h.entitlement - h.total_cost
        if surplus_cap > 0 and surplus >= NEAR_SURPLUS_FRACTION * surplus_cap:
            actual = div_round(surplus * 100, h.total_cost, 2)
            cap = _plain(policy.surplus_cap_ratio * 100)
            found.append(
                NearCap(
                    h.hospital_id,
                    h.name,
                    "surplus",
                    actual,
                    cap,
                    f"结余 {surplus} 元, 占实际消费总额 {actual}%, 上限 {cap}%",
                )
            )
    return found


def year_amounts(annual: pa.Table, names: Mapping[str, str]) -> list[YearAmounts]:
    """The rule's amounts from a settlement's ``annual`` table, hospitals named by ``names``."""
    columns = {
        c: annual.column(c).to_pylist() for c in ("hospital_id", "total_cost", "self_pay", "entitlement")
    }
    return [
        YearAmounts(str(hid), names.get(str(hid), str(hid)), D(cost), D(self_pay), D(entitlement))
        for hid, cost, self_pay, entitlement in zip(
            columns["hospital_id"],
            columns["total_cost"],
            columns["self_pay"],
            columns["entitlement"],
            strict=True,
        )
    ]
