"""A PostgreSQL database as a replica: the hub of a street or a district.

:class:`PgReplica` and :class:`PgSession` implement
:class:`visitlog.sync.interface.Replica` and
:class:`~visitlog.sync.interface.Session` on one psycopg connection.

**Locking.**  A session is one PostgreSQL transaction (READ COMMITTED) that
first takes a transaction-level advisory lock on the hub
(:data:`HUB_LOCK`): syncs with one hub queue, each chunk of each sync whole
(:mod:`visitlog.sync.chunks`), and are applied one after another, exactly as
on a SQLite hub; a sync waiting for the lock goes in between two chunks of a
big one.  The merge rules read a replica's
version vector once, recompute each row from its whole change log, and
append to a hash-chained audit log: all three assume nobody else writes
between the read and the commit.  Per-row locks or SERIALIZABLE with retry
would let two syncs overlap, but a sync that loses a serialization race
would have to be replayed from the laptop's side (its own transaction is
open too), and a sync's hub work is short next to a laptop's
(``bench/``: the hub figures).  The lock is released by the commit or the
rollback, also when a laptop's connection drops mid-sync.

A station's role (:mod:`visitlog.sync.postgres.stations`) reads, through
row-level security, only its households, their visits and items and the
changes of those rows; the hub ships it what it may see, and advances its
version vector past the rest with *skips* (:func:`skip_change`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import Connection
from psycopg import sql as psql

from visitlog.clock import now_iso
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.rows import jdump
from visitlog.store import GENESIS_HASH, StationKey, audit_hash
from visitlog.sync.chunks import inside, spans
from visitlog.sync.interface import Change, Peer, Ranges, Target
from visitlog.sync.merge import skip_change
from visitlog.sync.postgres.apply import PLACED, PgApplier, change_of, vv_of
from visitlog.sync.postgres.schema import LATEST, migrate, schema_version
from visitlog.sync.postgres.urls import public_url

#: The advisory lock a session holds for its whole transaction.
HUB_LOCK = 0x7669_7369_746C_6F67 & 0x7FFF_FFFF_FFFF_FFFF  # "visitlog"
#: A station reads the changes of its places' rows (one query whose cost
#: grows with the station) rather than the changes in the ranges asked for,
#: each tried against the policies (a cost that grows with the ranges), from
#: this many numbers in the ranges on: a first pull, or a day of a busy
#: district; a day's sync of a street stays on the ranges.  On the 50,000
#: household demo a policy check costs about 13 µs a change, a row of a
#: station's places with its changes about 24 µs.
SCOPED_MIN = 50_000
#: Changes of households moved into a station's view taken in per batch.
MOVED_BATCH = 5000
#: How long a sync waits for the others before it gives up (ms).
LOCK_WAIT_MS = 600_000


def connect(url: str) -> Connection:
    """A connection to the hub at *url*, or one plain line saying why not.

    Raises:
        VisitlogError: the server cannot be reached, refuses the role, or
            has no such database.
    """
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        # libpq's message may end in an indented hint ("\tIs the server
        # running…") after the reason itself ("Connection refused"): both.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = " ".join(lines) or type(exc).__name__
        raise VisitlogError(t("hub.err.connect", url=public_url(url), reason=reason)) from None
    except Exception as exc:  # a malformed URL is a bad value, said in one line
        raise VisitlogError(t("hub.err.bad_url", url=public_url(url), reason=exc)) from None
    conn.execute(f"SET lock_timeout = {LOCK_WAIT_MS}")
    # A sync's queries each read a few thousand rows through indexes; the
    # planner's estimates of a station's (row security, lateral lookups)
    # pass the threshold of PostgreSQL's JIT compiler, which then spends
    # 0.2-0.5 s compiling what runs in as long again.
    conn.execute("SET jit = off")
    # visitlog reads every row of the cursors it opens (a pull's changes, a
    # snapshot's rows): planned for the first tenth of their rows (the
    # default), a station's items were read through a plan twice as slow.
    conn.execute("SET cursor_tuple_fraction = 1.0")
    return conn


def find_url(url: str) -> Target:
    """The hub *url* names (not opened: a sync opens it, a missing one is an error)."""
    return Target(
        name=public_url(url),
        location=public_url(url),
        exists=True,
        open=lambda: PgReplica(url, upgrade=False),
    )


class PgReplica:
    """The visitlog hub in the PostgreSQL database at *url*.

    Args:
        upgrade: apply the hub migrations it lacks on opening.

    Raises:
        VisitlogError: not reachable, not a visitlog hub (``hub init`` makes
            one), or made by a newer visitlog.
    """

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = url
        self.conn = connect(url)
        try:
            self._version = schema_version(self.conn)
            if self._version == 0:
                raise VisitlogError(t("hub.err.not_hub", url=public_url(url)))
            if self._version > LATEST:
                raise VisitlogError(
                    t("hub.err.newer", url=public_url(url), version=self._version, have=LATEST)
                )
            if upgrade and self._version < LATEST:
                self.upgrade()
        except BaseException:
            self.conn.close()
            raise

    @property
    def name(self) -> str:
        return public_url(self.url)

    @property
    def location(self) -> str:
        return public_url(self.url)

    @property
    def schema_version(self) -> int:
        return self._version

    @property
    def pending_upgrade(self) -> bool:
        return self._version < LATEST

    def upgrade(self) -> None:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [HUB_LOCK])
            self._version = migrate(self.conn)

    def station_key(self) -> StationKey | None:
        """A hub holds no key file: the station it belongs to is the one it recorded."""
        return None

    def version_vector(self) -> dict[str, int]:
        return vv_of(self.conn)

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        return _count_by_table(self.conn, ranges)

    @contextlib.contextmanager
    def session(self, whole: bool = False) -> Iterator[PgSession]:
        try:
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", [HUB_LOCK])
                yield PgSession(self.conn)
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VisitlogError(t("hub.err.failed", url=self.name, reason=reason)) from None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Callable[[str, Sequence[str], int], Iterator[list[Any]]]]:
        """The rows this role may read, as merged here, all from one snapshot.

        Yields a function ``rows(table, columns, batch_size)`` giving the rows
        of a table (``households``, ``visits``, …: each row's columns;
        ``conflicts``: each record) in batches of tuples of the *columns*
        asked for, as text (the receiving SQLite column's type gives it back
        its number).  The transaction is REPEATABLE READ and read only, and
        takes no lock: syncs go on while a copy is read, and none of them is
        half seen.
        """
        try:
            with self.conn.transaction():
                self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                scope = PgSession(self.conn)._scope()
                yield functools.partial(self._snapshot_rows, scope=scope)
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise VisitlogError(t("hub.err.failed", url=self.name, reason=reason)) from None

    def _snapshot_rows(
        self,
        tbl: str,
        columns: Sequence[str],
        batch_size: int,
        scope: tuple[list[str], list[str]] | None = None,
    ) -> Iterator[list[Any]]:
        # Each column by its key (a lookup in the binary JSON), as text: a
        # third quicker than expanding the whole object into a record.
        picked = psql.SQL(", ").join(psql.SQL("s.j->>{}").format(psql.Literal(c)) for c in columns)
        if tbl == "conflicts":
            source = psql.SQL(
                "record || jsonb_build_object('id', id, 'tbl', tbl, 'row_id', row_id, "
                "'resolved', resolved::int) FROM conflicts"
            )
            params: list[Any] = []
        elif scope is not None and tbl in PLACED:
            # A station that sees some places: their rows through the rows'
            # place indexes (the policies still decide), not every row tried.
            source = psql.SQL(
                "data FROM rows WHERE tbl = %s "
                "AND (community = ANY(%s::text[]) OR micro_grid = ANY(%s::text[]))"
            )
            params = [tbl, *scope]
        else:
            source, params = psql.SQL("data FROM rows WHERE tbl = %s"), [tbl]
        query = psql.SQL("SELECT {} FROM (SELECT {}) AS s(j)")
        with self.conn.cursor(name="visitlog_snapshot") as cur:
            cur.itersize = batch_size
            cur.execute(query.format(picked, source), params)
            while batch := cur.fetchmany(batch_size):
                yield batch

    def close(self) -> None:
        self.conn.close()


def _count_by_table(conn: Connection, ranges: Ranges) -> Counter[str]:
    counts: Counter[str] = Counter()
    for device, (first, last) in ranges.items():
        for tbl, n in conn.execute(
            "SELECT tbl, count(*) FROM changes WHERE device = %s AND seq BETWEEN %s AND %s "
            "AND op <> 'skip' GROUP BY tbl",
            [device, first, last],
        ):
            counts[tbl] += n
    return counts


#: The changes a station may read in the ranges asked for (``$1``–``$3``:
#: devices, first and last numbers), by the position of their device in the
#: ranges, then in order.  The rows of its places (``$4``: 居民区, ``$5``:
#: 微网格) and each one's changes, found through their indexes, and the
#: changes of the tables that name no household (the three the policies
#: place, by ranges of names, so that the index on ``tbl`` finds the rest).
_SCOPED_CHANGES = """
WITH wanted AS MATERIALIZED (
    SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[])
        WITH ORDINALITY AS w(device, first, last, n)
), mine AS MATERIALIZED (
    SELECT r.tbl, r.id FROM rows r
    WHERE r.tbl IN ('households', 'visits', 'items')
      AND (r.community = ANY(%s::text[]) OR r.micro_grid = ANY(%s::text[]))
), seen AS (
    SELECT c.* FROM mine, LATERAL (
        SELECT * FROM changes c WHERE c.tbl = mine.tbl AND c.row_id = mine.id OFFSET 0
    ) AS c
    UNION ALL
    SELECT * FROM changes c
    WHERE c.tbl < 'households' OR (c.tbl > 'households' AND c.tbl < 'items')
       OR (c.tbl > 'items' AND c.tbl < 'visits') OR c.tbl > 'visits'
)
SELECT w.n, {columns}
FROM seen s JOIN wanted w ON s.device = w.device AND s.seq BETWEEN w.first AND w.last
ORDER BY w.n, s.seq
"""


#: Changes by their keys (``$1``, ``$2``: devices and numbers, in the order
#: wanted), each found through the change log's primary key.
_NUMBERED_CHANGES = """
SELECT c.device, c.seq, c.tbl, c.row_id, c.hlc, c.op, c.data, c.base
FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS k(device, seq, n),
LATERAL (SELECT * FROM changes c WHERE c.device = k.device AND c.seq = k.seq OFFSET 0) AS c
ORDER BY k.n
"""


def _with_skips(ranges: Ranges, found: Iterable[Change], batch_size: int) -> Iterator[list[Change]]:
    """The changes *found* (device after device in the order of *ranges*,
    each in order) in batches, with a skip for every number of the ranges
    not among them: what the reader may not read."""
    rows = iter(found)
    pending = next(rows, None)
    batch: list[Change] = []
    for device, (first, last) in ranges.items():
        expected = first
        while pending is not None and pending[0] == device:
            seq = pending[1]
            if seq > expected:
                batch.append(skip_change(device, expected, seq - 1))
            batch.append(pending)
            expected = seq + 1
            if len(batch) >= batch_size:
                yield batch
                batch = []
            pending = next(rows, None)
        if expected <= last:
            batch.append(skip_change(device, expected, last))
    if batch:
        yield batch


class PgSession:
    """The hub inside its one locked transaction."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._device: str | None = None
        self._station_read = False
        self._station_value: tuple[bool, list[str], list[str]] | None = None

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = self.setting("device_id") or self.new_device("new")
        return self._device

    @property
    def identity_change(self) -> dict[str, Any] | None:
        return None

    def new_device(self, reason: str) -> str:
        """A hub takes an id once (``hub init``); it makes no changes of its own."""
        device = secrets.token_hex(6)
        self.set_setting("device_id", device)
        self._device = device
        return device

    def note_shipped(self) -> None:
        pass

    def setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = %s", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM settings WHERE key = %s", [key])
        else:
            self.conn.execute(
                "INSERT INTO settings(key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def audit(self, action: str, detail: dict[str, Any]) -> None:
        row = self.conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS_HASH
        entry = {
            "at": now_iso(),
            "worker": None,
            "device": self.device,
            "action": action,
            "tbl": None,
            "row_id": None,
            "detail": jdump(detail),
        }
        self.conn.execute(
            "INSERT INTO audit(at, worker, device, action, tbl, row_id, detail, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [*entry.values(), prev, audit_hash(prev, entry)],
        )

    # -- the change log ------------------------------------------------------------

    def version_vector(self) -> dict[str, int]:
        return vv_of(self.conn)

    def changes(
        self, ranges: Ranges, batch_size: int, readable: dict[str, list[int]] | None = None
    ) -> Iterable[list[Change]]:
        """The changes in *ranges* this role may read; what it may not read
        is shipped as skips, so the receiver's vector moves past it.

        *readable* (what :meth:`readable` said, maybe in an earlier chunk of
        this sync): a station reads those changes by their numbers, the
        policies still deciding, instead of finding its places' changes again.
        A change it could not read then and may now (its household moved into
        the station's places between two chunks) is shipped as a skip like the
        others: the household's move brings it whole (:meth:`moved`).
        """
        scope = self._scope() if readable is not None or spans(ranges) > SCOPED_MIN else None
        if scope is not None and readable is not None:
            yield from self._changes_by_number(ranges, readable, batch_size)
            return
        if scope is not None:
            yield from self._changes_in_scope(ranges, scope, batch_size)
            return
        for device, (first, last) in ranges.items():
            with self.conn.cursor(name="visitlog_changes") as cur:
                cur.itersize = batch_size
                cur.execute(
                    "SELECT device, seq, tbl, row_id, hlc, op, data, base FROM changes "
                    "WHERE device = %s AND seq BETWEEN %s AND %s ORDER BY seq",
                    [device, first, last],
                )
                yield from _with_skips({device: (first, last)}, map(tuple, cur), batch_size)

    def _station(self) -> tuple[bool, list[str], list[str]] | None:
        """What this role sees if it is a station's: (everything, 居民区,
        微网格); None for the hub's owner, whom the policies do not bind."""
        if not self._station_read:
            self._station_read = True
            known = self.conn.execute("SELECT to_regprocedure('visitlog_scope(text)')").fetchone()
            if known is not None and known[0] is not None:
                row = self.conn.execute(
                    "SELECT communities, grids, everything FROM visitlog_scope(current_user::text)"
                ).fetchone()
                if row is not None:
                    self._station_value = (bool(row[2]), list(row[0]), list(row[1]))
        return self._station_value

    def _scope(self) -> tuple[list[str], list[str]] | None:
        """The places of a station that sees only some (its 居民区 and 微网格,
        together a superset of what the policies let it read); None for a
        role that sees everything (the street office, the hub's owner)."""
        station = self._station()
        if station is None or station[0]:
            return None
        _, named, grids_named = station
        communities, grids = set(named), set(grids_named)
        # A grid may be named with its 居民区 ("源园/1"): either part may be it.
        for grid in grids_named:
            for i, ch in enumerate(grid):
                if ch == "/":
                    communities.add(grid[:i])
                    grids.add(grid[i + 1 :])
        return sorted(communities), sorted(grids)

    def _changes_in_scope(
        self, ranges: Ranges, scope: tuple[list[str], list[str]], batch_size: int
    ) -> Iterator[list[Change]]:
        """:meth:`changes` for a station: one query over the changes of the
        rows in its places and of the tables that name no household, in
        every range at once, instead of every change in the ranges tried
        against the policies one by one (which still decide what is read).

        The plan is fixed by the query's shape (materialised steps, a
        lateral lookup per row), not left to statistics a busy hub may not
        have gathered yet.
        """
        devices = list(ranges)
        communities, grids = scope
        with self.conn.cursor(name="visitlog_changes") as cur:
            cur.itersize = batch_size
            cur.execute(
                _SCOPED_CHANGES.format(
                    columns="s.device, s.seq, s.tbl, s.row_id, s.hlc, s.op, s.data, s.base"
                ),
                [
                    devices,
                    [ranges[d][0] for d in devices],
                    [ranges[d][1] for d in devices],
                    communities,
                    grids,
                ],
            )
            # each row: the device's position in the ranges, then the change
            yield from _with_skips(ranges, (tuple(r[1:]) for r in cur), batch_size)

    def _changes_by_number(
        self, ranges: Ranges, readable: dict[str, list[int]], batch_size: int
    ) -> Iterator[list[Change]]:
        """:meth:`changes` of the numbers *readable* gives inside *ranges*:
        one lookup of the change log's key each, the rest skips."""
        devices = list(ranges)
        keys = {d: inside(readable, d, *ranges[d]) for d in devices}
        wanted_devices = [d for d in devices for _ in keys[d]]
        wanted_seqs = [seq for d in devices for seq in keys[d]]
        with self.conn.cursor(name="visitlog_changes") as cur:
            cur.itersize = batch_size
            cur.execute(_NUMBERED_CHANGES, [wanted_devices, wanted_seqs])
            yield from _with_skips(ranges, map(tuple, cur), batch_size)

    def readable(self, ranges: Ranges) -> dict[str, list[int]] | None:
        """For a station that sees some places only, the numbers of the
        changes in *ranges* it may read (one query, as :meth:`changes`)."""
        scope = self._scope()
        if scope is None or not ranges:
            return None
        devices = list(ranges)
        out: dict[str, list[int]] = {d: [] for d in devices}
        rows = self.conn.execute(
            _SCOPED_CHANGES.format(columns="s.seq"),  # type: ignore[arg-type]
            [
                devices,
                [ranges[d][0] for d in devices],
                [ranges[d][1] for d in devices],
                *scope,
            ],
        )
        for n, seq in rows:
            out[devices[n - 1]].append(int(seq))
        return out

    def change(self, device: str, seq: int) -> Change | None:
        return change_of(self.conn, device, seq)

    def count_by_table(self, ranges: Ranges) -> Counter[str]:
        return _count_by_table(self.conn, ranges)

    def receiving_whole(self) -> contextlib.AbstractContextManager[object]:
        """A PostgreSQL hub receives a bundle as it receives a sync."""
        return contextlib.nullcontext()

    def applier(self, now_ms: Callable[[], int] | None = None) -> PgApplier:
        return PgApplier(self.conn, now_ms, station=self._station() is not None)

    def open_conflicts(self, ids: Sequence[str]) -> set[str]:
        rows = self.conn.execute(
            "SELECT id FROM conflicts WHERE NOT resolved AND id = ANY(%s)", [list(ids)]
        )
        return {r[0] for r in rows}

    # -- stations: households that moved --------------------------------------------

    def moved(self, since: int | None) -> tuple[Iterable[list[Change]], list[str], int | None]:
        """Households moved after move *since*, as this role sees them.

        Those it may read now come with every change of their rows (the
        receiver takes those it skipped before, and ignores the rest); those
        it may not read any more are named, for the laptop to let go of.  A
        role that reads everything (the owner, the street office) is told of
        no removal.
        """
        top = self.conn.execute("SELECT coalesce(max(id), 0) FROM moves").fetchone()[0]  # type: ignore[index]
        if since is None or since >= top:
            return [], [], top  # a first sync: everything it may see comes anyway
        moved = [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT household_id FROM moves WHERE id > %s", [since]
            )
        ]
        here = {
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM rows WHERE tbl = 'households' AND id = ANY(%s)", [moved]
            )
        }
        return self._changes_of(sorted(here)), sorted(set(moved) - here), top

    def _changes_of(self, households: list[str]) -> Iterator[list[Change]]:
        """Every change of the rows of *households*, device by device in
        order, in batches (a station given a whole street at once gets the
        changes of thousands of households, read a batch at a time)."""
        if not households:
            return
        batch_size = MOVED_BATCH
        with self.conn.cursor(name="visitlog_moved") as cur:
            cur.itersize = batch_size
            cur.execute(
                "SELECT c.device, c.seq, c.tbl, c.row_id, c.hlc, c.op, c.data, c.base "
                "FROM changes c JOIN rows r ON r.tbl = c.tbl AND r.id = c.row_id "
                "WHERE r.household_id = ANY(%s) ORDER BY c.device, c.seq",
                [households],
            )
            while batch := cur.fetchmany(batch_size):
                yield [tuple(ch) for ch in batch]  # type: ignore[misc]

    def let_go(self, households: Sequence[str]) -> int:
        """A hub keeps everything."""
        return 0

    # -- peers and the audit chain ------------------------------------------------

    def peers(self) -> list[Peer]:
        rows = self.conn.execute("SELECT device, name, kind, path, vv FROM peers").fetchall()
        return [Peer(d, n, k, p, json.loads(vv)) for d, n, k, p, vv in rows]

    def peer(self, device: str) -> Peer | None:
        row = self.conn.execute(
            "SELECT device, name, kind, path, vv FROM peers WHERE device = %s", [device]
        ).fetchone()
        return Peer(*row[:4], json.loads(row[4])) if row else None

    def save_peer(self, peer: Peer) -> None:
        self.conn.execute(
            "INSERT INTO peers(device, name, kind, path, vv, last_sync) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (device) DO UPDATE SET "
            "name = excluded.name, kind = excluded.kind, path = excluded.path, "
            "vv = excluded.vv, last_sync = excluded.last_sync",
            [
                peer.device,
                peer.name,
                peer.kind,
                peer.path,
                json.dumps(peer.vv, sort_keys=True),
                now_iso(),
            ],
        )

    def forget_peers(self, devices: Sequence[str]) -> None:
        if devices:
            self.conn.execute("DELETE FROM peers WHERE device = ANY(%s)", [list(devices)])

    def chain_head(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return {"id": row[0], "hash": row[1]} if row else None

    def audit_hash(self, entry: int) -> str | None:
        row = self.conn.execute("SELECT hash FROM audit WHERE id = %s", [entry]).fetchone()
        return row[0] if row else None


def init_hub(url: str) -> tuple[int, int, bool]:
    """Make (or bring up to date) the hub schema in the database at *url*.

    Returns:
        ``(version before, version now, whether anything was done)``.
    """
    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [HUB_LOCK])
            before = schema_version(conn)
            if before > LATEST:
                raise VisitlogError(
                    t("hub.err.newer", url=public_url(url), version=before, have=LATEST)
                )
            after = migrate(conn)
            PgSession(conn).device  # noqa: B018 - the hub's id, made once
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise VisitlogError(t("hub.err.failed", url=public_url(url), reason=reason)) from None
    finally:
        conn.close()
    return before, after, after != before


__all__ = [
    "HUB_LOCK",
    "PgReplica",
    "PgSession",
    "connect",
    "find_url",
    "init_hub",
]
