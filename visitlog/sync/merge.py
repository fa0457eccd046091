"""The merge rules: per-field last-writer-wins, tombstones, conflicts, held and late work.

These rules know no engine: they decide from changes and rows as plain
values, and each engine (:mod:`visitlog.sync.sqlite`) stores what they decide.

A change names one row and the fields it set (``data``), stamped ``(hlc,
device)``; an update also carries ``base``, the stamps those fields had on
its author's replica when it was made.  Applying is per field: a field takes
the value of the change with the highest stamp that set it, so the result
does not depend on the order changes arrive in (commutative, associative),
and a change already held is skipped by its ``(device, seq)`` (idempotent).
``deleted`` is a field like any other, so a tombstone wins or loses by its
stamp.

A **conflict** is a value nobody saw before it was overwritten: for one
field, a change that is not the winner, that no other change overwrote
knowingly (no change has it as its ``base``), and whose value no later
change carries.  Because that is decided from the set of changes alone,
every replica holding the same changes records the same conflicts, under
ids derived from what they record; conflicts therefore never travel between
replicas and a repeated sync of converged replicas moves nothing.

**Late work.**  A change may arrive before the row it edits (a bundle made
``--for`` a hub that was since restored from an older copy), and a new item
or visit before the visit or household it belongs to (:data:`PARENTS`).
Such changes are kept in the log and the row is remembered as an *orphan*;
every later apply looks at those rows again, and builds or recomputes them
as soon as what they need has arrived, so the result is the same as if
everything had come in order.

**Far-future stamps.**  A change stamped more than a day
(:data:`~visitlog.clock.MAX_AHEAD_MS`) ahead of this replica's wall clock is
*held*: kept in the log, forwarded and counted like any other, but ranked
below every change that is not held (:class:`Rank`), so it never beats an
edit made with a right clock (it still applies where nothing else set the
field: a visit recorded on a laptop whose date was wrong is not lost).  The
values it loses become conflicts naming its device, restorable as new edits
stamped now.  Which changes are held depends only on their stamps and this
replica's clock, so replicas whose clocks are right hold the same ones and
converge; each engine remembers them so that they take their place when the
clock reaches them (or a replica whose clock was wrong and was put right
holds the changes it stamped in the future).

**A later edit to a deleted row** made by someone who had not seen the
delete (its ``base`` records the ``deleted`` stamp its author saw, under
``"~deleted"``) does not revive the row, but is not silently lost either:
it is kept as a conflict on the row's ``deleted`` field (losing value 0,
"not deleted"); restoring it brings the row back.

What lives here: :class:`Receiver` (the order of a device's changes, gaps
and replays, which stamps are held, how the clock follows), :func:`fold_row`
(a row, or the row to insert, from its whole change log, with the conflicts
that log makes), :func:`missing` (what a peer lacks), and the derived values
every replica computes alike.  What an engine provides around them: its
change log, the rows and their stamps, the conflict records, and where it
keeps orphans and held changes (see :class:`visitlog.sync.interface.Applier`
and :mod:`visitlog.sync.sqlite`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from visitlog.address import household_key
from visitlog.clock import Stamp, horizon, now_iso
from visitlog.clock import now_ms as clock_ms
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.residents import phone_numbers
from visitlog.rows import jdump
from visitlog.store import conflict_id
from visitlog.sync.interface import Change, Ranges
from visitlog.sync.validate import check_change

#: The rows a row needs before it can exist here (its foreign keys).
PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "visits": (("household_id", "households"),),
    "items": (("visit_id", "visits"), ("household_id", "households")),
}
#: Tables whose rows a later edit keeps from vanishing under a delete it had not seen.
DELETE_GUARDED = ("households", "visits", "items")
#: The order rows are recomputed in: parents first (a visit that waited for
#: its household is built before the items that waited for the visit).
TABLE_ORDER = ("households", "visits", "items")
_PARENTS_FIRST = {tbl: n for n, tbl in enumerate(TABLE_ORDER)}

#: A stamp: ``(hlc, device)``.
StampPair = tuple[str, str]
#: One change of a row's log as :func:`fold_row` reads it:
#: ``(hlc, device, op, data, base)`` (data and base JSON text).
LogEntry = tuple[str, str, str, str, str | None]


class GapError(VisitlogError):
    """Changes of a device arrived with a hole before them: refused whole."""


class ReplayError(VisitlogError):
    """A change numbered like one already held, with other content: refused whole.

    Two databases numbered different changes alike: one of them was restored
    from a backup or copied and wrote changes before it could notice.
    """


#: The ``op`` of a *skip*: a sender that may not pass on some changes of a
#: device (a PostgreSQL hub shipping to a station, which may read only its
#: own households) sends, in their place, one skip covering their numbers.
#: Logged at its last number, it moves the receiver's version vector past
#: them; it names no row and changes none.
SKIP = "skip"


def skip_change(device: str, first: int, last: int) -> Change:
    """The skip standing for changes ``first..last`` of *device*."""
    return (device, last, "", "", "", SKIP, jdump({"first": first}), None)


def skip_first(ch: Change) -> int:
    """The first number a skip covers."""
    try:
        first = json.loads(ch[6]).get("first")
    except (ValueError, AttributeError):
        first = None
    if not isinstance(first, int) or not 1 <= first <= ch[1]:
        raise GapError(t("sync.err.bad_skip", device=ch[0], seq=ch[1]))
    return first


def horizon_after(stamp: str, ms: int) -> str:
    """The stamp *ms* milliseconds after *stamp* (text, comparable)."""
    parsed = Stamp.parse(stamp)
    return str(Stamp(parsed.ms + ms, parsed.counter))


def missing(have: dict[str, int], peer: dict[str, int]) -> Ranges:
    """Per device, the seq range ``(first, last)`` that ``have`` holds and ``peer`` lacks."""
    return {d: (peer.get(d, 0) + 1, seq) for d, seq in sorted(have.items()) if seq > peer.get(d, 0)}


# -- values derived alike on every replica ----------------------------------------------


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.UTC).isoformat(timespec="seconds")


def created_at_of(hlc: str, data: dict[str, Any] | None = None) -> str:
    """``created_at`` of a received row, the same on every replica.

    An insert carries the ``created_at`` its author stored; inserts made by
    older visitlogs do not, and their row takes the time of the insert stamp
    (derived from the stamp, not the receiver's clock).
    """
    carried = data.get("created_at") if data else None
    if isinstance(carried, str) and carried:
        return carried
    try:
        return _iso_second(int(hlc[:13]) // 1000)
    except (ValueError, OverflowError, OSError):
        return now_iso()


@functools.lru_cache(maxsize=65536)
def address_key(address: str | None, estate: str | None = None) -> str | None:
    """The normalised address kept beside a household (not synced: derived).

    Read with the 小区 when the address names no estate
    (:func:`visitlog.address.household_key`).
    """
    if address is None:
        return None
    return household_key(address, estate)


@functools.lru_cache(maxsize=65536)
def phones_of(phone: str | None) -> str | None:
    """The numbers understood from a household's contact (not synced: derived):
    a JSON list, None when the contact holds no number."""
    if not phone:
        return None
    numbers = phone_numbers(phone)
    return jdump(numbers) if numbers else None


# -- receiving --------------------------------------------------------------------------


@dataclass
class Sorted:
    """A batch of received changes as :meth:`Receiver.sort` sorts it."""

    #: Changes new here, in the order received (to be logged).
    fresh: list[Change]
    #: Per table, ``(row_id, hlc, device, data)`` of new inserts, and
    #: ``data`` decoded (as the check decoded it).
    inserts: dict[str, list[tuple[str, str, str, str, dict[str, Any]]]] = field(
        default_factory=dict
    )
    #: ``(tbl, row_id)`` of rows an update changed (to be recomputed).
    touched: list[tuple[str, str]] = field(default_factory=list)
    #: ``(device, seq, tbl, row_id, hlc)`` of changes held as far ahead.
    held: list[tuple[str, int, str, str, str]] = field(default_factory=list)
    #: ``(device, seq)`` of skips logged here that a change now takes the
    #: place of (to be removed before ``fresh`` is logged; a shorter skip,
    #: if any, is in ``fresh``).
    replaced: list[tuple[str, int]] = field(default_factory=list)


class Receiver:
    """What every engine's applier does alike: the order of received changes,
    their check, which are held, and how far the clock follows them.

    Args:
        vv: what the receiving replica holds, ``{device: highest seq}``.
        held_change: the change numbered ``(device, seq)`` held here, if any.
        now_ms: the wall clock, for holding stamps far in the future.
    """

    def __init__(
        self,
        vv: dict[str, int],
        held_change: Callable[[str, int], Change | None],
        now_ms: Callable[[], int] | None = None,
    ):
        self.vv = vv
        self._held_change = held_change
        self.received: Counter[str] = Counter()
        self.max_hlc: str | None = None
        #: device → [count, highest stamp] of stamps more than a day ahead.
        self.skew: dict[str, list[Any]] = {}
        #: id → record of conflicts first recorded on this replica by this apply.
        self.new_conflicts: dict[str, dict[str, Any]] = {}
        self._now_ms = now_ms or clock_ms
        #: Stamps above this are held (see the module doc).
        self.bound = horizon(self._now_ms())
        self._ahead = self.bound

    def sort(self, batch: Sequence[Change]) -> Sorted | None:
        """Check a batch and sort out what is new here; None when nothing is.

        Raises:
            GapError: a change's predecessors from the same device are missing.
            ReplayError: a change has the number of one held here but other
                content (a database restored from a backup or copied, which
                numbered new changes again).
            InvalidChange: a change does not fit the model
                (:mod:`visitlog.sync.validate`).
        """
        fresh: list[Change] = []
        decoded: list[dict[str, Any]] = []
        skips: list[Change] = []
        replaced: list[tuple[str, int]] = []
        taken: set[tuple[str, int]] = set()
        for ch in batch:
            device, seq = ch[0], ch[1]
            have = self.vv.get(device, 0)
            if ch[5] == SKIP:
                first = skip_first(ch)
                if seq <= have:
                    continue  # this replica is past it already
                if first > have + 1:
                    raise GapError(t("sync.err.gap", device=device, have=have, first=first))
                self.vv[device] = seq
                skips.append(ch)
                continue
            values = check_change(ch)  # the whole receive is refused on the first invalid change
            if seq <= have:
                held = self._held_change(device, seq)
                if held is None or held[5] == SKIP:
                    # A change this replica skipped (it may see the row now):
                    # taken in its place, the vector does not move.
                    fresh.append(ch)
                    decoded.append(values)
                    taken.add((device, seq))
                    if held is not None:
                        replaced.append((device, seq))
                        # The rest of the skip stands for what is still not
                        # here: below the changes already taken in its range
                        # (a household moved in brings several, in order).
                        first, top = skip_first(held), seq - 1
                        while top >= first and (
                            (device, top) in taken or self._held_change(device, top) is not None
                        ):
                            top -= 1
                        if top >= first:
                            skips.append(skip_change(device, first, top))
                elif tuple(held) != tuple(ch):
                    raise ReplayError(t("sync.err.replayed", device=device, seq=seq))
                continue  # already held: re-sent changes change nothing
            if seq != have + 1:
                raise GapError(t("sync.err.gap", device=device, have=have, first=seq))
            self.vv[device] = seq
            fresh.append(ch)
            decoded.append(values)
        if not fresh and not skips:
            return None
        out = Sorted([*fresh, *skips], replaced=replaced)
        top = self.max_hlc or ""
        ahead = self._ahead
        for (device, seq, tbl, row_id, hlc, op, data, _base), values in zip(
            fresh, decoded, strict=True
        ):
            self.received[tbl] += 1
            if top < hlc <= ahead:
                top = hlc  # the clock follows every stamp but those it holds
            if hlc > ahead:
                self.note_skew(device, hlc)
                out.held.append((device, seq, tbl, row_id, hlc))
            if op == "insert":
                out.inserts.setdefault(tbl, []).append((row_id, hlc, device, data, values))
            else:
                out.touched.append((tbl, row_id))
        if len(out.inserts) > 1:
            # Parents first, whatever order the devices came in: a visit whose
            # household is in the same batch goes in at once, not as an orphan
            # built later row by row.
            out.inserts = dict(
                sorted(
                    out.inserts.items(), key=lambda kv: _PARENTS_FIRST.get(kv[0], len(TABLE_ORDER))
                )
            )
        self.max_hlc = top
        return out

    def note_skew(self, device: str, hlc: str) -> None:
        """Count a change of ``device`` held as far ahead."""
        entry = self.skew.setdefault(device, [0, hlc])
        entry[0] += 1
        entry[1] = max(entry[1], hlc)

    def skewed(self) -> list[dict[str, Any]]:
        """The stamps held as more than a day ahead of this replica's clock, per device."""
        now = self._now_ms()
        return [
            {
                "device": device,
                "count": count,
                "hlc": top,
                "ahead_hours": round((Stamp.parse(top).ms - now) / 3_600_000, 1),
                "held": True,
            }
            for device, (count, top) in sorted(self.skew.items())
        ]


# -- a row from its change log ----------------------------------------------------------


class Rank:
    """Orders stamps ``(hlc, device)`` with held ones (above *bound*) below all others."""

    def __init__(self, bound: str):
        self.bound = bound

    def __call__(self, stamp: StampPair) -> tuple[bool, str, str]:
        return (stamp[0] <= self.bound, stamp[0], stamp[1])

    def cand(self, cand: tuple[StampPair, Any]) -> tuple[bool, str, str]:
        return self(cand[0])


@dataclass
class Fold:
    """What the whole change log of one row decides (:func:`fold_row`).

    For a row not here yet: ``insert`` is the row to insert once its parents
    are here (``parents``: the data naming them), or None when its insert has
    not arrived.  For a row here: ``sets`` are the columns to write.  Either
    way ``conflicts`` is every conflict its log makes, by id (recorded when
    the row is written).
    """

    insert: dict[str, Any] | None = None
    parents: dict[str, Any] = field(default_factory=dict)
    sets: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


def fold_row(
    tbl: str,
    rid: str,
    row: dict[str, Any] | None,
    log: Sequence[LogEntry],
    bound: str,
) -> Fold:
    """A row recomputed from its whole change log.

    Args:
        row: the row as stored (its synced fields, ``stamps``, ``hlc``,
            ``device``, ``created_at`` and derived columns), None when absent.
        log: every change of the row held here, in any order.
        bound: stamps above it are held.
    """
    rank = Rank(bound)
    fields = SYNCED_FIELDS[tbl]
    parsed = [
        ((hlc, device), op, json.loads(data), json.loads(base) if base else None)
        for hlc, device, op, data, base in log
    ]
    inserts = [(stamp, data) for stamp, op, data, _ in parsed if op == "insert"]
    first = max(inserts, key=lambda x: rank(x[0])) if inserts else None
    old_stamps = json.loads(row["stamps"]) if row and row["stamps"] else {}
    updated = {f for _, op, data, _ in parsed if op != "insert" for f in data}
    # Only fields some update touched can have changed: with one insert,
    # every other field keeps the insert's value and stamp.
    if row is None or len(inserts) != 1:
        relevant = set(fields)
    else:
        relevant = (updated | old_stamps.keys()) & set(fields)
        if updated and tbl in DELETE_GUARDED:
            relevant.add("deleted")
    cands: dict[str, list[tuple[StampPair, Any]]] = {f: [] for f in relevant}
    based: dict[str, set[StampPair]] = {f: set() for f in relevant}
    for stamp, _op, data, base in parsed:
        for f in relevant.intersection(data):
            cands[f].append((stamp, data[f]))
        for f, b in (base or {}).items():
            if f in based and isinstance(b, list) and len(b) == 2:
                based[f].add((b[0], b[1]))

    if row is None:
        if first is None:
            return Fold()  # its insert has not arrived: a later merge builds it
        # A row built from its log (it came before its household or visit)
        # makes the same conflicts as one inserted first and folded after.
        deleted = max(cands["deleted"], key=rank.cand) if cands.get("deleted") else None
        wanted = _unseen_delete(tbl, rid, parsed, deleted, rank)
        wanted.update(_conflicts(tbl, rid, cands, based, rank))
        return Fold(
            insert=_folded_insert(tbl, rid, cands, first[0], first[1], rank),
            parents=first[1],
            conflicts=wanted,
        )

    old_default = tuple(old_stamps.get("*") or (row["hlc"], row["device"]))
    # With two inserts under one id, every replica takes the later as the
    # default stamp, so all of them write the same stamps.
    default = first[0] if first is not None else old_default
    winners: dict[str, tuple[StampPair, Any]] = {}
    for f in relevant:
        current = (tuple(old_stamps.get(f) or old_default), row[f])
        pool = cands[f] or [current]
        best = max(pool, key=rank.cand)
        if rank(current[0]) > rank(best[0]):
            best = current  # state from outside the log (should not happen): keep it
        winners[f] = best
    stamps: dict[str, list[str]] = {
        f: list(w[0]) for f, w in winners.items() if w[0] != tuple(default)
    }
    new_stamps = {"*": list(default), **stamps} if stamps else None
    top = max([tuple(default), *(w[0] for w in winners.values())], key=rank)
    sets: dict[str, Any] = {f: w[1] for f, w in winners.items() if row[f] != w[1]}
    if tbl == "households" and ("address" in sets or "estate" in sets):
        sets["address_key"] = address_key(
            sets.get("address", row["address"]), sets.get("estate", row["estate"])
        )
    if tbl == "households" and "phone" in sets:
        sets["phones"] = phones_of(sets["phone"])
    if (row["hlc"], row["device"]) != top:
        sets["hlc"], sets["device"] = top
    if (old_stamps or None) != new_stamps:
        sets["stamps"] = jdump(new_stamps) if new_stamps else None
    if first is not None:
        created = created_at_of(first[0][0], first[1])
        if row.get("created_at") != created:
            sets["created_at"] = created
    wanted = _unseen_delete(tbl, rid, parsed, winners.get("deleted"), rank)
    wanted.update(_conflicts(tbl, rid, cands, based, rank))
    return Fold(sets=sets, conflicts=wanted)


def _conflict(
    tbl: str, rid: str, f: str, stamp: StampPair, value: Any, win: tuple[StampPair, Any]
) -> tuple[str, dict[str, Any]]:
    cid = conflict_id(tbl, rid, f, stamp[0], stamp[1])
    return cid, {
        "id": cid,
        "tbl": tbl,
        "row_id": rid,
        "field": f,
        "value": jdump(value),
        "hlc": stamp[0],
        "device": stamp[1],
        "winner_value": jdump(win[1]),
        "winner_hlc": win[0][0],
        "winner_device": win[0][1],
    }


def _unseen_delete(
    tbl: str,
    rid: str,
    parsed: list[tuple[StampPair, str, dict[str, Any], dict[str, Any] | None]],
    deleted: tuple[StampPair, Any] | None,
    rank: Rank,
) -> dict[str, dict[str, Any]]:
    """The conflict kept for edits made after a delete their author had not seen."""
    if tbl not in DELETE_GUARDED or deleted is None or not deleted[1]:
        return {}
    gone = rank(deleted[0])
    late = []
    for stamp, op, data, base in parsed:
        if op == "insert" or "deleted" in data or rank(stamp) <= gone:
            continue
        seen = (base or {}).get("~deleted")
        if isinstance(seen, list) and len(seen) == 2 and rank((seen[0], seen[1])) >= gone:
            continue  # its author saw the delete
        late.append(stamp)
    if not late:
        return {}
    cid, rec = _conflict(tbl, rid, "deleted", max(late, key=rank), 0, deleted)
    return {cid: rec}


def _conflicts(
    tbl: str,
    rid: str,
    cands: dict[str, list[tuple[StampPair, Any]]],
    based: dict[str, set[StampPair]],
    rank: Rank,
) -> dict[str, dict[str, Any]]:
    """The conflicts of a row's fields as its log decides them (see module doc)."""
    wanted: dict[str, dict[str, Any]] = {}
    for f, pool in cands.items():
        if len(pool) < 2:
            continue
        win = max(pool, key=rank.cand)
        for stamp, value in pool:
            if stamp == win[0] or stamp in based[f]:
                continue  # the winner, or overwritten by someone who saw it
            if any(rank(s) > rank(stamp) and v == value for s, v in pool):
                continue  # a later change carries the same value: nothing lost
            cid, rec = _conflict(tbl, rid, f, stamp, value, win)
            wanted[cid] = rec
    return wanted


def _folded_insert(
    tbl: str,
    rid: str,
    cands: dict[str, list[tuple[StampPair, Any]]],
    default: StampPair,
    data: dict[str, Any],
    rank: Rank,
) -> dict[str, Any]:
    """The row to insert: each field's winner, its stamps and derived columns."""
    fields = SYNCED_FIELDS[tbl]
    winners = {f: max(cands[f], key=rank.cand) for f in fields if cands.get(f)}
    stamps = {f: list(w[0]) for f, w in winners.items() if w[0] != default}
    top = max([default, *(w[0] for w in winners.values())], key=rank)
    values: dict[str, Any] = {f: w[1] for f, w in winners.items()}
    values["deleted"] = int(values.get("deleted") or 0)
    values |= {
        "id": rid,
        "created_at": created_at_of(default[0], data),
        "hlc": top[0],
        "device": top[1],
        "stamps": jdump({"*": list(default), **stamps}) if stamps else None,
    }
    if tbl == "households":
        values["address_key"] = address_key(values.get("address"), values.get("estate"))
        values["phones"] = phones_of(values.get("phone"))
    return values


__all__ = [
    "DELETE_GUARDED",
    "PARENTS",
    "SKIP",
    "TABLE_ORDER",
    "Fold",
    "GapError",
    "Rank",
    "Receiver",
    "ReplayError",
    "Sorted",
    "address_key",
    "created_at_of",
    "fold_row",
    "horizon_after",
    "missing",
    "phones_of",
    "skip_change",
    "skip_first",
]
