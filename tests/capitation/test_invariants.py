"""Conservation (hypothesis): every fen of the funding is accounted for, whatever the inputs."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shidian.capitation.settlement import settle
from tests.properties import property_settings

from .helpers import fund, inputs, member, policy

TIERS = ("county", "township", "village")
fen = st.integers(min_value=0, max_value=10**10).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def cases(draw: st.DrawFn):
    n = draw(st.integers(min_value=1, max_value=4))
    ids = [f"C{i}" for i in range(n)]
    members = []
    for cid in ids:
        k = draw(st.integers(min_value=1, max_value=5))
        for j in range(k):
            tier = "county" if j == 0 else draw(st.sampled_from(TIERS))
            score = draw(st.integers(min_value=0, max_value=10000))
            members.append(member(f"{cid}-{j}", cid, tier, str(Decimal(score).scaleb(-2))))
    insured = {cid: draw(st.integers(min_value=0, max_value=10**6)) for cid in ids}
    if sum(insured.values()) == 0:
        insured[ids[0]] = 1
    total = draw(fen) + Decimal("1000000")
    last = draw(fen)
    catastrophic = draw(st.integers(min_value=0, max_value=100000))
    spending = {cid: str(draw(fen)) for cid in ids}
    return inputs(fund(str(total), str(last), str(catastrophic)), insured, spending, members)


@property_settings(200)
@given(
    data=cases(),
    below=st.sampled_from(["0", "0.5", "1"]),
    fund_ratio=st.sampled_from(["0", "0.5", "1"]),
    retained=st.sampled_from(["1", "0.8"]),
)
def test_every_fen_is_accounted_for(data, below, fund_ratio, retained):
    """预算基金 + 调节金 + 风险金 + 扣除 = 筹资; 预拨之和 = 预算基金; 成员分配之和 = 留用结余 (到分)."""
    s, problems = settle(
        data, policy(below_pass_factor=below, fund_ratio=fund_ratio, retained_ratio=retained)
    )
    assert s is not None, problems
    failed = [c for c in s.checks if not c.ok]
    assert not failed, failed
    b = s.budget
    assert b.pot + b.adjustment + b.reserve + b.deductions == data.fund.funding_total
    assert sum(p.amount for p in s.prepayments) == b.pot
    assert sum(sh.amount for sh in s.shares) == sum(e.retained for e in s.year_ends)
    assert all(sh.amount >= 0 for sh in s.shares)
