"""The registry's guardian list (interfaces.md shape 3) feeds the per-person rule unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pyarrow as pa
import pytest

from tests.rewards.helpers import amounts, run, shipped


def test_000p3_item11_registry_list_allocates_by_risk_level():
    """P1 assessed level 4 and P2 level 1 in 2020 (village V1), P3 level 3 (V2), P4 no guardian:
    V1 3,000 + 500 = 3,500.00; V2 3,000.00 ("三级以上" includes level 3); P4 is not on the list."""
    registry = pytest.importorskip("shidian.registry.rewards")
    patients = pa.table(
        {
            "recipient_id": ["P1", "P2", "P3", "P4"],
            "unit_code": ["V1", "V1", "V2", "V2"],
            "has_guardian": [True, True, True, False],
            "registered_on": [dt.date(2019, 1, 1)] * 4,
            "status": ["active"] * 4,
            "status_on": [dt.date(2019, 1, 1)] * 4,
        }
    )
    assessments = pa.table(
        {
            "assessment_id": [1, 2, 3, 4],
            "recipient_id": ["P1", "P2", "P3", "P4"],
            "assessed_on": [dt.date(2020, 6, 3)] * 4,
            "risk_level": [4, 1, 3, 5],
        }
    )
    recipients = registry.guardian_rewards(patients, assessments, 2020)
    units = pa.table({"unit_code": ["V1", "V2"], "unit_name": ["一村", "二村"]})
    allocation = run(shipped("guardian-reward"), units, recipients)
    assert amounts(allocation) == {"V1": D("3500.00"), "V2": D("3000.00")}
    assert allocation.recipients is not None
    assert allocation.recipients["recipient_id"].to_pylist() == ["P1", "P2", "P3"]
    assert "危险性评估 4级" in allocation.recipients["explanation"].to_pylist()[0]
