"""Settings, this replica's identity, id lookups and sync bookkeeping."""

from __future__ import annotations

import json
from typing import Any

from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, NotFoundError, ValidationError
from visitlog.store import inserts
from visitlog.store.database import StoreBase, sqlite_errors


class SettingsRecords(StoreBase):
    """Local settings and lookups of a :class:`~visitlog.store.Store`."""

    # -- identity and settings ---------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return default if value is None else value

    def settings(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self.query("SELECT key, value FROM settings")}

    def plan_rule_rows(self) -> list[Any]:
        """The street's stored visit-planning rules (``kind``, ``key``, ``days``, ``worker``)."""
        return self.query("SELECT kind, key, days, worker FROM plan_rules WHERE deleted = 0")

    def set_settings(self, **values: str | None) -> None:
        """Set (or, with None, remove) local settings, in one transaction."""
        with self.transaction() as tx:
            for key, value in values.items():
                tx.set_setting(key, value)
            tx.audit("settings", detail={k: v for k, v in values.items() if k != "station_key"})

    def keep_setting(self, key: str, value: str) -> None:
        """Write one local setting that records where some work stopped (no
        audit entry: it is bookkeeping, like the check's mark).  Nothing on a
        read-only database."""
        if self.read_only:
            return
        with self.transaction() as tx:
            tx.set_setting(key, value)

    @property
    def device_id(self) -> str | None:
        """This replica's device id, or None until its first write."""
        return self._device or self.get_setting("device_id")

    @property
    def worker(self) -> str | None:
        return self.get_setting("worker")

    def init_identity(
        self, worker: str, device_name: str | None = None, grid: str | None = None
    ) -> dict[str, str]:
        """Record this laptop's worker, device name and default 微网格."""
        worker = (worker or "").strip()
        if not worker:
            raise ValidationError(t("err.required", field=t("field.worker")))
        with self.transaction() as tx:
            tx.set_setting("worker", worker)
            if device_name:
                tx.set_setting("device_name", device_name.strip())
            if grid:
                tx.set_setting("default_grid", grid.strip())
            tx.audit("init", detail={"worker": worker, "device_name": device_name, "grid": grid})
            device = tx.device
        return {
            "device_id": device,
            "worker": worker,
            "device_name": device_name or "",
            "default_grid": grid or "",
        }

    # -- lookups ------------------------------------------------------------

    def resolve_id(self, table: str, ident: str) -> str:
        """The full id of a live row, given its id, a unique prefix (≥ 4 characters)
        or a unique ending (≥ 6 characters, as the tables show it)."""
        ident = (ident or "").strip()
        if table not in SYNCED_FIELDS:
            raise ValueError(table)
        kind = t(f"noun.{table}")
        if len(ident) < 4:
            raise NotFoundError(t("err.not_found", kind=kind, id=ident))
        rows = self.query(
            f"SELECT id FROM {table} WHERE id >= ? AND id < ? AND deleted = 0 LIMIT 2",
            [ident, ident + "\uffff"],
        )
        if not rows and len(ident) >= 6:
            # UUIDv7 ids made close in time share their first characters, so
            # tables show the last ones (the random part); accept those too.
            rows = self.query(
                f"SELECT id FROM {table} WHERE id LIKE ? AND deleted = 0 LIMIT 2",
                ["%" + ident.replace("%", "").replace("_", "")],
            )
        if not rows:
            raise NotFoundError(t("err.not_found", kind=kind, id=ident))
        if len(rows) > 1 and rows[0]["id"] != ident:
            raise NotFoundError(t("err.ambiguous", kind=kind, id=ident))
        return rows[0]["id"]

    # -- drafts of older versions (now kept by visitlog.drafts) --------------------

    def drafts(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Drafts older versions kept in the database (see :mod:`visitlog.drafts`)."""
        rows = self.query(
            "SELECT * FROM drafts" + (" WHERE kind = ?" if kind else "") + " ORDER BY updated_at",
            [kind] if kind else [],
        )
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    def discard_draft(self, draft_id: str) -> None:
        with self._lock, sqlite_errors(self.path):
            self.conn.execute("DELETE FROM drafts WHERE id = ?", [draft_id])

    # -- sync bookkeeping ---------------------------------------------------------

    def version_vector(self) -> dict[str, int]:
        """``{device: highest seq held}`` over the change log."""
        return inserts.version_vector(self.conn)

    def unsynced_count(self) -> int:
        """Local changes not yet acknowledged by the hub (``synced_seq`` setting)."""
        device = self.device_id
        if not device:
            return 0
        acked = int(self.get_setting("synced_seq", "0") or 0)
        # This device's sequence numbers have no gaps (one counter, one
        # transaction each), so the count is a difference of two numbers, not
        # a scan over every change made since the last sync.
        newest = inserts.max_seq(self.conn, device)
        return max(0, newest - acked)
