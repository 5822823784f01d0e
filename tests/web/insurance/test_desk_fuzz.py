"""The desk's part of the OpenAPI schema under fuzzing: every answer a deliberate 2xx/4xx."""

from __future__ import annotations

import pytest

from tests.web.fuzz import fuzz_api


@pytest.mark.slow
def test_the_desk_api_never_answers_500(insurance_app, client_for):
    paths = fuzz_api(insurance_app, client_for("officer"), r"^/api/insurance/", examples=30)
    assert paths == {
        "/api/insurance/claims",
        "/api/insurance/claims/{claim_id}",
        "/api/insurance/claims/{claim_id}/reverse",
    }
