"""Every UI string exists in Chinese and English with the same placeholders."""

from __future__ import annotations

import string

from visitlog.i18n import catalogs, set_lang, t


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_in_both_languages_with_same_placeholders():
    cat = catalogs()
    assert set(cat["zh"]) == set(cat["en"]), set(cat["zh"]) ^ set(cat["en"])
    for key, zh in cat["zh"].items():
        assert _fields(zh) == _fields(cat["en"][key]), key


def test_language_switch_and_fallback():
    assert t("noun.visits") == "走访记录"
    set_lang("en")
    assert t("noun.visits") == "visit"
    assert t("no.such.key") == "no.such.key"
    set_lang(None)
    assert t("noun.visits") == "走访记录"
