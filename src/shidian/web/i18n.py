"""Translations (多语言): zh-CN by default, English selectable, from Babel catalogs.

Message ids are English; ``locale/<lang>/LC_MESSAGES/messages.po`` holds the translations and
is compiled in memory at start-up, so no build step is needed. ``make i18n`` re-extracts the
messages from the templates and Python code (pybabel) and updates the catalogs.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"


@cache
def translations(language: str) -> NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    path = resources.files("shidian.web") / "locale" / language / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)
