"""Replicas converge whatever happens: a hypothesis state machine.

3–5 replicas add households, visits and items, edit random subsets of
fields, delete, restore losing values, merge households and visits as
duplicates and undo merges (the same pair on several laptops at once), import
the same roster (one 编号, several ids), and sync in random pairs (complete,
interrupted, repeated) or by bundle.  A model tracks what each replica has
seen.  After a full round every replica holds identical rows and the same
open conflicts, nothing is duplicated, each database passes its checks, and
no edit was silently lost: each one is the final value, or sits in
``conflicts``, or was overwritten by someone who had seen it, or its value
was carried on by a later edit.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from visitlog import dedup_merge
from visitlog.model import SYNCED_FIELDS, Household, Item, Kind, Visit
from visitlog.store import Store
from visitlog.sync import (
    conflict_id,
    export_bundle,
    import_bundle,
    list_conflicts,
    restore_conflict,
    sync_with,
)

SUMMARIES = ["甲", "乙", "丙", None]
OUTCOMES = ["见面", "不在家", "拒访"]
MODES = ["入户", "电话"]
DATES = ["2026-10-01", "2026-10-02", "2026-10-03"]
NOTES = ["备注一", "备注二", None]
STATUSES = ["待办", "办理中", "已办结"]
OWNERS = ["王", "李", None]


class Interrupted(Exception):
    pass


@dataclass
class Edit:
    tbl: str
    row_id: str
    field: str
    value: object
    stamp: tuple[str, str]
    shadowed: bool = False


#: Columns each replica derives from the synced data (visitlog.clusters).
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


class Replicas(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="visitlog-sync-"))
        self.stores: list[Store] = []
        self.known: list[set[int]] = []  # indexes into self.edits each replica has seen
        self.edits: list[Edit] = []
        self.made: dict[str, set[str]] = {tbl: set() for tbl in DERIVED}
        self.bundles = 0

    @initialize(n=st.integers(3, 5))
    def make_replicas(self, n: int) -> None:
        for i in range(n):
            s = Store(self.dir / f"r{i}.db")
            s.init_identity(f"社工{i}", f"laptop-{i}")
            self.stores.append(s)
            self.known.append(set())
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
        before = s.scalar("SELECT max(seq) FROM changes WHERE device = ?", [s.device_id]) or 0
        action()
        for ch in s.query(
            "SELECT tbl, row_id, hlc, device, op, data FROM changes WHERE device = ? AND seq > ?",
            [s.device_id, before],
        ):
            if ch["op"] == "insert":
                self.made[ch["tbl"]].add(ch["row_id"])
                continue
            for field, value in json.loads(ch["data"]).items():
                # an edit overwrites knowingly every edit of that field this replica has seen
                for k in self.known[r]:
                    e = self.edits[k]
                    if (e.tbl, e.row_id, e.field) == (ch["tbl"], ch["row_id"], field):
                        e.shadowed = True
                self.edits.append(
                    Edit(ch["tbl"], ch["row_id"], field, value, (ch["hlc"], ch["device"]))
                )
                self.known[r].add(len(self.edits) - 1)

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
        self._record(r, lambda: self.stores[r].upsert_households(households))

    @rule(data=st.data(), times=st.integers(1, 2))
    def sync(self, data, times: int) -> None:
        i, j = self._pair(data)
        for _ in range(times):
            sync_with(self.stores[i], self.stores[j].path)
        self.known[i] = self.known[j] = self.known[i] | self.known[j]

    @rule(data=st.data(), phase=st.sampled_from(["send", "receive", "merge", "commit"]))
    def interrupted_sync(self, data, phase: str) -> None:
        i, j = self._pair(data)

        def boom(p: str, done: int, total: int) -> None:
            if p == phase:
                raise Interrupted

        try:
            sync_with(self.stores[i], self.stores[j].path, progress=boom)
        except Interrupted:
            if phase == "commit":
                # the second-locked database (by path) committed first
                inner = max((i, j), key=lambda k: str(self.stores[k].path.resolve()))
                self.known[inner] = self.known[i] | self.known[j]
            return
        self.known[i] = self.known[j] = self.known[i] | self.known[j]

    @rule(data=st.data())
    def bundle(self, data) -> None:
        i, j = self._pair(data)
        self.bundles += 1
        path = self.dir / f"b{self.bundles}.vlb"
        export_bundle(self.stores[i], path)
        import_bundle(self.stores[j], path)
        self.known[j] |= self.known[i]

    @invariant()
    def each_replica_is_consistent(self) -> None:
        for s in self.stores:
            assert s.scalar("PRAGMA foreign_key_check") is None

    # -- the end ----------------------------------------------------------------------

    @precondition(lambda self: self.stores)
    @rule()
    def full_round_converges(self) -> None:
        first, rest = self.stores[0], self.stores[1:]
        for s in [*rest, *rest]:
            sync_with(s, first.path)
        everyone = set().union(*self.known)
        self.known = [set(everyone) for _ in self.stores]
        reference = rows_of(first)
        conflicts = {c["id"] for c in list_conflicts(first)}
        for s in self.stores:
            assert rows_of(s) == reference
            assert {c["id"] for c in list_conflicts(s)} == conflicts
            assert s.check() == []
            for tbl, ids in self.made.items():
                assert s.scalar(f"SELECT count(*) FROM {tbl}") == len(ids)
        self._merges_are_whole(first)
        every = {
            r["id"]
            for r in first.query(
                "SELECT id FROM conflicts"
            )  # resolved ones were settled by a later edit
        }
        final = {
            (tbl, row[0]): dict(zip(["id", *SYNCED_FIELDS[tbl]], row, strict=False))
            for tbl, rows in reference.items()
            for row in rows
        }
        for k, e in enumerate(self.edits):
            if e.shadowed:
                continue
            if final[(e.tbl, e.row_id)][e.field] == e.value:
                continue
            if conflict_id(e.tbl, e.row_id, e.field, *e.stamp) in every:
                continue
            carried = any(
                (o.tbl, o.row_id, o.field, o.value) == (e.tbl, e.row_id, e.field, e.value)
                and o.stamp > e.stamp
                for o in self.edits[k + 1 :] + self.edits[:k]
            )
            assert carried, f"edit lost without a trace: {e}"
        for s in rest:
            report = sync_with(s, first.path)
            assert (report.sent_total, report.received_total, report.conflicts) == (0, 0, [])

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


TestReplicas = Replicas.TestCase
TestReplicas.settings = settings(
    max_examples=25,
    stateful_step_count=18,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReplicas = pytest.mark.slow(TestReplicas)
