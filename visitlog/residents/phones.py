"""Contact cells as written, numbers as understood.

A roster's 联系电话 cell is kept exactly as written; :func:`read_phones` says
which numbers it holds:

* mobiles with or without +86 / 86- / 0086, spaces or dashes
  (``+86 138 1234 5678`` → ``13812345678``);
* Shanghai landlines of 8 digits, with or without 021, (021), 021- or a
  space (``5847-6446``, ``(021)62345678`` → ``02162345678``), and Excel's
  numeric form that lost the leading 0 (``2158942977`` → ``02158942977``);
* an extension after 转 / ext / 分机 / a dash (``62345678转123``) is kept as
  the number's extension, never glued onto the number;
* several numbers in one cell, separated by / 、 ； ; , 或, line breaks or
  spaces;
* a masked number (``138****5678``) is understood only as far as it goes:
  its visible digits, which matching may compare (the last four);
* full-width digits and the ``.0`` or scientific form of a spreadsheet cell.

What cannot be read is listed in :attr:`PhoneReading.unread` and flagged
with a warning kind; a cell never makes anything fail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["Number", "PhoneReading", "phone_numbers", "read_phones"]

#: Cells that say "no phone".
_NONE_WORDS = frozenset(
    {
        "无",
        "暂无",
        "没有",
        "不详",
        "未知",
        "空",
        "无电话",
        "-",
        "--",
        "—",
        "/",
        "null",
        "none",
        "n/a",
        "na",
    }
)
_HARD_SPLIT = re.compile(r"[/|;,、；，\n\r]+|或|及")
_EXT = re.compile(r"\s*-?\s*(?:转|分机|ext\.?|extension)\s*[:：.]?\s*([0-9]{1,6})\s*$", re.I)
_MASKED = re.compile(r"([0-9]{0,8})[*×xX]{2,8}([0-9]{0,8})")
_SCIENTIFIC = re.compile(r"^([0-9]+(?:\.([0-9]+))?)e\+?([0-9]+)$")
_FLOAT_TAIL = re.compile(r"^([0-9]+)\.0+$")
_DIGITS = re.compile(r"[0-9]+")
_DASHES = re.compile("[\u2010-\u2015\u2212\ufe58\ufe63~]")
_COUNTRY = re.compile(r"^\s*(?:\+\s*86|0086|86(?=\s*[-\s(]))\s*-?\s*")
_LANDLINE_START = "23456789"
_MOBILE_SECOND = "3456789"


@dataclass(frozen=True)
class Number:
    """One number understood from a contact cell.

    Attributes:
        number: mobiles as 11 digits (``13812345678``), Shanghai landlines
            with their area code (``02162345678``), masked numbers with ``*``
            for each hidden digit (``138****5678``).
        kind: ``"mobile"``, ``"landline"`` or ``"masked"``.
        ext: the extension (``123`` of ``62345678转123``), or None.
    """

    number: str
    kind: str
    ext: str | None = None

    @property
    def full(self) -> bool:
        """True when every digit is known (not masked)."""
        return self.kind != "masked"

    @property
    def last4(self) -> str:
        """The last four digits (what a masked number still says)."""
        return self.number[-4:]

    @property
    def text(self) -> str:
        """The number with its extension, as stored: ``02162345678转123``."""
        return f"{self.number}转{self.ext}" if self.ext else self.number


@dataclass(frozen=True)
class PhoneReading:
    """What a contact cell says.

    Attributes:
        written: the cell as written (stripped), or "" when empty.
        numbers: the numbers understood, in the order written, each once.
        unread: the parts that could not be read as a number.
        warnings: warning kinds (``phone_unreadable``, ``phone_shortened``,
            ``phone_masked``), each at most once.
    """

    written: str
    numbers: tuple[Number, ...] = ()
    unread: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The fully known numbers (without extension): what matching compares."""
        return tuple(n.number for n in self.numbers if n.full)


def _complete(digits: str) -> Number | None:
    """The number *digits* make on their own, or None."""
    d = digits
    if d.startswith("0086") and len(d) in (14, 15):
        d = d[4:]
    elif d.startswith("86") and len(d) in (12, 13):
        d = d[2:]
    if len(d) == 11 and d[0] == "1" and d[1] in _MOBILE_SECOND:
        return Number(d, "mobile")
    if len(d) == 8 and d[0] in _LANDLINE_START:
        return Number("021" + d, "landline")
    if len(d) == 11 and d.startswith("021") and d[3] in _LANDLINE_START:
        return Number(d, "landline")
    if len(d) == 10 and d.startswith("21") and d[2] in _LANDLINE_START:
        # Excel stored 021xxxxxxxx as a number, or +86 21 xxxxxxxx.
        return Number("0" + d, "landline")
    return None


def _spreadsheet_number(text: str) -> tuple[str, bool]:
    """Undo a spreadsheet's number forms: (text, digits were lost)."""
    compact = text.replace(" ", "").lower()
    if m := _FLOAT_TAIL.match(compact):
        return m.group(1), False
    if m := _SCIENTIFIC.match(compact):
        try:
            value = Decimal(compact)
        except InvalidOperation:  # pragma: no cover - the pattern checked it
            return text, True
        shown = (m.group(1).replace(".", "")).rstrip("0") or "0"
        if value != value.to_integral_value():
            return text, True
        whole = str(int(value))
        # 1.38123E+10 shows 6 of 11 digits: the rest are gone.
        return whole, len(shown) < len(whole.rstrip("0") or "0") or len(shown) < 8
    return text, False


def _read_chunk(chunk: str, numbers: list[Number], unread: list[str], warn: set[str]) -> None:
    """Read one part of a cell (between hard separators) into *numbers* / *unread*."""
    text = chunk.strip()
    if not text or text.lower() in _NONE_WORDS:
        return
    ext: str | None = None
    if m := _EXT.search(text):
        ext, text = m.group(1), text[: m.start()]
    compact = re.sub(r"[\s\-()]", "", text)
    masked = _MASKED.search(compact)
    if masked:
        head, tail = masked.group(1), masked.group(2)
        stars = len(masked.group(0)) - len(head) - len(tail)
        if len(tail) >= 4:
            numbers.append(Number(f"{head}{'*' * stars}{tail}", "masked", ext))
            warn.add("phone_masked")
        else:
            unread.append(chunk.strip())
        return
    text = _COUNTRY.sub("", text)
    runs = list(_DIGITS.finditer(text))
    if not runs:
        unread.append(chunk.strip())
        return
    buf = ""
    prev_end = 0
    for i, m in enumerate(runs):
        run, sep = m.group(), text[prev_end : m.start()]
        prev_end = m.end()
        last = numbers[-1] if numbers else None
        if (
            not buf
            and last is not None
            and last.kind == "landline"
            and last.ext is None
            and "-" in sep
            and len(run) <= 5
            and i == len(runs) - 1
            and i > 0
        ):
            # 62345678-8012: an extension after a dash.
            numbers[-1] = Number(last.number, last.kind, run)
            continue
        if buf and len(buf) + len(run) > 11:
            unread.append(buf)
            buf = ""
        buf += run
        if number := _complete(buf):
            numbers.append(number)
            buf = ""
    if buf:
        unread.append(buf)
    if ext is not None and numbers:
        last = numbers[-1]
        numbers[-1] = Number(last.number, last.kind, ext)


@lru_cache(maxsize=8192)
def _read(text: str) -> PhoneReading:
    raw = unicodedata.normalize("NFKC", text).strip()
    cell, lost = _spreadsheet_number(raw)
    if lost:
        return PhoneReading(written=text.strip(), warnings=("phone_shortened",))
    cell = _DASHES.sub("-", cell)
    numbers: list[Number] = []
    unread: list[str] = []
    warn: set[str] = set()
    for chunk in _HARD_SPLIT.split(cell):
        _read_chunk(chunk, numbers, unread, warn)
    if unread:
        warn.add("phone_unreadable")
    seen: dict[str, Number] = {}
    for n in numbers:
        seen.setdefault(n.number, n)
    kinds = tuple(k for k in ("phone_unreadable", "phone_masked") if k in warn)
    return PhoneReading(
        written=text.strip(), numbers=tuple(seen.values()), unread=tuple(unread), warnings=kinds
    )


def read_phones(value: str | int | float | None) -> PhoneReading:
    """Read a contact cell (text, or the number a spreadsheet cell holds).

    Never raises: a value that is not a phone number at all comes back with
    its parts in ``unread`` and the warning ``phone_unreadable``.

    Args:
        value: the cell as written; None, "" and words such as 无 mean no phone.

    Returns:
        The reading; ``written`` is the cell as given (numbers as their digits).
    """
    if value is None or isinstance(value, bool):
        return PhoneReading(written="")
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    else:
        text = str(value)
    return _read(text)


def phone_numbers(value: str | None) -> list[str]:
    """The understood numbers of a contact cell as stored beside it (``Number.text``).

    Fully known numbers carry their extension (``02162345678转123``); masked
    ones keep their stars (``138****5678``).
    """
    return [n.text for n in read_phones(value).numbers]
