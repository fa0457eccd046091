"""The :class:`Store`: one visitlog database, every concern of it in one object."""

from __future__ import annotations

from visitlog.store.audit import AuditRecords
from visitlog.store.backup import Backups
from visitlog.store.households import HouseholdRecords
from visitlog.store.planning import PlanningReads
from visitlog.store.search_keys import SearchKeyRecords
from visitlog.store.settings import SettingsRecords
from visitlog.store.totals_records import SummaryTotals
from visitlog.store.visits import VisitRecords


class Store(
    SettingsRecords,
    HouseholdRecords,
    VisitRecords,
    PlanningReads,
    AuditRecords,
    Backups,
    SearchKeyRecords,
    SummaryTotals,
):
    """A visitlog database.

    Opening, transactions and queries come from
    :class:`~visitlog.store.database.StoreBase`; each kind of record from its
    own module (settings, households, visits and items, the audit chain,
    backup).

    Args:
        path: the SQLite file; created (with its folder) when absent unless
            ``create`` is False.
        create: make a new database when the file does not exist.
        upgrade: apply pending migrations to an existing database (the
            default).  With False an older database is opened as it is and
            ``pending_upgrade`` names what it lacks, so a caller (sync) can
            ask before upgrading someone else's file.

    Raises:
        VisitlogError: the file is not a visitlog database, was written by a
            newer visitlog, or cannot be opened.
    """

    def __enter__(self) -> Store:
        return self
