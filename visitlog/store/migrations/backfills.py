"""Migrations m008–m011: derived columns and what existing rows need filled in."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from visitlog.store.clusters import relink
from visitlog.store.migrations.registry import SYNC_COLUMNS, migrations, set_version
from visitlog.store.rowmap import address_key_of

if TYPE_CHECKING:
    from sqlite_utils import Database


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
    # The store's one read of phone numbers (later rows come with theirs,
    # Household.phones); imported here, as the address module is in
    # rowmap.address_key_of, so that opening a database never loads them.
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
    rows = db.execute(
        "SELECT id, address, estate, address_key FROM households WHERE estate IS NOT NULL"
    ).fetchall()
    keys = [
        (key, row_id)
        for row_id, address, estate, old in rows
        if (key := address_key_of(address, estate)) != old
    ]
    if keys:
        db.conn.executemany("UPDATE households SET address_key = ? WHERE id = ?", keys)
    set_version(db, 8)


#: Live household / visit of visits and items (m009): where a row recorded on
#: a merged-away record lives now.  Kept by these triggers whenever a row
#: arrives (made here or received, even before its household) or a
#: ``merged_into`` changes; ``visitlog.store.clusters.relink`` keeps ``merged_into``.
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
    (:mod:`visitlog.store.clusters`), so merges made on several laptops in any order
    give one answer.  Visits and items keep the household and visit they were
    recorded on; ``live_household`` / ``live_visit`` (local, kept by triggers)
    say where they live now.  ``dedup_merges.twins`` (synced) records the items
    a visit merge found entered twice; ``conflicts.source_row`` marks a conflict
    for an edit made to a merged-away record.  The covering summary indexes are
    rebuilt on the live columns.
    """
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
    set_version(db, 9)


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
            {SYNC_COLUMNS}
        )"""
    )
    set_version(db, 10)


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
    set_version(db, 11)
