"""The batch's self-check ``claims_priced_once`` on hand-made priced rows: claim ids in strictly
increasing order (the batch's, distinct by a neighbour comparison), repeated, or out of order
(counted by the hash path)."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from shidian.insurance import checks
from tests.insurance.helpers import insurance_policy


def _check(ids: list[str | None]) -> tuple[bool, str]:
    priced = pa.table(
        {
            "claim_id": pa.array(ids, pa.string()),
            "status": ["paid"] * len(ids),
            "reason": ["报销1.00元"] * len(ids),
            "reject_code": pa.nulls(len(ids), pa.string()),
        }
    )
    con = duckdb.connect(":memory:")
    try:
        con.register("priced", priced)
        con.register("claims_in", pa.table({"claim_id": pa.array(ids, pa.string())}))
        check = checks.claims_priced_once(con, insurance_policy(), {})
    finally:
        con.close()
    return check.ok, check.detail


@pytest.mark.parametrize(
    ("ids", "ok", "distinct"),
    [
        (["C1", "C2", "C3"], True, 3),  # the batch's order
        (["C2", "C1", "C3"], True, 3),  # distinct, out of order
        (["C1", "C2", "C2"], False, 2),  # a claim priced twice, in order
        (["C2", "C1", "C2"], False, 2),  # … and out of order
        (["C1", None, "C3"], False, 2),  # no id: not distinct ids for every row
        (["C1"], True, 1),
    ],
)
def test_claims_priced_once_counts_distinct_ids(ids: list[str | None], ok: bool, distinct: int) -> None:
    got_ok, detail = _check(ids)
    assert got_ok is ok
    assert f"结算 {len(ids)} 笔 (不同编号 {distinct})" in detail
