"""The reads of visit planning (:mod:`visitlog.plan`): the facts a household's
due date is worked out from, and the 按期 counts of the summary.

The planning rules themselves (intervals, which tags and categories count)
stay in :mod:`visitlog.plan`; they reach these queries as values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from visitlog.model import CLOSED_STATUSES, OPEN_STATUSES, Occupancy, Outcome
from visitlog.rows import live
from visitlog.store.database import StoreBase, sqlite_errors

#: Where a query names its index of households (made by migration m006).
HOUSEHOLD_INDEX = "INDEXED BY households_summary"


def _values(pairs: dict[str, int]) -> tuple[str, list[Any]]:
    """A ``VALUES`` list of (key, days) pairs and its parameters."""
    return ", ".join("(?, ?)" for _ in pairs), [v for kv in pairs.items() for v in kv]


def _households(grid: str | None) -> tuple[str, list[Any]]:
    """The households that can be due: live, not vacant, of *grid* if given."""
    where = f"{live('h')} AND h.occupancy != ?" + (" AND h.micro_grid = ?" if grid else "")
    return where, [Occupancy.VACANT.value, *([grid] if grid else [])]


class PlanningReads(StoreBase):
    """What :mod:`visitlog.plan` reads from a :class:`~visitlog.store.Store`."""

    # -- the facts of due dates ------------------------------------------------------

    def plan_households(self, grid: str | None = None) -> list[dict[str, Any]]:
        """The households that can be due, with what the list shows of them."""
        cond, params = _households(grid)
        return [
            dict(r)
            for r in self.query(
                "SELECT h.id, h.micro_grid, h.community, h.estate, h.address, h.address_key, "
                f"h.head, h.phone, h.tags, h.created_at FROM households h WHERE {cond}",
                params,
            )
        ]

    def plan_visits(self, grid: str | None = None) -> Iterator[tuple[Any, ...]]:
        """``(household, visit_date, outcome, next_due, visitor)`` of their live
        visits, oldest first (read a batch at a time: a district has millions)."""
        cond, params = _households(grid)
        return self.iter_values(
            "SELECT v.live_household, v.visit_date, v.outcome, v.next_due, v.visitor "
            "FROM visits v JOIN households h ON h.id = v.live_household "
            f"WHERE {live('v')} AND {cond} ORDER BY v.visit_date, v.created_at, v.id",
            params,
        )

    def plan_open_items(
        self, kinds: Sequence[str], grid: str | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """``(household, kind, category, raised)`` of their open items of *kinds*
        (raised: the item's own date, else its visit's), a batch at a time."""
        cond, params = _households(grid)
        open_marks = ",".join("?" * len(OPEN_STATUSES))
        kind_marks = ",".join("?" * len(kinds))
        return self.iter_values(
            "SELECT i.live_household, i.kind, i.category, coalesce(i.raised_date, v.visit_date) "
            "FROM items i JOIN households h ON h.id = i.live_household "
            "LEFT JOIN visits v ON v.id = i.live_visit "
            f"WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.status IN ({open_marks}) "
            f"AND i.kind IN ({kind_marks}) AND {cond}",
            [*(s.value for s in OPEN_STATUSES), *kinds, *params],
        )

    # -- the 按期 counts of the summary --------------------------------------------

    def plan_grids(self, grid: str | None = None) -> list[tuple[str | None, str]]:
        """``(居民区, 微网格)`` of every grid with a household that can be due."""
        cond, params = _households(grid)
        return [
            (r[0], r[1])
            for r in self.query_values(
                f"SELECT DISTINCT h.community, h.micro_grid FROM households h {self._household_index()}"
                f" WHERE {cond}",
                params,
            )
        ]

    def key_on_time_counts(
        self, tags: dict[str, int], date_from: dt.date, date_to: dt.date, grid: str | None = None
    ) -> list[tuple[Any, ...]]:
        """``(居民区, 微网格, key households, on time)``: households with a tag of
        *tags* (tag → days; the shortest of theirs counts), and those met within
        their interval before *date_to* (and not before *date_from*)."""
        cond, hparams = _households(grid)
        values, vparams = _values(tags)
        # CROSS JOIN keeps the order: each household's tags read once, each
        # looked up among the rules (not every rule against every household).
        # Each household's visits are looked up in household order, before the
        # grouping (MATERIALIZED): grouped first, the lookups would jump about
        # the visits' index, and on an encrypted database a page that fell out
        # of the cache is decrypted again each time it is read.
        return self.query_values(
            f"""
            WITH tag_rules(tag, days) AS (VALUES {values}),
            keyed AS (
                SELECT h.id, h.community, h.micro_grid, min(r.days) AS days
                FROM households h CROSS JOIN json_each(h.tags) j
                CROSS JOIN tag_rules r ON r.tag = j.value
                WHERE {cond} AND instr(h.tags, '"') > 0 GROUP BY h.id
            ),
            judged AS MATERIALIZED (
                SELECT k.community, k.micro_grid, EXISTS (
                    SELECT 1 FROM visits v WHERE v.live_household = k.id AND {live("v")}
                    AND v.outcome = ? AND v.visit_date <= ?
                    AND v.visit_date >= max(?, date(?, '-' || k.days || ' days'))) AS ok
                FROM keyed k
            )
            SELECT community, micro_grid, count(*), sum(ok)
            FROM judged GROUP BY community, micro_grid
            """,
            [
                *vparams,
                *hparams,
                Outcome.MET.value,
                date_to.isoformat(),
                date_from.isoformat(),
                date_to.isoformat(),
            ],
        )

    def special_on_time_counts(
        self,
        categories: dict[str, int],
        kinds: Sequence[str],
        date_from: dt.date,
        date_to: dt.date,
        grid: str | None = None,
        conn: Any = None,
    ) -> list[tuple[Any, ...]]:
        """``(居民区, 微网格, households, late)``: households with an item of
        *kinds* and *categories* (category → days to its deadline) raised in
        the period whose deadline fell in it, and those of them with an item
        neither met again by its deadline nor closed by then.

        Args:
            conn: read on this connection of the same file (a :meth:`reader`)
                instead of the Store's own, to run beside another read.
        """
        cond, hparams = _households(grid)
        values, vparams = _values(categories)
        closed = ",".join("?" * len(CLOSED_STATUSES))
        kind_marks = ",".join("?" * len(kinds))
        # Read once through the items (CROSS JOIN: not once per rule), the
        # household's grid from the covering index, a visit only for an item
        # without its own raised date: a third of the pages read, which on an
        # encrypted database are each decrypted.  An item closed in time needs
        # no visit; the others' visits are looked up in household order, before
        # the grouping (MATERIALIZED), as in key_on_time_counts.
        sql = f"""
            WITH item_rules(category, days) AS (VALUES {values}),
            raised AS (
                SELECT i.live_household AS hid, h.community, h.micro_grid, i.status,
                       i.closed_date,
                       coalesce(i.raised_date, (SELECT v.visit_date FROM visits v
                                                WHERE v.id = i.live_visit)) AS day, r.days
                FROM items i CROSS JOIN item_rules r ON r.category = i.category
                JOIN households h {{HOUSEHOLD_INDEX}} ON h.id = i.live_household
                WHERE i.deleted = 0 AND i.live_visit IS NOT NULL AND i.kind IN ({kind_marks})
                AND {cond}
            ),
            due AS (
                SELECT *, date(day, '+' || days || ' days') AS deadline FROM raised
                WHERE day BETWEEN ? AND ?
            ),
            judged AS MATERIALIZED (
                SELECT hid, community, micro_grid, (
                    (status IN ({closed}) AND closed_date IS NOT NULL
                     AND closed_date <= deadline)
                    OR EXISTS (SELECT 1 FROM visits w WHERE w.live_household = hid
                               AND {live("w")} AND w.outcome = ?
                               AND w.visit_date > day AND w.visit_date <= deadline)
                ) AS ok
                FROM due WHERE deadline <= ?
            )
            SELECT community, micro_grid, count(DISTINCT hid),
                   count(DISTINCT CASE WHEN NOT ok THEN hid END)
            FROM judged GROUP BY community, micro_grid
            """
        params = [
            *vparams,
            *kinds,
            *hparams,
            date_from.isoformat(),
            date_to.isoformat(),
            *(s.value for s in CLOSED_STATUSES),
            Outcome.MET.value,
            date_to.isoformat(),
        ]
        sql = sql.replace("{HOUSEHOLD_INDEX}", self._household_index())
        if conn is not None:
            with sqlite_errors(self.path):
                return conn.execute(sql, params).fetchall()
        return self.query_values(sql, params)

    def _household_index(self) -> str:
        """``INDEXED BY`` the households' covering index (a small one, read in
        order), or nothing on a database whose index was dropped: slower, the
        same figures."""
        return HOUSEHOLD_INDEX if self.has_index("households_summary") else ""
