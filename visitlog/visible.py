"""Text from the data, made safe to show: control characters made visible.

An address, a name or a visit summary may hold anything: typed by a worker,
imported from a roster, or received by sync from a replica somebody tampered
with.  A terminal *acts* on some characters instead of showing them (ESC
starts sequences that clear the screen, retitle the window or set the
clipboard; C1 controls do the same in one byte; bidi overrides reorder what
is shown), and XML (inside an XLSX file) cannot hold most C0 controls at all.

This module is the one place that turns such characters into visible
stand-ins, for every output:

* a C0 control or DEL becomes its Unicode "control picture" (ESC → ␛,
  NUL → ␀, CR → ␍, DEL → ␡);
* any other character that must not pass (a C1 control, a bidi override or
  isolate, a lone surrogate, U+FFFE/U+FFFF) becomes U+FFFD (�).

:func:`visible` is for terminals (CLI and TUI; line feeds kept);
:func:`xml_visible` is for XLSX cells (tab and line breaks kept, as XML allows).
Markup is a separate matter: text from the data is always given to Rich and
Textual as a ``Text`` (or with markup off), never as a markup string.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Bidirectional formatting characters: embeddings, overrides, isolates, marks.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

#: What a terminal must never receive raw (the line feed is kept: it only breaks a line).
_TERMINAL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f" + BIDI_CONTROLS + "\ud800-\udfff\ufffe\uffff]"
)
#: What XML 1.0 cannot hold (tab, LF and CR are allowed), plus lone surrogates,
#: which no UTF-8 file can hold.
_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

#: Shown for characters that have no control picture.
REPLACEMENT = "\ufffd"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return REPLACEMENT


def visible(value: Any) -> str:
    """*value* as text a terminal shows as it is: every control character made visible.

    None gives ``""``; anything else is ``str()``-ed first.  Line feeds are
    kept (they only break a line); tabs, carriage returns and every other
    control character are replaced (see the module docstring).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _TERMINAL.sub(_picture, text) if _TERMINAL.search(text) else text


def xml_visible(text: str) -> str:
    """*text* with every character XML (or UTF-8) cannot hold replaced by a visible stand-in."""
    return _XML.sub(_picture, text) if _XML.search(text) else text


#: What JSON may carry raw that a terminal would act on (``json`` escapes C0 itself).
_JSON = re.compile("[\x7f-\x9f" + BIDI_CONTROLS + "\ud800-\udfff]")


def json_visible(document: str) -> str:
    """A JSON *document* (from ``json.dumps(..., ensure_ascii=False)``) safe on a terminal.

    ``json`` already writes C0 controls as ``\\u001b``; DEL, C1 controls, bidi
    controls and lone surrogates are written as ``\\uXXXX`` escapes too, so
    every value reads back the same and nothing reaches a terminal raw.
    """
    return _JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def has_hidden(text: str) -> bool:
    """True when :func:`visible` would change *text*."""
    return bool(_TERMINAL.search(text))


__all__ = ["BIDI_CONTROLS", "REPLACEMENT", "has_hidden", "json_visible", "visible", "xml_visible"]


#: One encoder, C-accelerated (``indent`` would make json use its pure-Python
#: encoder, many times slower on a district's output).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def json_layout(value: Any, indent: str = "") -> str:
    """*value* (JSON values only) as JSON, laid out for a reader: an object's
    keys a line each at the top, a list of objects an object a line, every
    object inside written on one line.  Not yet :func:`json_visible`."""
    inner = indent + "  "
    if isinstance(value, dict) and not indent:
        if not value:
            return "{}"
        parts = [f"{inner}{_ENCODER.encode(k)}: {json_layout(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + "\n" + indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = [inner + _ENCODER.encode(v) for v in value]
        return "[\n" + ",\n".join(rows) + "\n" + indent + "]"
    return _ENCODER.encode(value)
