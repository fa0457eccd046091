"""Rows of another replica, as it merged them, written into a new SQLite file.

A read copy (``visitlog summary --hub``) need not replay a hub's whole change
log through the merge rules: a PostgreSQL hub keeps every row as the same
rules left it, so its rows are written here as they are.  The copy has no
change log of its own: it is for reading, never for syncing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from sqlite3 import Connection

from visitlog.model import SYNCED_FIELDS
from visitlog.store import LIVE_COLUMNS, LIVE_SOURCE, relink
from visitlog.sync.merge import PARENTS, TABLE_ORDER

#: The tables a snapshot holds: every synced one, parents first (households,
#: visits, items, then merge records, decisions, aliases, planning rules),
#: and the conflict records.
SNAPSHOT_TABLES = (
    *TABLE_ORDER,
    *(tbl for tbl in SYNCED_FIELDS if tbl not in TABLE_ORDER),
    "conflicts",
)
#: Columns the Store needs filled (NOT NULL) whose default a row may leave out.
_ZERO = ("deleted", "resolved")
#: Columns a copy always reads, whatever its reader asks for: what makes a
#: row a row (its id, tombstone, links) and what :func:`finish` derives
#: the merges from (households with the same ``ref`` are one).
COPY_NEEDS = frozenset({"id", "deleted", "merged_into", "household_id", "visit_id", "ref"})


def row_plan(
    conn: Connection, tbl: str, only: Mapping[str, Collection[str]] | None = None
) -> tuple[list[str], str]:
    """How a snapshot's rows of *tbl* are written into *conn*: the columns to
    read, in order (None where a row has no value; text is fine for any
    column: the column's type turns it back into a number, as it would a
    number itself), and the INSERT that takes a tuple of them.

    A visit's or item's live household and visit are its own, as for any
    new row; :func:`finish` moves them to a survivor.

    *only* (``{table: columns}``) reads only these columns of the tables it
    names, and :data:`COPY_NEEDS`: a copy for one reader (the summary reads
    neither notes nor the merge stamps) is read and written in a fraction of
    the time.  A required column left out is written empty.
    """
    live = LIVE_COLUMNS.get(tbl, ())
    info = [(r[1], r[3] and r[4] is None) for r in conn.execute(f"PRAGMA table_info({tbl})")]
    cols = [c for c, _ in info if c not in live]
    empty: list[str] = []
    if only is not None and tbl in only:
        wanted = COPY_NEEDS | set(only[tbl])
        empty = [c for c, required in info if required and c not in wanted and c not in live]
        cols = [c for c in cols if c in wanted]
    # A live link is read once, as its source column, and written twice
    # (numbered parameters): a visit's household id is not sent twice.
    read = cols + [LIVE_SOURCE[c] for c in live if LIVE_SOURCE[c] not in cols]
    values = [
        *(f"coalesce(?{i}, 0)" if c in _ZERO else f"?{i}" for i, c in enumerate(cols, 1)),
        *(f"?{read.index(LIVE_SOURCE[c]) + 1}" for c in live),
        *("''" for _ in empty),
    ]
    sql = f"INSERT INTO {tbl} ({', '.join([*cols, *live, *empty])}) VALUES ({', '.join(values)})"
    return read, sql


def finish(conn: Connection) -> int:
    """Make the written rows whole, as a replaying copy would have them.

    Visits and items whose household or visit the copy does not hold (a
    role that may read a row but not its parent) are removed: a replay would
    have kept them waiting, unbuilt.  Then what the Store derives from the
    merge records is derived (``merged_into``, and through the Store's
    triggers the live links; hidden twins, conflicts forwarded to a
    survivor: :func:`visitlog.store.relink`).  Called with the indexes and
    triggers back in place.

    Returns:
        How many rows were removed for want of a parent.
    """
    removed = 0
    for tbl in ("visits", "items"):
        for col, parent in PARENTS[tbl]:
            removed += conn.execute(
                f"DELETE FROM {tbl} WHERE {col} NOT IN (SELECT id FROM {parent})"
            ).rowcount
    relink(conn)
    return removed


def merges_to_derive(conn: Connection) -> bool:
    """Whether :func:`finish` will move rows to a survivor: a merge record in
    force, households sharing an 编号, or a row marked merged (a copy written
    without some indexes needs them back first: see
    :func:`visitlog.sync.copy_replica`)."""
    return any(
        conn.execute(sql).fetchone() is not None
        for sql in (
            "SELECT 1 FROM dedup_merges WHERE deleted = 0 AND undone = 0 LIMIT 1",
            "SELECT 1 FROM households WHERE deleted = 0 AND ref IS NOT NULL AND ref != '' "
            "GROUP BY ref HAVING count(*) > 1 LIMIT 1",
            "SELECT 1 FROM households WHERE merged_into IS NOT NULL LIMIT 1",
            "SELECT 1 FROM visits WHERE merged_into IS NOT NULL LIMIT 1",
        )
    )


__all__ = ["COPY_NEEDS", "SNAPSHOT_TABLES", "finish", "merges_to_derive", "row_plan"]
