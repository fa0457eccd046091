"""The PostgreSQL hub's schema and its own numbered migrations.

A hub holds what the merge rules need (:mod:`visitlog.sync.merge`): the
change log, every synced row as JSON with the stamps it carries, conflict
records, rows waiting for late work and held changes; and what a replica
keeps of itself: settings, peers and an audit chain.  Migrations are
append-only: a hub made by an older visitlog is brought up to date by
``visitlog hub init`` (or a sync with ``--upgrade-target``).

Rows carry their household's 居民区 and 微网格 (``community``,
``micro_grid``) so that row-level security can decide, per station, which
rows and which changes a station's role may read
(:mod:`visitlog.sync.postgres.stations`).
"""

from __future__ import annotations

from collections.abc import Callable

from psycopg import Connection

# Migration 2: the stations table, the visibility test and the row-level
# security policies (visitlog.sync.postgres.stations says what they allow).
STATIONS = [
    """CREATE TABLE IF NOT EXISTS stations (
        role TEXT PRIMARY KEY,
        communities TEXT[] NOT NULL DEFAULT '{}',
        grids TEXT[] NOT NULL DEFAULT '{}',
        everything BOOLEAN NOT NULL DEFAULT false
    )""",
    # SECURITY DEFINER: a station's role needs no access to `stations`.
    # The role is passed in: inside the function current_user is its owner.
    """CREATE OR REPLACE FUNCTION visitlog_sees(who TEXT, c TEXT, g TEXT) RETURNS BOOLEAN
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
        SELECT EXISTS (
            SELECT 1 FROM stations s WHERE s.role = who AND (
                s.everything OR c = ANY(s.communities) OR g = ANY(s.grids)
                OR (c || '/' || g) = ANY(s.grids)))
    $$""",
    # A station may move a row it sees out of what it sees (a household to
    # another grid): PostgreSQL's policies would refuse the new row of a
    # plain UPDATE, so rows are rewritten through these two functions, which
    # check that the caller may see the row as it was.
    """CREATE OR REPLACE FUNCTION visitlog_update_row(
            t TEXT, i TEXT, d JSONB, h TEXT, c TEXT, g TEXT) RETURNS VOID
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        UPDATE rows SET data = d, household_id = h, community = c, micro_grid = g
        WHERE tbl = t AND id = i AND (
            tbl NOT IN ('households', 'visits', 'items')
            OR NOT EXISTS (SELECT 1 FROM stations WHERE role = session_user)
            OR visitlog_sees(session_user, community, micro_grid))
    $$""",
    """CREATE OR REPLACE FUNCTION visitlog_place(h TEXT, c TEXT, g TEXT) RETURNS VOID
        LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        UPDATE rows SET community = c, micro_grid = g
        WHERE household_id = h AND tbl <> 'households' AND (
            NOT EXISTS (SELECT 1 FROM stations WHERE role = session_user)
            OR visitlog_sees(session_user, community, micro_grid))
    $$""",
    "ALTER TABLE rows ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE changes ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE conflicts ENABLE ROW LEVEL SECURITY",
    "DROP POLICY IF EXISTS station_read ON rows",
    """CREATE POLICY station_read ON rows FOR SELECT USING (
        tbl NOT IN ('households', 'visits', 'items') OR visitlog_sees(current_user, community, micro_grid))""",
    "DROP POLICY IF EXISTS station_add ON rows",
    "CREATE POLICY station_add ON rows FOR INSERT WITH CHECK (true)",
    "DROP POLICY IF EXISTS station_change ON rows",
    # What a station can read it may change, also out of its own grids.
    """CREATE POLICY station_change ON rows FOR UPDATE USING (
        tbl NOT IN ('households', 'visits', 'items') OR visitlog_sees(current_user, community, micro_grid))
        WITH CHECK (true)""",
    "DROP POLICY IF EXISTS station_read ON changes",
    """CREATE POLICY station_read ON changes FOR SELECT USING (
        tbl NOT IN ('households', 'visits', 'items')
        OR EXISTS (SELECT 1 FROM rows r WHERE r.tbl = changes.tbl AND r.id = changes.row_id))""",
    "DROP POLICY IF EXISTS station_add ON changes",
    "CREATE POLICY station_add ON changes FOR INSERT WITH CHECK (true)",
    "DROP POLICY IF EXISTS station_unskip ON changes",
    "CREATE POLICY station_unskip ON changes FOR DELETE USING (op = 'skip')",
    "DROP POLICY IF EXISTS station_read ON conflicts",
    """CREATE POLICY station_read ON conflicts FOR SELECT USING (
        EXISTS (SELECT 1 FROM rows r WHERE r.tbl = conflicts.tbl AND r.id = conflicts.row_id))""",
    "DROP POLICY IF EXISTS station_add ON conflicts",
    "CREATE POLICY station_add ON conflicts FOR INSERT WITH CHECK (true)",
    "DROP POLICY IF EXISTS station_change ON conflicts",
    """CREATE POLICY station_change ON conflicts FOR UPDATE USING (
        EXISTS (SELECT 1 FROM rows r WHERE r.tbl = conflicts.tbl AND r.id = conflicts.row_id))""",
]

# Migration 3: what a station sees, for the station itself, and read once a query.  A station's pull
# reads the changes of the rows in its places (an index on the rows' place,
# then one on each row's changes) instead of every change in the log, each
# tried against the policies: at 50,000 households the first pull of one
# 居民区 read the whole log of 476,494 changes for 14,395 of its own.
SCOPE = [
    """CREATE OR REPLACE FUNCTION visitlog_scope(who TEXT)
        RETURNS TABLE(communities TEXT[], grids TEXT[], everything BOOLEAN)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
        SELECT s.communities, s.grids, s.everything FROM stations s WHERE s.role = who
    $$""",
    "CREATE INDEX IF NOT EXISTS rows_grid ON rows (micro_grid)",
    # The same test as visitlog_sees, with the station's places read once a
    # query (each scalar subquery is evaluated once: an InitPlan) instead of
    # one call of the function, and its query of `stations`, per row: a
    # station's reads went through every row with three such calls each.
    "DROP POLICY IF EXISTS station_read ON rows",
    """CREATE POLICY station_read ON rows FOR SELECT USING (
        tbl NOT IN ('households', 'visits', 'items')
        OR (SELECT s.everything FROM visitlog_scope(current_user::text) s)
        OR community = ANY((SELECT s.communities FROM visitlog_scope(current_user::text) s)::text[])
        OR micro_grid = ANY((SELECT s.grids FROM visitlog_scope(current_user::text) s)::text[])
        OR (community || '/' || micro_grid)
            = ANY((SELECT s.grids FROM visitlog_scope(current_user::text) s)::text[]))""",
]

#: (version, name, statements) — append only.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "hub",
        [
            """CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
            """CREATE TABLE changes (
                device TEXT NOT NULL,
                seq BIGINT NOT NULL,
                tbl TEXT NOT NULL,
                row_id TEXT NOT NULL,
                hlc TEXT NOT NULL,
                op TEXT NOT NULL,
                data TEXT NOT NULL,
                base TEXT,
                PRIMARY KEY (device, seq)
            )""",
            "CREATE INDEX changes_row ON changes (tbl, row_id)",
            # Every synced row, as the merge rules see it (synced fields,
            # stamps, hlc, device, created_at and derived columns), with its
            # household's place for the stations' policies.
            """CREATE TABLE rows (
                tbl TEXT NOT NULL,
                id TEXT NOT NULL,
                data JSONB NOT NULL,
                household_id TEXT,
                community TEXT,
                micro_grid TEXT,
                PRIMARY KEY (tbl, id)
            )""",
            "CREATE INDEX rows_household ON rows (household_id)",
            "CREATE INDEX rows_place ON rows (community, micro_grid)",
            """CREATE TABLE conflicts (
                id TEXT PRIMARY KEY,
                tbl TEXT NOT NULL,
                row_id TEXT NOT NULL,
                record JSONB NOT NULL,
                detected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                resolved BOOLEAN NOT NULL DEFAULT false
            )""",
            "CREATE INDEX conflicts_row ON conflicts (tbl, row_id)",
            """CREATE TABLE orphans (
                tbl TEXT NOT NULL,
                row_id TEXT NOT NULL,
                PRIMARY KEY (tbl, row_id)
            )""",
            """CREATE TABLE held (
                device TEXT NOT NULL,
                seq BIGINT NOT NULL,
                tbl TEXT NOT NULL,
                row_id TEXT NOT NULL,
                hlc TEXT NOT NULL,
                PRIMARY KEY (device, seq)
            )""",
            "CREATE INDEX held_hlc ON held (hlc)",
            """CREATE TABLE peers (
                device TEXT PRIMARY KEY,
                name TEXT,
                kind TEXT NOT NULL DEFAULT 'device',
                path TEXT,
                vv TEXT NOT NULL DEFAULT '{}',
                last_sync TEXT
            )""",
            # Households that changed place, in order: a station's laptop
            # takes in or lets go of what moved since its last sync.
            """CREATE TABLE moves (
                id BIGSERIAL PRIMARY KEY,
                household_id TEXT NOT NULL,
                community TEXT,
                micro_grid TEXT
            )""",
            # The hub's version vector, whoever asks: a station's role reads
            # only its own changes, but must know how far the log goes.
            """CREATE FUNCTION visitlog_version_vector()
                RETURNS TABLE(device TEXT, seq BIGINT)
                LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
                WITH RECURSIVE d(device) AS (
                    SELECT max(device) FROM changes
                    UNION ALL
                    SELECT (SELECT max(c.device) FROM changes c WHERE c.device < d.device)
                    FROM d WHERE d.device IS NOT NULL
                )
                SELECT d.device, (SELECT max(c.seq) FROM changes c WHERE c.device = d.device)
                FROM d WHERE d.device IS NOT NULL
            $$""",
            """CREATE TABLE audit (
                id BIGSERIAL PRIMARY KEY,
                at TEXT NOT NULL,
                worker TEXT,
                device TEXT NOT NULL,
                action TEXT NOT NULL,
                tbl TEXT,
                row_id TEXT,
                detail TEXT,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
        ],
    ),
    (2, "stations", STATIONS),
    (3, "station scope", SCOPE),
]

#: The newest hub schema this visitlog knows.
LATEST = MIGRATIONS[-1][0]
#: The table recording which migrations a hub has.
VERSION_TABLE = "visitlog_migrations"


def schema_version(conn: Connection) -> int:
    """The hub's schema version (0: not a visitlog hub, or empty)."""
    exists = conn.execute("SELECT to_regclass(%s)", [VERSION_TABLE]).fetchone()
    if not exists or exists[0] is None:
        return 0
    row = conn.execute(f"SELECT max(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(conn: Connection, on_step: Callable[[int, str], None] | None = None) -> int:
    """Apply the migrations the hub lacks, each in the caller's transaction.

    Returns:
        The schema version reached.
    """
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    have = schema_version(conn)
    for version, name, statements in MIGRATIONS:
        if version <= have:
            continue
        for sql in statements:
            conn.execute(sql)  # type: ignore[arg-type]
        conn.execute(f"INSERT INTO {VERSION_TABLE}(version, name) VALUES (%s, %s)", [version, name])
        if on_step:
            on_step(version, name)
    return schema_version(conn)


__all__ = ["LATEST", "MIGRATIONS", "VERSION_TABLE", "migrate", "schema_version"]
