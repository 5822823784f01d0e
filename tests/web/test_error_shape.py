"""The one error shape (错误响应格式), pinned for every API route (datasette's test_error_shape).

Every error a JSON route answers is ``{"ok": false, "status": <the HTTP status>, "problems":
[...]}``, each problem ``{"code", "message", "where", "severity"}`` with ``where`` an object
naming at least a ``file`` (``<request>`` for the request itself) and otherwise only ``row``,
``column`` and ``key``. The test walks the app's routes, so a route added later is covered
without a change here; it calls each one signed out, and signed in with ids that do not exist
and bodies that are not valid, for a user of every role.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web.conftest import USERS

WHERE_KEYS = {"file", "row", "column", "key"}


def routes(app_routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, through included routers (FastAPI keeps them as included-router objects)."""
    for route in app_routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from routes(route.original_router.routes)


def api_operations(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every JSON route but the OpenAPI document itself."""
    for route in routes(app.routes):
        if route.path.startswith("/api/"):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route.path


def concrete(path: str, value: str) -> str:
    """The path with every ``{parameter}`` (``{name:path}`` too) replaced by ``value``."""
    return re.sub(r"\{[^}]+\}", value, path)


def assert_error_shape(response: Any) -> None:
    """An error answer in the one shape (a 2xx answer is not checked: it is no error)."""
    if response.status_code < 400:
        return
    assert response.status_code < 500, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.request.url
    body = response.json()
    assert set(body) == {"ok", "status", "problems"}, body
    assert body["ok"] is False and body["status"] == response.status_code, body
    assert isinstance(body["problems"], list) and body["problems"], body
    for problem in body["problems"]:
        assert set(problem) == {"code", "message", "where", "severity"}, problem
        assert isinstance(problem["code"], str) and problem["code"], problem
        assert isinstance(problem["message"], str) and problem["message"], problem
        assert problem["severity"] in ("error", "warning"), problem
        where = problem["where"]
        assert isinstance(where, dict) and "file" in where and set(where) <= WHERE_KEYS, problem
        assert isinstance(where["file"], str) and where["file"], problem
        assert where.get("row") is None or isinstance(where["row"], int), problem


def test_there_are_api_routes_to_check(web_app: FastAPI) -> None:
    """The walk below covers the DRG, insurance, registry and pilots APIs at least."""
    paths = {path for _method, path in api_operations(web_app)}
    for prefix in ("/api/drg/", "/api/insurance/", "/api/registry/", "/api/pilots/"):
        assert any(p.startswith(prefix) for p in paths), prefix


def test_signed_out_every_api_route_answers_401_in_the_one_shape(web_app: FastAPI) -> None:
    client = TestClient(web_app)
    checked = 0
    for method, path in api_operations(web_app):
        response = client.request(method, concrete(path, "0" * 32), json={})
        assert response.status_code in (401, 403), (method, path, response.status_code)
        assert_error_shape(response)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("username", sorted(USERS))
def test_every_api_error_is_in_the_one_shape(client_for: Callable[[str], TestClient], username: str) -> None:
    """Unknown ids, malformed ids and bodies that are not valid: whatever the route answers is a
    2xx or a 4xx in the one shape, never a 500 or another shape."""
    client = client_for(username)
    errors = 0
    for method, path in api_operations(client.app):  # type: ignore[arg-type]
        for value in ("0" * 32, "no-such-id", "%00"):
            url = concrete(path, value)
            for body in ({}, {"bogus": "\u0000"}, [1, 2]):
                response = client.request(method, url, json=body)
                assert_error_shape(response)
                errors += response.status_code >= 400
            if method == "POST":
                response = client.request(
                    method, url, content=b"{broken", headers={"Content-Type": "application/json"}
                )
                assert_error_shape(response)
                errors += response.status_code >= 400
    assert errors > 0
