"""Each replica's audit chain head, recorded by the replicas it syncs with.

At every sync each side records the head of the other's audit chain (the id
and stamp of its newest entry) in its own settings.  At the next sync it
looks for that entry in the other's chain: if it is gone or its stamp
differs, the other's chain was rewritten in between (triggers dropped, an
entry deleted and the chain recomputed, even as a plain hash chain) and the
receiving replica says so and records it in its own audit chain, where
``audit verify`` keeps reporting it.  What a laptop rewrites after its last
sync, before any entry reached a peer, cannot be told this way.

The check runs through the :class:`~visitlog.sync.interface.Session` of
each side; :func:`rewritten_peers` reads this laptop's own audit chain (its
Store) for ``audit verify``.
"""

from __future__ import annotations

import json
from typing import Any

from visitlog.sync.interface import Session

#: Settings key (``+ device``) holding ``{"id", "hash"}`` of a peer's chain head.
HEAD_SETTING = "audit_head:"
#: Audit action recording that a peer's chain was found rewritten.
REWRITTEN = "audit.peer_rewritten"


def _recorded(session: Session, device: str) -> dict[str, Any] | None:
    raw = session.setting(HEAD_SETTING + device)
    try:
        head = json.loads(raw) if raw is not None else None
        return head if isinstance(head, dict) and {"id", "hash"} <= head.keys() else None
    except ValueError:
        return None


def check_peer_chain(receiver: Session, sender: Session, device: str) -> dict[str, Any] | None:
    """Whether ``sender``'s chain still holds the head ``receiver`` recorded.

    Returns:
        None when it does (or nothing was recorded yet), else
        ``{"device", "id"}`` of the recorded head that is gone or changed; the
        finding is written to ``receiver``'s audit chain.
    """
    head = _recorded(receiver, device)
    if head is None:
        return None
    held = sender.audit_hash(head["id"])
    if held is not None and held == head["hash"]:
        return None
    found = {"device": device, "id": head["id"]}
    receiver.audit(REWRITTEN, detail={**found, "hash": head["hash"]})
    return found


def record_peer_head(receiver: Session, sender: Session, device: str) -> None:
    """Remember ``sender``'s chain head (written only when it moved)."""
    head = sender.chain_head()
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
