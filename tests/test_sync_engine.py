"""The sync flow against a second engine: a hub kept in memory.

The hub below implements the Replica interface (visitlog.sync.interface)
with dicts and the engine-free merge rules (visitlog.sync.merge), and
nothing else: laptops syncing through it converge as through a SQLite hub,
record the same conflicts, and a repeated sync moves nothing.  It is a
sketch of what a new engine provides (late work and held changes are left
out), not a replica to use.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from visitlog.model import SYNCED_FIELDS, Household, Visit
from visitlog.progress import Progress, report
from visitlog.store import Store
from visitlog.sync import Change, Peer, exchange, local_replica, sync_with
from visitlog.sync.merge import PARENTS, TABLE_ORDER, Receiver, fold_row

HUB_DEVICE = "0123456789ab"


def _vv(log: dict[tuple[str, int], Change]) -> dict[str, int]:
    vv: dict[str, int] = {}
    for device, seq in log:
        vv[device] = max(vv.get(device, 0), seq)
    return vv


class MemoryApplier(Receiver):
    def __init__(self, state: dict[str, Any], now_ms: Callable[[], int] | None = None):
        self.state = state
        log = state["log"]
        super().__init__(_vv(log), lambda d, s: log.get((d, s)), now_ms)
        self.touched: set[tuple[str, str]] = set()

    def add(self, batch: Sequence[Change]) -> int:
        got = self.sort(batch)
        if got is None:
            return 0
        for ch in got.fresh:
            self.state["log"][(ch[0], ch[1])] = tuple(ch)
            self.touched.add((ch[2], ch[3]))
        return len(got.fresh)

    def note_sent(self, batch: Sequence[Change]) -> None:
        pass

    def pending_merges(self) -> int:
        return len(self.touched | self.state["orphans"])

    def finish(self, progress: Progress | None = None) -> None:
        rows, conflicts = self.state["rows"], self.state["conflicts"]
        todo = sorted(
            self.touched | self.state["orphans"], key=lambda r: (TABLE_ORDER.index(r[0]), r[1])
        )
        for done, (tbl, rid) in enumerate(todo, 1):
            log = [
                (ch[4], ch[0], ch[5], ch[6], ch[7])
                for ch in self.state["log"].values()
                if (ch[2], ch[3]) == (tbl, rid)
            ]
            table = rows.setdefault(tbl, {})
            fold = fold_row(tbl, rid, table.get(rid), log, self.bound)
            if rid not in table:
                parents_here = all(
                    fold.parents.get(col) is None or fold.parents[col] in rows.get(parent, {})
                    for col, parent in PARENTS.get(tbl, ())
                )
                if fold.insert is not None and parents_here:
                    table[rid] = fold.insert
                    self.state["orphans"].discard((tbl, rid))
                else:
                    self.state["orphans"].add((tbl, rid))
                continue
            table[rid].update(fold.sets)
            for cid, rec in fold.conflicts.items():
                if cid not in conflicts:
                    conflicts[cid] = self.new_conflicts[cid] = rec
            report(progress, "merge", done, len(todo))


class MemorySession:
    def __init__(self, state: dict[str, Any]):
        self.state = state

    @property
    def device(self) -> str:
        return HUB_DEVICE

    @property
    def identity_change(self) -> dict[str, Any] | None:
        return None

    def new_device(self, reason: str) -> str:
        raise AssertionError("a hub never makes changes of its own")

    def note_shipped(self) -> None:
        pass

    def setting(self, key: str) -> str | None:
        return self.state["settings"].get(key)

    def set_setting(self, key: str, value: str | None) -> None:
        self.state["settings"][key] = value

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        self.state["audit"].append((action, json.dumps(detail, sort_keys=True)))

    def version_vector(self) -> dict[str, int]:
        return _vv(self.state["log"])

    def changes(
        self,
        ranges: dict[str, tuple[int, int]],
        batch_size: int,
        readable: dict[str, list[int]] | None = None,
    ) -> Iterator[list[Change]]:
        for device, (first, last) in ranges.items():
            yield [self.state["log"][(device, seq)] for seq in range(first, last + 1)]

    def change(self, device: str, seq: int) -> Change | None:
        return self.state["log"].get((device, seq))

    def count_by_table(self, ranges: dict[str, tuple[int, int]]) -> Counter[str]:
        return Counter(ch[2] for batch in self.changes(ranges, 0) for ch in batch)

    def applier(self, now_ms: Callable[[], int] | None = None) -> MemoryApplier:
        return MemoryApplier(self.state, now_ms)

    def receiving_whole(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def open_conflicts(self, ids: Sequence[str]) -> set[str]:
        return set(ids) & self.state["conflicts"].keys()

    def moved(self, since: int | None) -> tuple[list[list[Change]], list[str], int | None]:
        return [], [], None  # everyone sees everything here

    def readable(self, ranges: dict[str, tuple[int, int]]) -> dict[str, list[int]] | None:
        return None  # it sends every change it is asked for

    def let_go(self, households: Sequence[str]) -> int:
        return 0

    def peers(self) -> list[Peer]:
        return list(self.state["peers"].values())

    def peer(self, device: str) -> Peer | None:
        return self.state["peers"].get(device)

    def save_peer(self, peer: Peer) -> None:
        self.state["peers"][peer.device] = peer

    def forget_peers(self, devices: Sequence[str]) -> None:
        for d in devices:
            self.state["peers"].pop(d, None)

    def chain_head(self) -> dict[str, Any] | None:
        n = len(self.state["audit"])
        return {"id": n, "hash": self.audit_hash(n)} if n else None

    def audit_hash(self, entry: int) -> str | None:
        return (
            str(hash(self.state["audit"][entry - 1])) if entry <= len(self.state["audit"]) else None
        )


class MemoryReplica:
    """A hub in a dict: a session works on a copy, kept only when it ends well."""

    name = location = "memory://hub"
    schema_version = 0
    pending_upgrade = False

    def __init__(self) -> None:
        self.state: dict[str, Any] = {
            "log": {},
            "rows": {},
            "conflicts": {},
            "orphans": set(),
            "settings": {},
            "audit": [],
            "peers": {},
        }

    def upgrade(self) -> None:
        pass

    def station_key(self) -> None:
        return None

    def version_vector(self) -> dict[str, int]:
        return MemorySession(self.state).version_vector()

    def count_by_table(self, ranges: dict[str, tuple[int, int]]) -> Counter[str]:
        return MemorySession(self.state).count_by_table(ranges)

    @contextlib.contextmanager
    def session(self, whole: bool = False) -> Iterator[MemorySession]:
        work = copy.deepcopy(self.state)
        yield MemorySession(work)
        self.state = work

    def close(self) -> None:
        pass


def _sync(store: Store, hub: MemoryReplica, **kw: Any):
    with contextlib.closing(local_replica(store)) as local:
        return exchange(local, lambda: hub, hub.name, **kw)


def _columns(tbl: str) -> list[str]:
    return ["id", *SYNCED_FIELDS[tbl], "hlc", "device", "stamps"]


def _content(store: Store) -> dict[str, list[tuple]]:
    return {
        tbl: [
            tuple(r[c] for c in _columns(tbl))
            for r in store.query(f"SELECT {', '.join(_columns(tbl))} FROM {tbl} ORDER BY id")
        ]
        for tbl in ("households", "visits")
    }


def _conflicts(store: Store) -> set[tuple[str, frozenset[str]]]:
    """Which field lost which value to which, whoever stamped later."""
    rows = store.query("SELECT field, value, winner_value FROM conflicts")
    return {(r["field"], frozenset((r["value"], r["winner_value"]))) for r in rows}


def _laptops(tmp_path: Path, hub_sync: Callable[[Store], Any]) -> tuple[Store, Store, str]:
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    a.init_identity("张三", "a")
    b.init_identity("李四", "b")
    hid = a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格")).id
    vid = a.add_visit(Visit(household_id=hid, visit_date="2026-11-01", visitor="张三")).id
    for s in (a, b):
        hub_sync(s)
    a.edit_visit(vid, summary="A的版本")
    b.edit_visit(vid, summary="B的版本")
    b.update_household(hid, phone="13812345678")
    for s in (a, b, a):
        hub_sync(s)
    return a, b, vid


def test_laptops_converge_through_a_hub_of_another_engine(tmp_path):
    hub = MemoryReplica()
    a, b, vid = _laptops(tmp_path / "mem", lambda s: _sync(s, hub))
    assert _content(a) == _content(b)
    # the hub holds the same rows, field by field
    for tbl, rows in _content(a).items():
        held = hub.state["rows"][tbl]
        assert [tuple(held[r[0]][c] for c in _columns(tbl)) for r in rows] == rows
    # the same conflicts as through a SQLite hub
    file_hub = tmp_path / "file" / "hub.db"
    c, d, _ = _laptops(tmp_path / "file", lambda s: sync_with(s, file_hub))
    assert _conflicts(a) == _conflicts(b) == _conflicts(c) == _conflicts(d)
    assert [f for f, _ in _conflicts(a)] == ["summary"]
    assert {c["id"] for c in hub.state["conflicts"].values()} == {
        r["id"] for r in a.query("SELECT id FROM conflicts")
    }
    # converged: a repeated sync moves nothing, and a dry run changes nothing
    for s in (a, b):
        again = _sync(s, hub)
        assert (again.sent_total, again.received_total, again.conflicts) == (0, 0, [])
    a.edit_visit(vid, summary="再改")
    before = copy.deepcopy(hub.state)
    dry = _sync(a, hub, dry_run=True)
    assert dry.sent_total == 1 and hub.state == before
    for s in (a, b, c, d):
        s.close()
