"""Replicas converge whatever happens: a hypothesis state machine.

3–5 replicas add households, visits and items, edit random subsets of
fields, delete, restore losing values, merge households and visits as
duplicates and undo merges (the same pair on several laptops at once), import
the same roster (one 编号, several ids), and sync in random pairs (complete,
interrupted, repeated) or by bundle.  Office life happens too: a laptop is
restored from one of its earlier backups (its later work that never left it
is lost with its disk, and nothing else), a database is copied to a new
laptop, a laptop makes a new hub from its file (which must hold exactly what
a hub filled change by change by the same sync holds, then live on as a
replica like the others), and a laptop's clock runs a year ahead for one change (which must go
through sync) while another's runs ahead for an hour and then ticks 100,000
times behind that stamp.  A model tracks what each replica has seen.  After
a full round every replica holds identical rows and the same
open conflicts, nothing is duplicated, each database passes its checks, and
no edit was silently lost: each one is the final value, or sits in
``conflicts``, or was overwritten by someone who had seen it, or its value
was carried on by a later edit.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from pghub import PgServer, need_server
from same_replica import assert_same_replica
from station import hold_key

from visitlog import clock
from visitlog.dedup import merges as dedup_merge
from visitlog.model import SYNCED_FIELDS, Household, Item, Kind, Visit
from visitlog.roster import upsert_households
from visitlog.store import Store
from visitlog.sync import (
    conflict_id,
    export_bundle,
    import_bundle,
    list_conflicts,
    replica,
    restore_conflict,
    sync_with,
    version_vector,
)
from visitlog.sync.postgres import init_hub

SUMMARIES = ["甲", "乙", "丙", None]
OUTCOMES = ["见面", "不在家", "拒访"]
MODES = ["入户", "电话"]
DATES = ["2026-10-01", "2026-10-02", "2026-10-03"]
NOTES = ["备注一", "备注二", None]
STATUSES = ["待办", "办理中", "已办结"]
OWNERS = ["王", "李", None]


YEAR_MS = 365 * 24 * 3600 * 1000
#: Operations run, by kind, over every example of this process (for reports).
OPERATIONS: Counter[str] = Counter()


class Interrupted(Exception):
    pass


class skewed_clock:
    """The wall clock (visitlog.clock.wall_ms) runs *ms* ahead inside the block."""

    def __init__(self, ms: int):
        self.ms = ms

    def __enter__(self) -> None:
        self.real = clock.wall_ms
        clock.wall_ms = lambda: self.real() + self.ms

    def __exit__(self, *exc: object) -> None:
        clock.wall_ms = self.real


@dataclass
class Edit:
    tbl: str
    row_id: str
    field: str
    value: object
    stamp: tuple[str, str]
    #: ``(device, seq)`` of the change that made it
    origin: tuple[str, int] = ("", 0)
    shadowed: bool = False


#: Columns each replica derives from the synced data (visitlog.store.clusters).
DERIVED = {
    "households": ["merged_into"],
    "visits": ["merged_into", "live_household"],
    "items": ["live_household", "live_visit"],
    "dedup_merges": [],
}
#: One roster, imported on several laptops: one household per 编号 after sync.
ROSTER = [(f"R{k}", f"曹杨三村{k + 1}号", f"户主{k}") for k in range(3)]


def rows_of(store: Store) -> dict[str, list[tuple]]:
    out = {}
    for tbl in ("households", "visits", "items", "dedup_merges"):
        cols = ["id", *SYNCED_FIELDS[tbl], "hlc", "device", "stamps", *DERIVED[tbl]]
        out[tbl] = [
            tuple(r[c] if c != "stamps" else json.loads(r[c] or "null") for c in cols)
            for r in store.query(f"SELECT {', '.join(cols)} FROM {tbl} ORDER BY id")
        ]
    return out


def _diff(mine: dict[str, list[tuple]], ref: dict[str, list[tuple]]) -> str:
    out = []
    for tbl in ref:
        a, b = {repr(r) for r in mine[tbl]}, {repr(r) for r in ref[tbl]}
        out += [f"{tbl} here only: {r}" for r in sorted(a - b)[:3]]
        out += [f"{tbl} reference only: {r}" for r in sorted(b - a)[:3]]
    return "\n".join(out)


class Replicas(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="visitlog-sync-"))
        self.stores: list[Store] = []
        self.known: list[set[int]] = []  # indexes into self.edits each replica has seen
        self.edits: list[Edit] = []
        self.made: dict[str, set[str]] = {tbl: set() for tbl in DERIVED}
        #: (tbl, id) → the (device, seq) of its inserts
        self.inserted: dict[tuple[str, str], set[tuple[str, int]]] = {}
        #: (tbl, id) of the rows each replica holds (a restored disk loses some)
        self.rows: list[set[tuple[str, str]]] = []
        #: (replica, backup file, what it knew, rows it held) per backup taken
        self.backups: list[tuple[int, Path, set[int], set[tuple[str, str]]]] = []
        self.bundles = 0

    @initialize(n=st.integers(3, 5))
    def make_replicas(self, n: int) -> None:
        for i in range(n):
            hold_key(self.dir / f"r{i}.db")  # one station: bundles are encrypted with its key
            s = Store(self.dir / f"r{i}.db")
            s.init_identity(f"社工{i}", f"laptop-{i}")
            self.stores.append(s)
            self.known.append(set())
            self.rows.append(set())
        # A shared start (households, visits, items on every replica), so that
        # concurrent edits of the same rows happen from the first step.
        first = self.stores[0]
        for k in range(2):
            self._record(
                0, lambda k=k: first.add_household(Household(address=f"{k + 1}号", micro_grid="g"))
            )
        for k, hid in enumerate(sorted(self.made["households"]) * 2):
            visit = Visit(
                household_id=hid,
                visit_date=DATES[k % 3],
                visitor="社工0",
                items=[Item.from_spec(Kind.DEMAND, "其他:加装扶手")],
            )
            self._record(0, lambda visit=visit: first.add_visit(visit))
        for s in self.stores[1:]:
            sync_with(s, first.path)
        for r in range(1, n):
            self._share(0, r)

    def teardown(self) -> None:
        try:
            if self.stores:
                self.full_round_converges()
        finally:
            for s in self.stores:
                s.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------

    def _live(self, r: int, tbl: str) -> list[str]:
        where = "deleted = 0" + (" AND merged_into IS NULL" if tbl != "items" else "")
        if tbl == "dedup_merges":
            where = "deleted = 0 AND undone = 0"
        return [
            x["id"] for x in self.stores[r].query(f"SELECT id FROM {tbl} WHERE {where} ORDER BY id")
        ]

    def _record(self, r: int, action) -> None:
        """Run a local edit and record each field it changed, with its stamp."""
        s = self.stores[r]
        device = s.device_id
        before = s.scalar("SELECT max(seq) FROM change_log WHERE device = ?", [device]) or 0
        action()
        if s.device_id != device:
            before = 0  # a restored or copied database numbered anew under a new id
        caller = sys._getframe(1).f_code.co_name  # the rule that made it
        if caller not in ("make_replicas", "clock_skew", "disk_dies_after_a_sync"):
            OPERATIONS[caller] += 1
        for ch in s.query(
            "SELECT tbl, row_id, hlc, device, seq, op, data FROM change_log "
            "WHERE device = ? AND seq > ?",
            [s.device_id, before],
        ):
            if ch["op"] == "insert":
                self.made[ch["tbl"]].add(ch["row_id"])
                self.rows[r].add((ch["tbl"], ch["row_id"]))
                self.inserted.setdefault((ch["tbl"], ch["row_id"]), set()).add(
                    (ch["device"], ch["seq"])
                )
                continue
            for field, value in json.loads(ch["data"]).items():
                # an edit overwrites knowingly every edit of that field this replica has seen
                for k in self.known[r]:
                    e = self.edits[k]
                    if (e.tbl, e.row_id, e.field) == (ch["tbl"], ch["row_id"], field):
                        e.shadowed = True
                self.edits.append(
                    Edit(
                        ch["tbl"],
                        ch["row_id"],
                        field,
                        value,
                        (ch["hlc"], ch["device"]),
                        (ch["device"], ch["seq"]),
                    )
                )
                self.known[r].add(len(self.edits) - 1)

    def _share(self, i: int, j: int) -> None:
        """After an exchange between i and j both know what either knew."""
        known, rows = self.known[i] | self.known[j], self.rows[i] | self.rows[j]
        # separate sets: what one of them does next the other does not know
        self.known[i], self.known[j] = known, set(known)
        self.rows[i], self.rows[j] = rows, set(rows)

    def _share_what_committed(self, i: int, j: int) -> None:
        """After an exchange between i and j stopped midway, each holds what
        it held and whatever of the other's its version vector now covers
        (none, all, or the chunks committed before the stop)."""
        known, rows = self.known[i] | self.known[j], self.rows[i] | self.rows[j]
        for r in (i, j):
            vv = version_vector(self.stores[r].conn)

            def held(origin: tuple[str, int], vv=vv) -> bool:
                return vv.get(origin[0], 0) >= origin[1]

            self.known[r] = {k for k in known if held(self.edits[k].origin)}
            self.rows[r] = {row for row in rows if any(map(held, self.inserted[row]))}

    def _pair(self, data) -> tuple[int, int]:
        n = len(self.stores)
        i = data.draw(st.integers(0, n - 1))
        j = data.draw(st.integers(0, n - 1).filter(lambda x: x != i))
        return i, j

    # -- rules --------------------------------------------------------------------

    @rule(data=st.data())
    def add_household(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        note = data.draw(st.sampled_from(NOTES))
        self._record(
            r,
            lambda: self.stores[r].add_household(
                Household(
                    address=f"曹杨一村{len(self.made['households'])}号", micro_grid="g", note=note
                )
            ),
        )

    @rule(data=st.data())
    def add_visit(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        households = self._live(r, "households")
        if not households:
            return
        hid = data.draw(st.sampled_from(households))
        n_items = data.draw(st.integers(0, 1))
        visit = Visit(
            household_id=hid,
            visit_date=data.draw(st.sampled_from(DATES)),
            visitor=f"社工{r}",
            summary=data.draw(st.sampled_from(SUMMARIES)),
            items=[Item.from_spec(Kind.PROBLEM, "其他:漏水")] * n_items,
        )
        self._record(r, lambda: self.stores[r].add_visit(visit))

    @rule(data=st.data())
    def edit_visit(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        visits = self._live(r, "visits")
        if not visits:
            return
        vid = data.draw(st.sampled_from(visits))
        fields = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "summary": st.sampled_from([x for x in SUMMARIES if x]),
                    "outcome": st.sampled_from(OUTCOMES),
                    "mode": st.sampled_from(MODES),
                    "visit_date": st.sampled_from(DATES),
                },
            )
        )
        if fields:
            self._record(r, lambda: self.stores[r].edit_visit(vid, **fields))

    @rule(data=st.data())
    def edit_household(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        households = self._live(r, "households")
        if not households:
            return
        hid = data.draw(st.sampled_from(households))
        fields = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "note": st.sampled_from([x for x in NOTES if x]),
                    "members": st.integers(1, 3),
                    "head": st.sampled_from(["张", "王"]),
                },
            )
        )
        if fields:
            self._record(r, lambda: self.stores[r].update_household(hid, **fields))

    @rule(data=st.data())
    def update_item(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        items = self._live(r, "items")
        if not items:
            return
        iid = data.draw(st.sampled_from(items))
        status = data.draw(st.sampled_from(STATUSES))
        owner = data.draw(st.sampled_from(OWNERS))
        self._record(r, lambda: self.stores[r].update_item(iid, status=status, owner=owner or ""))

    @rule(data=st.data())
    def delete_visit(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        visits = self._live(r, "visits")
        if visits:
            vid = data.draw(st.sampled_from(visits))
            self._record(r, lambda: self.stores[r].delete_visit(vid))

    @rule(data=st.data())
    def restore_a_conflict(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        open_ = list_conflicts(self.stores[r])
        if open_:
            cid = data.draw(st.sampled_from([c["id"] for c in open_]))
            self._record(r, lambda: restore_conflict(self.stores[r], cid))

    @rule(data=st.data(), kind=st.sampled_from(["households", "visits"]))
    def merge_duplicates(self, data, kind: str) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        live = self._live(r, kind)
        if len(live) < 2:
            return
        group = data.draw(st.lists(st.sampled_from(live), min_size=2, max_size=3, unique=True))
        event(f"merge {kind}")
        self._record(r, lambda: dedup_merge.merge(self.stores[r], group, kind=kind))

    @rule(data=st.data())
    def merge_the_same_pair_on_two_laptops(self, data) -> None:
        i, j = self._pair(data)
        both = sorted(set(self._live(i, "households")) & set(self._live(j, "households")))
        if len(both) < 2:
            return
        pair = data.draw(st.lists(st.sampled_from(both), min_size=2, max_size=2, unique=True))
        event("merge the same pair on two laptops")
        for r in (i, j):
            self._record(r, lambda r=r: dedup_merge.merge(self.stores[r], pair))

    @rule(data=st.data())
    def undo_a_merge(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        live = self._live(r, "dedup_merges")
        if live:
            mid = data.draw(st.sampled_from(live))
            event("undo a merge")
            self._record(r, lambda: dedup_merge.undo(self.stores[r], mid))

    @rule(data=st.data())
    def import_the_roster(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        rows = data.draw(st.lists(st.sampled_from(ROSTER), min_size=1, unique=True))
        members = data.draw(st.sampled_from([None, 1, 2]))
        households = [
            Household(
                ref=ref, address=address, micro_grid="g", head=head, members=members
            ).validated()
            for ref, address, head in rows
        ]
        event("import the roster")
        self._record(r, lambda: upsert_households(self.stores[r], households))

    @rule(data=st.data(), times=st.integers(1, 2))
    def sync(self, data, times: int) -> None:
        i, j = self._pair(data)
        for _ in range(times):
            sync_with(self.stores[i], self.stores[j].path)
        self._share(i, j)
        OPERATIONS["sync"] += 1

    @rule(data=st.data(), phase=st.sampled_from(["send", "receive", "merge", "commit"]))
    def interrupted_sync(self, data, phase: str) -> None:
        i, j = self._pair(data)

        def boom(p: str, done: int, total: int) -> None:
            if p == phase:
                raise Interrupted

        OPERATIONS["interrupted_sync"] += 1
        try:
            sync_with(self.stores[i], self.stores[j].path, progress=boom)
        except Interrupted:
            # Nothing, the second-locked database's side (stopped between the
            # two commits), or the chunks committed before the stop.
            self._share_what_committed(i, j)
            return
        self._share(i, j)

    @rule(data=st.data())
    def bundle(self, data) -> None:
        i, j = self._pair(data)
        self.bundles += 1
        path = self.dir / f"b{self.bundles}.vlb"
        export_bundle(self.stores[i], path)
        import_bundle(self.stores[j], path)
        self.known[j] |= self.known[i]
        self.rows[j] |= self.rows[i]
        OPERATIONS["bundle"] += 1

    def _backup(self, r: int) -> tuple[int, Path, set[int], set[tuple[str, str]]]:
        path = self.dir / f"backup{len(self.backups)}.db"
        self.stores[r].backup(path)
        self.backups.append((r, path, set(self.known[r]), set(self.rows[r])))
        OPERATIONS["backup"] += 1
        return self.backups[-1]

    def _restore(self, backup: tuple[int, Path, set[int], set[tuple[str, str]]]) -> None:
        """The laptop's disk died: its backup is copied over its database file."""
        r, path, known, rows = backup
        store = self.stores[r]
        db = store.path
        store.close()
        for side in ("-wal", "-shm"):
            Path(f"{db}{side}").unlink(missing_ok=True)
        shutil.copyfile(path, db)
        self.stores[r] = Store(db)
        self.known[r], self.rows[r] = set(known), set(rows)
        OPERATIONS["restores (both rules)"] += 1

    @rule(data=st.data())
    def take_backup(self, data) -> None:
        self._backup(data.draw(st.integers(0, len(self.stores) - 1)))

    @precondition(lambda self: self.backups)
    @rule(data=st.data())
    def restore_from_backup(self, data) -> None:
        self._restore(data.draw(st.sampled_from(self.backups)))

    @rule(data=st.data(), write_first=st.booleans())
    def disk_dies_after_a_sync(self, data, write_first: bool) -> None:
        """A backup, then work that reaches another replica, then the disk dies
        and the backup comes back; the laptop writes at once, or syncs first."""
        r, j = self._pair(data)
        backup = self._backup(r)
        households = self._live(r, "households")
        hid = data.draw(st.sampled_from(households)) if households else None
        if hid:
            note = data.draw(st.sampled_from([x for x in NOTES if x]))
            self._record(r, lambda: self.stores[r].update_household(hid, note=note + "?"))
        sync_with(self.stores[r], self.stores[j].path)
        self._share(r, j)
        self._restore(backup)
        if write_first and hid and hid in self._live(r, "households"):
            self._record(r, lambda: self.stores[r].update_household(hid, members=3))
        OPERATIONS["disk_dies_after_a_sync"] += 1

    @precondition(lambda self: len(self.stores) < 6)
    @rule(data=st.data(), with_record=st.booleans())
    def copy_to_new_laptop(self, data, with_record: bool) -> None:
        """A new laptop set up by copying another's database file (and maybe
        the identity record beside it)."""
        from visitlog.store import identity

        r = data.draw(st.integers(0, len(self.stores) - 1))
        src = self.stores[r]
        src.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        dest = self.dir / f"r{len(self.stores)}.db"
        shutil.copy2(src.path, dest)
        if with_record and identity.record_path(src.path).exists():
            shutil.copy2(identity.record_path(src.path), identity.record_path(dest))
        hold_key(dest)  # the key is never copied with the database: imported again
        s = Store(dest)
        s.set_settings(worker=f"社工{len(self.stores)}")
        self.stores.append(s)
        self.known.append(set(self.known[r]))
        self.rows.append(set(self.rows[r]))
        OPERATIONS["copy_to_new_laptop"] += 1

    @precondition(lambda self: len(self.stores) < 6)
    @rule(data=st.data())
    def new_hub_from_a_laptop(self, data) -> None:
        """The office's hub made by a laptop's first sync, from a snapshot of
        the laptop's file: identical to the hub the same sync fills change by
        change, and a replica like any other from then on."""
        r = data.draw(st.integers(0, len(self.stores) - 1))
        n = len(self.stores)
        slow_path = self.dir / f"slow{n}.db"
        Store(slow_path).close()  # an empty hub already there: filled change by change
        slow_report = sync_with(self.stores[r], slow_path)
        fast_path = self.dir / f"r{n}.db"
        report = sync_with(self.stores[r], fast_path)
        assert report.seeded and report.created_target and not slow_report.seeded
        assert report.sent == slow_report.sent
        fast, slow = Store(fast_path), Store(slow_path)
        try:
            assert_same_replica(fast, slow)
        finally:
            slow.close()
        hold_key(fast_path)
        fast.set_settings(worker=f"社工{n}")
        self.stores.append(fast)
        self.known.append(set(self.known[r]))
        self.rows.append(set(self.rows[r]))
        OPERATIONS["new_hub_from_a_laptop"] += 1

    @rule(data=st.data())
    def clock_skew(self, data) -> None:
        """One change from a laptop whose date is a year ahead; then another
        laptop a little ahead ticks 100,000 times behind its own stamp."""
        r = data.draw(st.integers(0, len(self.stores) - 1))
        visits = self._live(r, "visits")
        if visits:
            vid = data.draw(st.sampled_from(visits))
            summary = data.draw(st.sampled_from([x for x in SUMMARIES if x]))
            with skewed_clock(YEAR_MS):
                self._record(r, lambda: self.stores[r].edit_visit(vid, summary=summary + "!"))
            OPERATIONS["year_ahead_edit"] += 1
            j = data.draw(st.integers(0, len(self.stores) - 1).filter(lambda x: x != r))
            sync_with(self.stores[r], self.stores[j].path)  # the far-future change travels
            self._share(r, j)
        q = data.draw(st.integers(0, len(self.stores) - 1))
        households = self._live(q, "households")
        if households:
            hid = data.draw(st.sampled_from(households))
            note = data.draw(st.sampled_from([x for x in NOTES if x]))
            with skewed_clock(3600 * 1000):
                self._record(q, lambda: self.stores[q].update_household(hid, note=note))
        with self.stores[q].transaction() as tx:
            prev = tx.hlc.tick()
            for _ in range(100_000):
                stamp = tx.hlc.tick()
                assert stamp > prev
                prev = stamp
        OPERATIONS["clock_skew"] += 1
        OPERATIONS["ticks_behind_a_future_stamp"] += 100_000

    @invariant()
    def each_replica_is_consistent(self) -> None:
        OPERATIONS["steps"] += 1
        for s in self.stores:
            assert s.scalar("PRAGMA foreign_key_check") is None

    # -- the end ----------------------------------------------------------------------

    @precondition(lambda self: self.stores)
    @rule()
    def full_round_converges(self) -> None:
        first = self.stores[0]
        hub, members = self._round()
        for s in [*members, *members]:
            sync_with(s, hub)
        everyone = set().union(*self.known)
        self.known = [set(everyone) for _ in self.stores]
        held_rows = set().union(*self.rows)
        self.rows = [set(held_rows) for _ in self.stores]
        OPERATIONS["full_round"] += 1
        reference = rows_of(first)
        conflicts = {c["id"] for c in list_conflicts(first)}
        for s in self.stores:
            mine = rows_of(s)
            assert mine == reference, _diff(mine, reference)
            assert {c["id"] for c in list_conflicts(s)} == conflicts
            problems = s.check()
            assert problems == [], problems
            for tbl in self.made:
                # rows made on a laptop after its backup and never sent were
                # lost with its disk; every other row is everywhere, once
                want = {rid for t_, rid in held_rows if t_ == tbl}
                assert {r["id"] for r in s.query(f"SELECT id FROM {tbl}")} == want
        self._merges_are_whole(first)
        every = {
            r["id"]
            for r in first.query(
                "SELECT id FROM conflicts"
            )  # resolved ones were settled by a later edit
        }
        bound = clock.horizon()

        def rank(stamp: tuple[str, str]) -> tuple[bool, str, str]:
            return (stamp[0] <= bound, *stamp)  # held (far-future) stamps rank lowest

        final = {
            (tbl, row[0]): dict(zip(["id", *SYNCED_FIELDS[tbl]], row, strict=False))
            for tbl, rows in reference.items()
            for row in rows
        }
        for k, e in enumerate(self.edits):
            if e.shadowed or k not in everyone:
                continue  # overwritten knowingly, or lost with a disk before it left
            if final[(e.tbl, e.row_id)][e.field] == e.value:
                continue
            if conflict_id(e.tbl, e.row_id, e.field, *e.stamp) in every:
                continue
            carried = any(
                (o.tbl, o.row_id, o.field, o.value) == (e.tbl, e.row_id, e.field, e.value)
                and rank(o.stamp) > rank(e.stamp)
                for o in self.edits[k + 1 :] + self.edits[:k]
            )
            assert carried, f"edit lost without a trace: {e}"
        for s in members:
            report = sync_with(s, hub)
            assert (report.sent_total, report.received_total, report.conflicts) == (0, 0, [])

    def _round(self) -> tuple[object, list[Store]]:
        """The hub of a full round and who syncs with it: the first replica."""
        return self.stores[0].path, self.stores[1:]

    def _merges_are_whole(self, s: Store) -> None:
        """One step to a live record, never a chain or a cycle; one 编号, one household."""
        for tbl in ("households", "visits"):
            assert not s.query(
                f"SELECT m.id FROM {tbl} m JOIN {tbl} r ON r.id = m.merged_into "
                "WHERE r.merged_into IS NOT NULL OR r.deleted != 0"
            )
        assert not s.query(
            "SELECT v.id FROM visits v JOIN households h ON h.id = v.live_household "
            "WHERE h.merged_into IS NOT NULL"
        )
        assert not s.query(
            "SELECT i.id FROM items i JOIN visits v ON v.id = i.live_visit "
            "WHERE v.merged_into IS NOT NULL"
        )
        assert not s.query(
            "SELECT ref FROM households WHERE deleted = 0 AND merged_into IS NULL "
            "AND ref IS NOT NULL GROUP BY ref HAVING count(*) > 1"
        )


class HubReplicas(Replicas):
    """The same office life around a PostgreSQL hub: replicas also sync with
    it, at random, and every full round goes through it."""

    def __init__(self) -> None:
        super().__init__()
        need_server()
        self.server = PgServer()
        self.hub = self.server.database()
        init_hub(self.hub)
        #: what the hub has seen, like self.known and self.rows of a replica
        self.hub_known: set[int] = set()
        self.hub_rows: set[tuple[str, str]] = set()

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self.server.drop()

    @rule(data=st.data())
    def sync_with_the_hub(self, data) -> None:
        r = data.draw(st.integers(0, len(self.stores) - 1))
        sync_with(self.stores[r], self.hub)
        self.hub_known |= self.known[r]
        self.known[r] |= self.hub_known
        self.hub_rows |= self.rows[r]
        self.rows[r] |= self.hub_rows
        OPERATIONS["sync_with_the_hub"] += 1

    def _round(self) -> tuple[object, list[Store]]:
        return self.hub, list(self.stores)


class Chunked:
    """The same office life with syncs in chunks of three changes: every
    exchange of more than that commits chunk by chunk, and an interrupted
    one keeps the chunks before the interruption."""

    CHUNK = 3

    def __init__(self) -> None:
        self.saved = (replica.CHUNK_CHANGES, replica.CHUNK_PAUSE_S)
        replica.CHUNK_CHANGES, replica.CHUNK_PAUSE_S = self.CHUNK, 0
        super().__init__()

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        finally:
            replica.CHUNK_CHANGES, replica.CHUNK_PAUSE_S = self.saved


class ChunkedReplicas(Chunked, Replicas):
    pass


class ChunkedHubReplicas(Chunked, HubReplicas):
    pass


TestReplicas = Replicas.TestCase
TestReplicas.settings = settings(
    max_examples=25,
    stateful_step_count=18,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReplicas = pytest.mark.slow(TestReplicas)

TestHubReplicas = HubReplicas.TestCase
TestHubReplicas.settings = settings(
    max_examples=15,
    stateful_step_count=18,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestHubReplicas = pytest.mark.slow(TestHubReplicas)

TestChunkedReplicas = ChunkedReplicas.TestCase
TestChunkedReplicas.settings = settings(
    max_examples=20,
    stateful_step_count=18,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestChunkedReplicas = pytest.mark.slow(TestChunkedReplicas)

TestChunkedHubReplicas = ChunkedHubReplicas.TestCase
TestChunkedHubReplicas.settings = settings(
    max_examples=10,
    stateful_step_count=18,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestChunkedHubReplicas = pytest.mark.slow(TestChunkedHubReplicas)

#: The torture's size for the long run: seeds (examples) × steps.
SEEDS, STEPS = 50, 30


@pytest.mark.slow
def test_fifty_seeds_of_office_life_converge():
    """50 derandomised examples of up to 30 steps each, every new kind of
    operation among them; prints the operations run, by kind."""
    from hypothesis.stateful import run_state_machine_as_test

    OPERATIONS.clear()
    run_state_machine_as_test(
        Replicas,
        settings=settings(
            max_examples=SEEDS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(
        f"\ntorture: {SEEDS} seeds x {STEPS} steps; operations: {dict(sorted(OPERATIONS.items()))}"
    )
    for kind in (
        "restores (both rules)",
        "disk_dies_after_a_sync",
        "copy_to_new_laptop",
        "new_hub_from_a_laptop",
        "clock_skew",
    ):
        assert OPERATIONS[kind] > 0, kind
