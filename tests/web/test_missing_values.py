"""A page formatter given a value the page does not have (a key a stored record lacks: Jinja's
``Undefined``) shows a dash instead of failing the page with a 500 (a dataset whose manifest
lacked ``claims`` once broke the insurance page's 422 answer)."""

from __future__ import annotations

from shidian.display import DASH
from shidian.web.templating import templates


def test_every_formatter_reads_a_missing_value_as_a_dash():
    for name in ("number", "yuan", "plain", "grouped", "percent", "points"):
        page = templates.env.from_string("{{ " + name + "(record.missing) }}").render(record={})
        assert page == DASH, name
    assert templates.env.from_string("{{ number(d.n) }}").render(d={"n": 12345}) == "12,345"
