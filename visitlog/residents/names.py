"""The head's name as written, and the people it names.

Committees write heads' names as they speak of them: 老王, 阿英, 小李 (a
surname or the last character only), 王阿姨, 张老师 (surname and an
honorific), 王秀英（已故） and 李强(户主) (a remark in the cell), 王秀英/冯玲建
(two heads), 王*国 (masked by another system), 張偉 (traditional
characters), ``王　秀英`` and ``王.秀英`` (full-width or stray spaces and
dots).  :func:`read_name` keeps the written text and says who is named and
how much of each name is known; :func:`name_key` is the understood form
that search and matching use.

Traditional characters are read with OpenCC's traditional→simplified
tables (the opencc-python-reimplemented package: pure Python, the same
dictionaries as OpenCC itself, loaded on first use), so 張偉 and 张伟 are
one name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

__all__ = ["NameReading", "Person", "name_key", "read_name", "simplified"]

#: Honorifics written after a surname (王阿姨, 张老师).
HONORIFICS = (
    "老师傅",
    "老太太",
    "老先生",
    "阿姨",
    "老师",
    "阿婆",
    "师傅",
    "伯伯",
    "先生",
    "女士",
    "阿伯",
    "阿叔",
    "叔叔",
    "大爷",
    "大妈",
    "奶奶",
    "爷爷",
    "婆婆",
    "老伯",
    "小姐",
    "同志",
)
#: Remarks written in brackets in the name cell, and what they mean.
_REMARK = re.compile(r"[（(【\[［〔]([^（()）【】\[\]［］〔〕]{0,12})[）)】\]］〕]")
_SPLIT = re.compile(r"[/／、,，;；&＆|+＋]|\s+和\s+|和(?=[\u4e00-\u9fff]{2})")
_STRAY = re.compile(r"[\s.。·•・,，_\-]+")
_MASK = re.compile(r"[*＊×xX○〇?？]")
_CJK = re.compile(r"^[\u3400-\u9fff\U00020000-\U0003134f]+$")


@cache
def _converter() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


@cache
def _t2s_keys() -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """What OpenCC's t2s can change: characters it maps to another, and its phrases.

    A text with none of those characters and none of the phrases is left as
    it is by the conversion, which is slow (a tenth of a millisecond a name):
    reading 50,000 heads for de-duplication asks first whether there is
    anything to convert.
    """
    from pathlib import Path

    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    changing: set[str] = set()
    for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if values[: len(key)] != key or values[len(key) : len(key) + 1] not in ("", " "):
            changing.add(key)
    phrases: dict[str, list[str]] = {}
    for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key = line.partition("\t")[0]
        if key:
            phrases.setdefault(key[0], []).append(key)
    return frozenset(changing), {k: tuple(v) for k, v in phrases.items()}


def _needs_t2s(text: str) -> bool:
    changing, phrases = _t2s_keys()
    if not changing.isdisjoint(text):
        return True
    return any(key in text for ch in set(text) & phrases.keys() for key in phrases[ch])


def simplified(text: str) -> str:
    """*text* in simplified characters (OpenCC t2s); ASCII and simplified text unchanged."""
    if not text or text.isascii():
        return text
    if not _needs_t2s(text):
        return text
    return _converter().convert(text)


@dataclass(frozen=True)
class Person:
    """One person named in a head's cell, as far as the cell tells.

    Attributes:
        full: the whole name (simplified) when the cell gives it, else None.
        surname: the surname when known (老王 → 王), else None.
        last: the last character when known (阿英 → 英, 王*国 → 国), else None.
        length: how many characters the name has, when known (王*国 → 3).
    """

    full: str | None = None
    surname: str | None = None
    last: str | None = None
    length: int | None = None

    @property
    def text(self) -> str:
        """The person as understood: the full name, or its known parts with * (王*, *英)."""
        if self.full:
            return self.full
        middle = "*" * max((self.length or 2) - 2, 0) if self.surname and self.last else ""
        return f"{self.surname or '*'}{middle}{self.last or '*'}"


@dataclass(frozen=True)
class NameReading:
    """What a head's cell says.

    Attributes:
        written: the cell as written (stripped).
        people: the people named, in the order written.
        remarks: bracketed remarks (已故, 户主, 租客…) without brackets.
        forms: how the name was written: any of ``nickname``, ``honorific``,
            ``masked``, ``two_heads``, ``traditional``, ``remark``, ``spacing``.
        warnings: ``name_partial`` when some person is known only in part.
    """

    written: str
    people: tuple[Person, ...] = ()
    remarks: tuple[str, ...] = ()
    forms: tuple[str, ...] = ()

    @property
    def full_names(self) -> tuple[str, ...]:
        """The whole names understood."""
        return tuple(p.full for p in self.people if p.full)

    @property
    def warnings(self) -> tuple[str, ...]:
        return ("name_partial",) if any(p.full is None for p in self.people) else ()

    @property
    def key(self) -> str:
        """The understood form: each person's :attr:`Person.text`, joined with ``/``."""
        return "/".join(p.text for p in self.people)


def _person(part: str, forms: set[str]) -> Person | None:
    """One person from one part of the cell (already simplified, no remarks)."""
    if not part:
        return None
    if _MASK.search(part) and not part.isascii():
        chars = _MASK.sub("*", part)
        forms.add("masked")
        surname = chars[0] if chars[0] != "*" else None
        last = chars[-1] if chars[-1] != "*" else None
        return Person(surname=surname, last=last, length=len(chars))
    if not _CJK.match(part):
        # Latin letters or other scripts: keep as a whole name.
        return Person(full=part, length=len(part))
    for honorific in HONORIFICS:
        if part.endswith(honorific) and 1 <= len(part) - len(honorific) <= 2:
            forms.add("honorific")
            return Person(surname=part[: -len(honorific)])
    if len(part) == 2 and part[0] in "老小":
        forms.add("nickname")
        return Person(surname=part[1])
    if len(part) == 2 and part[0] == "阿":
        forms.add("nickname")
        return Person(last=part[1])
    if len(part) == 1:
        return Person(surname=part)
    return Person(full=part, surname=part[0], last=part[-1], length=len(part))


@lru_cache(maxsize=8192)
def _read(text: str) -> NameReading:
    written = text.strip()
    norm = unicodedata.normalize("NFKC", written)
    forms: set[str] = set()
    remarks = tuple(r.strip() for r in _REMARK.findall(norm) if r.strip())
    if remarks or _REMARK.search(norm):
        forms.add("remark")
        norm = _REMARK.sub(" ", norm)
    simple = simplified(norm)
    if simple != norm:
        forms.add("traditional")
    parts = [p for p in _SPLIT.split(simple) if p.strip()]
    if len(parts) == 1:
        # 王秀英 冯玲建 (two names) or 王 秀英 (a stray space)?
        words = parts[0].split()
        if len(words) > 1 and all(len(w) >= 2 for w in words) and all(_CJK.match(w) for w in words):
            parts = words
    people: list[Person] = []
    for part in parts:
        cleaned = _STRAY.sub("", part)
        if cleaned != part.strip():
            forms.add("spacing")
        person = _person(cleaned, forms)
        if person is not None and person not in people:
            people.append(person)
    if len(people) > 1:
        forms.add("two_heads")
    order = ("nickname", "honorific", "masked", "two_heads", "traditional", "remark", "spacing")
    return NameReading(
        written=written,
        people=tuple(people),
        remarks=remarks,
        forms=tuple(f for f in order if f in forms),
    )


def read_name(value: str | None) -> NameReading:
    """Read a head's cell. Never raises; an empty cell names nobody."""
    if value is None:
        return NameReading(written="")
    return _read(str(value))


def name_key(value: str | None) -> str:
    """The understood form of a head's cell, for search and matching (see :attr:`NameReading.key`).

    ``王秀英（已故）`` → ``王秀英``, ``張偉`` → ``张伟``, ``王秀英/冯玲建`` →
    ``王秀英/冯玲建``, ``王阿姨`` → ``王*``, ``王*国`` → ``王*国``; "" for an
    empty cell.
    """
    return read_name(value).key
