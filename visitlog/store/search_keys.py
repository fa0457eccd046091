"""The search keys kept per household (table ``search_keys``, migration m016).

The keys themselves are made by :mod:`visitlog.search`; this module reads and
writes the table.  The table's triggers drop a household's keys as soon as a
field they are made from changes (or the household is deleted), so every row
kept is current and the live households without a row are the ones whose keys
are to be made.  The table is local and only a cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from visitlog.rows import live
from visitlog.store.database import StoreBase
from visitlog.store.households import _json_list

_MISSING = f"""
    SELECT h.id, h.hlc, h.micro_grid, h.address, h.address_key, h.head, h.phones
    FROM households h
    WHERE h.id > ? AND {live("h")} AND NOT EXISTS (SELECT 1 FROM search_keys s WHERE s.id = h.id)
    ORDER BY h.id LIMIT ?
"""


class SearchKeyRecords(StoreBase):
    """The ``search_keys`` table."""

    def search_keys_missing(self, after: str, limit: int) -> list[dict[str, Any]]:
        """Up to *limit* live households after id *after* (in id order) that have no keys."""
        names = ("id", "hlc", "micro_grid", "address", "address_key", "head", "phones")
        out = []
        for r in self.query_values(_MISSING, [after, limit]):
            d = dict(zip(names, r, strict=True))
            d["phones"] = _json_list(d["phones"])
            out.append(d)
        return out

    def search_keys_kept(self) -> int:
        """How many households have keys (all live: a change drops them)."""
        return int(self.scalar("SELECT count(*) FROM search_keys") or 0)

    def search_keys_count(self) -> tuple[int, int]:
        """``(households with keys, live households)``: equal when every key is there."""
        return self.search_keys_kept(), self.live_households()

    def put_search_keys(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Write ``(sort, id, keys, fuzzy, hlc)`` rows, in one transaction.

        A row is written only while its household is live and still has the
        stamp *hlc* it was read with: keys of a household changed meanwhile
        (by another program, between the read and this write) are not kept,
        and made again next time.
        """
        with self.transaction() as tx:
            tx.conn.executemany(
                "INSERT OR REPLACE INTO search_keys(sort, id, keys, fuzzy) "
                "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM households "
                f"WHERE id = ?2 AND hlc = ?5 AND {live()})",
                rows,
            )

    def search_index(self) -> Iterator[tuple[str, bytes, bytes]]:
        """``(id, keys, fuzzy)`` of every household that has keys, in the home
        screen's order, the keys as UTF-8 bytes (as they are searched)."""
        return self.iter_values(
            "SELECT id, CAST(keys AS BLOB), CAST(fuzzy AS BLOB) FROM search_keys ORDER BY sort, id"
        )

    def search_keys_first(self, n: int) -> list[str]:
        """Ids of the first *n* households of the list (that have keys)."""
        return [
            r[0]
            for r in self.query_values("SELECT id FROM search_keys ORDER BY sort, id LIMIT ?", [n])
        ]
