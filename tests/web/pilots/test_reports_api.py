"""The pilot reports API under fuzzing, as a reporting unit that may use it: every answer is a
deliberate 2xx/4xx in the documented shape, never a 500."""

from __future__ import annotations

import pytest

from tests.web.fuzz import fuzz_api


@pytest.mark.slow
def test_the_pilot_reports_api_never_answers_500(pilots_app, pilot_client):
    paths = fuzz_api(pilots_app, pilot_client("town_a"), r"^/api/pilots/reports")
    assert paths == {"/api/pilots/reports", "/api/pilots/reports/{report_id}"}
