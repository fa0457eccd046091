"""Numbered schema migrations, recorded in the database.

Never edit a migration that has been released: add a new one.  Each migration
runs in its own transaction together with the record that it was applied
(sqlite-utils' ``Migrations``), and bumps ``schema_version`` in ``settings``
so that an older visitlog can refuse a database it does not understand.

Synced tables (households, visits, items) carry ``id`` (UUIDv7 made on the
device), ``hlc`` and ``device`` (stamp and author of the row's last change),
``deleted`` (tombstone) and ``stamps``: the per-field stamps of fields changed
after the row was made, as JSON ``{"*": [hlc, device], field: [hlc, device]}``
(``NULL`` while every field still carries the row's creation stamp).  With
``changes`` (one row per change, the fields it touched and the stamps they
overwrote) this is what per-field last-writer-wins merging needs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

#: The visitlog release that introduced each schema version, for the message
#: shown when a database is newer than the running program.
SCHEMA_RELEASES = {
    1: "0.1.0",
    2: "0.1.0",
    3: "0.1.0",
    4: "0.1.0",
    6: "0.1.0",
    7: "0.1.0",
    8: "0.1.0",
    9: "0.1.0",
    10: "0.1.0",
    11: "0.1.0",
}


class _MigrationSet:
    """sqlite-utils' ``Migrations``, built only when first used.

    Importing sqlite-utils costs about a tenth of a second; opening an
    up-to-date database (every start of the app) only needs the migration
    names (:func:`pending_names`), so the registry keeps them itself and the
    real ``Migrations`` is made, with every migration, when applying or
    inspecting them.
    """

    def __init__(self, name: str):
        self.name = name
        self._defs: list[tuple[str, Callable[..., Any], bool]] = []
        self._real: Migrations | None = None

    def __call__(
        self, *, name: str | None = None, transactional: bool = True
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def inner(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._defs.append((name or fn.__name__, fn, transactional))
            self._real = None
            return fn

        return inner

    def names(self) -> list[str]:
        """The registered migration names, in order."""
        return [n for n, _, _ in self._defs]

    def __getattr__(self, attr: str) -> Any:
        # Everything else (apply, pending, applied, _migrations) is the real set's.
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._real is None:
            from sqlite_utils.migrations import Migrations

            real = Migrations(self.name)
            for n, fn, transactional in self._defs:
                real(name=n, transactional=transactional)(fn)
            self._real = real
        return getattr(self._real, attr)


migrations = _MigrationSet("visitlog")


def pending_names(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations not yet applied, read with plain sqlite3 (cheap)."""
    known = migrations.names()
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not has_table:
        return known
    done = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]
        )
    }
    return [n for n in known if n not in done]


_SYNC_COLUMNS = """
    created_at TEXT NOT NULL,
    hlc TEXT NOT NULL,
    device TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    stamps TEXT
"""


def _set_version(db: Database, version: int) -> None:
    """Record the schema version (never lowering it) and the release that made it."""
    row = db.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchone()
    if row and str(row[0]).isdigit() and int(row[0]) > version:
        return
    # schema_release lets an older visitlog say which release a newer
    # database (or sync target) needs, instead of just "a newer one".
    for key, value in (
        ("schema_version", str(version)),
        ("schema_release", SCHEMA_RELEASES.get(version)),
    ):
        if value is None:
            continue
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


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
            __SYNC_COLUMNS__
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
            __SYNC_COLUMNS__
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
            __SYNC_COLUMNS__
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
        """.replace("__SYNC_COLUMNS__", _SYNC_COLUMNS)
    )
    _set_version(db, 1)


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
    _set_version(db, 2)


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
    _set_version(db, 3)


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
            {_SYNC_COLUMNS}
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
            {_SYNC_COLUMNS}
        )""",
        "CREATE INDEX IF NOT EXISTS dedup_decisions_kind ON dedup_decisions(kind, decision)",
    ):
        db.execute(sql)
    _set_version(db, 4)


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
    _set_version(db, 6)


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
    _set_version(db, 7)


@migrations(name="m008_household_phones")
def m008_household_phones(db: Database) -> None:
    """``households.phones``: the numbers understood from the contact as written.

    ``phone`` keeps the contact exactly as the worker or the roster wrote it
    (``62345678转123 / 138****5678``); ``phones`` holds, as a JSON list, the
    numbers read from it (:func:`visitlog.residents.phone_numbers`), which
    matching, search and de-duplication use.  Like ``address_key`` it is
    derived on every replica and not synced.  Existing rows get theirs here,
    and ``address_key`` of an address without its estate (``12-301``) is
    read again with the household's 小区 (:func:`visitlog.address.household_key`).
    """
    from visitlog.residents import phone_numbers

    db.execute("ALTER TABLE households ADD COLUMN phones TEXT")
    rows = db.execute("SELECT id, phone FROM households WHERE phone IS NOT NULL").fetchall()
    updates = []
    for row_id, phone in rows:
        numbers = phone_numbers(phone)
        if numbers:
            updates.append((json.dumps(numbers, ensure_ascii=False, separators=(",", ":")), row_id))
    if updates:
        db.conn.executemany("UPDATE households SET phones = ? WHERE id = ?", updates)
    # An address that names no estate (12-301) is now read with its 小区.
    from visitlog.address import household_key

    rows = db.execute(
        "SELECT id, address, estate, address_key FROM households WHERE estate IS NOT NULL"
    ).fetchall()
    keys = [
        (key, row_id)
        for row_id, address, estate, old in rows
        if (key := household_key(address, estate)) != old
    ]
    if keys:
        db.conn.executemany("UPDATE households SET address_key = ? WHERE id = ?", keys)
    _set_version(db, 8)


#: Live household / visit of visits and items (m009): where a row recorded on
#: a merged-away record lives now.  Kept by these triggers whenever a row
#: arrives (made here or received, even before its household) or a
#: ``merged_into`` changes; ``visitlog.clusters.relink`` keeps ``merged_into``.
_LIVE_TRIGGERS = (
    # Writers set live_household = household_id (and live_visit = visit_id)
    # as they insert; the insert triggers only correct a row whose household
    # or visit is merged away (a visit recorded elsewhere before the merge
    # arrived), or one a writer left without them.
    """CREATE TRIGGER IF NOT EXISTS visits_live_insert AFTER INSERT ON visits
    WHEN NEW.live_household IS NULL OR EXISTS
        (SELECT 1 FROM households WHERE id = NEW.household_id AND merged_into IS NOT NULL)
    BEGIN
        UPDATE visits SET live_household = coalesce(
            (SELECT merged_into FROM households WHERE id = NEW.household_id), NEW.household_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS visits_live_moved AFTER UPDATE OF household_id ON visits
    BEGIN
        UPDATE visits SET live_household = coalesce(
            (SELECT merged_into FROM households WHERE id = NEW.household_id), NEW.household_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS items_live_insert AFTER INSERT ON items
    WHEN NEW.live_household IS NULL OR NEW.live_visit IS NULL
        OR EXISTS (SELECT 1 FROM households WHERE id = NEW.household_id
                   AND merged_into IS NOT NULL)
        OR EXISTS (SELECT 1 FROM visits WHERE id = NEW.visit_id AND merged_into IS NOT NULL)
    BEGIN
        UPDATE items SET
            live_household = coalesce(
                (SELECT merged_into FROM households WHERE id = NEW.household_id),
                NEW.household_id),
            live_visit = coalesce(
                (SELECT merged_into FROM visits WHERE id = NEW.visit_id), NEW.visit_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS items_live_moved
    AFTER UPDATE OF household_id, visit_id ON items
    BEGIN
        UPDATE items SET
            live_household = coalesce(
                (SELECT merged_into FROM households WHERE id = NEW.household_id),
                NEW.household_id),
            live_visit = coalesce(
                (SELECT merged_into FROM visits WHERE id = NEW.visit_id), NEW.visit_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER IF NOT EXISTS households_merged AFTER UPDATE OF merged_into ON households
    BEGIN
        UPDATE visits SET live_household = coalesce(NEW.merged_into, NEW.id)
        WHERE household_id = NEW.id;
        UPDATE items SET live_household = coalesce(NEW.merged_into, NEW.id)
        WHERE household_id = NEW.id;
    END""",
    # A hidden twin item (live_visit NULL) stays hidden: relink decides it.
    """CREATE TRIGGER IF NOT EXISTS visits_merged AFTER UPDATE OF merged_into ON visits
    BEGIN
        UPDATE items SET live_visit = coalesce(NEW.merged_into, NEW.id)
        WHERE visit_id = NEW.id AND live_visit IS NOT NULL;
    END""",
)


@migrations(name="m009_merge_clusters")
def m009_merge_clusters(db: Database) -> None:
    """Merges that commute: ``merged_into`` derived, visits and items follow it.

    ``merged_into`` of households and visits stops being a synced field: every
    replica derives it from the live merge records and the 编号 of households
    (:mod:`visitlog.clusters`), so merges made on several laptops in any order
    give one answer.  Visits and items keep the household and visit they were
    recorded on; ``live_household`` / ``live_visit`` (local, kept by triggers)
    say where they live now.  ``dedup_merges.twins`` (synced) records the items
    a visit merge found entered twice; ``conflicts.source_row`` marks a conflict
    for an edit made to a merged-away record.  The covering summary indexes are
    rebuilt on the live columns.
    """
    from visitlog.clusters import relink

    conn = db.conn
    for sql in (
        "ALTER TABLE visits ADD COLUMN live_household TEXT",
        "ALTER TABLE items ADD COLUMN live_household TEXT",
        "ALTER TABLE items ADD COLUMN live_visit TEXT",
        "ALTER TABLE dedup_merges ADD COLUMN twins TEXT",
        "ALTER TABLE conflicts ADD COLUMN source_row TEXT",
        *_LIVE_TRIGGERS,
        "UPDATE visits SET live_household = coalesce("
        "(SELECT merged_into FROM households h WHERE h.id = visits.household_id), household_id)",
        "UPDATE items SET live_household = coalesce("
        "(SELECT merged_into FROM households h WHERE h.id = items.household_id), household_id),"
        " live_visit = coalesce("
        "(SELECT merged_into FROM visits v WHERE v.id = items.visit_id), visit_id)",
        # merged_into no longer has a stamp of its own.
        *(
            f"UPDATE {tbl} SET stamps = CASE "
            f"WHEN json_remove(stamps, '$.merged_into') = json_object('*', "
            f"json_extract(stamps, '$.\"*\"')) THEN NULL "
            f"ELSE json_remove(stamps, '$.merged_into') END "
            f"WHERE stamps IS NOT NULL AND json_type(stamps, '$.merged_into') IS NOT NULL"
            for tbl in ("households", "visits")
        ),
        "DROP INDEX IF EXISTS visits_summary",
        "CREATE INDEX visits_summary"
        " ON visits(live_household, visitor, visit_date, outcome, mode, deleted, merged_into)"
        " WHERE deleted = 0 AND merged_into IS NULL",
        "DROP INDEX IF EXISTS visits_merged",
        "CREATE INDEX visits_merged ON visits(live_household) WHERE merged_into IS NOT NULL",
        "DROP INDEX IF EXISTS items_summary",
        "CREATE INDEX items_summary"
        " ON items(live_household, raised_date, live_visit, kind, category, status,"
        " satisfaction, deadline, closed_date, deleted) WHERE deleted = 0",
        # visits_summary and items_summary (partial, leading with the live
        # household) serve the per-household lookups of live rows too.
        "CREATE INDEX IF NOT EXISTS items_live_visit ON items(live_visit)",
        "CREATE INDEX IF NOT EXISTS visits_merged_into"
        " ON visits(merged_into) WHERE merged_into IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS households_merged_into"
        " ON households(merged_into) WHERE merged_into IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS households_ref_live"
        " ON households(ref) WHERE deleted = 0 AND ref IS NOT NULL AND ref != ''",
    ):
        conn.execute(sql)
    # Merges made before this version named their survivor in their record;
    # relink keeps those survivors (they are the smallest named ones).
    relink(conn)
    _set_version(db, 9)


@migrations(name="m010_address_aliases")
def m010_address_aliases(db: Database) -> None:
    """``address_aliases``: workers' decisions on which places name one estate, synced.

    Each row says that ``alias`` (a 门牌 road and lane such as 花溪路45弄, or a
    short name such as 1村, read within the 居民区 ``scope``) names the estate
    ``target`` (``status`` ``confirmed``) or does not (``rejected``).  Aliases
    learned from the households themselves are not stored: every replica
    learns them again from the same data (:mod:`visitlog.places`).  The id is
    derived from scope, alias and target, so two replicas deciding the same
    alias make the same row.
    """
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS address_aliases (
            id TEXT PRIMARY KEY,
            alias TEXT NOT NULL,
            target TEXT NOT NULL,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            worker TEXT,
            note TEXT,
            {_SYNC_COLUMNS}
        )"""
    )
    _set_version(db, 10)


@migrations(name="m011_sync_life")
def m011_sync_life(db: Database) -> None:
    """What sync needs to survive restored databases, late work and wrong clocks.

    - ``sync_orphans``: rows with changes in the log that could not be applied
      yet (their insert, or the visit or household they belong to, has not
      arrived); every later merge looks at them again.  Filled here with the
      rows an older visitlog left so (their edits arrived first and were
      never applied), which the next sync then repairs.
    - ``sync_held``: changes stamped more than a day ahead of the clock that
      merged them, ranked below every other change until the clock reaches
      them (see ``visitlog.sync.merge``).
    - ``created_at`` of every synced row, recomputed from its insert in the
      change log (the value the insert carries, else the time of its stamp),
      so that every replica holds the same one; older visitlogs stored the
      author's clock on the author's laptop and the stamp elsewhere.
    - ``identity_unchecked``: this database's identity (see
      ``visitlog.identity``) is recorded on its next write instead of
      being compared with a record an older visitlog never made.
    """
    for sql in (
        "CREATE TABLE IF NOT EXISTS sync_orphans (tbl TEXT NOT NULL, row_id TEXT NOT NULL, "
        "PRIMARY KEY (tbl, row_id)) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS sync_held (device TEXT NOT NULL, seq INTEGER NOT NULL, "
        "tbl TEXT NOT NULL, row_id TEXT NOT NULL, hlc TEXT NOT NULL, "
        "PRIMARY KEY (device, seq)) WITHOUT ROWID",
    ):
        db.execute(sql)
    # Every synced table there is (each carries created_at and is in the log).
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    synced = [r[0] for r in db.execute("SELECT DISTINCT tbl FROM changes")]
    for tbl in sorted(t for t in synced if t in tables):
        # Changes whose row is absent, and rows older than an edit they hold
        # in their log (an edit that arrived before its row, never applied).
        db.execute(
            "INSERT OR IGNORE INTO sync_orphans(tbl, row_id) SELECT DISTINCT c.tbl, c.row_id "
            f"FROM changes c WHERE c.tbl = ? AND NOT EXISTS (SELECT 1 FROM {tbl} r "
            "WHERE r.id = c.row_id AND (r.hlc > c.hlc OR (r.hlc = c.hlc AND r.device >= c.device)))",
            [tbl],
        )
        db.execute(
            f"""UPDATE {tbl} SET created_at = coalesce((
                SELECT coalesce(json_extract(c.data, '$.created_at'),
                                strftime('%Y-%m-%dT%H:%M:%S+00:00',
                                         CAST(substr(c.hlc, 1, 13) AS INTEGER) / 1000,
                                         'unixepoch'))
                FROM changes c WHERE c.tbl = ? AND c.row_id = {tbl}.id AND c.op = 'insert'
                ORDER BY c.hlc DESC, c.device DESC LIMIT 1), created_at)""",
            [tbl],
        )
    db.execute(
        "INSERT OR IGNORE INTO settings(key, value) "
        "SELECT 'identity_unchecked', '1' FROM settings WHERE key = 'device_id'"
    )
    _set_version(db, 11)


LATEST = max(SCHEMA_RELEASES)


def apply(db: Database) -> None:
    """Bring the database to the latest schema."""
    migrations.apply(db)
