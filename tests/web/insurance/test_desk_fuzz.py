"""The desk's part of the OpenAPI schema under fuzzing: every answer a deliberate 2xx/4xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings


@pytest.mark.slow
def test_the_desk_api_never_answers_500(insurance_app, client_for):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    officer = client_for("officer")
    auth = {"X-CSRF-Token": officer.headers["X-CSRF-Token"]}
    cookies = {"shidian_session": officer.cookies["shidian_session"]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", insurance_app).include(
        path_regex=r"^/api/insurance/"
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/api/insurance/claims",
        "/api/insurance/claims/{claim_id}",
        "/api/insurance/claims/{claim_id}/reverse",
    }
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=auth, cookies=cookies)
                case.validate_response(response, checks=checks)

            check()
