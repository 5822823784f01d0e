"""The pilot reports API under fuzzing, as a reporting unit that may use it: every answer is a
deliberate 2xx/4xx in the documented shape, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings


@pytest.mark.slow
def test_the_pilot_reports_api_never_answers_500(pilots_app, pilot_client):
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    town = pilot_client("town_a")
    auth = {"X-CSRF-Token": town.headers["X-CSRF-Token"]}
    cookies = {"shidian_session": town.cookies["shidian_session"]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", pilots_app).include(
        path_regex=r"^/api/pilots/reports"
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/api/pilots/reports", "/api/pilots/reports/{report_id}"}
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=auth, cookies=cookies)
                case.validate_response(response, checks=checks)

            try:
                check()
            except Unsatisfiable:
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
