"""What the discharge desk prices a claim with: the person, the institution and the person's year.

``DeskState`` is one person's year at the desk (年度内既往状态), the scalar form of
``model.PriorState``; ``DeskState.after`` is ``claims.state_after`` for one priced row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pyarrow as pa

from shidian.insurance.model import EPISODES_SCHEMA, USAGE_SCHEMA, PriorState
from shidian.money import ZERO

__all__ = ["DeskInstitution", "DeskPerson", "DeskState", "DeskStay"]


@dataclass(frozen=True)
class DeskPerson:
    """What pricing needs of an insured person: category (人员类别), insured this year, and the
    household (户号, None: none given) with its number of insured members, which hold a shared
    outpatient cap under ``outpatient.cap_scope = "household"``."""

    category: str
    insured: int = 1
    household_id: str | None = None
    household_members: int = 1


@dataclass(frozen=True)
class DeskInstitution:
    """What pricing needs of an institution: level, designated (定点), in the county, and its
    place (``model.PLACES``; None: ``county`` when in the county, else unknown)."""

    level: int
    designated: int = 1
    in_county: int = 1
    place: str | None = None

    @property
    def where(self) -> str | None:
        """The place the tiers match (``frame._places``)."""
        if self.place is not None:
            return self.place
        return "county" if self.in_county == 1 else None


@dataclass(frozen=True)
class DeskStay:
    """One inpatient claim already priced this year (any status): its transfer chain (episode),
    its own deductible ``D`` (``deductible_basis``) and whether it counted for the county rule."""

    claim_id: str
    episode_id: str
    deductible_basis: Decimal
    county_counted: int


@dataclass(frozen=True)
class DeskState:
    """One person's year at the desk (年度内既往状态): cap usage by bucket and inpatient stays.

    The scalar form of ``model.PriorState`` for one person: ``to_prior`` converts it, and
    ``after`` is ``claims.state_after`` for one priced row.
    """

    usage: Mapping[str, Decimal] = field(default_factory=dict)
    stays: tuple[DeskStay, ...] = ()
    #: What the *other* members of the person's household have used of the household's shared
    #: buckets (户内共享, ``outpatient_household:<户号>``): read by ``used``, never changed by
    #: ``after`` (the person's own usage is ``usage``).
    shared: Mapping[str, Decimal] = field(default_factory=dict)

    def used(self, bucket: str) -> Decimal:
        return self.usage.get(bucket, ZERO) + self.shared.get(bucket, ZERO)

    def stay(self, claim_id: str) -> DeskStay | None:
        return next((s for s in self.stays if s.claim_id == claim_id), None)

    def episode_deductible(self, episode_id: str) -> Decimal:
        """What the episode (transfer chain) has charged so far: the highest ``D`` of its stays."""
        return max((s.deductible_basis for s in self.stays if s.episode_id == episode_id), default=ZERO)

    def county_admissions(self, episode_id: str | None = None) -> int:
        """Stays that counted for the county rule, in ``episode_id`` (or all of them)."""
        return sum(s.county_counted for s in self.stays if episode_id is None or s.episode_id == episode_id)

    def after(self, priced: Mapping[str, Any]) -> DeskState:
        """The state after one priced row (``price_claim``'s or ``price_claims``'s)."""
        usage = dict(self.usage)
        if priced["cap_bucket"] is not None:
            usage[priced["cap_bucket"]] = usage.get(priced["cap_bucket"], ZERO) + priced["cap_used"]
        if priced.get("day_visit") is not None:  # 每人一天只能报销一次: the day's visits
            bucket = f"outpatient_day:{priced['end_date']}"
            usage[bucket] = usage.get(bucket, ZERO) + 1
        if priced.get("month_cap_used") is not None:  # 门诊每月封顶线
            bucket = f"outpatient_month:{priced['month']}"
            usage[bucket] = usage.get(bucket, ZERO) + Decimal(priced["month_cap_used"])
        if priced.get("major_oop") is not None:  # 大病保险: the year's 个人自付合规费用 so far
            usage["major_oop"] = usage.get("major_oop", ZERO) + Decimal(priced["major_oop"])
        stays = self.stays
        if priced["kind"] == "inpatient":
            stays = (
                *stays,
                DeskStay(
                    priced["claim_id"],
                    priced["episode_id"],
                    Decimal(priced["deductible_basis"]),
                    int(priced["county_counted"]),
                ),
            )
        return replace(self, usage=usage, stays=stays)

    @classmethod
    def from_priced(cls, rows: list[Mapping[str, Any]]) -> DeskState:
        """The state the priced ``rows`` leave, applied in the given order (a 冲正 rebuilds the
        state from the claims that remain)."""
        state = cls()
        for row in rows:
            state = state.after(row)
        return state

    def to_prior(self, person_id: str) -> PriorState:
        """This state as the columnar ``PriorState`` of ``person_id``."""
        # The household's shared buckets are read whoever recorded them: the others' part is
        # written under ``person_id`` too (``claims._caps_sql`` sums a bucket over the household).
        buckets = sorted(set(self.usage) | set(self.shared))
        usage = [{"person_id": person_id, "bucket": b, "used": self.used(b)} for b in buckets]
        episodes = [
            {
                "claim_id": s.claim_id,
                "person_id": person_id,
                "episode_id": s.episode_id,
                "episode_deductible": self.episode_deductible(s.episode_id),
                "episode_county_admissions": self.county_admissions(s.episode_id),
            }
            for s in sorted(self.stays, key=lambda s: s.claim_id)
        ]
        return PriorState(
            pa.Table.from_pylist(usage, schema=USAGE_SCHEMA),
            pa.Table.from_pylist(episodes, schema=EPISODES_SCHEMA),
        )
