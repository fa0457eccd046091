"""Bundles: the changes of a sync carried in one file (USB stick, mail).

:func:`export_bundle` writes what this replica holds and a chosen peer
lacks (or everything); :func:`import_bundle` applies a bundle with the same
merge as a sync, in one transaction.  Both go through the Replica interface
(:func:`export_from` and :func:`import_into` take any
:class:`~visitlog.sync.interface.Replica`); the file format is
:mod:`visitlog.sync.bundle_file`'s.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.progress import Progress, report
from visitlog.store import APP_VERSION, StationKey, Store
from visitlog.store.files import replacing
from visitlog.sync.bundle_file import (
    BundleError,
    checksum_of,
    new_manifest,
    read_changes,
    refuse_from_the_future,
    verify_bundle,
    write_bundle,
)
from visitlog.sync.engines import TargetName, find_target, local_replica, location
from visitlog.sync.interface import Replica
from visitlog.sync.merge import missing
from visitlog.sync.peers import find_peer, forget_former, is_hub, record_peer
from visitlog.sync.report import SyncReport, decode_conflict


@dataclass
class BundleInfo:
    """What ``export_bundle`` wrote."""

    file: str
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    devices: dict[str, list[int]] = field(default_factory=dict)
    for_peer: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "changes": self.total,
            "by_table": {tbl: self.counts.get(tbl, 0) for tbl in SYNCED_FIELDS},
            "devices": self.devices,
            "for": self.for_peer,
            "source": self.source,
        }


# -- export ---------------------------------------------------------------------------


def export_bundle(
    store: Store,
    dest: Path | str,
    *,
    for_peer: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 2000,
) -> BundleInfo:
    """Write the changes ``for_peer`` lacks (all without it) to one bundle file.

    The file is written under a temporary name and renamed, so a failed
    export never leaves a partial bundle under the requested name.

    Raises:
        VisitlogError: unknown peer, or the file cannot be written.
    """
    dest = Path(dest).expanduser()
    if dest.is_dir():
        raise VisitlogError(t("sync.err.is_dir", path=dest))
    if not dest.parent.is_dir():
        raise VisitlogError(t("sync.err.no_dir", path=dest.parent))
    with contextlib.closing(local_replica(store)) as own:
        info, change = export_from(
            own, dest, for_peer=for_peer, progress=progress, batch_size=batch_size
        )
    if change is not None:
        store.identity_change = change
    return info


def export_from(
    replica: Replica,
    dest: Path,
    *,
    for_peer: str | None = None,
    progress: Progress | None = None,
    batch_size: int = 2000,
) -> tuple[BundleInfo, dict[str, Any] | None]:
    """:func:`export_bundle` from any replica; also returns the replica's
    identity change (a restored or copied database takes a new id).

    Raises:
        VisitlogError: the replica holds no station key (a bundle is
            encrypted with it), an unknown peer, or the file cannot be written.
    """
    key = replica.station_key()
    if key is None:
        raise VisitlogError(t("bundle.err.no_key"))
    with replica.session() as s:
        vv = s.version_vector()
        if for_peer:
            ident = for_peer.strip()
            peer, base = find_peer(s, ident, location(ident) if ident else "")
        else:
            peer, base = None, {}
        ranges = missing(vv, base)
        counts = s.count_by_table(ranges)
        total = sum(counts.values())
        manifest = new_manifest(
            schema_version=replica.schema_version,
            source={
                "device": s.device,
                "name": s.setting("device_name"),
                "kind": "hub" if is_hub(s, vv) else "device",
                # device ids it gave up (restored or copied): peers forget them
                "former": json.loads(s.setting("former_devices") or "[]"),
            },
            vv=vv,
            base=base,
            peer=peer,
            ranges=ranges,
            counts=counts,
        )
        with replacing(dest) as tmp:
            batches = s.changes(ranges, batch_size)
            write_bundle(tmp, manifest, batches, total, progress, key=key)
        s.audit("bundle.export", detail={"file": dest.name, "for": peer, "changes": total})
        if s.device in ranges:
            s.note_shipped()
        change = s.identity_change
    info = BundleInfo(
        file=str(dest),
        total=total,
        counts=dict(counts),
        devices=manifest["devices"],
        for_peer=peer,
        source=manifest["source"]["device"],
    )
    return info, change


# -- import ----------------------------------------------------------------------------


def import_bundle(
    store: Store,
    path: Path | str,
    *,
    progress: Progress | None = None,
    batch_size: int = 2000,
) -> SyncReport:
    """Apply a bundle with the same merge as a sync, in one transaction.

    Re-importing a bundle, or one whose changes are already here, changes
    nothing.

    Raises:
        BundleError: not a whole, unaltered bundle this visitlog reads, or it
            starts after what this replica holds; nothing was applied.
    """
    with contextlib.closing(local_replica(store)) as own:
        rep, change = import_into(own, path, progress=progress, batch_size=batch_size)
    if change is not None:
        store.identity_change = change
    return rep


def import_into_target(
    target: TargetName,
    path: Path | str,
    *,
    progress: Progress | None = None,
    key: StationKey | None = None,
) -> SyncReport:
    """:func:`import_bundle` into the replica *target* names (a hub: a
    ``postgresql://`` URL, or a hub file); ``key`` (the station key of the
    laptop doing it) opens the bundle where the hub holds none."""
    found = find_target(target)
    with contextlib.closing(found.open()) as replica:
        if replica.pending_upgrade:
            raise VisitlogError(
                t(
                    "sync.err.older_target",
                    path=found.name,
                    version=replica.schema_version,
                    have=APP_VERSION,
                )
            )
        return import_into(replica, path, progress=progress, key=key)[0]


def import_into(
    replica: Replica,
    path: Path | str,
    *,
    progress: Progress | None = None,
    batch_size: int = 2000,
    key: StationKey | None = None,
) -> tuple[SyncReport, dict[str, Any] | None]:
    """:func:`import_bundle` into any replica; also returns the replica's
    identity change (a restored or copied database takes a new id)."""
    path = Path(path).expanduser()
    # the station key's say on the bytes as written, before anything is decrypted
    opened = verify_bundle(path, replica, key=key)
    manifest = opened.manifest
    rep = SyncReport(target=str(path), plain_bundle=opened.plain)
    source = manifest["source"]
    total = int(manifest.get("total") or 0)
    refuse_from_the_future(manifest, path)
    with replica.session(whole=True) as s:
        mine_before = s.device  # checked first: a restored or copied file takes a new id
        applier = s.applier()
        own_vv_before = dict(applier.vv)
        for d, (first, _last) in manifest["devices"].items():
            have = applier.vv.get(d, 0)
            if first > have + 1:
                raise BundleError(t("bundle.err.gap", path=path, device=d, have=have, first=first))
        done = 0
        # Into a file that holds nothing yet (a new laptop taking a whole
        # district from a stick), the indexes are built once at the end.
        with s.receiving_whole():
            for batch in read_changes(opened, batch_size):
                applier.add(batch)
                done += len(batch)
                report(progress, "receive", done, total)
        # The file was checked before; check it again now that every byte
        # was read, in case it changed in between (a stick pulled mid-copy).
        _, again = checksum_of(path)
        if again != opened.sha256:
            raise BundleError(t("bundle.err.damaged", path=path))
        applier.finish(progress if applier.pending_merges() else None)
        rep.received = dict(applier.received)
        rep.conflicts = [decode_conflict(c) for _, c in sorted(applier.new_conflicts.items())]
        rep.skewed = [{**sk, "at": "local"} for sk in applier.skewed()]
        rep.peer = source["device"]
        rep.peer_is_hub = source.get("kind") == "hub"
        source_vv = {str(d): int(n) for d, n in manifest["source_vv"].items()}
        # The source knows more changes of our device id than we hold: we were
        # restored from an older backup.  What the bundle carried of them is
        # back; new changes take a new id (see visitlog.store.identity).
        if source_vv.get(mine_before, 0) > applier.vv.get(mine_before, 0):
            s.new_device("peer_ahead")
        change = s.identity_change
        if change is not None:
            before = s.version_vector().get(change["old"], 0)
            change["recovered"] = before - own_vv_before.get(change["old"], 0)
            rep.identity = [{**change, "at": "local"}]
        if source["device"] != s.device:
            record_peer(s, source["device"], source.get("name"), rep.peer_is_hub, None, source_vv)
        former = source.get("former")
        if isinstance(former, list) and all(isinstance(d, str) for d in former):
            forget_former(s, json.dumps(former))
        mine = source_vv.get(s.device, 0)
        if rep.peer_is_hub and mine > int(s.setting("synced_seq") or 0):
            s.set_setting("synced_seq", str(mine))
        if rep.received_total:
            s.audit(
                "bundle.import",
                detail={
                    "file": path.name,
                    "source": source["device"],
                    "received": rep.received,
                    "conflicts": len(rep.conflicts),
                    **({"plain": True} if opened.plain else {}),
                },
            )
    return rep, change


__all__ = [
    "BundleError",
    "BundleInfo",
    "export_bundle",
    "export_from",
    "import_bundle",
    "import_into",
    "import_into_target",
]
