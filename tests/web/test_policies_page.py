"""Policy pages and API (政策文件): every shipped policy, its parameters with their articles,
and the TOML file itself — readable by any signed-in user, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import pytest

from shidian.drg.policy import PARAMS

EXTERNAL = re.compile(r"https?://")


def shipped_text(name: str) -> str:
    return (resources.files("shidian") / "policies" / "drg" / f"{name}.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("username", ["h1", "reporter", "officer"])
def test_every_signed_in_user_sees_the_list_of_policies(client_for, username):
    page = client_for(username).get("/policies")
    assert page.status_code == 200
    assert (
        'href="/policies/drg/guigang-2020"' in page.text and 'href="/policies/drg/shanwei-2021"' in page.text
    )
    assert "贵港市DRG点数法付费实施细则" in page.text and "000 篇6" in page.text
    assert not EXTERNAL.search(page.text)


def test_policy_page_shows_meta_every_parameter_with_its_article_and_the_file(client_for):
    page = client_for("h1").get("/policies/drg/guigang-2020")
    assert page.status_code == 200
    html = page.text
    assert hashlib.sha256(shipped_text("guigang-2020").encode("utf-8")).hexdigest() in html
    for expected in ("贵港市", "2020.3", "2020-12-01", "000 篇6"):
        assert expected in html
    for param in PARAMS:
        assert f'title="{param.key}"' in html and param.article in html  # the key as the name's tooltip
    # the Chinese page: the parameter's name (the TOML key only as its tooltip), its value as
    # people read it (a ratio as %), the value as written in the title (issue 19 item 7)
    row = re.search(
        r'<td title="classes\.low_ratio">[^<]*</td>'
        r'<td class="value" title="([^"]*)">([^<]*)</td><td>([^<]*)</td>',
        html,
    )
    assert row and row.groups() == ("0.3", "30%", "000 篇6 第十一条(二)")
    bands = re.search(
        r'<td title="classes\.high_ratio_bands">[^<]*</td><td class="value" title="([^"]*)"', html
    )
    assert bands and bands.group(1).startswith(
        "max_base_points=100, multiple=3; max_base_points=200, multiple=2.5"
    )
    english = client_for("h1").get("/policies/drg/guigang-2020?lang=en").text
    assert re.search(r"<code>classes\.low_ratio</code></td><td><code>0\.3</code></td>", english)
    # the file itself, with its Chinese comments naming the articles
    assert "第十八条: 月度预付比例原则上不低于月度应预付金额的90%" in html
    assert not EXTERNAL.search(html)


def test_policy_api_lists_and_details_with_values_as_text(client_for):
    client = client_for("reporter")
    listed = client.get("/api/policies")
    assert listed.status_code == 200
    names = {(p["domain"], p["name"]) for p in listed.json()}
    assert {("drg", "guigang-2020"), ("drg", "shanwei-2021")} <= names
    detail = client.get("/api/policies/drg/shanwei-2021").json()
    assert detail["id"] == "shanwei-2021" and detail["text"] == shipped_text("shanwei-2021")
    params = {p["key"]: p for p in detail["params"]}
    assert set(params) == {p.key for p in PARAMS}
    assert (
        params["year_end.method"]["value"] == "incentive_pool"
        and "篇5" in params["year_end.method"]["article"]
    )
    assert params["year_end.apply_caps"]["value"] in ("true", "false")
    assert all(isinstance(p["value"], str) for p in detail["params"])


@pytest.mark.parametrize(
    "path",
    ["/policies/drg/nope", "/policies/insurance-x/guigang-2020", "/policies/drg/..%2F..%2Fpyproject"],
)
def test_unknown_policy_is_404(client_for, path):
    assert client_for("h1").get(path).status_code == 404
    api = client_for("h1").get("/api" + path)
    assert api.status_code == 404
    body = api.json()
    assert (body["ok"], body["status"], body["problems"][0]["code"]) == (False, 404, "not_found")


def test_policies_need_a_signed_in_user(anonymous):
    assert anonymous.get("/api/policies").status_code == 401
    page = anonymous.get("/policies/drg/guigang-2020", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
