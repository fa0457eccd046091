"""身份证号 (resident ID numbers): found wherever they turn up, so they can be dropped.

visitlog does not collect ID numbers (个人信息保护法: not needed for a visit).
Rosters carry them anyway: in a 身份证号 column, masked or whole, in 备注
(``身份证：310107194803121234``), even as the 编号.  :func:`is_id_header`
names the columns to drop; :func:`find_ids` / :func:`strip_ids` find and cut
ID-shaped strings out of any other cell:

* 18 characters (17 digits and a digit or X) whose check digit (GB 11643,
  ISO 7064 MOD 11-2) is right and whose birth date is possible;
* 15 digits (the first-generation number) with a possible birth date;
* masked forms, 15 or 18 characters with a run of ``*`` inside
  (``310***********1234``, ``310107********123X``).

Other long numbers (a 房屋编码 of 18 digits whose check digit is wrong) are
left alone, so an external 编号 survives; in a 编号 only 18-character forms
count (a 15-digit 房屋编码 cannot be told from a first-generation ID number).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["find_ids", "is_id_header", "strip_ids", "valid_id"]

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"

_FULL18 = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_FULL15 = re.compile(r"(?<![0-9])[1-9][0-9]{14}(?![0-9Xx])")
_MASKED = re.compile(r"(?<![0-9*])[0-9]{1,14}\*{4,16}[0-9]{0,13}[0-9Xx]?(?![0-9A-Za-z*])")
#: A label written before the number in free text: 身份证：, 证件号码: …
_LABEL = re.compile(r"(?:公民)?(?:身份证|证件)(?:号码|号)?\s*[:：]?\s*$")

#: Header spellings (after NFKC, spaces removed, lower case) of ID-number columns.
_ID_HEADERS = frozenset(
    {
        "身份证",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "公民身份证号",
        "公民身份证号码",
        "证件号",
        "证件号码",
        "户主身份证号",
        "户主身份证",
        "身份证件号码",
        "idcard",
        "idno",
        "idnumber",
        "id_number",
        "idcardno",
    }
)


def _date_ok(year: int, month: int, day: int) -> bool:
    return 1880 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def valid_id(text: str) -> bool:
    """True when *text* is a whole 18- or 15-character ID number (check digit, date)."""
    text = text.upper()
    if len(text) == 18 and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X"):
        total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
        if text[17] != _CHECK[total % 11]:
            return False
        return _date_ok(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    if len(text) == 15 and text.isdigit():
        return _date_ok(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
    return False


def find_ids(text: str | None, fifteen: bool = True) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the ID numbers, whole or masked, in *text*.

    The spans index the NFKC form of the text (full-width digits read as
    digits), which is the form :func:`strip_ids` returns.

    Args:
        text: any text.
        fifteen: also find 15-digit (first-generation) numbers.  They have no
            check digit, so a 15-digit 房屋编码 with a date-like middle looks
            the same: a 编号 column is searched without them.
    """
    if not text:
        return []
    norm = unicodedata.normalize("NFKC", text)
    spans: list[tuple[int, int]] = []
    for pattern in (_FULL18, _FULL15) if fifteen else (_FULL18,):
        spans += [m.span() for m in pattern.finditer(norm) if valid_id(m.group())]
    for m in _MASKED.finditer(norm):
        if len(m.group()) == 18 or (fifteen and len(m.group()) == 15):
            spans.append(m.span())
    return sorted(set(spans))


def strip_ids(text: str | None, fifteen: bool = True) -> tuple[str, int]:
    """*text* without its ID numbers (and the 身份证： label before each).

    *fifteen* as for :func:`find_ids`.

    Returns:
        (the text, how many ID numbers were cut). Text without any comes back
        unchanged (not even normalised).
    """
    spans = find_ids(text, fifteen)
    if not spans or text is None:
        return text or "", 0
    norm = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    at = 0
    for start, end in spans:
        if start < at:
            continue
        before = norm[at:start]
        before = _LABEL.sub("", before)
        out.append(before)
        at = end
    out.append(norm[at:])
    cleaned = "".join(out)
    # Separators left dangling where a number stood: "备注；；" → "备注".
    cleaned = re.sub(r"([；;，,、\s])[；;，,、\s]+", r"\1", cleaned)
    return cleaned.strip(" ；;，,、:："), len(spans)


def is_id_header(header: str | None) -> bool:
    """True when a column header names ID numbers (身份证号, 证件号码, id_number…)."""
    if not header:
        return False
    key = re.sub(r"[\s*※:：]+", "", unicodedata.normalize("NFKC", header)).lower()
    key = re.sub(r"[(（][^()（）]*[)）]$", "", key)
    return key in _ID_HEADERS
