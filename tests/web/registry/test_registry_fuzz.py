"""Schemathesis over /api/registry as a doctor (who may do everything there): no server error,
every response as declared."""

from __future__ import annotations

import pytest

from tests.web.fuzz import fuzz_api


@pytest.mark.slow
def test_registry_api_conforms_to_its_schema(registry_app, reg_client):
    paths = fuzz_api(registry_app, reg_client("reg_doc_a"), r"^/api/registry", examples=15)
    assert paths >= {"/api/registry/patients", "/api/registry/worklist"}
