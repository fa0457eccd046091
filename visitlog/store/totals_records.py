"""The summary's kept totals as the Store brings them up to date and checks them
(the tables and their triggers: :mod:`visitlog.store.totals`)."""

from __future__ import annotations

from collections.abc import Sequence

from visitlog.model import VisitlogError
from visitlog.store import cipher
from visitlog.store.database import StoreBase
from visitlog.store.totals import (
    count_months,
    differences,
    mark_households,
    month_marks,
)

#: A summary waits this long for another program's write before it reads
#: the records themselves instead of bringing the totals up to date.
REFRESH_WAIT_S = 2.0


class SummaryTotals(StoreBase):
    """The kept totals of the summary (:mod:`visitlog.store.totals`)."""

    def has_summary_totals(self) -> bool:
        """Does this file keep totals (schema version 15 on)?"""
        return bool(
            self.scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'summary_months'"
            )
        )

    def summary_totals_current(self, months: Sequence[str]) -> bool:
        """Are the totals of *months* and every household's marks current?"""
        if self.scalar("SELECT count(*) FROM marks_stale"):
            return False
        if not months:
            return True
        held = self.scalar(
            f"SELECT count(*) FROM summary_months WHERE month IN ({month_marks(months)})"
        )
        return held == len(set(months))

    def refresh_summary_totals(self, months: Sequence[str]) -> bool:
        """Bring the totals of *months* and the households' marks up to date,
        in one transaction.  False when they cannot be (a read-only file, one
        without the tables, another program writing for longer than
        :data:`REFRESH_WAIT_S`, a full disk): the summary then reads the
        records."""
        if self.read_only or not self.has_summary_totals():
            return False
        if self.summary_totals_current(months):
            return True
        wait = self.write_wait
        self.write_wait = REFRESH_WAIT_S
        try:
            with self.transaction() as tx:
                conn = tx.conn
                mark_households(conn)
                held = {
                    r[0]
                    for r in conn.execute(
                        f"SELECT month FROM summary_months WHERE month IN ({month_marks(months)})"
                    )
                }
                missing = sorted(set(months) - held)
                if missing:
                    count_months(conn, missing)
        except (VisitlogError, *cipher.DB_ERRORS, OSError):
            # Busy, a full disk, a file gone read-only: the records are read instead.
            return False
        finally:
            self.write_wait = wait
        return True

    def totals_differences(self) -> list[str]:
        """The kept totals that differ from the records (:func:`differences`)."""
        with self._lock:
            return differences(self.conn)
