"""UI strings in Chinese (the default) and English.

Each feature keeps its strings in its own module of this package, as two
dicts ``ZH`` and ``EN`` with the same keys; they are merged here on first use.
``t(key, **values)`` formats a string in the current language; a key missing
in English falls back to Chinese, and an unknown key is shown as itself so a
missing string never crashes a worker's screen.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

LANGS = ("zh", "en")
_lang = "zh"
_catalog: dict[str, dict[str, str]] | None = None


def _load() -> dict[str, dict[str, str]]:
    global _catalog
    if _catalog is None:
        merged: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
        for info in pkgutil.iter_modules(__path__):
            module = importlib.import_module(f"{__name__}.{info.name}")
            merged["zh"].update(getattr(module, "ZH", {}))
            merged["en"].update(getattr(module, "EN", {}))
        _catalog = merged
    return _catalog


def set_lang(lang: str | None) -> str:
    """Choose the language; None reads VISITLOG_LANG, else Chinese."""
    global _lang
    chosen = (lang or os.environ.get("VISITLOG_LANG") or "zh").lower()
    _lang = "en" if chosen.startswith("en") else "zh"
    return _lang


def get_lang() -> str:
    return _lang


def t(key: str, **values: object) -> str:
    """The string for *key* in the current language, formatted with *values*."""
    catalog = _load()
    text = catalog[_lang].get(key) or catalog["zh"].get(key) or key
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def has(key: str) -> bool:
    return key in _load()["zh"]


def catalogs() -> dict[str, dict[str, str]]:
    """Both merged catalogs (for tests that check every key is translated)."""
    return _load()
