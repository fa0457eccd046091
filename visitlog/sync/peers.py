"""What replicas remember of each other: peers, the former ids they gave up, hubs.

Written through a :class:`~visitlog.sync.interface.Session`, so the rules
are the same whichever engine keeps them.
"""

from __future__ import annotations

import json

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.sync.interface import Peer, Session


def is_hub(session: Session, vv: dict[str, int]) -> bool:
    """A hub has no worker and has never made a change of its own."""
    return session.setting("worker") is None and session.device not in vv


def record_peer(
    session: Session,
    device: str,
    name: str | None,
    hub: bool,
    path: str | None,
    vv: dict[str, int],
) -> None:
    """Remember what a peer is known to hold (for ``bundle export --for``).

    What it held before stays known (per device, the higher number wins);
    a name or path not given keeps the one recorded.
    """
    old = session.peer(device)
    old_vv = old.vv if old else {}
    merged = {d: max(old_vv.get(d, 0), vv.get(d, 0)) for d in old_vv.keys() | vv.keys()}
    kind = "hub" if hub else "device"
    if old is None:
        session.save_peer(Peer(device, name, kind, path, merged))
        return
    if (merged, name or old.name, kind, path or old.path) == (old.vv, old.name, old.kind, old.path):
        return  # nothing new: a no-op sync writes nothing
    session.save_peer(
        Peer(
            device,
            name if name is not None else old.name,
            kind,
            path if path is not None else old.path,
            merged,
        )
    )


def forget_former(session: Session, former: str | None) -> None:
    """Drop the peer records of device ids a peer has given up (it took a new one)."""
    if not former:
        return
    ids = json.loads(former)
    if ids:
        session.forget_peers(list(ids))


def find_peer(session: Session, ident: str, location: str) -> tuple[str, dict[str, int]]:
    """A peer by device id (or a prefix of ≥ 4), device name, or where it was synced at.

    Args:
        ident: what the worker typed, stripped.
        location: where *ident* is, read as a replica's name (a resolved path).

    Raises:
        VisitlogError: no peer or several peers match.
    """
    peers = session.peers()
    for test in (
        lambda p: p.device == ident,
        lambda p: p.path == location or p.name == ident,
        lambda p: len(ident) >= 4 and p.device.startswith(ident),
    ):
        found = [p for p in peers if test(p)]
        if len(found) > 1:
            raise VisitlogError(t("bundle.err.ambiguous_peer", peer=ident))
        if found:
            return found[0].device, found[0].vv
    raise VisitlogError(t("bundle.err.unknown_peer", peer=ident))


__all__ = ["find_peer", "forget_former", "is_hub", "record_peer"]
