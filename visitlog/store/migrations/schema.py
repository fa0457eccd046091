"""Migrations m001–m007: the tables, the sync columns and the indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from visitlog.store.migrations.registry import SYNC_COLUMNS, migrations, set_version

if TYPE_CHECKING:
    from sqlite_utils import Database


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    """Households, visits, the four lists, the change log and the audit trail."""
    db.executescript(
        """
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);

        CREATE TABLE households (
            id TEXT PRIMARY KEY,
            ref TEXT,
            community TEXT,
            micro_grid TEXT NOT NULL,
            estate TEXT,
            address TEXT NOT NULL,
            address_key TEXT,
            head TEXT,
            phone TEXT,
            members INTEGER,
            occupancy TEXT NOT NULL DEFAULT '自住',
            tags TEXT NOT NULL DEFAULT '[]',
            note TEXT,
            merged_into TEXT,
            _SYNC_COLUMNS__
        );
        CREATE INDEX households_grid ON households(micro_grid);
        CREATE INDEX households_ref ON households(ref);
        CREATE INDEX households_address_key ON households(address_key);

        CREATE TABLE visits (
            id TEXT PRIMARY KEY,
            household_id TEXT NOT NULL
                REFERENCES households(id) DEFERRABLE INITIALLY DEFERRED,
            visit_date TEXT NOT NULL,
            visitor TEXT NOT NULL,
            role TEXT,
            mode TEXT NOT NULL,
            outcome TEXT NOT NULL,
            summary TEXT,
            next_due TEXT,
            merged_into TEXT,
            _SYNC_COLUMNS__
        );
        CREATE INDEX visits_household ON visits(household_id, visit_date);
        CREATE INDEX visits_date ON visits(visit_date);

        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            visit_id TEXT NOT NULL REFERENCES visits(id) DEFERRABLE INITIALLY DEFERRED,
            household_id TEXT NOT NULL
                REFERENCES households(id) DEFERRABLE INITIALLY DEFERRED,
            kind TEXT NOT NULL,
            category TEXT NOT NULL,
            description TEXT NOT NULL,
            level TEXT,
            owner TEXT,
            deadline TEXT,
            status TEXT NOT NULL DEFAULT '待办',
            resolution TEXT,
            satisfaction TEXT,
            raised_date TEXT,
            closed_date TEXT,
            _SYNC_COLUMNS__
        );
        CREATE INDEX items_visit ON items(visit_id);
        CREATE INDEX items_household ON items(household_id);
        CREATE INDEX items_status ON items(status, deadline);

        -- One row per change, made here or received from a peer.  (device, seq)
        -- names a change everywhere; the highest seq per device is the
        -- version vector.  data: JSON {field: new value} of the fields the
        -- change touched; base: JSON {field: [hlc, device]} of the stamps
        -- those fields had when the change was made (NULL for a new row), so
        -- that a merge can tell an overwrite it saw from a concurrent one.
        CREATE TABLE changes (
            device TEXT NOT NULL,
            seq INTEGER NOT NULL,
            tbl TEXT NOT NULL,
            row_id TEXT NOT NULL,
            hlc TEXT NOT NULL,
            op TEXT NOT NULL,
            data TEXT NOT NULL,
            base TEXT,
            PRIMARY KEY (device, seq)
        ) WITHOUT ROWID;
        CREATE INDEX changes_row ON changes(tbl, row_id);

        -- Who did what, when, from which device.  Append-only: the triggers
        -- refuse UPDATE and DELETE.  Each entry carries the hash of the one
        -- before it, so an edited or removed entry breaks the chain.
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            worker TEXT,
            device TEXT NOT NULL,
            action TEXT NOT NULL,
            tbl TEXT,
            row_id TEXT,
            detail TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
        """.replace("_SYNC_COLUMNS__", SYNC_COLUMNS)
    )
    set_version(db, 1)


@migrations(name="m002_review_tables")
def m002_review_tables(db: Database) -> None:
    """Conflicts kept by sync, and drafts of forms in progress."""
    db.executescript(
        """
        -- A losing value of a same-field concurrent edit, kept for review.
        -- The id is derived from what it records, so every replica that
        -- detects the same conflict makes the same row.
        CREATE TABLE conflicts (
            id TEXT PRIMARY KEY,
            tbl TEXT NOT NULL,
            row_id TEXT NOT NULL,
            field TEXT NOT NULL,
            value TEXT,
            hlc TEXT NOT NULL,
            device TEXT NOT NULL,
            winner_value TEXT,
            winner_hlc TEXT NOT NULL,
            winner_device TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            resolved INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX conflicts_open ON conflicts(resolved);

        -- A form in progress (e.g. a new visit), saved as the worker types so
        -- that a crash or a closed lid loses nothing.  Local only, not synced.
        CREATE TABLE drafts (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )
    set_version(db, 2)


@migrations(name="m003_sync")
def m003_sync(db: Database) -> None:
    """What sync keeps besides the change log: peers and a conflict index.

    ``peers`` remembers, per replica this one has exchanged changes with
    (by sync or bundle), the version vector that replica is known to hold,
    so ``bundle export --for`` can leave out what it already has.  Local
    bookkeeping: it is not synced.  ``conflicts_row`` lets a merge find the
    conflicts recorded for one row without scanning the table.
    """
    # One statement at a time: executescript would commit before the record
    # of this migration, and a crash between them would leave it half-done.
    for sql in (
        """CREATE TABLE IF NOT EXISTS peers (
            device TEXT PRIMARY KEY,
            name TEXT,
            kind TEXT NOT NULL DEFAULT 'device',
            path TEXT,
            vv TEXT NOT NULL DEFAULT '{}',
            last_sync TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS conflicts_row ON conflicts(tbl, row_id, field)",
    ):
        db.execute(sql)
    set_version(db, 3)


@migrations(name="m004_dedup")
def m004_dedup(db: Database) -> None:
    """De-duplication: merge records and "not a duplicate" decisions, both synced.

    ``dedup_merges`` keeps, per merge, the survivor, the merged records and
    every field the merge changed with its value before and after
    (``changes`` JSON ``{table: {row_id: {field: [before, after]}}}``), so
    ``dedup undo`` restores them exactly on any replica.  ``dedup_decisions``
    records pairs a worker declared distinct; its id is derived from the
    sorted pair, so two replicas deciding the same pair make the same row.
    Both carry the sync columns of the other synced tables.
    """
    # One statement at a time: executescript would commit before the record
    # of this migration.
    for sql in (
        f"""CREATE TABLE IF NOT EXISTS dedup_merges (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            survivor TEXT NOT NULL,
            members TEXT NOT NULL,
            score REAL,
            reasons TEXT,
            changes TEXT NOT NULL,
            worker TEXT,
            undone INTEGER NOT NULL DEFAULT 0,
            undone_at TEXT,
            {SYNC_COLUMNS}
        )""",
        "CREATE INDEX IF NOT EXISTS dedup_merges_survivor ON dedup_merges(survivor)",
        f"""CREATE TABLE IF NOT EXISTS dedup_decisions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            decision TEXT NOT NULL,
            worker TEXT,
            note TEXT,
            {SYNC_COLUMNS}
        )""",
        "CREATE INDEX IF NOT EXISTS dedup_decisions_kind ON dedup_decisions(kind, decision)",
    ):
        db.execute(sql)
    set_version(db, 4)


@migrations(name="m006_summary_indexes")
def m006_summary_indexes(db: Database) -> None:
    """Covering indexes for the grid summary (summary.py).

    The summary reads every live visit and item of the period; on a district
    (50,000 households, 300,000 visits) reading them through the wide table
    rows is several times slower than reading these narrow indexes, which
    hold exactly the columns the aggregates use (the partial ones also
    hold the columns of their WHERE clause, or SQLite would not treat them
    as covering).
    """
    # One statement at a time (not executescript, which would commit early):
    # the indexes and the record of this migration land together or not at all.
    for sql in (
        "CREATE INDEX IF NOT EXISTS visits_summary"
        " ON visits(household_id, visitor, visit_date, outcome, mode, deleted, merged_into)"
        " WHERE deleted = 0 AND merged_into IS NULL",
        # Dead (deleted or merged) visits: few, so excluding their items is a
        # probe into a tiny index instead of a lookup per item.
        "CREATE INDEX IF NOT EXISTS visits_dead"
        " ON visits(id) WHERE deleted != 0 OR merged_into IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS visits_merged"
        " ON visits(household_id) WHERE merged_into IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS households_summary"
        " ON households(id, community, micro_grid, occupancy, deleted, merged_into, tags)",
        "CREATE INDEX IF NOT EXISTS items_summary"
        " ON items(household_id, raised_date, visit_id, kind, category, status,"
        " satisfaction, deadline, closed_date, deleted) WHERE deleted = 0",
    ):
        db.execute(sql)
    set_version(db, 6)


@migrations(name="m007_tui_indexes")
def m007_tui_indexes(db: Database) -> None:
    """A covering index for the list of 微网格 the app reads at every start.

    ``Store.micro_grids`` counts the live households of each grid; through
    this narrow index (which holds the columns of its WHERE clause too) that
    is half the time of reading the table rows.
    """
    db.execute(
        "CREATE INDEX IF NOT EXISTS households_grids"
        " ON households(micro_grid, community, deleted, merged_into)"
    )
    set_version(db, 7)
