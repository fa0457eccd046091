"""Visit and list-item records: add, edit, delete, list."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import asdict
from typing import Any

from visitlog.i18n import t
from visitlog.model import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    SYNCED_FIELDS,
    Category,
    Item,
    Kind,
    Satisfaction,
    Status,
    ValidationError,
    Visit,
    parse_date,
)
from visitlog.rows import live
from visitlog.store.database import StoreBase
from visitlog.store.listing import Listing
from visitlog.store.rowmap import item_from_row, item_row, visit_from_row, visit_row

_VISITS = "SELECT v.* FROM visits v WHERE {where} ORDER BY v.visit_date, v.id"


def _visits_with_items(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> list[Visit]:
    """The visits of one batch of rows, each with its live items (in the order made)."""
    ids = [r["id"] for r in rows]
    items: dict[str, list[Item]] = {}
    cur = conn.execute(
        f"SELECT * FROM items WHERE deleted = 0 AND live_visit IN ({','.join('?' * len(ids))}) "
        "ORDER BY rowid",
        ids,
    )
    names = [d[0] for d in cur.description or ()]
    for r in cur:
        item = item_from_row(dict(zip(names, r, strict=True)))
        items.setdefault(item.visit_id, []).append(item)
    return [visit_from_row(r, items.get(r["id"], [])) for r in rows]


#: The open statuses as an SQL list, written out as migration m013's partial
#: index items_open has them (SQLite uses a partial index only for the same term).
OPEN_IN = "(" + ", ".join(f"'{s.value}'" for s in OPEN_STATUSES) + ")"


class VisitRecords(StoreBase):
    """The visits and list items of a :class:`~visitlog.store.Store`."""

    # -- visits ---------------------------------------------------------------

    def add_visit(self, visit: Visit) -> Visit:
        """Validate and store a visit with its list items, in one transaction.

        A visit given with an ``id`` (a form that made it in advance) is
        stored under that id, once: saving it again returns the stored one.
        """
        household_id = self.resolve_id("households", visit.household_id)
        v = Visit(**{**asdict(visit), "items": visit.items, "household_id": household_id})
        v = v.validated()
        with self.transaction() as tx:
            if v.id and tx.rows("SELECT 1 FROM visits WHERE id = ?", [v.id]):
                return self.get_visit(v.id)  # saved before (a retried save)
            vid = tx.insert("visits", {**visit_row(v), "id": v.id})
            item_ids = []
            for item in v.items:
                item.visit_id, item.household_id = vid, household_id
                item_ids.append(tx.insert("items", item_row(item)))
            tx.audit("visit.add", "visits", vid, {"household": household_id, "items": item_ids})
        return self.get_visit(vid)

    def get_visit(self, ident: str) -> Visit:
        vid = self.resolve_id("visits", ident)
        row = self.query("SELECT * FROM visits WHERE id = ?", [vid])[0]
        items = self.query(
            "SELECT * FROM items WHERE live_visit = ? AND deleted = 0 ORDER BY rowid", [vid]
        )
        return visit_from_row(row, [item_from_row(i) for i in items])

    def edit_visit(self, ident: str, **fields: Any) -> Visit:
        """Change only the given fields of a visit (None means "leave as is")."""
        current = self.get_visit(ident)
        given = {k: v for k, v in fields.items() if v is not None}
        unknown = set(given) - set(SYNCED_FIELDS["visits"])
        if unknown:
            raise ValidationError(t("err.unknown_field", field=", ".join(sorted(unknown))))
        merged = Visit(**{**asdict(current), "items": [], **given}).validated()
        with self.transaction() as tx:
            row = visit_row(merged)
            changed = tx.update("visits", current.id, {k: row[k] for k in given})
            if changed:
                tx.audit("visit.edit", "visits", current.id, {"fields": changed})
        return self.get_visit(current.id)

    def delete_visit(self, ident: str) -> str:
        """Tombstone a visit and its items; the rows stay for sync.

        A visit that merged copies of itself is deleted with those copies (the
        worker sees one visit and deletes it); a copy deleted on a laptop that
        had not seen the merge is just that copy, and the merge keeps the other.
        """
        vid = self.resolve_id("visits", ident)
        with self.transaction() as tx:
            rep = tx.rows("SELECT merged_into FROM visits WHERE id = ?", [vid])[0]["merged_into"]
            rep = rep or vid
            cluster = [rep] + [
                r["id"]
                for r in tx.rows(
                    "SELECT id FROM visits WHERE merged_into = ? AND deleted = 0 ORDER BY id", [rep]
                )
            ]
            for one in cluster:
                tx.update("visits", one, {"deleted": 1})
                for r in tx.rows("SELECT id FROM items WHERE visit_id = ? AND deleted = 0", [one]):
                    tx.update("items", r["id"], {"deleted": 1})
            tx.audit(
                "visit.delete", "visits", vid, {"copies": cluster[1:]} if cluster[1:] else None
            )
        return vid

    def list_visits(
        self,
        household: str | None = None,
        grid: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        visitor: str | None = None,
    ) -> list[Visit]:
        """Live visits with their live items, oldest first."""
        cond, params = self._visit_filter(household, grid, date_from, date_to, visitor)
        rows = self.query(_VISITS.format(where=cond), params)
        items: dict[str, list[Item]] = {}
        for r in self.query(
            f"SELECT i.* FROM items i JOIN visits v ON v.id = i.live_visit "
            f"WHERE i.deleted = 0 AND {cond} ORDER BY i.rowid",
            params,
        ):
            items.setdefault(r["live_visit"], []).append(item_from_row(r))
        return [visit_from_row(r, items.get(r["id"], [])) for r in rows]

    def visits_listing(
        self,
        household: str | None = None,
        grid: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        visitor: str | None = None,
    ) -> Listing[Visit]:
        """:meth:`list_visits`, read one visit at a time (see :class:`Listing`):
        the items of each batch of visits are read with it."""
        cond, params = self._visit_filter(household, grid, date_from, date_to, visitor)
        return Listing(self.reader, _VISITS.format(where=cond), params, _visits_with_items)

    def _visit_filter(
        self,
        household: str | None,
        grid: str | None,
        date_from: str | None,
        date_to: str | None,
        visitor: str | None,
    ) -> tuple[str, list[Any]]:
        where = [live("v")]
        params: list[Any] = []
        if household:
            where.append("v.live_household = ?")
            params.append(self.resolve_id("households", household))
        if grid:
            where.append("v.live_household IN (SELECT id FROM households WHERE micro_grid = ?)")
            params.append(grid)
        if date_from:
            where.append("v.visit_date >= ?")
            params.append(parse_date(date_from, "date_from").isoformat())
        if date_to:
            where.append("v.visit_date <= ?")
            params.append(parse_date(date_to, "date_to").isoformat())
        if visitor:
            where.append("v.visitor = ?")
            params.append(visitor)
        return " AND ".join(where), params

    # -- items ----------------------------------------------------------------

    def list_items(
        self,
        open_only: bool = False,
        overdue: bool = False,
        kind: str | None = None,
        category: str | None = None,
        grid: str | None = None,
        household: str | None = None,
        today: dt.date | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Item]:
        """Live list items; overdue ones (open, deadline passed) first.

        Args:
            limit, offset: only this many, after the first *offset* (every
                grid's open items come in this order straight from an index,
                so a page of them costs milliseconds however many there are).
        """
        sql, params = self._items_query(open_only, overdue, kind, category, grid, household, today)
        if limit is not None:
            sql, params = f"{sql} LIMIT ? OFFSET ?", [*params, int(limit), int(offset)]
        return [item_from_row(r) for r in self.query(sql, params)]

    def count_items(
        self,
        open_only: bool = False,
        overdue: bool = False,
        kind: str | None = None,
        category: str | None = None,
        grid: str | None = None,
        household: str | None = None,
        today: dt.date | None = None,
    ) -> tuple[int, int]:
        """How many items :meth:`list_items` lists, and how many of them are overdue."""
        sql, params = self._items_query(
            open_only, overdue, kind, category, grid, household, today, count=True
        )
        row = self.query(sql, params)[0]
        return int(row["n"]), int(row["late"] or 0)

    def items_listing(
        self,
        open_only: bool = False,
        overdue: bool = False,
        kind: str | None = None,
        category: str | None = None,
        grid: str | None = None,
    ) -> Listing[Item]:
        """:meth:`list_items`, read one item at a time (see :class:`Listing`)."""
        sql, params = self._items_query(open_only, overdue, kind, category, grid, None, None)
        return Listing(self.reader, sql, params, lambda _conn, rows: map(item_from_row, rows))

    def _items_query(
        self,
        open_only: bool,
        overdue: bool,
        kind: str | None,
        category: str | None,
        grid: str | None,
        household: str | None,
        today: dt.date | None,
        count: bool = False,
    ) -> tuple[str, list[Any]]:
        today_s = (today or dt.date.today()).isoformat()
        where = ["i.deleted = 0", live("v")]
        params: list[Any] = []
        open_values = [s.value for s in OPEN_STATUSES]
        only_open = open_only or overdue
        if only_open:
            # Written out (they are the model's constants): the partial index
            # items_open (migration m013) is used only for this very term.
            where.append(f"i.status IN {OPEN_IN}")
        if overdue:
            where.append("i.deadline IS NOT NULL AND i.deadline < ?")
            params.append(today_s)
        if kind:
            where.append("i.kind = ?")
            params.append(Kind.parse(kind).value)
        if category:
            where.append("i.category = ?")
            params.append(Category.parse(category).value)
        if grid:
            where.append("h.micro_grid = ?")
            params.append(grid)
        if household:
            where.append("i.live_household = ?")
            params.append(self.resolve_id("households", household))
        # One grid's items are read from its households (a few hundred), not by
        # status from every grid's (the planner's choice otherwise: 25× slower
        # on a district).
        # Every grid's open items are read in the order shown straight from
        # items_open, so a first page stops after its rows (the planner would
        # rather take items_status and sort all of them).
        by_index = (
            only_open and not count and not grid and not household and self.has_index("items_open")
        )
        items = "items i INDEXED BY items_open" if by_index else "items i"
        joined = (
            f"households h CROSS JOIN {items} ON h.id = i.live_household "
            "JOIN visits v ON v.id = i.live_visit"
            if grid
            else f"{items} JOIN visits v ON v.id = i.live_visit "
            "JOIN households h ON h.id = i.live_household"
        )
        if count:
            overdue_sql = f"i.status IN {OPEN_IN} AND i.deadline IS NOT NULL AND i.deadline < ?"
            sql = f"""
                SELECT count(*) AS n, sum({overdue_sql}) AS late FROM {joined}
                WHERE {" AND ".join(where)}
                """
            return sql, [today_s, *params]
        if only_open:
            # Every item here is open, so "overdue first, then by deadline" is
            # simply by deadline (an overdue deadline is the earlier one).
            order = "i.deadline IS NULL, i.deadline, i.raised_date, i.id"
            tail: list[Any] = []
        else:
            order = (
                "(i.status IN (?, ?) AND i.deadline IS NOT NULL AND i.deadline < ?) DESC, "
                "i.deadline IS NULL, i.deadline, i.raised_date, i.id"
            )
            tail = [*open_values, today_s]
        sql = f"""
            SELECT i.* FROM {joined}
            WHERE {" AND ".join(where)}
            ORDER BY {order}
            """
        return sql, [*params, *tail]

    def has_visitor(self, name: str) -> bool:
        """Whether some live visit names *name* as its visitor."""
        sql = f"SELECT 1 FROM visits WHERE visitor = ? AND {live()} LIMIT 1"
        return bool(self.scalar(sql, [name]))

    def frequent_visitors(self, limit: int = 5) -> list[str]:
        """The visitors of the most live visits, most first."""
        sql = (
            f"SELECT visitor FROM visits WHERE {live()} AND visitor IS NOT NULL "
            "GROUP BY visitor ORDER BY count(*) DESC LIMIT ?"
        )
        return [r[0] for r in self.query_values(sql, [limit])]

    def get_item(self, ident: str) -> Item:
        iid = self.resolve_id("items", ident)
        return item_from_row(self.query("SELECT * FROM items WHERE id = ?", [iid])[0])

    def update_item(
        self,
        ident: str,
        status: str | None = None,
        note: str | None = None,
        satisfaction: str | None = None,
        owner: str | None = None,
        deadline: str | None = None,
        today: dt.date | None = None,
    ) -> Item:
        """Move an item along 待办 → 办理中 → 已办结 → 已反馈 (or 无法解决).

        Closing stamps ``closed_date`` (today); 无法解决 needs a note saying why.
        """
        current = self.get_item(ident)
        fields: dict[str, Any] = {}
        if status:
            new_status = Status.parse(status)
            fields["status"] = new_status.value
            if new_status == Status.UNSOLVABLE and not (note or current.resolution):
                raise ValidationError(t("err.unsolvable_needs_note"))
            if new_status in CLOSED_STATUSES and not current.closed_date:
                fields["closed_date"] = (today or dt.date.today()).isoformat()
            if new_status in OPEN_STATUSES:
                fields["closed_date"] = None
        if note is not None:
            fields["resolution"] = note.strip() or None
        if satisfaction:
            fields["satisfaction"] = Satisfaction.parse(satisfaction).value
        if owner is not None:
            fields["owner"] = owner.strip() or None
        if deadline is not None:
            d = parse_date(deadline, "deadline")
            fields["deadline"] = d.isoformat() if d else None
        if not fields:
            raise ValidationError(t("err.nothing_to_change"))
        with self.transaction() as tx:
            changed = tx.update("items", current.id, fields)
            if changed:
                tx.audit("item.update", "items", current.id, {"fields": changed})
        return self.get_item(current.id)
