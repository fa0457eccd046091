"""Migrations m012 and on: the tables and indexes of later features (the planning rules,
the open items listed in order)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
