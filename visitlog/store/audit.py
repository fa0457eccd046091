"""The hash-chained ``audit`` table: entries, verification, and the store's check.

Each entry links to the one before it by a SHA-256 hash, or, once the replica
holds a station key (:mod:`visitlog.store.keys`), by an HMAC keyed with it,
so an edited, removed or recomputed entry is found by :meth:`audit_problem`.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from visitlog.i18n import t
from visitlog.rows import jdump
from visitlog.store.audit_chain import (
    CHAIN_SETTING,
    GENESIS_HASH,
    KEYED_CHAIN,
    KEYED_PREFIX,
    audit_hash,
    audit_mac,
    chain_fingerprint,
)
from visitlog.store.checking import MARK, changed_rows, mark_now, reaches, run_check
from visitlog.store.database import StoreBase, sqlite_errors


class AuditRecords(StoreBase):
    """The audit chain and the consistency check of a :class:`~visitlog.store.Store`."""

    #: Whether the last :meth:`check` went through every row.
    last_check_whole = True

    # -- audit --------------------------------------------------------------------

    def audit_entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        return [
            {**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in self.query(sql)
        ]

    def verify_audit(self) -> int | None:
        """The id of the first entry whose chain is broken, or None (see :meth:`audit_problem`)."""
        problem = self.audit_problem()
        return None if problem is None else problem[0]

    def audit_problem(self) -> tuple[int, str] | None:
        """The first break of the audit chain as ``(id, reason)``, or None when it is whole.

        Reasons: ``removed`` (the entry with that id is missing; ids are
        AUTOINCREMENT, so they start at 1, never repeat, and
        ``sqlite_sequence`` remembers the highest one ever used, which
        reveals removed newest entries too), ``edited`` (its content or link
        does not match), ``downgraded`` (a plain entry after one keyed with
        the station key this replica holds) and ``unsealed`` (the chain was
        keyed, yet no keyed entry is left: it was recomputed as a plain hash
        chain; the id is then that of the last entry).

        Entries keyed with a key this replica does not hold (an older key, or
        none held here) cannot be checked one by one; their links still are.
        """
        key = self.audit_key()
        mine = chain_fingerprint(key) if key else None
        prev = GENESIS_HASH
        expected_id = 1
        keyed_any = seen_mine = False
        last = None
        for r in self.query("SELECT * FROM audit ORDER BY id"):
            if r["id"] != expected_id:
                return expected_id, "removed"
            if r["prev_hash"] != prev:
                return r["id"], "edited"
            stamp = r["hash"]
            if stamp.startswith(KEYED_PREFIX):
                keyed_any = True
                fp = stamp[len(KEYED_PREFIX) :].split(":", 1)[0]
                if key is not None and fp == mine:
                    if not hmac.compare_digest(stamp, audit_mac(key, prev, r)):
                        return r["id"], "edited"
                    seen_mine = True
            elif seen_mine:
                return r["id"], "downgraded"
            elif stamp != audit_hash(prev, r):
                return r["id"], "edited"
            prev = stamp
            last = r["id"]
            expected_id = r["id"] + 1
        highest = self.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
        if highest is not None and int(highest) >= expected_id:
            return expected_id, "removed"
        if key is not None and last is not None and not keyed_any:
            if self.get_setting(CHAIN_SETTING) == KEYED_CHAIN:
                return last, "unsealed"
        return None

    # -- maintenance ----------------------------------------------------------

    def check(self, full: bool = False) -> list[str]:
        """SQLite's integrity and foreign-key checks plus visitlog's own.

        A large database is checked in full only with ``full``; otherwise the
        rows changed since the last clean check (see :mod:`visitlog.store.checking`).

        Returns:
            One plain sentence per problem found; empty when all is well.
        """
        with self._lock, sqlite_errors(self.path):
            problems, whole = run_check(self.conn, full=full)
        broken = self.verify_audit()
        if broken is not None:
            problems.append(t("check.audit_broken", id=broken))
        self.last_check_whole = whole
        if not problems and not self.read_only:
            # The next check starts from here (a check that found a problem
            # leaves the mark, so the problem is reported again).
            with self.transaction() as tx:
                tx.set_setting(MARK, jdump(mark_now(tx.conn)))
        return problems

    # -- where the database stands, for work done since a run of its own -------

    def change_mark(self) -> dict[str, Any]:
        """Where the database is now: the change log's version vector and each
        table's last rowid (for :meth:`changed_since`; JSON-ready)."""
        with self._lock, sqlite_errors(self.path):
            return mark_now(self.conn)

    def changed_since(self, mark: dict[str, Any], tbl: str) -> set[str] | None:
        """Ids of *tbl*'s rows changed since *mark* (of :meth:`change_mark`),
        or None when the database does not hold all it held then (a backup
        restored over it, another file copied in): then nothing is known."""
        with self._lock, sqlite_errors(self.path):
            try:
                if not reaches(mark_now(self.conn), mark):
                    return None
            except (KeyError, TypeError, AttributeError):  # a mark of another shape
                return None
            return changed_rows(self.conn, mark, tbl)
