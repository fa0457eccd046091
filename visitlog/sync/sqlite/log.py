"""The change log of a SQLite replica: version vector, changes by range.

The log is ``changes`` together with the inserts the rows themselves hold
(:mod:`visitlog.store.inserts`); what is read here is the log as sync sends
it, every insert with its text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import islice
from sqlite3 import Connection

from visitlog.store import inserts
from visitlog.sync.interface import Change, Ranges

CHANGE_COLUMNS = inserts.CHANGE_COLUMNS


def version_vector(conn: Connection) -> dict[str, int]:
    """``{device: highest seq held}``, in a few index lookups per device.

    A ``GROUP BY`` would read the whole change log; walking the distinct
    devices down the primary key keeps a no-op sync of a district database
    as cheap as one of a tiny database.
    """
    return inserts.version_vector(conn)


def changes_since(
    conn: Connection, ranges: Ranges, batch_size: int = 2000
) -> Iterable[list[Change]]:
    """Stream the changes in ``ranges`` in batches, device by device in seq order.

    Skips (:data:`visitlog.sync.merge.SKIP`: what a station of a PostgreSQL
    hub may not see) are not passed on: a replica that lacks the changes
    they stand for refuses the exchange with a gap, rather than believing
    it holds them.
    """
    for device, (first, last) in ranges.items():
        found = inserts.changes_in(conn, device, first, last, skips=False)
        while batch := list(islice(found, batch_size)):
            yield batch


def change_at(conn: Connection, device: str, seq: int) -> Change | None:
    """The change numbered ``seq`` of ``device``, if held."""
    return inserts.change_at(conn, device, seq)


def count_by_table(conn: Connection, ranges: Ranges) -> Counter[str]:
    """How many changes per table lie in ``ranges`` (for dry runs and manifests)."""
    counts: Counter[str] = Counter()
    for device, (first, last) in ranges.items():
        counts.update(inserts.count_by_table(conn, device, first, last))
    return counts
