"""Conflicts kept by sync: list them, restore a losing value, or dismiss one.

Restoring is an ordinary edit (stamped now, logged, synced) that sets the
field back to the losing value; on every replica that receives it the
conflict is then settled by the merge itself, since a later change carries
its value.
"""

from __future__ import annotations

from typing import Any

from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, NotFoundError, VisitlogError
from visitlog.store import Store
from visitlog.sync.merge import address_key, merge_rows
from visitlog.sync.replica import decode_conflict


def list_conflicts(store: Store, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflict records, oldest first, each with the field's ``current_value``.

    Args:
        include_resolved: also those already restored, dismissed or settled.
    """
    where = "" if include_resolved else " WHERE resolved = 0"
    rows = store.query(
        f"SELECT * FROM conflicts{where} ORDER BY detected_at, tbl, row_id, field, hlc, device"
    )
    names = device_names(store)
    out = []
    for r in rows:
        rec = decode_conflict(dict(r))
        rec["current_value"] = _current(store, rec["tbl"], rec["row_id"], rec["field"])
        rec["device_name"] = names.get(rec["device"])
        rec["winner_device_name"] = names.get(rec["winner_device"])
        out.append(rec)
    return out


def device_names(store: Store) -> dict[str, str]:
    """Names of the devices this replica knows (itself and its peers)."""
    names = {
        r["device"]: r["name"]
        for r in store.query("SELECT device, name FROM peers WHERE name IS NOT NULL")
    }
    own, name = store.get_setting("device_id"), store.get_setting("device_name")
    if own and name:
        names[own] = name
    return names


def open_conflict_count(store: Store) -> int:
    """How many conflicts wait for review."""
    return store.scalar("SELECT count(*) FROM conflicts WHERE resolved = 0") or 0


def _current(store: Store, tbl: str, row_id: str, field: str) -> Any:
    if field not in SYNCED_FIELDS.get(tbl, ()):
        return None
    return store.scalar(f"SELECT {field} FROM {tbl} WHERE id = ?", [row_id])


def get_conflict(store: Store, ident: str) -> dict[str, Any]:
    """A conflict by id or a unique prefix of at least 4 characters.

    Raises:
        NotFoundError: no conflict, or several, match.
    """
    ident = (ident or "").strip().lower()
    rows = (
        store.query(
            "SELECT * FROM conflicts WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
            [ident, ident + "\uffff"],
        )
        if len(ident) >= 4
        else []
    )
    if not rows:
        raise NotFoundError(t("conflicts.err.not_found", id=ident))
    if len(rows) > 1 and rows[0]["id"] != ident:
        raise NotFoundError(t("conflicts.err.ambiguous", id=ident))
    rec = decode_conflict(dict(rows[0]))
    rec["current_value"] = _current(store, rec["tbl"], rec["row_id"], rec["field"])
    return rec


def restore_conflict(store: Store, ident: str) -> dict[str, Any]:
    """Set the field back to the conflict's losing value, as a new edit.

    Returns:
        The conflict record, with ``restored``: whether the value changed.

    Raises:
        NotFoundError: no such conflict, or its row is gone.
    """
    c = get_conflict(store, ident)
    tbl, field, row_id = c["tbl"], c["field"], c["row_id"]
    if field not in SYNCED_FIELDS.get(tbl, ()):
        raise VisitlogError(t("conflicts.err.field", field=f"{tbl}.{field}"))
    value = c["value"]
    fields: dict[str, Any] = {field: value}
    if tbl == "households" and field == "address":
        fields["address_key"] = address_key(value)
    with store.transaction() as tx:
        changed = tx.update(tbl, row_id, fields)
        merge_rows(tx.conn, tbl, [row_id])
        tx.conn.execute("UPDATE conflicts SET resolved = 1 WHERE id = ?", [c["id"]])
        tx.audit(
            "conflict.restore",
            tbl,
            row_id,
            {"conflict": c["id"], "field": field, "changed": bool(changed)},
        )
    return {**c, "resolved": True, "restored": bool(changed), "current_value": value}


def dismiss_conflict(store: Store, ident: str) -> dict[str, Any]:
    """Mark a conflict reviewed, keeping the winning value (this replica only)."""
    c = get_conflict(store, ident)
    with store.transaction() as tx:
        tx.conn.execute("UPDATE conflicts SET resolved = 1 WHERE id = ?", [c["id"]])
        tx.audit("conflict.dismiss", c["tbl"], c["row_id"], {"conflict": c["id"]})
    return {**c, "resolved": True}


__all__ = [
    "device_names",
    "dismiss_conflict",
    "get_conflict",
    "list_conflicts",
    "open_conflict_count",
    "restore_conflict",
]
