"""Each replica's audit chain head, recorded by the replicas it syncs with.

At every sync each side records the head of the other's audit chain (the id
and stamp of its newest entry) in its own settings.  At the next sync it
looks for that entry in the other's chain: if it is gone or its stamp
differs, the other's chain was rewritten in between (triggers dropped, an
entry deleted and the chain recomputed, even as a plain hash chain) and the
receiving replica says so and records it in its own audit chain, where
``audit verify`` keeps reporting it.  What a laptop rewrites after its last
sync, before any entry reached a peer, cannot be told this way.
"""

from __future__ import annotations

import json
from typing import Any

from visitlog.store import Tx

#: Settings key (``+ device``) holding ``{"id", "hash"}`` of a peer's chain head.
HEAD_SETTING = "audit_head:"
#: Audit action recording that a peer's chain was found rewritten.
REWRITTEN = "audit.peer_rewritten"


def chain_head(tx: Tx) -> dict[str, Any] | None:
    row = tx.conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return {"id": row[0], "hash": row[1]} if row else None


def _recorded(tx: Tx, device: str) -> dict[str, Any] | None:
    row = tx.conn.execute(
        "SELECT value FROM settings WHERE key = ?", [HEAD_SETTING + device]
    ).fetchone()
    try:
        head = json.loads(row[0]) if row else None
        return head if isinstance(head, dict) and {"id", "hash"} <= head.keys() else None
    except ValueError:
        return None


def check_peer_chain(receiver: Tx, sender: Tx, device: str) -> dict[str, Any] | None:
    """Whether ``sender``'s chain still holds the head ``receiver`` recorded.

    Returns:
        None when it does (or nothing was recorded yet), else
        ``{"device", "id"}`` of the recorded head that is gone or changed; the
        finding is written to ``receiver``'s audit chain.
    """
    head = _recorded(receiver, device)
    if head is None:
        return None
    row = sender.conn.execute("SELECT hash FROM audit WHERE id = ?", [head["id"]]).fetchone()
    if row is not None and row[0] == head["hash"]:
        return None
    found = {"device": device, "id": head["id"]}
    receiver.audit(REWRITTEN, detail={**found, "hash": head["hash"]})
    return found


def record_peer_head(receiver: Tx, sender: Tx, device: str) -> None:
    """Remember ``sender``'s chain head (written only when it moved)."""
    head = chain_head(sender)
    if head is not None and head != _recorded(receiver, device):
        receiver.set_setting(HEAD_SETTING + device, json.dumps(head, sort_keys=True))


def rewritten_peers(tx_or_store: Any) -> list[dict[str, Any]]:
    """Every peer chain rewrite this replica's audit chain records (oldest first)."""
    conn = tx_or_store.conn
    rows = conn.execute(
        "SELECT id, at, detail FROM audit WHERE action = ? ORDER BY id", [REWRITTEN]
    ).fetchall()
    out = []
    for entry_id, at, detail in rows:
        d = json.loads(detail) if detail else {}
        out.append({"entry": entry_id, "at": at, "device": d.get("device"), "id": d.get("id")})
    return out
