"""What a sync or a bundle import moved and found, for the worker and for ``--json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS


@dataclass
class SyncReport:
    """What a sync (or a bundle import) moved, per table, and what it found.

    ``sent`` / ``received`` count changes per table; ``conflicts`` lists the
    conflicts recorded for the first time; ``skewed`` the devices whose
    stamps arrived more than a day ahead of the receiving clock (held);
    ``identity`` the sides that took a new device id (``{"at", "old", "new",
    "reason", "recovered"}``: restored or copied databases).
    """

    target: str
    dry_run: bool = False
    sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    skewed: list[dict[str, Any]] = field(default_factory=list)
    identity: list[dict[str, Any]] = field(default_factory=list)
    schema_upgraded: bool = False
    created_target: bool = False
    #: True when a dry run could only count (target absent or to be upgraded).
    estimated: bool = False
    peer: str | None = None
    peer_is_hub: bool = False
    #: Peers whose audit chain no longer holds the head recorded at the last
    #: sync: ``{"device", "id", "at"}`` (``at``: the side that found it).
    rewritten: list[dict[str, Any]] = field(default_factory=list)
    #: A bundle of an earlier visitlog, not encrypted: the worker is told to delete it.
    plain_bundle: bool = False
    #: Households this laptop let go of: moved out of what its station of a
    #: PostgreSQL hub may see.
    let_go: int = 0
    #: The new hub was made from a snapshot of this laptop's database
    #: (:mod:`visitlog.sync.sqlite.seed`), not filled change by change.
    seeded: bool = False

    def add(self, part: SyncReport) -> None:
        """Count in one chunk of the same sync (a big sync commits in chunks):
        changes summed per table, conflicts and notes gathered once each."""
        for mine, theirs in ((self.sent, part.sent), (self.received, part.received)):
            for tbl, n in theirs.items():
                mine[tbl] = mine.get(tbl, 0) + n
        conflicts = {c["id"]: c for c in self.conflicts}
        conflicts.update((c["id"], c) for c in part.conflicts)
        self.conflicts = [conflicts[k] for k in sorted(conflicts)]
        skewed = {(s["at"], s["device"]): s for s in self.skewed}
        for s in part.skewed:
            had = skewed.get((s["at"], s["device"]))
            if had is not None:
                s = {
                    **s,
                    "count": had["count"] + s["count"],
                    "hlc": max(had["hlc"], s["hlc"]),
                    "ahead_hours": max(had["ahead_hours"], s["ahead_hours"]),
                }
            skewed[(s["at"], s["device"])] = s
        self.skewed = list(skewed.values())
        self.identity += part.identity
        self.rewritten += part.rewritten
        self.let_go += part.let_go
        self.seeded = self.seeded or part.seeded
        self.peer, self.peer_is_hub = part.peer, part.peer_is_hub

    @property
    def sent_total(self) -> int:
        return sum(self.sent.values())

    @property
    def received_total(self) -> int:
        return sum(self.received.values())

    def notes(self) -> list[str]:
        """What the worker must be told in words: new device ids, held changes."""
        out = [identity_note(i, self.target) for i in self.identity]
        out += [
            t("sync.skewed", device=s["device"], hours=s["ahead_hours"], count=s["count"])
            for s in self.skewed
        ]
        out += [
            t(f"sync.chain_rewritten.{r['at']}", device=r["device"], id=r["id"])
            for r in self.rewritten
        ]
        if self.plain_bundle:
            out.append(t("bundle.plain_warning", path=self.target))
        if self.let_go:
            out.append(t("sync.let_go", count=self.let_go))
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"sent", "received", "conflicts", …}``: totals first, then details."""
        return {
            "sent": self.sent_total,
            "received": self.received_total,
            "conflicts": len(self.conflicts),
            "sent_by_table": {tbl: self.sent.get(tbl, 0) for tbl in SYNCED_FIELDS},
            "received_by_table": {tbl: self.received.get(tbl, 0) for tbl in SYNCED_FIELDS},
            "conflict_list": self.conflicts,
            "skewed": self.skewed,
            "identity": self.identity,
            "target": self.target,
            "peer": self.peer,
            "peer_is_hub": self.peer_is_hub,
            "dry_run": self.dry_run,
            "estimated": self.estimated,
            "schema_upgraded": self.schema_upgraded,
            "created_target": self.created_target,
            "audit_rewritten": self.rewritten,
            "plain_bundle": self.plain_bundle,
            "let_go": self.let_go,
        }


def identity_note(change: dict[str, Any], target: str | None = None) -> str:
    """One plain sentence saying that (and why) a database took a new device id."""
    which = (
        t("sync.identity.target", path=target)
        if change.get("at") == "target"
        else t("sync.identity.local")
    )
    text = t(
        "sync.identity",
        which=which,
        reason=t(f"identity.reason.{change['reason']}"),
        new=change["new"],
        old=change["old"],
    )
    if change.get("recovered"):
        text += t("sync.identity.recovered", count=change["recovered"])
    return text


def decode_conflict(rec: dict[str, Any]) -> dict[str, Any]:
    """A conflict record with its values decoded from JSON."""
    out = dict(rec)
    for key in ("value", "winner_value"):
        raw = out.get(key)
        try:
            out[key] = json.loads(raw) if raw is not None else None
        except (TypeError, ValueError):
            out[key] = raw
    out["resolved"] = bool(out.get("resolved"))
    return out


__all__ = ["SyncReport", "decode_conflict", "identity_note"]
