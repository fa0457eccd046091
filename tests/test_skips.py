"""Skips: what a laptop of a station does not hold, and the changes that come
in their place when it may see them after all (a household moved into its
居民区, its station given another): the skip keeps standing for what is still
missing, never on a number a change now holds."""

from __future__ import annotations

import json
from pathlib import Path

from visitlog.model import Household
from visitlog.store import Store
from visitlog.sync.merge import SKIP, skip_change
from visitlog.sync.sqlite import SqliteReplica
from visitlog.sync.sqlite.log import changes_since


def _log(tmp_path: Path) -> tuple[str, list[tuple]]:
    """Six changes of one laptop: a household and five edits of it."""
    a = Store(tmp_path / "a.db")
    a.init_identity("甲", "a")
    h = a.add_household(Household(address="花溪园1号101室", micro_grid="一网格"))
    for n in range(5):
        a.update_household(h.id, members=n + 1)
    device = a.device_id
    log = [ch for batch in changes_since(a.conn, {device: (1, 6)}) for ch in batch]
    a.close()
    assert [ch[1] for ch in log] == [1, 2, 3, 4, 5, 6]
    return device, log


def _receive(path: Path, *batches: list[tuple]) -> None:
    replica = SqliteReplica(path)
    try:
        for batch in batches:
            with replica.session() as s:
                applier = s.applier()
                applier.add(batch)
                applier.finish()
    finally:
        replica.close()


def _held(path: Path, device: str) -> list[tuple[int, str, int | None]]:
    with Store(path) as b:
        rows = b.query(
            "SELECT seq, op, data FROM change_log WHERE device = ? ORDER BY seq", [device]
        )
    return [
        (r["seq"], r["op"], json.loads(r["data"])["first"] if r["op"] == SKIP else None)
        for r in rows
    ]


def test_changes_at_the_end_of_a_skip_come_in_together(tmp_path: Path):
    device, log = _log(tmp_path)
    b = Store(tmp_path / "b.db")
    b.init_identity("乙", "b")
    b.close()
    _receive(tmp_path / "b.db", [skip_change(device, 1, 6)])
    # the household, and its last two edits, come in one batch: 5 then 6,
    # the end of the skip
    _receive(tmp_path / "b.db", [log[0], log[4], log[5]])
    held = _held(tmp_path / "b.db", device)
    assert held == [(1, "insert", None), (4, SKIP, 1), (5, "update", None), (6, "update", None)]
    with Store(tmp_path / "b.db") as b:
        assert b.scalar("SELECT members FROM households") == 5
        assert b.check() == []
    # what is still missing comes later, in its place, and the skip goes
    _receive(tmp_path / "b.db", [log[1], log[2], log[3]])
    assert _held(tmp_path / "b.db", device) == [
        (n, "insert" if n == 1 else "update", None) for n in range(1, 7)
    ]


def test_a_whole_skip_taken_back_leaves_no_skip(tmp_path: Path):
    device, log = _log(tmp_path)
    b = Store(tmp_path / "b.db")
    b.init_identity("乙", "b")
    b.close()
    _receive(tmp_path / "b.db", [skip_change(device, 1, 6)], log)
    assert _held(tmp_path / "b.db", device) == [
        (n, "insert" if n == 1 else "update", None) for n in range(1, 7)
    ]
