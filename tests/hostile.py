"""Hostile strings: what an address, a name or a summary may hold when it was
typed, imported from a roster or received by sync by someone who means harm.

Every output that shows data (CLI listings and tables, JSON, the TUI's
screens and dialogs, CSV and XLSX files) is tested with each of them: no raw
control character reaches a terminal, no text is read as markup, no cell runs
as a formula, and nothing crashes.
"""

from __future__ import annotations

#: name -> hostile text (each also carries a plain CJK marker, to find it shown).
CORPUS: dict[str, str] = {
    "osc52_clipboard": "曹杨\x1b]52;c;ZWNobyBwd25lZA==\x07一村",
    "osc0_title": "曹杨\x1b]0;pwned\x1b\\一村",
    "clear_screen": "曹杨\x1b[2J\x1b[H一村",
    "csi_colour": "曹杨\x1b[31;1m红\x1b[0m一村",
    "c1_csi": "曹杨\x9b2J一村",
    "markup_close": "曹杨[/]一村",
    "markup_link": "[link=https://x]a[/link]曹杨",
    "markup_style": "[bold red]曹杨[/bold red]一村",
    "markup_at": "曹杨[@click=app.quit]点我[/]一村",
    "bidi_override": "曹杨\u202e1oh\u202c一村",
    "nul": "曹杨\x00一村",
    "backspace_cr": "曹杨一村\r\x08\x08伪造",
    "del": "曹杨\x7f一村",
    "emoji_code": "曹杨:smile:一村",
    "long": "曹杨" + "长" * 180 + "一村",  # as long as an address may be
    "hyperlink_formula": '=HYPERLINK("https://x","点我")',
    "dde_formula": "=cmd|' /C calc'!A0",
    "plus": "+86 138 0000 0000",
    "minus": "-2+3",
    "at": "@SUM(1+1)",
    "tab_leading": "\t=1+1",
    "cr_leading": "\r=1+1",
}
# Lone surrogates (undecodable bytes of an argument) cannot be stored: SQLite
# holds UTF-8 only, so they are refused in one line (test_hostile_cli).


#: Bidirectional formatting characters a terminal would act on.
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def raw_controls(text: str) -> list[str]:
    """The characters of *text* a terminal would act on instead of showing (none may be
    left): C0 controls but the line feed, DEL, C1 controls and bidi controls."""
    return [
        ch
        for ch in text
        if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F or ch in BIDI
    ]
