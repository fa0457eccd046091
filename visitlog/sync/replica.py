"""Two-way sync between this replica and another database file.

The exchange goes through a narrow interface — a version vector, the
changes one side lacks (streamed in batches), and an :class:`Applier` on the
receiving side — so a replica of another kind (a server hub) can be added
without touching the merge.

Both databases are locked (``BEGIN IMMEDIATE``) for the whole exchange, in
a fixed order so two syncs started from either end cannot deadlock, and
each side commits in one transaction: a sync killed at any moment leaves
each database as it was before or with the exchange wholly applied, and
running it again ships whatever is still missing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visitlog.clock import now_iso
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.security import bind_replicas
from visitlog.store import APP_VERSION, Store, Tx
from visitlog.sync.heads import check_peer_chain, record_peer_head
from visitlog.sync.merge import (
    CHANGE_COLUMNS,
    Applier,
    ReplayError,
    changes_since,
    count_by_table,
    missing,
    version_vector,
)

#: ``progress(phase, done, total)``; phases: "send", "receive", "merge", "commit".
ProgressFn = Callable[[str, int, int], None]


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


#: Page cache of each connection a sync opens, in KiB.  A large first sync
#: writes tables and indexes far bigger than SQLite's default 2 MB cache;
#: with this much it spills to the WAL far less often (about twice as fast)
#: while peak memory stays well under 300 MB.
SYNC_CACHE_KIB = 64 * 1024


def open_replica(path: Path | str, *, upgrade: bool = True) -> Store:
    """A connection of the sync's own (the caller's stays free for reads)."""
    store = Store(path, upgrade=upgrade)
    store.conn.execute(f"PRAGMA cache_size = -{SYNC_CACHE_KIB}")
    return store


def hub_exists(path: Path | str) -> bool:
    """Whether a replica (a file with something in it) is at *path*.

    An empty file counts as none: SQLite would quietly make it a new database.
    """
    try:
        return Path(path).expanduser().stat().st_size > 0
    except OSError:
        return False


class _DryRun(Exception):
    """Raised inside the transactions of a dry run so that both roll back."""


def sync_with(
    store: Store,
    target_path: Path | str,
    *,
    dry_run: bool = False,
    upgrade_target: bool = False,
    progress: ProgressFn | None = None,
    batch_size: int = 2000,
    create: bool = True,
) -> SyncReport:
    """Exchange changes both ways with the replica at ``target_path``.

    Runs on its own connections (to ``store.path`` and the target), so it may
    be called from a worker thread while ``store`` keeps serving reads.

    Args:
        store: this replica.
        target_path: the other replica; created as an empty hub when absent
            (and ``create``).
        dry_run: do the whole exchange and roll both sides back, reporting
            what would move (an absent or older target is only counted).
        upgrade_target: allow bringing an older target's schema up to date.
        progress: called as ``progress(phase, done, total)``.
        batch_size: changes per batch streamed between the databases.
        create: make a new hub when there is none at ``target_path`` (an
            absent or empty file).  The CLI and the TUI pass it only when the
            worker asked for a new hub: a mistyped path, or a share that is
            not mounted (its folder there but empty), must not silently
            become a second hub.

    Raises:
        VisitlogError: there is no hub at the target (without ``create``),
            the target is this database, not a visitlog database,
            newer than this visitlog, older without ``upgrade_target``, or
            locked; nothing was changed on either side.
    """
    target = Path(target_path).expanduser()
    local_path = Path(store.path)
    if target.is_dir():
        raise VisitlogError(t("sync.err.is_dir", path=target))
    if not target.parent.is_dir():
        raise VisitlogError(t("sync.err.no_dir", path=target.parent))
    if target.exists() and target.resolve() == local_path.resolve():
        raise VisitlogError(t("sync.err.same_file", path=target))
    report = SyncReport(target=str(target), dry_run=dry_run)
    existed = hub_exists(target)
    if not existed and not create:
        raise VisitlogError(t("sync.err.no_hub", path=target))
    with contextlib.closing(open_replica(local_path)) as local:
        if not existed and dry_run:
            report.created_target = True
            return _estimate(local, None, report)
        with contextlib.closing(open_replica(target, upgrade=False)) as other:
            report.created_target = not existed
            if other.pending_upgrade:
                if not upgrade_target:
                    raise VisitlogError(
                        t(
                            "sync.err.older_target",
                            path=target,
                            version=other.schema_version,
                            have=APP_VERSION,
                        )
                    )
                report.schema_upgraded = True
                if dry_run:
                    return _estimate(local, other, report)
                other.upgrade()
            _exchange(local, other, report, progress, batch_size)
    return report


def _estimate(local: Store, target: Store | None, report: SyncReport) -> SyncReport:
    """A dry run that can only count: what each side lacks, per table."""
    lvv = version_vector(local.conn)
    tvv = version_vector(target.conn) if target else {}
    report.sent = dict(count_by_table(local.conn, missing(lvv, tvv)))
    if target is not None:
        report.received = dict(count_by_table(target.conn, missing(tvv, lvv)))
    report.estimated = True
    return report


@contextlib.contextmanager
def _both(local: Store, target: Store, progress: ProgressFn | None) -> Iterator[tuple[Tx, Tx]]:
    """Both write transactions, taken in path order; the inner one commits first."""
    first, second = sorted((local, target), key=lambda s: str(s.path.resolve()))
    with first.transaction() as a:
        with second.transaction() as b:
            yield (a, b) if first is local else (b, a)
        # A kill here leaves one side with the other's changes and the other
        # without; both are whole, and the next sync ships the rest.
        if progress:
            progress("commit", 1, 2)
    if progress:
        progress("commit", 2, 2)


def _exchange(
    local: Store,
    target: Store,
    report: SyncReport,
    progress: ProgressFn | None,
    batch_size: int,
) -> None:
    with contextlib.suppress(_DryRun), _both(local, target, progress) as (ltx, ttx):
        # Each side first checks it is still the replica its device id names
        # (visitlog.identity): a restored or copied file takes a new id here.
        lid, tid = ltx.device, ttx.device
        if lid and lid == tid:
            # A copied database file: both would number their changes alike
            # and silently drop each other's.
            raise VisitlogError(t("sync.err.same_device", path=target.path, device=lid))
        # One station per hub: refused here, both sides roll back.
        bind_replicas(local.path, ltx, target.path, ttx)
        at_local, at_target = Applier(ltx), Applier(ttx)
        lvv, tvv = dict(at_local.vv), dict(at_target.vv)
        check_heads(ltx, ttx, lvv, tvv, target.path)
        for phase, src_tx, src, dst, ranges in (
            ("send", ltx, at_local, at_target, missing(lvv, tvv)),
            ("receive", ttx, at_target, at_local, missing(tvv, lvv)),
        ):
            total = sum(last - first + 1 for first, last in ranges.values())
            done = 0
            if progress and total:
                progress(phase, 0, total)
            for batch in changes_since(src_tx.conn, ranges, batch_size):
                src.note_sent(batch)
                dst.add(batch)
                done += len(batch)
                if progress:
                    progress(phase, done, total)
        merges = at_target.pending_merges() + at_local.pending_merges()

        def merged(base: int) -> Callable[[int, int], None] | None:
            if not progress or not merges:
                return None
            return lambda done, _total: progress("merge", base + done, merges)

        at_target.finish(merged(0))
        at_local.finish(merged(merges - at_local.pending_merges()))
        # A side behind on its own device id (the other holds more of its
        # changes than it does) was restored from a backup older than its
        # last exchange: it has just taken those changes back; its next ones
        # take a new id, or they would be numbered like changes already out.
        for tx, vv, other_vv in ((ltx, lvv, tvv), (ttx, tvv, lvv)):
            own = tx.device
            if other_vv.get(own, 0) > vv.get(own, 0):
                tx.new_device("peer_ahead")
            change = tx.identity_change
            if change is not None:
                old = change["old"]
                change["recovered"] = max(0, other_vv.get(old, 0) - vv.get(old, 0))
            tx.note_shipped()
        report.sent = dict(at_target.received)
        report.received = dict(at_local.received)
        found = {**at_target.new_conflicts, **at_local.new_conflicts}
        report.conflicts = [decode_conflict(c) for _, c in sorted(found.items())]
        report.skewed = [{**s, "at": "local"} for s in at_local.skewed()] + [
            {**s, "at": "target"} for s in at_target.skewed()
        ]
        report.identity = [
            {**change, "at": at}
            for at, tx in (("local", ltx), ("target", ttx))
            if (change := tx.identity_change) is not None
        ]
        _bookkeeping(ltx, ttx, lvv, tvv, report, target.path)
        _chain_heads(ltx, ttx, report)
        if report.dry_run:
            raise _DryRun


def _bookkeeping(
    ltx: Tx,
    ttx: Tx,
    lvv: dict[str, int],
    tvv: dict[str, int],
    report: SyncReport,
    target_path: Path,
) -> None:
    """Peers, the hub path and ``synced_seq``, and one audit entry per side."""
    union = {d: max(lvv.get(d, 0), tvv.get(d, 0)) for d in lvv.keys() | tvv.keys()}
    lid, tid = ltx.device, ttx.device
    local_hub, target_hub = is_hub(ltx, lvv), is_hub(ttx, tvv)
    report.peer, report.peer_is_hub = tid, target_hub
    record_peer(
        ltx, tid, setting(ttx, "device_name"), target_hub, str(target_path.resolve()), union
    )
    record_peer(ttx, lid, setting(ltx, "device_name"), local_hub, None, union)
    for tx, other in ((ltx, ttx), (ttx, ltx)):
        forget_former(tx, setting(other, "former_devices"))
    for tx, own, other_is_hub in ((ltx, lid, target_hub), (ttx, tid, local_hub)):
        if other_is_hub and union.get(own, 0) and setting(tx, "synced_seq") != str(union[own]):
            tx.set_setting("synced_seq", str(union[own]))
    if target_hub and not setting(ltx, "hub_path"):
        ltx.set_setting("hub_path", str(target_path.resolve()))
    if report.sent_total or report.received_total:
        counts = {"conflicts": len(report.conflicts)}
        ltx.audit(
            "sync",
            detail={"peer": tid, "path": str(target_path), "sent": report.sent, **counts}
            | {"received": report.received},
        )
        ttx.audit(
            "sync",
            detail={"peer": lid, "peer_worker": setting(ltx, "worker"), **counts}
            | {"sent": report.received, "received": report.sent},
        )


def check_heads(
    ltx: Tx, ttx: Tx, lvv: dict[str, int], tvv: dict[str, int], target_path: Path
) -> None:
    """Refuse two replicas that numbered different changes alike.

    For each device both hold changes of, the change at the lower of the two
    highest numbers is held by both: if the two differ, their histories of
    that device split before it (a database restored or copied that wrote
    before it could notice), and an exchange would skip changes as "already
    seen".  One lookup per device.

    Raises:
        ReplayError: naming the device and the number; nothing is changed.
    """
    query = f"SELECT {CHANGE_COLUMNS} FROM changes WHERE device = ? AND seq = ?"
    for device in sorted(lvv.keys() & tvv.keys()):
        seq = min(lvv[device], tvv[device])
        mine = ltx.conn.execute(query, [device, seq]).fetchone()
        theirs = ttx.conn.execute(query, [device, seq]).fetchone()
        if tuple(mine or ()) != tuple(theirs or ()):
            raise ReplayError(t("sync.err.replayed_sync", device=device, seq=seq, path=target_path))


def forget_former(tx: Tx, former: str | None) -> None:
    """Drop the peer records of device ids a peer has given up (it took a new one)."""
    if not former:
        return
    ids = json.loads(former)
    if ids:
        tx.conn.execute(
            f"DELETE FROM peers WHERE device IN ({', '.join('?' * len(ids))})", list(ids)
        )


def _chain_heads(ltx: Tx, ttx: Tx, report: SyncReport) -> None:
    """Each side checks the other's audit chain against the head it recorded
    last time, then records the current one (:mod:`visitlog.sync.heads`)."""
    lid, tid = ltx.device, ttx.device
    for receiver, sender, device, at in ((ttx, ltx, lid, "target"), (ltx, ttx, tid, "local")):
        found = check_peer_chain(receiver, sender, device)
        if found:
            report.rewritten.append({**found, "at": at})
    record_peer_head(ttx, ltx, lid)
    record_peer_head(ltx, ttx, tid)


def setting(tx: Tx, key: str) -> str | None:
    row = tx.conn.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def is_hub(tx: Tx, vv: dict[str, int]) -> bool:
    """A hub has no worker and has never made a change of its own."""
    return setting(tx, "worker") is None and tx.device not in vv


def record_peer(
    tx: Tx,
    device: str,
    name: str | None,
    hub: bool,
    path: str | None,
    vv: dict[str, int],
) -> None:
    """Remember what a peer is known to hold (for ``bundle export --for``)."""
    row = tx.conn.execute(
        "SELECT vv, name, kind, path FROM peers WHERE device = ?", [device]
    ).fetchone()
    old = json.loads(row[0]) if row else {}
    merged = {d: max(old.get(d, 0), vv.get(d, 0)) for d in old.keys() | vv.keys()}
    kind = "hub" if hub else "device"
    if row and (merged, name or row[1], kind, path or row[3]) == (old, row[1], row[2], row[3]):
        return  # nothing new: a no-op sync writes nothing
    tx.conn.execute(
        "INSERT INTO peers(device, name, kind, path, vv, last_sync) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(device) DO UPDATE SET name = coalesce(excluded.name, name), "
        "kind = excluded.kind, path = coalesce(excluded.path, path), vv = excluded.vv, "
        "last_sync = excluded.last_sync",
        [
            device,
            name,
            kind,
            path,
            json.dumps(merged, sort_keys=True),
            now_iso(),
        ],
    )


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
