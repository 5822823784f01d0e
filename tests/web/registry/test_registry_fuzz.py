"""Schemathesis over /api/registry as a doctor (who may do everything there): no server error,
every response as declared."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings


@pytest.mark.slow
def test_registry_api_conforms_to_its_schema(registry_app, reg_client):
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    doctor = reg_client("reg_doc_a")
    auth = {"X-CSRF-Token": doctor.headers["X-CSRF-Token"]}
    cookies = {"shidian_session": doctor.cookies["shidian_session"]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", registry_app).include(
        path_regex=r"^/api/registry"
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/registry/patients", "/api/registry/worklist"}
    for operation in operations:
        modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        for mode in modes:

            @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=auth, cookies=cookies)
                case.validate_response(response, checks=checks)

            try:
                check()
            except Unsatisfiable:
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
