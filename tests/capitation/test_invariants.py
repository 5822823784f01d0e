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


@property_settings(200)
@given(
    communities=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10**6),
            st.integers(min_value=0, max_value=100),
            st.integers(min_value=0, max_value=100),
        ),
        min_size=1,
        max_size=6,
    ),
    deduction=st.sampled_from(["0", "0.01", "0.05"]),
    reward_mark=st.sampled_from(["60", "90", "100"]),
)
def test_public_health_money_is_conserved(communities, deduction, reward_mark):
    """各医共体应得之和 + 退回财政 = 预算之和; 村卫生室部分 ≥ 40% × 应得 (到分); 扣减不超过预算."""
    from shidian.capitation.policy import PRIMARY_CARE_POLICIES, parse_primary_care_policy
    from shidian.capitation.primary_care import CommunityHealth, run_primary_care

    text = PRIMARY_CARE_POLICIES.text("shaanxi-2011")
    text = text.replace("deduction_per_point = 0.01", f"deduction_per_point = {deduction}")
    text = text.replace("reward_mark = 90", f"reward_mark = {reward_mark}")
    policy, problems = parse_primary_care_policy(text, "<test>")
    assert policy is not None, problems
    rows = [
        CommunityHealth(f"C{i}", residents, Decimal(workload).scaleb(-2), Decimal(score))
        for i, (residents, workload, score) in enumerate(communities)
    ]
    run = run_primary_care(rows, None, None, policy)
    assert all(c.ok for c in run.checks), run.checks
    assert run.public_health is not None
    budget = sum(r.budget for r in run.public_health)
    assert sum(r.entitlement for r in run.public_health) + run.returned == budget
    assert all(
        r.village_amount >= r.entitlement * Decimal("0.40") - Decimal("0.005") for r in run.public_health
    )
    assert all(0 <= r.deduction <= r.budget and r.reward >= 0 for r in run.public_health)
