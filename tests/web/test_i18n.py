"""Every message in the templates and web code has a Chinese translation; English is selectable."""

from __future__ import annotations

from importlib import resources

from babel.messages.pofile import read_po


def test_every_message_is_translated_to_chinese():
    path = resources.files("shidian.web") / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated, f"run `make i18n` and translate: {untranslated}"
    assert len(catalog) > 100


def test_pages_are_chinese_by_default_and_english_on_request(client_for):
    client = client_for("officer")
    chinese = client.get("/drg/runs")
    assert "结算批次" in chinese.text
    english = client.get("/drg/runs?lang=en")
    assert "Settlement runs" in english.text and "结算批次" not in english.text.split("<main>")[0]


def test_catalog_has_every_message_of_the_templates_and_code():
    """The catalog is current: nothing in the sources is missing from it (else `make i18n`)."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir

    root = Path(__file__).parents[2]
    method_map = [("src/shidian/web/**.py", "python"), ("src/shidian/web/templates/**.html", "jinja2")]
    options = {"src/shidian/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            root, method_map, options, keywords={"_": None, "gettext": None, "N_": None}
        )
    }
    path = resources.files("shidian.web") / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = {
            m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle, locale="zh_CN") if m.id
        }
    assert not sorted(found - catalog), f"run `make i18n`: {sorted(found - catalog)}"
