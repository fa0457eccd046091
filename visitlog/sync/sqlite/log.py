"""The change log of a SQLite replica: version vector, changes by range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from sqlite3 import Connection

from visitlog.store.inserts import fill
from visitlog.sync.interface import Change, Ranges

CHANGE_COLUMNS = "device, seq, tbl, row_id, hlc, op, data, base"


def version_vector(conn: Connection) -> dict[str, int]:
    """``{device: highest seq held}``, in a few index lookups per device.

    A ``GROUP BY`` would read the whole change log; walking the distinct
    devices down the primary key keeps a no-op sync of a district database
    as cheap as one of a tiny database.
    """
    vv: dict[str, int] = {}
    dev = conn.execute("SELECT max(device) FROM changes").fetchone()[0]
    while dev is not None:
        vv[dev] = conn.execute("SELECT max(seq) FROM changes WHERE device = ?", [dev]).fetchone()[0]
        dev = conn.execute("SELECT max(device) FROM changes WHERE device < ?", [dev]).fetchone()[0]
    return vv


def changes_since(
    conn: Connection, ranges: Ranges, batch_size: int = 2000
) -> Iterable[list[Change]]:
    """Stream the changes in ``ranges`` in batches, device by device in seq order.

    Skips (:data:`visitlog.sync.merge.SKIP`: what a station of a PostgreSQL
    hub may not see) are not passed on: a replica that lacks the changes
    they stand for refuses the exchange with a gap, rather than believing
    it holds them.
    """
    for device, (first, last) in ranges.items():
        cur = conn.execute(
            f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq BETWEEN ? AND ? "
            "AND op <> 'skip' ORDER BY seq",
            [device, first, last],
        )
        while batch := cur.fetchmany(batch_size):
            yield fill(conn, batch)  # inserts kept by their rows get their text back


def change_at(conn: Connection, device: str, seq: int) -> Change | None:
    """The change numbered ``seq`` of ``device``, if held."""
    got = conn.execute(
        f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq = ?", [device, seq]
    ).fetchone()
    return None if got is None else fill(conn, [got])[0]


def count_by_table(conn: Connection, ranges: Ranges) -> Counter[str]:
    """How many changes per table lie in ``ranges`` (for dry runs and manifests)."""
    counts: Counter[str] = Counter()
    for device, (first, last) in ranges.items():
        for tbl, n in conn.execute(
            "SELECT tbl, count(*) FROM changes WHERE device = ? AND seq BETWEEN ? AND ? "
            "AND op <> 'skip' GROUP BY tbl",
            [device, first, last],
        ):
            counts[tbl] += n
    return counts
