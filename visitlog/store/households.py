"""Household records: add, edit, list, and the home screen's overview."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from visitlog.model import OPEN_STATUSES, SYNCED_FIELDS, Household, Occupancy, Outcome
from visitlog.rows import live
from visitlog.store.database import StoreBase
from visitlog.store.listing import Listing
from visitlog.store.rowmap import household_from_row, household_row

_HOUSEHOLDS = "SELECT h.* FROM households h WHERE {where} ORDER BY micro_grid, address_key, address"


#: The columns of :meth:`HouseholdRecords.household_overview`, in its SELECT's order.
_OVERVIEW = (
    "id", "ref", "community", "micro_grid", "estate", "address", "address_key", "head",
    "phone", "phones", "members", "occupancy", "tags", "last_visit", "visited_this_year",
    "open_items",
)  # fmt: skip


def _json_list(text: str | None) -> list[Any]:
    """A JSON list column (tags, phones) as a list; most are empty."""
    return [] if not text or text == "[]" else json.loads(text)


class HouseholdRecords(StoreBase):
    """The households of a :class:`~visitlog.store.Store`."""

    # -- households ----------------------------------------------------------

    def add_household(self, household: Household) -> Household:
        """Validate and store a new household; returns it with its id.

        A household given with an ``id`` (a form that made it in advance) is
        stored under that id, once: saving it again returns the stored one.
        """
        h = household.validated()
        with self.transaction() as tx:
            if h.id and tx.rows("SELECT 1 FROM households WHERE id = ?", [h.id]):
                hid = h.id  # saved before (a retried save): nothing more to do
            else:
                hid = tx.insert("households", {**household_row(h), "id": h.id})
                tx.audit("household.add", "households", hid)
        return self.get_household(hid)

    def get_household(self, ident: str) -> Household:
        hid = self.resolve_id("households", ident)
        row = self.query("SELECT * FROM households WHERE id = ?", [hid])[0]
        return household_from_row(row)

    def update_household(self, ident: str, **fields: Any) -> Household:
        """Change the given fields of a household (validated as a whole)."""
        current = self.get_household(ident)
        merged = asdict(current) | {k: v for k, v in fields.items() if v is not None}
        h = Household(**merged).validated()
        with self.transaction() as tx:
            changed = tx.update("households", current.id, household_row(h))
            if changed:
                tx.audit("household.edit", "households", current.id, {"fields": changed})
        return self.get_household(current.id)

    def list_households(
        self,
        grid: str | None = None,
        unvisited: bool = False,
        year: int | None = None,
        community: str | None = None,
    ) -> list[Household]:
        """Live households (not deleted, not merged), ordered by grid and address.

        Args:
            grid: only this 微网格 (a name no household has gives an empty
                list: :func:`visitlog.grids.check_grid` tells a typo).
            unvisited: only those not met (见面) in ``year`` (default: this year).
        """
        sql, params = self._household_filter(grid, unvisited, year, community)
        rows = self.query(_HOUSEHOLDS.format(where=sql), params)
        return [household_from_row(r) for r in rows]

    def households_listing(
        self, grid: str | None = None, unvisited: bool = False, year: int | None = None
    ) -> Listing[Household]:
        """:meth:`list_households`, read one household at a time (see :class:`Listing`)."""
        sql, params = self._household_filter(grid, unvisited, year)
        return Listing(
            self.reader,
            _HOUSEHOLDS.format(where=sql),
            params,
            lambda _conn, rows: map(household_from_row, rows),
        )

    def _household_filter(
        self, grid: str | None, unvisited: bool, year: int | None, community: str | None = None
    ) -> tuple[str, list[Any]]:
        where = [live("h")]
        params: list[Any] = []
        if grid:
            where.append("h.micro_grid = ?")
            params.append(grid)
        if community:
            where.append("h.community = ?")
            params.append(community)
        if unvisited:
            year = year or dt.date.today().year
            where.append("h.occupancy != ?")
            params.append(Occupancy.VACANT.value)
            where.append(
                "NOT EXISTS (SELECT 1 FROM visits v WHERE v.live_household = h.id "
                f"AND {live('v')} AND v.outcome = ? "
                "AND v.visit_date BETWEEN ? AND ?)"
            )
            params += [Outcome.MET.value, f"{year}-01-01", f"{year}-12-31"]
        return " AND ".join(where), params

    def household_overview(
        self,
        grid: str | None = None,
        year: int | None = None,
        unvisited: bool = False,
        ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Households with what the home screen shows beside them.

        Each dict has the household's columns plus ``last_visit`` (date of the
        latest live visit), ``visited_this_year`` (met in ``year``) and
        ``open_items`` (待办 or 办理中), computed in one query.  With *ids*,
        only those households (a page of a long list; at most a few hundred).
        """
        year = year or dt.date.today().year
        sql, params = self._household_filter(grid, unvisited, year)
        if ids is not None:
            sql += f" AND h.id IN ({', '.join('?' * len(ids))})" if ids else " AND 0"
            params = [*params, *ids]
        # Correlated subqueries use the per-household indexes, so one 微网格 of
        # a 50,000-household district costs milliseconds; a GROUP BY over every
        # visit of the district would cost about a second whatever the filter.
        live_v = f"v.live_household = h.id AND {live('v')}"
        # Plain tuples, a few thousand at a time, each made into a plain dict
        # once (a district lists 450,000).
        rows = self.iter_values(
            f"""
            SELECT h.id, h.ref, h.community, h.micro_grid, h.estate, h.address,
                   h.address_key, h.head, h.phone, h.phones, h.members, h.occupancy, h.tags,
                   (SELECT max(v.visit_date) FROM visits v WHERE {live_v}) AS last_visit,
                   EXISTS (SELECT 1 FROM visits v WHERE {live_v} AND v.outcome = ?
                           AND v.visit_date BETWEEN ? AND ?) AS visited_this_year,
                   (SELECT count(*) FROM items i WHERE i.live_household = h.id
                           AND i.deleted = 0 AND i.live_visit IS NOT NULL
                           AND i.status IN (?, ?)) AS open_items
            FROM households h
            WHERE {sql}
            ORDER BY h.micro_grid, h.address_key, h.address
            """,
            [
                Outcome.MET.value,
                f"{year}-01-01",
                f"{year}-12-31",
                *[s.value for s in OPEN_STATUSES],
                *params,
            ],
        )
        out = []
        for r in rows:
            d = dict(zip(_OVERVIEW, r, strict=True))
            d["tags"] = _json_list(d["tags"])
            d["phones"] = _json_list(d["phones"])
            d["visited_this_year"] = bool(d["visited_this_year"])
            out.append(d)
        return out

    def households_due(self, year: int) -> Iterator[str]:
        """Ids of the live households still due in *year*: not met that year, not vacant
        (the filter of ``household list --unvisited``)."""
        where, params = self._household_filter(None, True, year)
        return (
            r[0] for r in self.iter_values(f"SELECT h.id FROM households h WHERE {where}", params)
        )

    def households_upper_bound(self) -> int:
        """At least how many households the file holds, read at once (the
        largest rowid: deleted rows counted, so never fewer than the live ones)."""
        return int(self.scalar("SELECT max(rowid) FROM households") or 0)

    def live_households(self) -> int:
        """How many live households there are."""
        return int(self.scalar(f"SELECT count(*) FROM households WHERE {live()}") or 0)

    def has_grid(self, grid: str) -> bool:
        """True when some live household is in the 微网格 *grid*."""
        return bool(
            self.scalar(
                f"SELECT 1 FROM households WHERE micro_grid = ? AND {live()} LIMIT 1", [grid]
            )
        )

    def grid_community(self, grid: str) -> str | None:
        """The 居民区 of the 微网格 *grid* (as its live households say), or None."""
        return self.scalar(
            "SELECT min(community) FROM households "
            f"WHERE micro_grid = ? AND community IS NOT NULL AND community != '' AND {live()}",
            [grid],
        )

    def households_at(self, address_key: str) -> list[Household]:
        """Live households whose normalised address is *address_key*."""
        rows = self.query(
            f"SELECT * FROM households WHERE address_key = ? AND {live()} ORDER BY address",
            [address_key],
        )
        return [household_from_row(r) for r in rows]

    def micro_grids(self) -> list[dict[str, Any]]:
        """Every 微网格 with its 居民区 and live household count."""
        rows = self.query(
            "SELECT micro_grid, min(community) AS community, count(*) AS households "
            f"FROM households WHERE {live()} "
            "GROUP BY micro_grid ORDER BY community, micro_grid"
        )
        return [dict(r) for r in rows]

    def count_live(self) -> dict[str, int]:
        """Live rows per synced table."""
        return {
            tbl: self.scalar(
                f"SELECT count(*) FROM {tbl} WHERE "
                + (live() if tbl in ("households", "visits") else "deleted = 0")
                + (" AND live_visit IS NOT NULL" if tbl == "items" else "")
            )
            for tbl in SYNCED_FIELDS
        }
