"""Dwellings under any address system: estate names, 门牌 road and lane, short names.

Shanghai writes one dwelling in several ways: by the estate's name
(曹杨一村21号402室), by its 门牌 road and lane (花溪路45弄21-402), by both
(曹杨七村（兰溪路137弄）60号401室), by a short name (一村, 7村, 桂巷), or
with no estate at all while the roster's 小区 column names it.  Rooms are
written zero-padded (0202室) or two at once (301-302室).

:func:`read_dwelling` reads a normalised address key into its *place* (the
estate part: a name, a road and lane, or both), building and rooms.
:class:`AliasBook` learns from the data which places name one estate:

* ``both``   an address giving the name and the road and lane together;
* ``column`` the 小区 column naming an estate while the address gives a road
  and lane;
* ``short``  a name that ends or begins another name of the same 居民区
  (一村 is 曹杨一村 in 曹杨一村居民区, 长风一村 in 长风一村居民区);
* ``people`` two records agreeing on the person (one full name, one mobile
  number shared by nobody else) and on building and room, under two places;
* ``merge``  a confirmed merge of records under two places.

Workers confirm or reject aliases (``visitlog address aliases``,
:mod:`visitlog.dedup.places`); those decisions are kept in the synced table
``address_aliases`` (:func:`stored_aliases`) and win over what is learned.  Every place is then read as its estate, so aliases apply
to every pair, including those that share neither a phone nor a name.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from visitlog.address import normalize_address, parse_key

if TYPE_CHECKING:  # pragma: no cover
    from visitlog.store import Store

__all__ = [
    "Alias",
    "AliasBook",
    "Dwelling",
    "alias_id",
    "alias_kind",
    "column_key",
    "read_dwelling",
    "split_place",
    "stored_aliases",
]

# A normalised key: place, building, an optional 单元, one or two rooms, 室.
_DWELLING = re.compile(
    r"^(?P<place>.*?)(?P<bld>[0-9]+[a-z]?)(?:号|-)(?:[0-9]+单元)?"
    r"(?P<rooms>[0-9]+[a-z]?(?:(?:号|-)[0-9]+[a-z]?)?)室?$"
)
_ROOM_SPLIT = re.compile(r"号|-")
# 花溪路45弄 inside a place: a road (up to five characters ending in 路, 街 or
# 道, not running back into an estate name before it) and a lane.
_GATE = re.compile(r"(?:[\u3400-\u9fff](?<![村园苑城庭居坊里区])){1,5}?(?:路|街|道)[0-9]+弄")


@dataclass(frozen=True, slots=True)
class Dwelling:
    """What an address key says of the dwelling.

    Attributes:
        name: the estate name in the place (曹杨1村, 1村), or "".
        gate: the 门牌 road and lane in the place (花溪路45弄), or "".
        building: the building number without leading zeros, or None.
        rooms: the room numbers without leading zeros (two for 301-302室).
    """

    name: str
    gate: str
    building: str | None
    rooms: tuple[str, ...]


def _unpad(number: str, keep: int = 1) -> str:
    """037 → 37, 0202 → 202 (keeping at least *keep* digits: 041 stays a slip for 401)."""
    while len(number) > keep and number[0] == "0":
        number = number[1:]
    return number


@lru_cache(maxsize=4096)
def split_place(place: str) -> tuple[str, str]:
    """(name, gate) of a normalised place: 曹杨7村兰溪路137弄 → (曹杨7村, 兰溪路137弄)."""
    m = _GATE.search(place)
    if not m:
        return place, ""
    return (place[: m.start()] + place[m.end() :]).strip("-"), m.group(0)


def read_dwelling(key: str) -> Dwelling:
    """Read a normalised address key (:func:`visitlog.address.normalize_address`)."""
    m = _DWELLING.match(key)
    if m:
        place, bld, rooms_text = m.groups()
        name, gate = split_place(place.strip("-") if "-" in place else place)
        if rooms_text.isdigit():
            rooms: tuple[str, ...] = (
                _unpad(rooms_text, 3) if rooms_text[0] == "0" else rooms_text,
            )
        else:
            rooms = tuple(dict.fromkeys(_unpad(r, 3) for r in _ROOM_SPLIT.split(rooms_text) if r))
        return Dwelling(name, gate, _unpad(bld) if bld[0] == "0" else bld, rooms)
    parts = parse_key(key)
    name, gate = split_place(parts.estate or "")
    building = _unpad(parts.building) if parts.building else None
    rooms = (_unpad(parts.room, 3),) if parts.room else ()
    return Dwelling(name, gate, building, rooms)


# -- aliases -------------------------------------------------------------------------------


@dataclass
class Alias:
    """One alias: *alias* names the same estate as *target*.

    Attributes:
        alias: a road and lane (花溪路45弄) or a short name (1村), normalised.
        target: the estate name (曹杨1村), normalised.
        kind: ``gate`` or ``short``.
        scope: the 居民区 a short name is read in ("" for a road and lane).
        sources: evidence counted per source (``both``, ``column``, ``short``,
            ``people``, ``merge``).
        status: ``learned``, ``confirmed`` (a worker added it) or ``rejected``.
    """

    alias: str
    target: str
    kind: str
    scope: str = ""
    sources: Counter[str] = field(default_factory=Counter)
    status: str = "learned"

    @property
    def evidence(self) -> int:
        return sum(self.sources.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "target": self.target,
            "kind": self.kind,
            "scope": self.scope,
            "status": self.status,
            "evidence": self.evidence,
            "sources": dict(sorted(self.sources.items())),
        }


#: Evidence a learned alias needs, by source (an address giving both systems
#: is explicit; two records agreeing on the person could be one owner's two flats).
_NEEDED = {"both": 1, "column": 1, "short": 1, "people": 2, "merge": 1}


def alias_kind(alias: str) -> str:
    """``gate`` for a road and lane (花溪路45弄), ``short`` for any other place name."""
    return "gate" if _GATE.fullmatch(alias) else "short"


def alias_id(alias: str, target: str, scope: str = "") -> str:
    """The id of a stored alias decision: derived, so two replicas deciding one alias agree."""
    digest = hashlib.sha1(f"{scope}|{alias}|{target}".encode()).hexdigest()
    return f"alias-{digest[:24]}"


class AliasBook:
    """Which places name one estate: learned from the records and kept decisions.

    Feed it with :meth:`see` (every record's place and 小区 column) and
    :meth:`see_people` (records that agree on the person), then
    :meth:`settle`; :meth:`estate` gives the estate of a place.
    """

    def __init__(self, decisions: Iterable[dict[str, Any]] = ()) -> None:
        self._votes: dict[tuple[str, str, str, str], Counter[str]] = defaultdict(Counter)
        self._names: dict[str, Counter[str]] = defaultdict(Counter)  # scope → names seen
        self._decided: dict[tuple[str, str, str], str] = {}  # (scope, alias, target) → status
        self._kinds: dict[tuple[str, str, str], str] = {}
        for d in decisions:
            key = (d.get("scope") or "", d["alias"], d["target"])
            self._decided[key] = d["status"]
            self._kinds[key] = d.get("kind") or alias_kind(d["alias"])
        self._map: dict[tuple[str, str], str] = {}
        self.aliases: list[Alias] = []

    # -- learning
    def see(self, scope: str, name: str, gate: str, column: str | None, count: int = 1) -> None:
        """*count* records with this place (estate name, road and lane) and 小区 column."""
        if name:
            self._names[scope][name] += count
        if column:
            self._names[scope][column] += count
        if gate and name:
            self._votes[("", gate, name, "gate")]["both"] += count
        elif gate and column:
            self._votes[("", gate, column, "gate")]["column"] += count

    def see_people(self, a: Dwelling, b: Dwelling, source: str = "people") -> None:
        """Two records of one household (by the people, or merged): their places name one estate."""
        for x, y in ((a, b), (b, a)):
            if x.gate and not x.name and y.name and not y.gate:
                self._votes[("", x.gate, y.name, "gate")][source] += 1

    def settle(self) -> None:
        """Decide the aliases in force (learned with enough evidence, confirmed, not rejected)."""
        found: dict[tuple[str, str, str], Alias] = {}
        # Short names: within one 居民区, a name that ends or begins exactly one longer name.
        for scope, names in self._names.items():
            for short in names:
                longer = [
                    n
                    for n in names
                    if len(n) > len(short)
                    and (n.endswith(short) or n.startswith(short))
                    and not _GATE.search(n)
                ]
                if len(longer) == 1 and not _GATE.search(short):
                    a = Alias(short, longer[0], "short", scope)
                    a.sources["short"] = names[short]
                    found[(scope, short, longer[0])] = a
        # Roads and lanes: the estate most of the evidence names.
        by_gate: dict[str, list[tuple[str, Counter[str]]]] = defaultdict(list)
        for (_scope, gate, name, _kind), votes in self._votes.items():
            by_gate[gate].append((name, votes))
        for gate, options in by_gate.items():
            # A vote naming a short name counts for its estate where it is known.
            total = sum(sum(v.values()) for _, v in options)
            for name, votes in options:
                enough = any(votes[s] >= _NEEDED[s] for s in votes)
                if enough and sum(votes.values()) * 5 >= total * 4:
                    a = Alias(gate, name, "gate", "", Counter(votes))
                    found[("", gate, name)] = a
        # Decisions win: rejected ones go, confirmed ones come in.
        for key, status in self._decided.items():
            if status == "rejected":
                if key in found:
                    found[key].status = "rejected"
                else:
                    scope, alias, target = key
                    found[key] = Alias(alias, target, self._kinds[key], scope, status="rejected")
            else:
                scope, alias, target = key
                a = found.get(key) or Alias(alias, target, self._kinds[key], scope)
                a.status = "confirmed"
                found[key] = a
        self.aliases = sorted(found.values(), key=lambda a: (a.kind, a.scope, a.alias, a.target))
        mapping: dict[tuple[str, str], str] = {}
        for a in self.aliases:
            if a.status != "rejected":
                mapping[(a.scope, a.alias)] = a.target
        # Follow chains (a road to a short name to the estate), never in a circle.
        resolved: dict[tuple[str, str], str] = {}
        for (scope, alias), target in mapping.items():
            seen = {alias}
            while True:
                nxt = mapping.get((scope, target)) or mapping.get(("", target))
                if nxt is None or nxt in seen:
                    break
                seen.add(target)
                target = nxt
            resolved[(scope, alias)] = target
        self._map = resolved

    # -- kept between runs
    def state(self) -> dict[str, Any]:
        """What :meth:`estate` reads, and the aliases settled (JSON-ready)."""
        return {
            "map": sorted([scope, alias, target] for (scope, alias), target in self._map.items()),
            "aliases": [
                [a.alias, a.target, a.kind, a.scope, a.status, dict(a.sources)]
                for a in self.aliases
            ],
        }

    @classmethod
    def from_state(cls, state: Any) -> AliasBook:
        """A settled book that reads places as the one whose :meth:`state` this is.

        Raises:
            ValueError: *state* is not one.
        """
        book = cls()
        try:
            book._map = {(str(s), str(a)): str(t) for s, a, t in state["map"]}
            book.aliases = [
                Alias(str(a), str(t), str(k), str(s), Counter(sources), str(st))
                for a, t, k, s, st, sources in state["aliases"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("not an alias book") from exc
        return book

    # -- reading
    def estate(self, scope: str, dwelling: Dwelling, column: str | None) -> str | None:
        """The estate a record's place names (None when neither place nor column names one)."""
        m = self._map
        if dwelling.name:
            name = dwelling.name
            return m.get((scope, name)) or m.get(("", name)) or name
        if dwelling.gate:
            gate = dwelling.gate
            found = m.get(("", gate))
            if found:
                return m.get((scope, found)) or found
            if column:
                return m.get((scope, column)) or column
            return gate
        if column:
            return m.get((scope, column)) or m.get(("", column)) or column
        return None


def column_key(estate: str | None) -> str | None:
    """The 小区 column as a place name (None when empty or when it reads as a building/room)."""
    if not estate:
        return None
    key = normalize_address(estate)
    if not key or parse_key(key).building:
        return None
    return split_place(key)[0] or key


# -- the stored decisions ---------------------------------------------------------------------


def stored_aliases(store: Store) -> list[dict[str, Any]]:
    """The workers' alias decisions (confirmed and rejected), from any replica."""
    rows = store.query(
        "SELECT id, alias, target, kind, scope, status, worker, note FROM address_aliases "
        "WHERE deleted = 0 ORDER BY alias, target"
    )
    return [dict(r) for r in rows]
