"""Two-way sync between this replica and another.

The exchange goes through the Replica interface
(:mod:`visitlog.sync.interface`) — a version vector, the changes one side
lacks (streamed in batches), and an Applier on the receiving side — so it
does not know which engine either side is.

It goes in chunks (:mod:`visitlog.sync.chunks`): each moves at most
:data:`CHUNK_CHANGES` changes, both ways together, per device a prefix of
what the other side lacks, and is a whole exchange of its own.  Both
replicas are locked (each in one session) for one chunk, in a fixed order
(of their locations) so two syncs started from either end cannot deadlock;
each side commits the chunk in one transaction, both are released, and the
next chunk starts after a short pause in which another laptop's sync (or a
visit saved on this laptop) may take its turn.  A sync killed at any moment
leaves each database whole: as it was after its last committed chunk, with
the chunk being moved wholly applied or not at all; running it again ships
whatever is still missing.  A small sync is one chunk, as before.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.progress import Progress
from visitlog.security import bind_replicas
from visitlog.store import APP_VERSION, Store
from visitlog.sync.chunks import Cursor, Flow, Plan, plan_chunk, spans
from visitlog.sync.engines import TargetName, find_target, local_replica
from visitlog.sync.heads import check_peer_chain, record_peer_head
from visitlog.sync.interface import Replica, Session
from visitlog.sync.merge import SKIP, ReplayError, missing
from visitlog.sync.peers import forget_former, is_hub, record_peer
from visitlog.sync.report import SyncReport, decode_conflict

#: Settings key (+ the hub's device id): the last household move a hub told of.
MOVES_SEEN = "hub_moves_seen:"
#: Changes moved (both ways together) in one transaction.  A big first sync
#: (a district laptop: about 480,000 changes) commits after each chunk of
#: this many, so it holds the hub's write lock a few seconds at a time and
#: the hub's WAL stays small.  Tests set it lower.
CHUNK_CHANGES = 20_000
#: Seconds between two chunks, with both replicas released, so that a sync
#: or a save waiting for either database's lock gets it (SQLite's locks are
#: not queued; a PostgreSQL hub's advisory lock is).  visitlog's writes try
#: for the lock every few milliseconds (``visitlog.store.database.BEGIN_POLL_MS``).
CHUNK_PAUSE_S = 0.03
#: Every fifth pause is five times as long (0.15 s), longer than the longest
#: sleep of SQLite's own busy handler (100 ms): a program that waits at that
#: pace (an older visitlog on the same hub) gets its turn too.
LONG_PAUSE_EVERY = 5


class _DryRun(Exception):
    """Raised inside the transactions of a dry run so that both roll back."""


def sync_with(
    store: Store,
    target: TargetName,
    *,
    dry_run: bool = False,
    upgrade_target: bool = False,
    progress: Progress | None = None,
    batch_size: int = 2000,
    create: bool = True,
) -> SyncReport:
    """Exchange changes both ways with the replica ``target`` names.

    Runs on replicas of its own (this laptop's database on a connection of
    its own, and the target), so it may be called from a worker thread while
    ``store`` keeps serving reads.

    Args:
        store: this replica.
        target: the other replica (a database file); created as an empty hub
            when absent (and ``create``).
        dry_run: do the whole exchange and roll both sides back, reporting
            what would move (an absent or older target is only counted).
        upgrade_target: allow bringing an older target's schema up to date.
        progress: reports phases "send", "receive", "merge" and "commit".
        batch_size: changes per batch streamed between the replicas.
        create: make a new hub when there is none at ``target`` (an absent or
            empty file).  The CLI and the TUI pass it only when the worker
            asked for a new hub: a mistyped path, or a share that is not
            mounted (its folder there but empty), must not silently become a
            second hub.

    Raises:
        VisitlogError: there is no hub at the target (without ``create``),
            the target is this database, not a visitlog database,
            newer than this visitlog, older without ``upgrade_target``, or
            locked; nothing was changed on either side.
    """
    found = find_target(target)
    with contextlib.closing(local_replica(store)) as local:
        if found.exists and found.location == local.location:
            raise VisitlogError(t("sync.err.same_file", path=found.name))
        if not found.exists and not create:
            raise VisitlogError(t("sync.err.no_hub", path=found.name))
        # A new hub is made whole from this laptop's file where it can be
        # (visitlog.sync.sqlite.seed); the exchange then finds little to do.
        seeded = None
        if not found.exists and not dry_run and found.seed is not None:
            seeded = found.seed(store, progress)
        return exchange(
            local,
            found.open if found.exists or not dry_run else None,
            found.name,
            dry_run=dry_run,
            upgrade_target=upgrade_target,
            progress=progress,
            batch_size=batch_size,
            created=not found.exists,
            seeded=seeded,
        )


def exchange(
    local: Replica,
    open_target: Callable[[], Replica] | None,
    name: str,
    *,
    dry_run: bool = False,
    upgrade_target: bool = False,
    progress: Progress | None = None,
    batch_size: int = 2000,
    created: bool = False,
    seeded: SyncReport | None = None,
) -> SyncReport:
    """The two-way exchange between two replicas of any engine.

    Args:
        open_target: opens the target (None: a dry run with no target there,
            which only counts what would be sent).
        name: the target's name, for the report and messages.
        created: the target was not there before (a new hub).
        seeded: what a new hub took from a snapshot of this laptop before the
            exchange (counted in as sent).
    """
    report = SyncReport(target=name, dry_run=dry_run, created_target=created)
    if open_target is None:
        return _estimate(local, None, report)
    with contextlib.closing(open_target()) as other:
        if other.pending_upgrade:
            if not upgrade_target:
                raise VisitlogError(
                    t(
                        "sync.err.older_target",
                        path=name,
                        version=other.schema_version,
                        have=APP_VERSION,
                    )
                )
            report.schema_upgraded = True
            if dry_run:
                return _estimate(local, other, report)
            other.upgrade()
        _exchange(local, other, report, progress, batch_size, seeded)
    return report


def _estimate(local: Replica, target: Replica | None, report: SyncReport) -> SyncReport:
    """A dry run that can only count: what each side lacks, per table."""
    lvv = local.version_vector()
    tvv = target.version_vector() if target else {}
    report.sent = dict(local.count_by_table(missing(lvv, tvv)))
    if target is not None:
        report.received = dict(target.count_by_table(missing(tvv, lvv)))
    report.estimated = True
    return report


@contextlib.contextmanager
def _both(local: Replica, target: Replica, flow: Flow) -> Iterator[tuple[Session, Session]]:
    """Both sessions, taken in the order of locations; the inner one commits first."""
    first, second = sorted((local, target), key=lambda r: r.location)
    with first.session() as a:
        with second.session() as b:
            yield (a, b) if first is local else (b, a)
        # A kill here leaves one side with the other's changes and the other
        # without; both are whole, and the next sync ships the rest.
        flow.committed()
    flow.committed()


def _exchange(
    local: Replica,
    target: Replica,
    report: SyncReport,
    progress: Progress | None,
    batch_size: int,
    seeded: SyncReport | None = None,
) -> None:
    """Chunk after chunk until nothing is missing on either side (a dry run: one).

    *seeded*: what the new hub took from this laptop's snapshot, counted in
    the first chunk (its report and both sides' audit entries)."""
    limit = None if report.dry_run else max(1, CHUNK_CHANGES)
    flow = Flow(progress, limit)
    cursor = Cursor()
    number = 1
    while True:
        part = SyncReport(target=report.target, dry_run=report.dry_run)
        earlier = [c["id"] for c in report.conflicts]
        more, settled = _chunk(
            local,
            target,
            part,
            flow,
            cursor,
            batch_size,
            limit,
            number,
            earlier,
            seeded if number == 1 else None,
        )
        if settled:
            # Recorded by an earlier chunk, settled by this one (a later edit
            # that had seen the losing value came in): one exchange would
            # not have recorded it.
            report.conflicts = [c for c in report.conflicts if c["id"] not in settled]
        report.add(part)
        if not more:
            return
        time.sleep(CHUNK_PAUSE_S * (LONG_PAUSE_EVERY if number % LONG_PAUSE_EVERY == 0 else 1))
        number += 1


def _chunk(
    local: Replica,
    target: Replica,
    report: SyncReport,
    flow: Flow,
    cursor: Cursor,
    batch_size: int,
    limit: int | None,
    number: int,
    earlier: list[str],
    seeded: SyncReport | None = None,
) -> tuple[bool, set[str]]:
    """One chunk: a whole exchange of at most *limit* changes, committed on
    both sides (rolled back on both in a dry run).

    Returns:
        Whether more is left, and which of the conflicts *earlier* chunks
        recorded this one settled.
    """
    plan: Plan | None = None
    settled: set[str] = set()
    with contextlib.suppress(_DryRun), _both(local, target, flow) as (ls, ts):
        # Each side first checks it is still the replica its device id names
        # (visitlog.store.identity): a restored or copied file takes a new id here.
        lid, tid = ls.device, ts.device
        if lid and lid == tid:
            # A copied database file: both would number their changes alike
            # and silently drop each other's.
            raise VisitlogError(t("sync.err.same_device", path=target.name, device=lid))
        # One station per hub: refused here, both sides roll back.
        bind_replicas(local.station_key(), ls, target.station_key(), ts, target.name)
        at_local, at_target = ls.applier(), ts.applier()
        lvv, tvv = dict(at_local.vv), dict(at_target.vv)
        check_heads(ls, ts, lvv, tvv, target.name)
        to_send = cursor.after("send", missing(lvv, tvv))
        to_receive = cursor.after("receive", missing(tvv, lvv))
        sources = {"send": ls, "receive": ts}

        def first_stamp(direction: str, device: str, seq: int) -> str | None:
            change = sources[direction].change(device, seq)
            return change[4] if change is not None else None

        readable = None
        if limit is not None and spans(to_send) + spans(to_receive) > limit:
            # A station of a hub sends a few of the changes it is asked for
            # (skips for the rest): the chunk is sized by those it sends.
            readable = cursor.readable(to_receive, ts.readable)
        plan = plan_chunk(to_send, to_receive, limit, first_stamp, readable)
        flow.plan(spans(to_send), spans(to_receive))
        for phase, src_s, src, dst, ranges, known in (
            ("send", ls, at_local, at_target, plan.send, None),
            ("receive", ts, at_target, at_local, plan.receive, readable),
        ):
            flow.start(phase, ranges)
            for batch in src_s.changes(ranges, batch_size, known):
                src.note_sent(batch)
                dst.add(batch)
                flow.moved(phase, len(batch))
        merges = at_target.pending_merges() + at_local.pending_merges()
        at_target.finish(flow.merging(0, merges))
        # A station of a hub that reads only its own households: those moved
        # into its grids since its last sync come again, whole; those moved
        # out are let go of once the merge is done.
        # This side remembers the last move it was told of (committed with
        # what it took in, so a sync killed before this side's commit tells
        # it again).
        seen_key = MOVES_SEEN + ts.device
        seen = ls.setting(seen_key)
        again, gone, last = ts.moved(int(seen) if seen else None)
        for batch in again:
            at_local.add(batch)
        at_local.finish(flow.merging(merges - at_local.pending_merges(), merges))
        flow.merged_chunk(merges)
        report.let_go = ls.let_go(gone)
        if last is not None and str(last) != seen:
            ls.set_setting(seen_key, str(last))
        # A side behind on its own device id (the other holds more of its
        # changes than it does) was restored from a backup older than its
        # last exchange: it takes those changes back (in this chunk and the
        # next ones); its next ones take a new id, or they would be numbered
        # like changes already out.
        for s, vv, other_vv in ((ls, lvv, tvv), (ts, tvv, lvv)):
            own = s.device
            if other_vv.get(own, 0) > vv.get(own, 0):
                s.new_device("peer_ahead")
            change = s.identity_change
            if change is not None:
                old = change["old"]
                change["recovered"] = max(0, other_vv.get(old, 0) - vv.get(old, 0))
            s.note_shipped()
        report.sent = dict(at_target.received)
        report.received = dict(at_local.received)
        found = {**at_target.new_conflicts, **at_local.new_conflicts}
        report.conflicts = [decode_conflict(c) for _, c in sorted(found.items())]
        if seeded is not None:
            # the changes the new hub took from this laptop's snapshot
            for tbl, n in seeded.sent.items():
                report.sent[tbl] = report.sent.get(tbl, 0) + n
            report.conflicts = sorted(
                {c["id"]: c for c in [*seeded.conflicts, *report.conflicts]}.values(),
                key=lambda c: c["id"],
            )
            report.seeded = True
        if earlier:
            settled = set(earlier) - ls.open_conflicts(earlier) - ts.open_conflicts(earlier)
        report.skewed = [{**s, "at": "local"} for s in at_local.skewed()] + [
            {**s, "at": "target"} for s in at_target.skewed()
        ]
        report.identity = [
            {**change, "at": at}
            for at, s in (("local", ls), ("target", ts))
            if (change := s.identity_change) is not None
        ]
        held = (_held_after(tvv, plan.send), _held_after(lvv, plan.receive))
        chunk = number if number > 1 or plan.truncated else None
        _bookkeeping(ls, ts, lvv, tvv, held, report, target, chunk)
        _chain_heads(ls, ts, report)
        if report.dry_run:
            raise _DryRun
    if plan is None or report.dry_run:
        return False, settled
    cursor.advance(plan)
    return plan.truncated, settled


def _held_after(vv: dict[str, int], received: dict[str, tuple[int, int]]) -> dict[str, int]:
    """What a side holds once a chunk is in: its vector, moved up by what it was sent."""
    out = dict(vv)
    for device, (_first, last) in received.items():
        out[device] = max(out.get(device, 0), last)
    return out


def _bookkeeping(
    ls: Session,
    ts: Session,
    lvv: dict[str, int],
    tvv: dict[str, int],
    held: tuple[dict[str, int], dict[str, int]],
    report: SyncReport,
    target: Replica,
    chunk: int | None,
) -> None:
    """Peers, the hub's location and ``synced_seq``, and one audit entry per side.

    ``held`` is what the target and this side hold once this chunk is in
    (after a whole exchange: both the union of the two vectors).
    """
    at_target, at_local = held
    lid, tid = ls.device, ts.device
    local_hub, target_hub = is_hub(ls, lvv), is_hub(ts, tvv)
    report.peer, report.peer_is_hub = tid, target_hub
    record_peer(ls, tid, ts.setting("device_name"), target_hub, target.location, at_target)
    record_peer(ts, lid, ls.setting("device_name"), local_hub, None, at_local)
    for s, other in ((ls, ts), (ts, ls)):
        forget_former(s, other.setting("former_devices"))
    for s, own, other_is_hub, other_holds in (
        (ls, lid, target_hub, at_target),
        (ts, tid, local_hub, at_local),
    ):
        if (
            other_is_hub
            and other_holds.get(own, 0)
            and s.setting("synced_seq") != str(other_holds[own])
        ):
            s.set_setting("synced_seq", str(other_holds[own]))
    if target_hub and not ls.setting("hub_path"):
        ls.set_setting("hub_path", target.location)
    if report.sent_total or report.received_total:
        counts: dict[str, int] = {"conflicts": len(report.conflicts)}
        if chunk is not None:
            counts["chunk"] = chunk  # one of several commits of one big sync
        ls.audit(
            "sync",
            detail={"peer": tid, "path": target.name, "sent": report.sent, **counts}
            | {"received": report.received},
        )
        ts.audit(
            "sync",
            detail={"peer": lid, "peer_worker": ls.setting("worker"), **counts}
            | {"sent": report.received, "received": report.sent},
        )


def check_heads(
    ls: Session, ts: Session, lvv: dict[str, int], tvv: dict[str, int], target_name: str
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
    for device in sorted(lvv.keys() & tvv.keys()):
        seq = min(lvv[device], tvv[device])
        mine, theirs = ls.change(device, seq), ts.change(device, seq)
        if mine is None or theirs is None or SKIP in (mine[5], theirs[5]):
            # One side holds part of the log (a station of a PostgreSQL hub,
            # which reads only its own households): nothing to compare here.
            continue
        if tuple(mine) != tuple(theirs):
            raise ReplayError(t("sync.err.replayed_sync", device=device, seq=seq, path=target_name))


def _chain_heads(ls: Session, ts: Session, report: SyncReport) -> None:
    """Each side checks the other's audit chain against the head it recorded
    last time, then records the current one (:mod:`visitlog.sync.heads`)."""
    lid, tid = ls.device, ts.device
    for receiver, sender, device, at in ((ts, ls, lid, "target"), (ls, ts, tid, "local")):
        found = check_peer_chain(receiver, sender, device)
        if found:
            report.rewritten.append({**found, "at": at})
    record_peer_head(ts, ls, lid)
    record_peer_head(ls, ts, tid)


__all__ = ["check_heads", "exchange", "sync_with"]
