"""Two replicas that hold the same as far as sync can tell."""

from __future__ import annotations

from visitlog.model import SYNCED_FIELDS
from visitlog.store import Store
from visitlog.store.inserts import LOG_SEQ, changes_in
from visitlog.sync import list_conflicts, version_vector


def assert_same_replica(a: Store, b: Store) -> None:
    """What sync gave *a* and *b* is the same, row for row and change for change:
    every column of the synced tables, the change log as sync reads it
    (whether an insert is held by its row or kept in ``changes`` depends on
    the order it arrived in), the changes held as far ahead, the version
    vector and the open conflicts."""

    def rows(s: Store, sql: str) -> list[str]:
        return sorted(map(repr, s.conn.execute(sql)))

    for tbl in SYNCED_FIELDS:
        cols = ", ".join(
            r[1] for r in a.conn.execute(f"PRAGMA table_info({tbl})") if r[1] != LOG_SEQ
        )
        assert rows(a, f"SELECT {cols} FROM {tbl}") == rows(b, f"SELECT {cols} FROM {tbl}"), tbl
    assert rows(a, "SELECT * FROM sync_held") == rows(b, "SELECT * FROM sync_held")
    vv = version_vector(a.conn)
    assert vv == version_vector(b.conn)
    for device, top in vv.items():
        assert list(changes_in(a.conn, device, 1, top)) == list(changes_in(b.conn, device, 1, top))
    assert {c["id"] for c in list_conflicts(a)} == {c["id"] for c in list_conflicts(b)}
