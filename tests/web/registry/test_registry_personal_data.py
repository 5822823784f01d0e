"""No personal identifier in a URL or a cache (issue 22 finding 6), on both databases: the registry
is searched by POST (page and API), a search term in the URL is refused, and pages, API answers
and exports with personal data are sent with ``Cache-Control: no-store``."""

from __future__ import annotations

import re

from tests.web.registry.test_registry_api import register


def test_the_api_searches_by_post_and_refuses_an_id_number_in_the_url(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    response, body = register(doc, name="李四")
    assert response.status_code == 201, response.text
    number = body["id_number"]
    in_url = doc.get("/api/registry/patients", params={"q": number})
    assert in_url.status_code == 422 and "POST" in in_url.json()["problems"][0]["message"]
    found = doc.post("/api/registry/patients/search", json={"q": number})
    assert found.status_code == 200
    assert [p["registry_no"] for p in found.json()["patients"]] == [response.json()["registry_no"]]
    assert found.headers["cache-control"] == "no-store"
    without_csrf = reg_client("reg_doc_a")
    del without_csrf.headers["X-CSRF-Token"]
    assert without_csrf.post("/api/registry/patients/search", json={"q": number}).status_code == 403


def test_the_page_searches_by_post_and_keeps_the_term_out_of_every_link(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    response, body = register(doc, name="王五")
    number = body["id_number"]
    page = doc.get("/registry")
    form = re.search(r'<form method="(\w+)" action="(/registry[^"]*)" class="filters">', page.text)
    assert form and form.groups() == ("post", "/registry/search")
    found = doc.post("/registry/search", data={"q": number, "csrf_token": doc.headers["X-CSRF-Token"]})
    assert found.status_code == 200
    assert response.json()["registry_no"] in found.text
    assert not re.search(r'href="[^"]*' + number, found.text)  # no link carries it
    assert found.headers["cache-control"] == "no-store"
    ignored = doc.get("/registry", params={"q": number})  # a GET filters nothing by a term
    assert ignored.status_code == 200 and f'value="{number}"' not in ignored.text


def test_pages_api_and_exports_with_personal_data_are_not_stored_by_caches(reg_client, registry_app):
    doc = reg_client("reg_doc_a")
    response, _ = register(doc, name="赵六")
    no = response.json()["registry_no"]
    for path in (f"/registry/patients/{no}", f"/api/registry/patients/{no}", "/registry/export.xlsx"):
        answer = doc.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-store", path
    static = doc.get("/static/css/app.css")  # the assets carry nothing personal: cacheable
    assert static.status_code == 200 and "cache-control" not in static.headers
