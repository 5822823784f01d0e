"""A province of 20,000 villages: one allocation, every check passing (no timing asserted here)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from tests.rewards.helpers import DEC, fixture, run


def test_twenty_thousand_villages_conserve_the_pot():
    n = 20_000
    population = [Decimal(100 + (i * 7919) % 4900) for i in range(n)]
    score = [Decimal((i * 104729) % 700 + 300) / 10 for i in range(n)]
    table = pa.table(
        {
            "unit_code": [f"V{i:06d}" for i in range(n)],
            "unit_name": [""] * n,
            "population": pa.array(population, DEC),
            "score": pa.array(score, DEC),
        }
    )
    rules = fixture("score-times-base", stages__performance__steps__cap__max="250.00")
    allocation = run(rules, table)
    assert allocation.total + allocation.returned == Decimal("2000000.00")
    assert allocation.units.num_rows == n
