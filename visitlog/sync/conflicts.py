"""Conflicts kept by sync: list them, restore a losing value, or dismiss one.

Restoring is an ordinary edit (stamped now, logged, synced) that sets the
field back to the losing value; on every replica that receives it the
conflict is then settled by the merge itself, since a later change carries
its value.  The value the restore replaces is not lost: it stays in the
conflict record (``winner_value``), which is marked *restored*, so restoring
the same conflict again brings that value back (and so on, both ways).

``conflicts.resolved`` holds the state: 0 waiting for review, 1 handled
(dismissed, settled by a later edit, or a restore taken back), 2 restored
(the field holds ``value``; ``winner_value`` is what it replaced).  Sync's
merge only ever tests ``resolved = 0`` and sets 1 on waiting records, so the
third state is local bookkeeping it leaves alone.

Review happens on this laptop's own database (a :class:`~visitlog.store.Store`),
so a restore recomputes the row with the SQLite engine's
:func:`~visitlog.sync.sqlite.merge_rows`.
"""

from __future__ import annotations

import json
from typing import Any

from visitlog.i18n import has, t
from visitlog.model import SYNCED_FIELDS, NotFoundError, VisitlogError
from visitlog.rows import jdump
from visitlog.store import Store
from visitlog.sync.merge import address_key, phones_of
from visitlog.sync.report import decode_conflict
from visitlog.sync.sqlite import merge_rows

#: ``conflicts.resolved`` of a conflict whose losing value was restored.
RESTORED = 2
#: Newest visits of a device looked at to name the worker who uses it.
_VISITS_FOR_WORKER = 200


def field_label(tbl: str, field: str) -> str:
    """The field's name as workers know it (户主, 民情摘要…), in the current language."""
    key = f"sync.field.{field}"
    return t(key) if has(key) else f"{tbl}.{field}"


def table_label(tbl: str) -> str:
    """The kind of record (住户, 走访记录…), in the current language."""
    key = f"noun.{tbl}"
    return t(key) if has(key) else tbl


def list_conflicts(store: Store, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflict records, oldest first, each with the field's ``current_value``.

    Each record also names who made each value, as far as this replica
    knows: ``device_name``/``worker`` of the losing change and
    ``winner_device_name``/``winner_worker`` of the winning one (see
    :func:`device_people`), and says whether it is ``restored``.

    Args:
        include_resolved: also those already restored, dismissed or settled.
    """
    where = "" if include_resolved else " WHERE resolved = 0"
    rows = store.query(
        f"SELECT * FROM conflicts{where} ORDER BY detected_at, tbl, row_id, field, hlc, device"
    )
    people = device_people(store, {d for r in rows for d in (r["device"], r["winner_device"])})
    return [_describe(store, r, people) for r in rows]


def _describe(store: Store, row: Any, people: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    rec = decode_conflict(dict(row))
    rec["restored"] = row["resolved"] == RESTORED
    rec["current_value"] = _current(store, rec["tbl"], rec["row_id"], rec["field"])
    for prefix, device in (("", rec["device"]), ("winner_", rec["winner_device"])):
        who = people.get(device, {})
        rec[f"{prefix}device_name"] = who.get("name")
        rec[f"{prefix}worker"] = who.get("worker")
    return rec


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


def device_people(store: Store, devices: set[str]) -> dict[str, dict[str, str | None]]:
    """``{device: {"name", "worker"}}`` for *devices*, as far as this replica knows.

    The name is the device name it was given (``init --device``), known for
    this laptop and the replicas it synced with.  The worker is this laptop's
    own, the one a laptop syncing with this replica said it had, or else the
    visitor named most on the visits that device recorded (each laptop is one
    worker's, and the form fills in that worker as the visitor).
    """
    names = device_names(store)
    workers: dict[str, str] = {}
    own = store.get_setting("device_id")
    if own and store.worker:
        workers[own] = store.worker
    for r in store.query(
        "SELECT json_extract(detail, '$.peer') AS device, "
        "json_extract(detail, '$.peer_worker') AS worker FROM audit "
        "WHERE action = 'sync' AND json_extract(detail, '$.peer_worker') IS NOT NULL "
        "ORDER BY id"
    ):
        workers[r["device"]] = r["worker"]
    for device in devices - workers.keys():
        top = store.query(
            # Inserts in the log, and those the visits hold (visitlog.store.inserts).
            "SELECT visitor, count(*) AS n FROM (SELECT seq, json_extract(data, '$.visitor') "
            "AS visitor FROM changes WHERE device = ? AND tbl = 'visits' AND op = 'insert' "
            "UNION ALL SELECT log_seq, visitor FROM visits WHERE log_seq IS NOT NULL "
            "AND device = ? ORDER BY 1 DESC LIMIT ?) GROUP BY visitor "
            "ORDER BY n DESC, visitor LIMIT 1",
            [device, device, _VISITS_FOR_WORKER],
        )
        if top and top[0]["visitor"]:
            workers[device] = top[0]["visitor"]
    return {d: {"name": names.get(d), "worker": workers.get(d)} for d in devices}


def made_by(rec: dict[str, Any], winner: bool = False) -> str:
    """``worker · device`` who made the losing (or, with *winner*, the winning) value.

    The device is shown by its name, or by its id when this replica never
    learnt the name; the worker is left out when unknown.
    """
    prefix = "winner_" if winner else ""
    device = rec.get(f"{prefix}device_name") or str(rec.get(f"{prefix}device") or "")
    return " · ".join(x for x in (rec.get(f"{prefix}worker"), device) if x)


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
    row = rows[0]
    return _describe(store, row, device_people(store, {row["device"], row["winner_device"]}))


def restore_conflict(store: Store, ident: str) -> dict[str, Any]:
    """Put the conflict's losing value back in its field, as a new edit.

    The value this replaces is kept in the conflict record (``winner_value``,
    with its stamp) and the record is marked restored; restoring a restored
    conflict puts that value back in turn.

    Returns:
        The conflict record as it now is, with ``changed``: whether the field
        changed, and ``replaced_value``: the value the restore replaced.

    Raises:
        NotFoundError: no such conflict, or its row is gone.
    """
    c = get_conflict(store, ident)
    tbl, field, row_id = c["tbl"], c["field"], c["row_id"]
    if field not in SYNCED_FIELDS.get(tbl, ()):
        raise VisitlogError(t("conflicts.err.field", field=f"{tbl}.{field}"))
    back = c["restored"]
    value = c["winner_value"] if back else c["value"]
    fields: dict[str, Any] = {field: value}
    if tbl == "households" and field == "phone":
        fields["phones"] = phones_of(value)
    with store.transaction() as tx:
        found = tx.rows(f"SELECT {field}, stamps, hlc, device FROM {tbl} WHERE id = ?", [row_id])
        if not found:
            raise NotFoundError(t("err.not_found", kind=table_label(tbl), id=row_id))
        replaced = found[0][field]
        stamps = json.loads(found[0]["stamps"]) if found[0]["stamps"] else {}
        stamp = stamps.get(field) or stamps.get("*") or [found[0]["hlc"], found[0]["device"]]
        if tbl == "households" and field in ("address", "estate"):
            place = tx.rows("SELECT address, estate FROM households WHERE id = ?", [row_id])[0]
            both = {"address": place["address"], "estate": place["estate"], field: value}
            fields["address_key"] = address_key(both["address"], both["estate"])
        changed = tx.update(tbl, row_id, fields)
        merge_rows(tx.conn, tbl, [row_id])
        if field == "deleted":
            _follow_visit(tx, tbl, row_id, value)
        if back:
            tx.conn.execute("UPDATE conflicts SET resolved = 1 WHERE id = ?", [c["id"]])
        else:
            tx.conn.execute(
                "UPDATE conflicts SET resolved = ?, winner_value = ?, winner_hlc = ?, "
                "winner_device = ? WHERE id = ?",
                [RESTORED, jdump(replaced), stamp[0], stamp[1], c["id"]],
            )
        tx.audit(
            "conflict.restore",
            tbl,
            row_id,
            {"conflict": c["id"], "field": field, "changed": bool(changed), "back": back},
        )
    return {**get_conflict(store, c["id"]), "changed": bool(changed), "replaced_value": replaced}


def _follow_visit(tx: Any, tbl: str, row_id: str, deleted: Any) -> None:
    """A visit's delete state restored: its items follow (deleting a visit
    deletes its items); an item brought back brings its visit back."""
    if tbl == "visits":
        visit_id = row_id
    elif tbl == "items" and not deleted:
        found = tx.rows("SELECT visit_id FROM items WHERE id = ?", [row_id])
        if not found:
            return
        visit_id = found[0]["visit_id"]
        if tx.rows("SELECT 1 FROM visits WHERE id = ? AND deleted != 0", [visit_id]):
            tx.update("visits", visit_id, {"deleted": 0})
            merge_rows(tx.conn, "visits", [visit_id])
        return
    else:
        return
    flag = int(bool(deleted))
    items = [
        r["id"]
        for r in tx.rows(
            "SELECT id FROM items WHERE visit_id = ? AND deleted != ?", [visit_id, flag]
        )
    ]
    for item in items:
        tx.update("items", item, {"deleted": flag})
    if items:
        merge_rows(tx.conn, "items", items)


def dismiss_conflict(store: Store, ident: str) -> dict[str, Any]:
    """Mark a conflict reviewed, keeping the winning value (this replica only)."""
    c = get_conflict(store, ident)
    with store.transaction() as tx:
        tx.conn.execute("UPDATE conflicts SET resolved = 1 WHERE id = ?", [c["id"]])
        tx.audit("conflict.dismiss", c["tbl"], c["row_id"], {"conflict": c["id"]})
    return {**c, "resolved": True}


__all__ = [
    "RESTORED",
    "device_names",
    "device_people",
    "dismiss_conflict",
    "field_label",
    "get_conflict",
    "list_conflicts",
    "made_by",
    "open_conflict_count",
    "restore_conflict",
    "table_label",
]
