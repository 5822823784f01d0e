"""Schemathesis over a part of the JSON API, as one signed-in user: every answer is a deliberate
2xx/4xx in the documented shape, never a 500. One helper for every domain's fuzz test."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings


def fuzz_api(app: FastAPI, client: TestClient, path_regex: str, *, examples: int = 25) -> set[str]:
    """Fuzz every operation whose path matches ``path_regex``, with valid and invalid inputs.
    Returns the paths fuzzed, for the caller to check the operations it expects are there."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    auth = {"X-CSRF-Token": client.headers["X-CSRF-Token"]}
    cookies = {"shidian_session": client.cookies["shidian_session"]}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex=path_regex)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(
                max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                response = case.call(headers=auth, cookies=cookies)
                case.validate_response(response, checks=checks)

            try:
                check()
            except Unsatisfiable:
                # nothing in this operation can be made invalid (no parameters, or free text only)
                assert mode == schemathesis.GenerationMode.NEGATIVE, operation.path
    return {op.path for op in operations}
