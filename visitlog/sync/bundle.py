"""Bundles: changes carried in one file (USB stick, mail) instead of a live sync.

A bundle holds the changes its source had and a chosen peer lacked (or all
of them), applied on import with the same merge as a sync.  The file is:

.. code-block:: text

    VISITLOG-BUNDLE 1\\n                      format name and version
    <one gzip stream of JSON lines>          {"manifest": {…}}
                                             [device, seq, tbl, row_id, hlc, op, data, base]  (one per change)
                                             {"end": {"count": n}}
    \\n
    {"sha256": "<hex>", "signature": null}\\n  SHA-256 of every byte before this line
                                             (signed: "signature": "<hex>", "key": "<fingerprint>")

The checksum covers every byte before the trailer, the gzip header
included, and the trailer must parse and match, so a truncated file or one
altered anywhere by a single byte is refused before anything is applied;
the import itself is one transaction, so a file that changes while being
read is refused with nothing applied either.  A replica that holds a
station key signs its bundles: ``signature`` is an HMAC-SHA256 of the
checksum with that key and ``key`` names the key by its fingerprint; a
replica that holds a key refuses bundles unsigned, signed with another key,
or whose signature does not match, before anything is applied (see
:mod:`visitlog.security`).  A replica without a key accepts any bundle whose
checksum matches.

The manifest names the source replica, its version vector, the per-device
seq ranges and per-table counts in the file, the schema and the synced
fields, so a reader can refuse a bundle from a newer visitlog or one that
starts after what the receiving replica holds (``--for`` another replica).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from visitlog import clock, migrations
from visitlog.clock import now_iso
from visitlog.files import check_user_file, replacing
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.security import StationKey, bundle_signature, check_bundle, load_key
from visitlog.store import APP_VERSION, Store, Tx, sqlite_errors
from visitlog.sync.merge import (
    Applier,
    Change,
    changes_since,
    count_by_table,
    missing,
    version_vector,
)
from visitlog.sync.replica import (
    ProgressFn,
    SyncReport,
    decode_conflict,
    forget_former,
    is_hub,
    open_replica,
    record_peer,
    setting,
)

FORMAT = "visitlog-bundle"
VERSION = 1
MAGIC = b"VISITLOG-BUNDLE 1\n"
_CHUNK = 1 << 20
_GZIP = 31  # zlib wbits for a gzip wrapper
#: Most bytes one inflation step may produce.
_STEP = 1 << 20
#: Longest line (one change) a bundle may hold once inflated.
MAX_LINE = 16 << 20
#: How many times its compressed size a bundle may inflate to, past
#: RATIO_FLOOR (JSON lines of changes inflate 5–15 times; a bomb, ~1000).
MAX_RATIO = 200
RATIO_FLOOR = 64 << 20


class BundleError(VisitlogError):
    """A file that is not a whole, unaltered bundle this visitlog can read."""


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


def _jline(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# -- export ---------------------------------------------------------------------------


def find_peer(tx: Tx, ident: str) -> tuple[str, dict[str, int]]:
    """A peer by device id (or a prefix of ≥ 4), device name, or the path it was synced at.

    Raises:
        VisitlogError: no peer or several peers match.
    """
    ident = ident.strip()
    rows = tx.conn.execute("SELECT device, name, path, vv FROM peers").fetchall()
    path = str(Path(ident).expanduser().resolve()) if ident else ""
    for test in (
        lambda r: r[0] == ident,
        lambda r: r[2] == path or r[1] == ident,
        lambda r: len(ident) >= 4 and r[0].startswith(ident),
    ):
        found = [r for r in rows if test(r)]
        if len(found) > 1:
            raise VisitlogError(t("bundle.err.ambiguous_peer", peer=ident))
        if found:
            return found[0][0], json.loads(found[0][3])
    raise VisitlogError(t("bundle.err.unknown_peer", peer=ident))


def export_bundle(
    store: Store,
    dest: Path | str,
    *,
    for_peer: str | None = None,
    progress: ProgressFn | None = None,
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
    with contextlib.closing(open_replica(store.path)) as own, own.transaction() as tx:
        vv = version_vector(tx.conn)
        peer, base = find_peer(tx, for_peer) if for_peer else (None, {})
        ranges = missing(vv, base)
        counts = count_by_table(tx.conn, ranges)
        total = sum(counts.values())
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "app_version": APP_VERSION,
            "schema_version": own.schema_version,
            "fields": {tbl: list(fields) for tbl, fields in SYNCED_FIELDS.items()},
            "created_at": now_iso(),
            # the exporting computer's clock, to refuse a bundle from the future
            "wall_ms": clock.now_ms(),
            "source": {
                "device": tx.device,
                "name": setting(tx, "device_name"),
                "kind": "hub" if is_hub(tx, vv) else "device",
                # device ids it gave up (restored or copied): peers forget them
                "former": json.loads(setting(tx, "former_devices") or "[]"),
            },
            "source_vv": vv,
            "base_vv": {d: base[d] for d in ranges if d in base},
            "for": peer,
            "devices": {d: list(r) for d, r in ranges.items()},
            "counts": dict(sorted(counts.items())),
            "total": total,
        }
        with replacing(dest) as tmp:
            batches = changes_since(tx.conn, ranges, batch_size)
            _write(tmp, manifest, batches, total, progress, key=load_key(store.path))
        tx.audit("bundle.export", detail={"file": dest.name, "for": peer, "changes": total})
        if tx.device in ranges:
            tx.note_shipped()
        if tx.identity_change is not None:
            store.identity_change = tx.identity_change
    return BundleInfo(
        file=str(dest),
        total=total,
        counts=dict(counts),
        devices=manifest["devices"],
        for_peer=peer,
        source=manifest["source"]["device"],
    )


def _write(
    tmp: Path,
    manifest: dict[str, Any],
    batches: Iterable[list[Change]],
    total: int,
    progress: ProgressFn | None,
    key: StationKey | None = None,
) -> None:
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:

        def out(data: bytes) -> None:
            digest.update(data)
            fh.write(data)

        out(MAGIC)
        z = zlib.compressobj(6, zlib.DEFLATED, _GZIP)
        out(z.compress(_jline({"manifest": manifest})))
        done = 0
        for batch in batches:
            lines = b"".join(_jline(list(ch)) for ch in batch)
            out(z.compress(lines))
            done += len(batch)
            if progress:
                progress("export", done, total)
        out(z.compress(_jline({"end": {"count": done}})))
        out(z.flush())
        out(b"\n")
        checksum = digest.hexdigest()
        signed = bundle_signature(key, checksum) if key else {"signature": None}
        fh.write(_jline({"sha256": checksum, **signed}))
        fh.flush()
        os.fsync(fh.fileno())


# -- reading ----------------------------------------------------------------------------


def _damaged(path: Path) -> BundleError:
    return BundleError(t("bundle.err.damaged", path=path))


def _open(path: Path) -> tuple[BinaryIO, int]:
    path = check_user_file(path)
    try:
        fh = open(path, "rb")
        return fh, os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise VisitlogError(t("bundle.err.missing", path=path)) from None
    except IsADirectoryError:
        raise VisitlogError(t("sync.err.is_dir", path=path)) from None
    except OSError as exc:
        raise VisitlogError(t("bundle.err.read", path=path, detail=exc.strerror)) from exc


def verify_bundle(
    path: Path | str, db_path: Path | str | None = None
) -> tuple[dict[str, Any], int, str]:
    """Check a bundle whole before anything is applied.

    The checksum is computed on the compressed bytes and, when ``db_path``
    is given, the station key of that replica has its say
    (:func:`visitlog.security.check_bundle`) before anything is inflated.

    Returns:
        ``(manifest, body_end, sha256)``: the manifest, where the checksummed
        part ends, and its checksum.

    Raises:
        BundleError: not a bundle, truncated, altered, or of a newer format
            or schema than this visitlog reads.
        SignatureError: refused by the station key of ``db_path``.
    """
    path = Path(path)
    body_end, expected = _checksum(path)
    if db_path is not None:
        check_bundle(db_path, path, expected)
    fh, _ = _open(path)
    with fh:
        fh.seek(len(MAGIC))
        first = next(_lines(fh, body_end - 1 - len(MAGIC), path), None)
    manifest = _manifest(first, path)
    return manifest, body_end, expected


def _checksum(path: Path) -> tuple[int, str]:
    """Where the checksummed part of a bundle ends, and its checksum (verified)."""
    fh, size = _open(path)
    with fh:
        head = fh.read(len(MAGIC))
        if head != MAGIC:
            if head.startswith(b"SQLite format 3"):
                raise BundleError(t("bundle.err.is_database", path=path))
            if head.startswith(b"VISITLOG-BUNDLE "):
                raise BundleError(t("bundle.err.newer_format", path=path, need=">" + APP_VERSION))
            raise BundleError(t("bundle.err.not_bundle", path=path))
        fh.seek(max(0, size - 4096))
        tail = fh.read()
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if not tail.endswith(b"\n") or cut < 0:
            raise _damaged(path)
        body_end = size - (len(tail) - cut - 1)
        try:
            trailer = json.loads(tail[cut + 1 :])
            expected = trailer["sha256"]
            # "signature" is reserved for station keys; its presence is required.
            if not isinstance(expected, str) or len(expected) != 64 or "signature" not in trailer:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise _damaged(path) from None
        fh.seek(0)
        digest = hashlib.sha256()
        left = body_end
        while left > 0:
            chunk = fh.read(min(_CHUNK, left))
            if not chunk:
                raise _damaged(path)
            digest.update(chunk)
            left -= len(chunk)
        if not hmac.compare_digest(digest.hexdigest(), expected):
            raise _damaged(path)
    return body_end, expected


def _manifest(line: bytes | None, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(line or b"")["manifest"]
        fmt, version = manifest["format"], manifest["version"]
    except (ValueError, KeyError, TypeError):
        raise _damaged(path) from None
    need = str(manifest.get("app_version") or ">" + APP_VERSION)
    if fmt != FORMAT:
        raise BundleError(t("bundle.err.not_bundle", path=path))
    if version != VERSION:
        raise BundleError(t("bundle.err.newer_format", path=path, need=need))
    schema = manifest.get("schema_version")
    fields = manifest.get("fields") or {}
    unknown = [
        f"{tbl}.{f}"
        for tbl, names in fields.items()
        for f in names
        if f not in SYNCED_FIELDS.get(tbl, ())
    ]
    if (isinstance(schema, int) and schema > migrations.LATEST) or unknown:
        raise BundleError(t("bundle.err.newer_schema", path=path, version=schema, need=need))
    try:
        for d, (first, last) in manifest["devices"].items():
            if not (isinstance(d, str) and isinstance(first, int) and isinstance(last, int)):
                raise ValueError
            if not 1 <= first <= last:
                raise ValueError
        if not isinstance(manifest["source"]["device"], str):
            raise ValueError
        {str(d): int(s) for d, s in manifest["source_vv"].items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _damaged(path) from None
    return manifest


def _lines(fh: BinaryIO, length: int, path: Path) -> Iterator[bytes]:
    """The JSON lines of the gzip stream in the next ``length`` bytes of ``fh``.

    Inflation is streamed and bounded: at most :data:`_STEP` bytes come out
    of one step, one line may not exceed :data:`MAX_LINE`, and past
    :data:`RATIO_FLOOR` the stream may not inflate more than :data:`MAX_RATIO`
    times what was read (a gzip bomb is refused after a few MB, in little memory).
    """
    z = zlib.decompressobj(_GZIP)
    pending = b""
    left = length
    read = inflated = 0

    def out(data: bytes) -> Iterator[bytes]:
        nonlocal pending, inflated
        inflated += len(data)
        if inflated > RATIO_FLOOR and inflated > MAX_RATIO * max(read, 1):
            raise BundleError(t("bundle.err.bomb", path=path, ratio=MAX_RATIO))
        *whole, rest = (pending + data).split(b"\n") if b"\n" in data else [pending + data]
        if len(rest) > MAX_LINE:
            raise BundleError(t("bundle.err.bomb_line", path=path, max=MAX_LINE >> 20))
        pending = rest
        yield from whole

    try:
        while left > 0:
            chunk = fh.read(min(1 << 16, left))
            if not chunk:
                raise _damaged(path)
            left -= len(chunk)
            read += len(chunk)
            while chunk:
                yield from out(z.decompress(chunk, _STEP))
                if z.unused_data:
                    raise _damaged(path)
                chunk = z.unconsumed_tail
        yield from out(z.flush())
    except zlib.error:
        raise _damaged(path) from None
    if not z.eof or pending:
        raise _damaged(path)


def _changes(
    path: Path, body_end: int, manifest: dict[str, Any], batch_size: int
) -> Iterator[list[Change]]:
    """The changes of a verified bundle, checked against its manifest as they stream."""
    ranges = {d: tuple(r) for d, r in manifest["devices"].items()}
    expect: dict[str, int] = {d: r[0] for d, r in ranges.items()}
    fh, _ = _open(path)
    with fh:
        fh.seek(len(MAGIC))
        lines = _lines(fh, body_end - 1 - len(MAGIC), path)
        if _manifest(next(lines, None), path) != manifest:
            raise _damaged(path)
        batch: list[Change] = []
        count = 0
        ended = False
        for line in lines:
            if ended:
                raise _damaged(path)
            try:
                item = json.loads(line)
            except ValueError:
                raise _damaged(path) from None
            if isinstance(item, dict):
                if item.get("end", {}).get("count") != count:
                    raise _damaged(path)
                ended = True
                continue
            ch = _check_change(item, expect, ranges, path)
            expect[ch[0]] += 1
            batch.append(ch)
            count += 1
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
    if (
        not ended
        or count != manifest.get("total")
        or any(expect[d] != r[1] + 1 for d, r in ranges.items())
    ):
        raise _damaged(path)


def _check_change(
    item: Any, expect: dict[str, int], ranges: dict[str, tuple[int, int]], path: Path
) -> Change:
    """The framing of one change; its content is checked by the receive itself
    (:func:`visitlog.sync.validate.check_change`, in ``Applier.add``)."""
    if not (isinstance(item, list) and len(item) == 8):
        raise _damaged(path)
    device, seq = item[0], item[1]
    if (
        not isinstance(device, str)
        or device not in expect
        or type(seq) is not int
        or seq != expect[device]
        or seq > ranges[device][1]
    ):
        raise _damaged(path)
    return tuple(item)  # type: ignore[return-value]


# -- import ----------------------------------------------------------------------------


def import_bundle(
    store: Store,
    path: Path | str,
    *,
    progress: ProgressFn | None = None,
    batch_size: int = 2000,
) -> SyncReport:
    """Apply a bundle with the same merge as a sync, in one transaction.

    Re-importing a bundle, or one whose changes are already here, changes
    nothing.

    Raises:
        BundleError: not a whole, unaltered bundle this visitlog reads, or it
            starts after what this replica holds; nothing was applied.
    """
    path = Path(path).expanduser()
    # the station key's say on the compressed bytes, before anything is inflated
    manifest, body_end, expected = verify_bundle(path, store.path)
    report = SyncReport(target=str(path))
    source = manifest["source"]
    total = int(manifest.get("total") or 0)
    _refuse_from_the_future(manifest, path)
    with contextlib.closing(open_replica(store.path)) as own, own.transaction() as tx:
        mine_before = tx.device  # checked first: a restored or copied file takes a new id
        applier = Applier(tx)
        own_vv_before = dict(applier.vv)
        for d, (first, _last) in manifest["devices"].items():
            have = applier.vv.get(d, 0)
            if first > have + 1:
                raise BundleError(t("bundle.err.gap", path=path, device=d, have=have, first=first))
        done = 0
        for batch in _changes(path, body_end, manifest, batch_size):
            applier.add(batch)
            done += len(batch)
            if progress:
                progress("receive", done, total)
        # The file was checked before; check it again now that every byte
        # was read, in case it changed in between (a stick pulled mid-copy).
        _, again = _checksum(path)
        if again != expected:
            raise _damaged(path)
        merges = applier.pending_merges()
        applier.finish((lambda n, m: progress("merge", n, m)) if progress and merges else None)
        report.received = dict(applier.received)
        report.conflicts = [decode_conflict(c) for _, c in sorted(applier.new_conflicts.items())]
        report.skewed = [{**s, "at": "local"} for s in applier.skewed()]
        report.peer = source["device"]
        report.peer_is_hub = source.get("kind") == "hub"
        source_vv = {str(d): int(s) for d, s in manifest["source_vv"].items()}
        # The source knows more changes of our device id than we hold: we were
        # restored from an older backup.  What the bundle carried of them is
        # back; new changes take a new id (see visitlog.identity).
        if source_vv.get(mine_before, 0) > applier.vv.get(mine_before, 0):
            tx.new_device("peer_ahead")
        change = tx.identity_change
        if change is not None:
            before = version_vector(tx.conn).get(change["old"], 0)
            change["recovered"] = before - own_vv_before.get(change["old"], 0)
            report.identity = [{**change, "at": "local"}]
            store.identity_change = change
        if source["device"] != tx.device:
            record_peer(
                tx, source["device"], source.get("name"), report.peer_is_hub, None, source_vv
            )
        former = source.get("former")
        if isinstance(former, list) and all(isinstance(d, str) for d in former):
            forget_former(tx, json.dumps(former))
        mine = source_vv.get(tx.device, 0)
        if report.peer_is_hub and mine > int(setting(tx, "synced_seq") or 0):
            tx.set_setting("synced_seq", str(mine))
        if report.received_total:
            tx.audit(
                "bundle.import",
                detail={
                    "file": path.name,
                    "source": source["device"],
                    "received": report.received,
                    "conflicts": len(report.conflicts),
                },
            )
    return report


def _refuse_from_the_future(manifest: dict[str, Any], path: Path) -> None:
    """A bundle written (by its computer's clock) more than a day ahead of ours:
    one of the two clocks is wrong, and merging now would hold or misplace
    every change; refused before anything is applied."""
    wall = manifest.get("wall_ms")
    if not isinstance(wall, int):
        return  # written by an older visitlog
    ahead = wall - clock.now_ms()
    if ahead > clock.MAX_AHEAD_MS:
        raise BundleError(
            t(
                "bundle.err.from_future",
                path=path,
                when=manifest.get("created_at", ""),
                hours=round(ahead / 3_600_000, 1),
            )
        )


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of a bundle, after checking the whole file."""
    with sqlite_errors(path):
        return verify_bundle(path)[0]
