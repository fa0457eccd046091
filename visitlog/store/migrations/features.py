"""Migrations m012 and on: the tables and indexes of later features (the planning rules,
the open items listed in order, dedup's lookups) and inserts kept once in the change log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from visitlog.model import SYNCED_FIELDS
from visitlog.rows import in_parts
from visitlog.store.migrations.registry import SYNC_COLUMNS, migrations, set_version

if TYPE_CHECKING:
    from sqlite_utils import Database


@migrations(name="m012_plan_rules")
def m012_plan_rules(db: Database) -> None:
    """``plan_rules``: the street's visit planning rules, synced.

    Each row overrides one built-in rule of :mod:`visitlog.plan` (the interval
    of every household, of a key-group tag, the deadline an open item of a
    category or a visit's outcome sets): ``days`` is the new interval or
    deadline, NULL turns the rule off.  The id is derived from kind and key,
    so two replicas setting the same rule make the same row and the later
    setting wins everywhere.
    """
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS plan_rules (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            key TEXT NOT NULL DEFAULT '',
            days INTEGER,
            worker TEXT,
            note TEXT,
            {SYNC_COLUMNS}
        )"""
    )
    set_version(db, 12)


@migrations(name="m013_open_items_index")
def m013_open_items_index(db: Database) -> None:
    """``items_open``: the open list items in the order they are listed.

    The items screen of every grid shows a district's open items (tens of
    thousands) by deadline; through this partial index its first page is read
    in milliseconds instead of sorting all of them.  Its WHERE clause is the
    one ``list_items`` writes (the open statuses spelled out).

    An index changes nothing any visitlog reads or syncs, so the schema
    version stays 12: an older visitlog opens and syncs this database as before.
    """
    db.execute(
        "CREATE INDEX IF NOT EXISTS items_open"
        " ON items(deadline IS NULL, deadline, raised_date, id)"
        " WHERE deleted = 0 AND status IN ('待办', '办理中')"
    )


@migrations(name="m014_dedup_indexes")
def m014_dedup_indexes(db: Database) -> None:
    """Indexes for ``dedup households --changed``: the live households by head
    and by the numbers of their contact.

    An incremental de-duplication looks up, for each household changed since
    the last run, the others headed by the same name or giving one of its
    numbers.  Without these it read every row of the table (a few hundred
    megabytes of a district's file); ``households_head`` finds a name at once,
    and ``households_numbers`` holds each live household's ``phones`` (with the
    columns of its WHERE clause, so it is read alone): a number is looked for
    in it, not in the rows.

    Indexes only: the schema version stays 12.
    """
    for sql in (
        "CREATE INDEX IF NOT EXISTS households_head ON households(head)"
        " WHERE deleted = 0 AND merged_into IS NULL AND head IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS households_numbers"
        " ON households(phones, deleted, merged_into)"
        " WHERE deleted = 0 AND merged_into IS NULL AND phones IS NOT NULL",
    ):
        db.execute(sql)


#: Changes read at a time by m015 (a device's numbers, in order).
_M015_STEP = 20_000


@migrations(name="m015_inserts_kept_by_row")
def m015_inserts_kept_by_row(db: Database) -> None:
    """Inserts kept once: a row that still holds what its insert wrote is that
    insert's entry in the change log (:mod:`visitlog.store.inserts`).

    Each synced table gets ``log_seq`` (the number of the insert the row
    holds) and a partial index on ``(device, log_seq)`` for reading the log by
    number; the view ``change_log`` shows ``changes`` and the inserts the rows
    hold together.  Each insert of the log is then compared with its row:
    where the row was made by that insert, never changed since (``stamps``
    NULL, the same stamp) and gives back the same text exactly, the insert
    moves into the row.  The log read this way is the same, byte for byte, so
    what sync sends does not change; the file stops holding every row twice
    (the pages freed are used again as it grows).

    Schema version 13: an older visitlog would not see the inserts the rows
    hold, so it must refuse this database.
    """
    from visitlog.store.inserts import LOG_SEQ, insert_data, view_sql

    conn = db.conn
    for tbl in SYNCED_FIELDS:
        conn.execute(f"ALTER TABLE {tbl} ADD COLUMN {LOG_SEQ} INTEGER")
        conn.execute(
            f"CREATE INDEX {tbl}_log ON {tbl}(device, {LOG_SEQ}) WHERE {LOG_SEQ} IS NOT NULL"
        )
    conn.execute(view_sql())
    devices = [r[0] for r in conn.execute("SELECT DISTINCT device FROM changes")]
    for device in devices:
        top = conn.execute("SELECT max(seq) FROM changes WHERE device = ?", [device]).fetchone()[0]
        for first in range(1, (top or 0) + 1, _M015_STEP):
            found = conn.execute(
                "SELECT seq, tbl, row_id, hlc, data FROM changes WHERE device = ? "
                "AND seq BETWEEN ? AND ? AND op = 'insert'",
                [device, first, first + _M015_STEP - 1],
            ).fetchall()
            by_tbl: dict[str, dict[str, tuple[int, str, str]]] = {}
            for seq, tbl, row_id, hlc, data in found:
                if tbl in SYNCED_FIELDS:
                    by_tbl.setdefault(tbl, {})[row_id] = (seq, hlc, data)
            moved: list[tuple[str, int]] = []
            for tbl, wanted in by_tbl.items():
                fields = [*SYNCED_FIELDS[tbl], "created_at"]
                held = []
                for part, marks in in_parts(sorted(wanted)):
                    cur = conn.execute(
                        f"SELECT id, hlc, device, {', '.join(fields)} FROM {tbl} "
                        f"WHERE stamps IS NULL AND id IN ({marks})",
                        part,
                    )
                    for rid, hlc, dev, *values in cur:
                        seq, c_hlc, data = wanted[rid]
                        if (hlc, dev) != (c_hlc, device):
                            continue
                        if insert_data(tbl, dict(zip(fields, values, strict=True))) == data:
                            held.append((seq, rid))
                            moved.append((device, seq))
                conn.executemany(f"UPDATE {tbl} SET {LOG_SEQ} = ? WHERE id = ?", held)
            conn.executemany("DELETE FROM changes WHERE device = ? AND seq = ?", moved)
    set_version(db, 13)


@migrations(name="m016_search_keys")
def m016_search_keys(db: Database) -> None:
    """The home screen's search keys, kept (:mod:`visitlog.store.search_keys`).

    ``search_keys`` holds, per live household, the keys its search box
    matches and the text near matches are scored against, stored in the
    list's order (its primary key starts with ``sort``), so the whole list is
    read in one pass.  It is local (not synced, not in bundles) and only a
    cache: it starts empty and is filled when first needed.  The triggers
    drop a household's keys whenever a field they are made from changes or
    the household is deleted, whoever changes it (another program too): the
    keys kept are always current, and those missing are the ones to make.

    Schema version 14: an older visitlog would change households without
    dropping their keys (or delete them, letting a grid go, and leave their
    names in the keys).
    """
    conn = db.conn
    conn.execute(
        "CREATE TABLE search_keys (sort TEXT NOT NULL, id TEXT NOT NULL, keys TEXT NOT NULL, "
        "fuzzy TEXT NOT NULL, PRIMARY KEY (sort, id)) WITHOUT ROWID"
    )
    conn.execute("CREATE UNIQUE INDEX search_keys_id ON search_keys(id)")
    conn.execute(
        "CREATE TRIGGER search_keys_changed AFTER UPDATE OF micro_grid, address, address_key, "
        "head, phone, phones, deleted, merged_into ON households "
        "BEGIN DELETE FROM search_keys WHERE id = old.id; END"
    )
    conn.execute(
        "CREATE TRIGGER search_keys_gone AFTER DELETE ON households "
        "BEGIN DELETE FROM search_keys WHERE id = old.id; END"
    )
    set_version(db, 14)


@migrations(name="m017_summary_totals")
def m017_summary_totals(db: Database) -> None:
    """The summary's kept totals (:mod:`visitlog.store.totals`).

    Month by month per 微网格 (visits, who made them, items) and per
    household and year (the months it was met, refused, not at home, found
    moved), with the triggers that strike off a month or a household's marks
    whenever a row counted in them changes.  Local and only a cache: they
    start empty and are counted when a summary first needs them.

    ``households_grid`` goes: ``households_grids`` begins with the same
    column and serves every query it served.

    Schema version 15: an older visitlog would change visits without
    striking off their months, and a summary would then read stale totals.
    """
    from visitlog.store.totals import SCHEMA

    for statement in SCHEMA:
        db.conn.execute(statement)
    # households_grids begins with the same column: this one only took room.
    db.conn.execute("DROP INDEX IF EXISTS households_grid")
    set_version(db, 15)
