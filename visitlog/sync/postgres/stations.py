"""Stations on a PostgreSQL hub: one role each, row-level security.

A *station* is a PostgreSQL role that laptops of one 居民区 (or of a set of
微网格) connect with.  The hub, not the laptop, decides what it may read:
row-level security policies on ``rows``, ``changes`` and ``conflicts`` let
a station's role read only rows whose household lies in its 居民区 or
微网格 (a visit or an item goes where its household is), and the changes
and conflicts of those rows.  Tables naming no household (plan rules,
dedup decisions, skips) are read by every station.  A station writes what
its laptops made, wherever it belongs (a household moved to another grid
on a laptop is moved on the hub too).  The street office's role is a
station that sees everything (``--all``); the hub's owner (who ran
``hub init``) bypasses the policies as the tables' owner.

A household moved between grids moves its visits and items with it
(:mod:`visitlog.sync.postgres.apply`); the policies follow at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.sync.postgres.replica import HUB_LOCK, connect, public_url

_ROLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: What a station's role may touch (row-level security decides which rows).
_TABLES_RW = ("settings", "changes", "rows", "conflicts", "orphans", "held", "peers", "moves")


#: Whether a station seeing everything ``{a}``, 居民区 ``{c}`` and 微网格
#: ``{g}`` sees a household row (the test of the rows' policy).
_SEES = (
    "coalesce({a} OR community = ANY({c}::text[]) OR micro_grid = ANY({g}::text[]) "
    "OR (community || '/' || micro_grid) = ANY({g}::text[]), false)"
)


@dataclass(frozen=True)
class Station:
    role: str
    communities: tuple[str, ...]
    grids: tuple[str, ...]
    everything: bool
    #: Households a change of its places showed it (``gained``) or hid from
    #: it (``lost``): its laptops take in or let go of them at their next sync.
    gained: int = 0
    lost: int = 0
    #: Places it was given that the hub holds no household in, each with the
    #: closest place the hub does hold (None: nothing close): a misspelt
    #: 居民区 would otherwise leave its laptops empty without a word.
    unknown: tuple[tuple[str, str | None], ...] = ()


def _owner_error(url: str, exc: psycopg.Error) -> VisitlogError:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return VisitlogError(t("hub.err.owner_only", reason=reason))
    return VisitlogError(t("hub.err.failed", url=public_url(url), reason=reason))


def add_station(
    url: str,
    role: str,
    *,
    communities: tuple[str, ...] = (),
    grids: tuple[str, ...] = (),
    everything: bool = False,
) -> Station:
    """Make (or change) station *role* on the hub at *url*: the role if it is
    not there, its grants, and what it sees.  Run as the hub's owner.

    Households the change of places shows to the role, or hides from it, are
    noted as moved: at their next sync its laptops take the first in whole
    and let go of the others.

    Raises:
        VisitlogError: a bad role name, nothing to see, or not the owner.
    """
    if not _ROLE.match(role):
        raise VisitlogError(t("hub.err.bad_role", name=role))
    if not (communities or grids or everything):
        raise VisitlogError(t("hub.err.no_scope"))
    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [HUB_LOCK])
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            if not exists:
                conn.execute(f'CREATE ROLE "{role}" LOGIN')
            db = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
            conn.execute(f'GRANT CONNECT ON DATABASE "{db}" TO "{role}"')
            conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            conn.execute(
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON {", ".join(_TABLES_RW)} TO "{role}"'
            )
            conn.execute(f'GRANT SELECT, INSERT ON audit TO "{role}"')
            conn.execute(f'GRANT SELECT ON visitlog_migrations TO "{role}"')
            conn.execute(f'GRANT USAGE ON SEQUENCE audit_id_seq, moves_id_seq TO "{role}"')
            before = conn.execute(
                "SELECT communities, grids, everything FROM stations WHERE role = %s", [role]
            ).fetchone()
            conn.execute(
                "INSERT INTO stations(role, communities, grids, everything) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (role) DO UPDATE SET "
                "communities = excluded.communities, grids = excluded.grids, "
                "everything = excluded.everything",
                [role, list(communities), list(grids), everything],
            )
            gained = lost = 0
            if exists:
                # Households it now sees or no longer sees are noted as moved:
                # its laptops, whose vectors passed their changes as skips,
                # take them in whole, or let them go, at their next sync (as
                # for a household moved between 居民区).  A new role has no
                # laptop yet: their first sync brings what it sees.
                old = before if before is not None else ([], [], False)
                gained, lost = _note_moves(conn, old, (list(communities), list(grids), everything))
        unknown = () if everything else _unknown_places(conn, communities, grids)
    except psycopg.Error as exc:
        raise _owner_error(url, exc) from None
    finally:
        conn.close()
    return Station(role, tuple(communities), tuple(grids), everything, gained, lost, unknown)


def _unknown_places(
    conn: psycopg.Connection, communities: tuple[str, ...], grids: tuple[str, ...]
) -> tuple[tuple[str, str | None], ...]:
    """The 居民区 and 微网格 (``居民区/微网格`` or a bare 微网格) no household on
    the hub is in, each with the closest one that is (see :class:`Station`).
    Nothing on a hub without households yet: theirs are still to come."""
    from rapidfuzz import fuzz, process

    def held(sql: str, params: list[str]) -> bool:
        return bool(
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM rows WHERE {sql})", params).fetchone()[0]
        )  # type: ignore[index]

    if not held("tbl = 'households'", []):
        return ()
    missing = [(c, "community") for c in communities if not held("community = %s", [c])]
    for g in grids:
        community, _, grid = g.rpartition("/")
        if community:
            if not held("community = %s AND micro_grid = %s", [community, grid]):
                missing.append((g, "pair"))
        elif not held("micro_grid = %s", [grid]):
            missing.append((g, "grid"))
    if not missing:
        return ()
    places = conn.execute(
        "SELECT DISTINCT community, micro_grid FROM rows WHERE tbl = 'households'"
    ).fetchall()
    known = {
        "community": sorted({c for c, _ in places if c}),
        "grid": sorted({g for _, g in places if g}),
        "pair": sorted({f"{c}/{g}" for c, g in places if c and g}),
    }
    out: list[tuple[str, str | None]] = []
    for name, kind in missing:
        near = process.extractOne(name, known[kind], scorer=fuzz.ratio, score_cutoff=50)
        out.append((name, near[0] if near else None))
    return tuple(out)


def _note_moves(
    conn: psycopg.Connection,
    old: tuple[list[str], list[str], bool],
    new: tuple[list[str], list[str], bool],
) -> tuple[int, int]:
    """Note as moved the households a station seeing *old* (居民区, 微网格,
    everything) and one seeing *new* do not both see or both not see.

    Returns:
        How many of them *new* sees, and how many it does not.
    """
    sees_new = _SEES.format(a="%(new_all)s", c="%(new_c)s", g="%(new_g)s")
    shown = conn.execute(
        "INSERT INTO moves(household_id, community, micro_grid) "
        "SELECT id, community, micro_grid FROM rows WHERE tbl = 'households' "
        f"AND {_SEES.format(a='%(old_all)s', c='%(old_c)s', g='%(old_g)s')} <> {sees_new} "
        f"ORDER BY id RETURNING {sees_new}",
        {
            "old_c": list(old[0]),
            "old_g": list(old[1]),
            "old_all": bool(old[2]),
            "new_c": list(new[0]),
            "new_g": list(new[1]),
            "new_all": bool(new[2]),
        },
    ).fetchall()
    gained = sum(1 for (sees,) in shown if sees)
    return gained, len(shown) - gained


def list_stations(url: str) -> list[Station]:
    """The hub's stations (read by its owner)."""
    conn = connect(url)
    try:
        rows = conn.execute(
            "SELECT role, communities, grids, everything FROM stations ORDER BY role"
        ).fetchall()
    except psycopg.Error as exc:
        raise _owner_error(url, exc) from None
    finally:
        conn.close()
    return [Station(r, tuple(c), tuple(g), e) for r, c, g, e in rows]


def remove_station(url: str, role: str) -> None:
    """Take station *role* off the hub: it sees nothing more (the role stays,
    IT drops it when no other database uses it)."""
    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [HUB_LOCK])
            gone = conn.execute(
                "DELETE FROM stations WHERE role = %s RETURNING communities, grids, everything",
                [role],
            ).fetchone()
            if gone is None:
                raise VisitlogError(t("hub.err.no_station", name=role))
            # Should the role be given places again, its laptops let go of
            # what it saw before and no longer sees.
            _note_moves(conn, gone, ([], [], False))
            conn.execute(
                f'REVOKE ALL ON {", ".join(_TABLES_RW)}, audit, visitlog_migrations FROM "{role}"'
            )
    except psycopg.Error as exc:
        raise _owner_error(url, exc) from None
    finally:
        conn.close()


__all__ = ["Station", "add_station", "list_stations", "remove_station"]
