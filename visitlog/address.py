"""Chinese address normalisation, pinyin keys, phone and room-number helpers.

Everything here is a pure function over strings: no database, no UI. The
de-duplication code (``dedup.py``) uses these keys for blocking and scoring, the
roster importer stores :func:`normalize_address` as the household's matching
key, and the TUI search box matches :func:`normalize_query` against
:func:`search_keys`.

The normalised key is meant for *matching*, not for display: it is lower-case,
has no spaces or punctuation and drops the 上海市 / district / 街道 prefix that
every household of one street shares anyway.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING

from rapidfuzz.distance import OSA, Levenshtein

if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Callable

__all__ = [
    "AddressParts",
    "building_key",
    "household_key",
    "name_initials",
    "name_pinyin",
    "normalize_address",
    "normalize_phone",
    "normalize_query",
    "numeral_tail",
    "parse_address",
    "parse_key",
    "room_distance",
    "search_keys",
]

# ---------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------

# CJK ideographs we keep in a key: the basic block, extension A, the
# supplementary planes (rare characters do turn up in names), and 〇, which
# lives in the symbols block but is a digit in room numbers such as 三〇一.
_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f"

# Python's \d also matches Arabic-Indic and other digits; keys must only ever
# hold ASCII digits, so every pattern spells [0-9] out.
_KEEP = re.compile(f"[^0-9a-z{_CJK}-]+")

_DASHES = re.compile("[\u2010-\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\u30fc~\u301c]")
# Whitespace or punctuation between two digit runs separates building and
# room ("12 301", "12/301", "12，301"); dropping it would glue them into 12301.
# Elsewhere such characters are just noise to drop.
_DIGIT_GAP = re.compile(f"(?<=[0-9])[^0-9a-z{_CJK}-]+(?=[0-9])")
# "12#301" and "12#楼" are common shorthand for 12号.
_HASH = re.compile(r"(?<=[0-9a-z])\s*#")
# A dash only means something between two alphanumerics (12-301, 12-1号).
_STRAY_DASH = re.compile(r"(?<![0-9a-z])-+|-+(?![0-9a-z])")
_MULTI_DASH = re.compile(r"-{2,}")

# ---------------------------------------------------------------------------
# Chinese numerals
# ---------------------------------------------------------------------------

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_MULTIPLIERS = {"十": 10, "百": 100, "千": 1000}
# 万 is deliberately absent: no estate/lane/room number reaches ten thousand,
# and leaving it out keeps names such as 万里城 safe without a special case.
_NUMERAL_CHARS = "".join(_DIGITS) + "".join(_MULTIPLIERS)

# Units after which a numeral run is a number and not part of a name. Longer
# units come first so 支弄 / 街坊 / 单元 win over their one-character prefixes.
_UNITS = ("支弄", "街坊", "单元", "村", "弄", "号", "幢", "栋", "楼", "室", "层", "座", "期")
_RUN_BEFORE_UNIT = re.compile(f"[{_NUMERAL_CHARS}]+(?=(?:{'|'.join(_UNITS)}))")
# The room number after a building number is often written without 室
# (十二号三〇一); only there, at the very end, is a bare run a number. It is
# applied once 幢/栋/号楼 have become 号, so one look-behind covers them all.
_ROOM_RUN = re.compile(f"(?<=号)[{_NUMERAL_CHARS}]+$")


def _chinese_to_int(run: str) -> int | None:
    """Read a positional Chinese numeral such as 一百零五 or 二十八.

    Args:
        run: Characters from ``_NUMERAL_CHARS`` containing at least one of 十百千.

    Returns:
        The value, or None when the run is not a well-formed numeral (十十),
        in which case the caller leaves the text alone.
    """
    total = 0
    pending: int | None = None  # a digit waiting for its multiplier
    last_mult: int | None = None
    after_zero = False
    for ch in run:
        if ch in _MULTIPLIERS:
            mult = _MULTIPLIERS[ch]
            if last_mult is not None and mult >= last_mult:
                return None
            # A bare leading 十 means 1十 (十二 = 12); so does 一百十 colloquially.
            total += (1 if pending is None else pending) * mult
            pending = None
            last_mult = mult
            after_zero = False
        elif _DIGITS[ch] == 0:
            if pending is not None:
                return None
            after_zero = True
        else:
            if pending is not None:
                return None
            pending = _DIGITS[ch]
    if pending is not None:
        if last_mult is None or after_zero or last_mult == 10:
            total += pending
        else:
            # Colloquial 一百五 = 150, 两千三 = 2300: the trailing digit takes
            # the next lower multiplier when no 零 sits in between.
            total += pending * (last_mult // 10)
    return total


def _numeral_run_to_digits(run: str) -> str:
    """Convert one run of Chinese numerals to ASCII digits, or return it unchanged.

    Runs without 十/百/千 are read digit by digit (三〇一 → 301, as room numbers
    are spoken); runs with them are read positionally (一百零五 → 105).
    """
    if not any(ch in _MULTIPLIERS for ch in run):
        return "".join(str(_DIGITS[ch]) for ch in run)
    value = _chinese_to_int(run)
    return run if value is None else str(value)


def _convert_numerals(text: str) -> str:
    """Turn numeral runs that are directly followed by a unit into digits."""
    return _RUN_BEFORE_UNIT.sub(lambda m: _numeral_run_to_digits(m.group()), text)


# ---------------------------------------------------------------------------
# Prefixes: 上海市, districts, 街道
# ---------------------------------------------------------------------------

_DISTRICTS = (
    "黄浦",
    "徐汇",
    "长宁",
    "静安",
    "普陀",
    "虹口",
    "杨浦",
    "闵行",
    "宝山",
    "嘉定",
    "浦东",
    "金山",
    "松江",
    "青浦",
    "奉贤",
    "崇明",
    # Merged or renamed districts still appear on old rosters.
    "闸北",
    "卢湾",
    "南汇",
)
_DISTRICT_ALT = "|".join(_DISTRICTS)
_SHANGHAI = re.compile(f"^(?:上海市|上海(?=(?:{_DISTRICT_ALT})))")
_DISTRICT_FULL = re.compile(f"^(?:浦东新区|(?:{_DISTRICT_ALT})(?:区|县))")
# A bare district name is also the first half of many roads and places
# (长宁路, 宝山路, 浦东南路, 浦东大道, 静安寺, 金山卫, 松江新城), so it is only
# dropped right after a 上海 prefix and never before such a suffix.
_DISTRICT_BARE = re.compile(
    f"^(?:{_DISTRICT_ALT})"
    r"(?!路|街(?!道)|大道|公路|[东南西北中]路|镇|寺|新城|港|岛|卫|站|公园|广场|体育)"
)
# Street (街道) names are short: 曹杨新村街道, 宝山路街道, 石门二路街道. The
# length cap stops a stray 街道 deep inside an address from eating it.
_STREET = re.compile(r"^.{1,8}?街道")


def _strip_prefixes(text: str) -> str:
    """Drop leading 上海(市), district and 街道 names, in any order, repeatedly."""
    had_shanghai = False
    while True:
        if m := _SHANGHAI.match(text):
            had_shanghai = True
        else:
            m = (
                _DISTRICT_FULL.match(text)
                # Street before bare district: 宝山路街道 is a street, not 宝山 + 路街道.
                or _STREET.match(text)
                or (_DISTRICT_BARE.match(text) if had_shanghai else None)
            )
        if m is None or not m.end():
            return text
        text = text[m.end() :]


# ---------------------------------------------------------------------------
# Building / room canonical form
# ---------------------------------------------------------------------------

_BLD = "[0-9]+[a-z]?"
_HAO_LOU = re.compile("号楼+")
_ZHUANG_DONG = re.compile(f"({_BLD})(?:幢|栋)")
# Road + lane-building-room written with dashes: 枣阳路100-12-301.
_DASH3 = re.compile(f"(路)([0-9]+)-({_BLD})-({_BLD})室?$")
# Building-room written with a dash at the end: 12-301 / 12-301室.
_DASH2 = re.compile(f"(?<![0-9a-z-])({_BLD})-({_BLD})室?$")
# Building number followed by a bare room number at the end: 12号301.
_ROOM_NO_SHI = re.compile(f"号({_BLD})$")


def _building_units(text: str) -> str:
    """Make 号 the only building unit (号楼/幢/栋 → 号), then convert a bare room run."""
    # 幢/栋 first, so 12幢楼 → 12号楼 → 12号 in one pass.
    text = _ZHUANG_DONG.sub(r"\1号", text)
    text = _HAO_LOU.sub("号", text)
    return _ROOM_RUN.sub(lambda m: _numeral_run_to_digits(m.group()), text)


def _canonical_units(text: str) -> str:
    """Bring building/room spellings to the single form 12号301室."""
    text = _building_units(text)
    text = _DASH3.sub(r"\1\2弄\3号\4室", text)
    text = _DASH2.sub(r"\1号\2室", text)
    return _ROOM_NO_SHI.sub(r"号\1室", text)


def _clean(text: str) -> str:
    """NFKC, lower-case, and reduce to key characters (CJK, a-z, 0-9, inner dashes).

    This is the part of normalisation that is safe on any fragment, so the
    search query and the initials of a raw address share it.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DASHES.sub("-", text)
    text = _HASH.sub("号", text)
    text = _DIGIT_GAP.sub("-", text)
    text = _KEEP.sub("", text)
    text = _MULTI_DASH.sub("-", text)
    return _STRAY_DASH.sub("", text)


def normalize_address(text: str | None) -> str:
    """Return the matching key of an address.

    Spellings of one place get one key: 曹杨一村12号301室, 曹杨1村12号301,
    普陀区曹杨一村十二号301室, 上海市普陀区曹杨新村街道曹杨一村12号楼301室,
    曹杨一村１２号３０１室 and 曹杨一村12-301 all give ``曹杨1村12号301室``.

    Steps, in order: NFKC (full-width → ASCII) and lower-case; whitespace or a
    slash between two numbers becomes a dash and ``#`` after a number becomes
    号; everything but CJK, a-z, 0-9 and inner dashes is dropped; Chinese
    numerals become digits only when followed by a unit (村 弄 支弄 号 幢 栋 楼
    室 层 街坊 单元 座 期) or when they are the room run after 号, so names such
    as 百禧公园, 万里城, 三门路, 一心家园 are left alone; leading 上海(市),
    district (with 区, or bare right after 上海) and ``…街道`` names are
    dropped; 号楼/幢/栋 become 号 and ``12-301``, ``12号301`` become
    ``12号301室``.

    The function is deterministic and idempotent:
    ``normalize_address(normalize_address(x)) == normalize_address(x)``.

    Args:
        text: The address as written. None is treated as empty.

    Returns:
        The key; an empty string when nothing usable is left.
    """
    if not text:
        return ""
    text = _clean(text[:MAX_READ])
    text = _convert_numerals(text)
    text = _strip_prefixes(text)
    return _canonical_units(text)


def normalize_query(query: str | None) -> str:
    """Normalise a search-box query so it can be matched against :func:`search_keys`.

    Applies the fragment-safe part of :func:`normalize_address`: NFKC,
    lower-case, whitespace/punctuation removal, numeral conversion
    (``一村`` → ``1村``, ``十二号`` → ``12号``) and 号楼/幢/栋 → 号, and turns
    ``12-301`` into ``12号301``. It does *not* add 室 or strip 上海/district
    prefixes, so a query typed one character at a time (``12号3``, ``12号30``)
    keeps matching as a substring of the key ``…12号301室``. Pinyin initials
    (``CY1C``) pass through lower-cased.

    Args:
        query: What the user typed.

    Returns:
        The query to look for as a substring of :func:`search_keys` output.
    """
    if not query:
        return ""
    text = _convert_numerals(_clean(query))
    text = _building_units(text)
    return re.sub(f"(?<![0-9a-z-])({_BLD})-({_BLD})$", r"\1号\2", text)


_TRAILING_DIGITS_RUN = re.compile(f"[{''.join(_DIGITS)}]+$")


def numeral_tail(query: str) -> str | None:
    """A normalised query ending in Chinese numerals read digit by digit,
    with them written in digits (``曹杨一`` → ``曹杨1``, ``三〇`` → ``30``), or
    None.  A query typed one character at a time reaches ``曹杨一`` before
    ``曹杨一村`` (→ ``曹杨1村``): the keys hold the number in digits.  Runs
    with 十/百/千 are left alone: ``一百`` is not the start of ``一百零五``
    (105) in digits."""
    match = _TRAILING_DIGITS_RUN.search(query)
    if match is None:
        return None
    return query[: match.start()] + _numeral_run_to_digits(match.group())


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressParts:
    """An address split into the parts dedup blocks and compares on.

    Attributes:
        estate: The 小区/村 name with its number (``曹杨1村``) or road + lane
            (``枣阳路100弄``); None when nothing precedes the building/room.
        building: Building number without 号 (``12``), or None.
        room: Room number without 室 (``301``), or None.
    """

    estate: str | None
    building: str | None
    room: str | None


#: Addresses are read only up to this many characters.  A real one is far
#: shorter (a record keeps at most 200); the patterns here may cost the square
#: of the length, so a pasted page of digits must not reach them whole.
MAX_READ = 1000

_ROOM = re.compile(r"([0-9]+[a-z]?)室")
_BUILDING = re.compile(r"([0-9]+(?:-[0-9]+)?[a-z]?)号")


def parse_address(text: str | None) -> AddressParts:
    """Split an address into estate, building and room.

    Works on the normalised form (the text is normalised first, so raw input
    is fine). The room is the last ``N室``; the building the last ``N号``
    before it; the estate whatever precedes the building (or the room, or the
    whole key when neither is found).

    Args:
        text: An address, raw or normalised.

    Returns:
        The parts; each is None when it cannot be read.
    """
    return parse_key(normalize_address(text))


def parse_key(key: str) -> AddressParts:
    """Split an already normalised key (:func:`normalize_address` output).

    The same as :func:`parse_address` without normalising again, for callers
    that hold the stored key of many households (de-duplication of a
    district reads 50,000 of them).

    Args:
        key: A normalised address key.

    Returns:
        The parts; each is None when it cannot be read.
    """
    key = key[:MAX_READ]
    room: str | None = None
    head = key
    room_matches = list(_ROOM.finditer(key))
    if room_matches:
        last = room_matches[-1]
        room = last.group(1)
        head = key[: last.start()]
    building: str | None = None
    building_matches = list(_BUILDING.finditer(head))
    if building_matches:
        last_b = building_matches[-1]
        building = last_b.group(1)
        head = head[: last_b.start()]
    return AddressParts(estate=head or None, building=building, room=room)


def household_key(address: str | None, estate: str | None = None) -> str:
    """The matching key of a household's address, read with its 小区 when the address lacks one.

    Rosters often write only the building and room (``12-301``, ``2号101室``)
    and give the estate in the 小区 column: the key is then that of
    ``小区 + 地址`` (``曹杨1村12号301室``).  An address that names its estate
    keeps its own key whatever the 小区 column says.

    Args:
        address: the address as written.
        estate: the 小区 column, when known.

    Returns:
        The key (see :func:`normalize_address`).
    """
    key = normalize_address(address)
    if estate and key and parse_key(key).estate is None:
        own = normalize_address(estate)
        if own and parse_key(own).building is None:
            return normalize_address(f"{estate}{address}")
    return key


def building_key(text: str | None) -> str | None:
    """Return estate + building (``曹杨1村12号``) for blocking, or None.

    None when either part is unknown: a bare ``12号`` would lump every
    building 12 of the street into one block.
    """
    parts = parse_address(text)
    if parts.estate is None or parts.building is None:
        return None
    return f"{parts.estate}{parts.building}号"


# ---------------------------------------------------------------------------
# Pinyin keys
# ---------------------------------------------------------------------------


@cache
def _pypinyin() -> tuple[Callable[..., list[str]], object, object]:
    """Import pypinyin on first use.

    Loading its dictionaries takes a few hundred milliseconds, which every CLI
    command would otherwise pay even when it never touches a name.
    """
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin, Style.NORMAL, Style.FIRST_LETTER


_NON_KEY = re.compile(r"[^0-9a-z]+")


def name_pinyin(name: str | None) -> str:
    """Return a tone-less, lower-case, joined pinyin key for a person's name.

    王晓明 and 王小明 both give ``wangxiaoming``. Each character is read on its
    own (not by phrase), so a character always gets the same reading whatever
    its neighbours are: two spellings of one name can only differ where the
    characters differ. Non-Chinese parts are kept as lower-case ASCII letters
    and digits; spaces and punctuation are dropped.

    Args:
        name: The name as written; None or empty gives an empty string.

    Returns:
        The key, e.g. ``zhangwei``.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).lower()
    lazy_pinyin, normal, _ = _pypinyin()
    # A list input tells pypinyin the text is already segmented, one character
    # per "word", which is what makes the reading context-free.
    syllables = lazy_pinyin(list(text), style=normal)
    return _NON_KEY.sub("", "".join(syllables).lower())


def name_initials(text: str | None) -> str:
    """Return the first pinyin letter of each CJK character, keeping digits and ASCII.

    Call it on a normalised address to get the initials a worker types in the
    search box: ``name_initials("曹杨1村12号301室") == "cy1c12h301s"``. On the
    raw spelling it reads the numeral too: ``name_initials("曹杨一村") == "cyyc"``.
    Here words are read as phrases, which gives the reading people say
    (重庆 → cq), since this key is for humans typing, not for matching.

    Args:
        text: Any text; None or empty gives an empty string.

    Returns:
        Lower-case ASCII letters and digits.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    lazy_pinyin, _, first_letter = _pypinyin()
    letters = lazy_pinyin(text, style=first_letter)
    return _NON_KEY.sub("", "".join(letters).lower())


def search_keys(address: str | None) -> str:
    """Return the text the TUI search matches a household address against.

    A space-joined string of the normalised address, its initials and the
    initials of the raw spelling, so ``曹杨1村``, ``一村`` (after
    :func:`normalize_query`), ``cy1c`` and ``cyyc`` all find 曹杨一村12号301室.
    Match with ``normalize_query(q) in search_keys(address)``; the query never
    contains a space, so it cannot match across two keys.

    Args:
        address: The address as written.

    Returns:
        The keys, duplicates removed, empty keys left out.
    """
    key = normalize_address(address)
    candidates = (key, name_initials(key), name_initials(_clean(address or "")))
    return " ".join(dict.fromkeys(k for k in candidates if k))


# ---------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[0-9]+(?:\.[0-9]+)?e\+?[0-9]+$")
_FLOAT_TAIL = re.compile(r"^([0-9]+)\.0+$")


def normalize_phone(text: str | int | float | None) -> str | None:
    """Return the 11 digits of a phone number, or None.

    Drops spaces, dashes, parentheses and a +86 / 0086 / 86 country prefix,
    and undoes what spreadsheets do to numbers (``13812345678.0``,
    ``1.3812345678E+10``, or an int/float cell value). Landlines with their
    area code (``021-6234 5678``) are 11 digits too and are kept; the +86 form
    of a landline (``+86 21 6234 5678``) gets its trunk 0 back.

    Args:
        text: The phone as written or as read from a cell.

    Returns:
        Eleven ASCII digits, or None when not exactly 11 digits remain (an
        8-digit local number, an extension, two numbers in one cell).
    """
    if text is None or isinstance(text, bool):
        return None
    raw = unicodedata.normalize("NFKC", str(text)).strip().lower()
    compact = re.sub(r"\s+", "", raw)
    if _SCIENTIFIC.match(compact):
        try:
            value = Decimal(compact)
        except InvalidOperation:  # pragma: no cover - the regex already checked
            return None
        if value != value.to_integral_value():
            return None
        compact = str(int(value))
    elif m := _FLOAT_TAIL.match(compact):
        compact = m.group(1)
    international = compact.startswith(("+", "00"))
    digits = re.sub(r"[^0-9]", "", compact)
    if digits.startswith("0086") and len(digits) in (14, 15):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) in (12, 13):
        digits = digits[2:]
    else:
        international = False
    if international and len(digits) == 10 and not digits.startswith(("0", "1")):
        # +86 21 62345678: the domestic form has a leading 0 before the area code.
        digits = "0" + digits
    return digits if len(digits) == 11 else None


# ---------------------------------------------------------------------------
# Room numbers
# ---------------------------------------------------------------------------


def _room_text(room: str | None) -> str:
    """Reduce a room number to its key form: ASCII, lower-case, no 室, digits."""
    text = _clean(room or "")
    text = text.removesuffix("室")
    if text and all(ch in _NUMERAL_CHARS for ch in text):
        text = _numeral_run_to_digits(text)
    return text


def room_distance(a: str | None, b: str | None) -> tuple[int, str]:
    """Compare two room numbers.

    The distance is the optimal-string-alignment edit distance, in which an
    adjacent transposition costs 1 (302 vs 320 is one slip of the finger, not
    two). Rooms are first reduced to key form, so ``301室``, ``301``, ``３０１``
    and ``三〇一`` are all equal.

    Args:
        a: One room number.
        b: The other.

    Returns:
        ``(distance, kind)`` where kind is ``"equal"``, ``"swap"`` (one adjacent
        transposition), ``"typo"`` (one substituted character) or
        ``"different"`` (anything else, including one character added or
        missing).
    """
    ra, rb = _room_text(a), _room_text(b)
    if ra == rb:
        return 0, "equal"
    osa = OSA.distance(ra, rb)
    if osa == 1:
        lev = Levenshtein.distance(ra, rb)
        if lev == 2:
            return 1, "swap"
        if len(ra) == len(rb):
            return 1, "typo"
    return osa, "different"
