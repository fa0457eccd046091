"""The bundle file: changes carried in one file (USB stick, mail), written and read.

A bundle holds the changes its source had and a chosen peer lacked (or all
of them); :mod:`visitlog.sync.bundle` exports and imports them through the
Replica interface.  A bundle is encrypted and signed with the station key,
so a bundle found on a lost USB stick shows nobody's name, phone or
address.  The file is:

.. code-block:: text

    VISITLOG-BUNDLE 2\\n                      format name and version
    {"cipher":"AES-256-GCM",…,"key":…}\\n    the cipher, the key's fingerprint, a fresh salt
    <frames>                                 one gzip stream of JSON lines, sealed in chunks
                                             {"manifest": {…}}
                                             [device, seq, tbl, row_id, hlc, op, data, base]  (one per change)
                                             {"end": {"count": n}}
    \\n
    {"sha256": "<hex>", "signature": "<hex>", "key": "<fingerprint>"}\\n
                                             SHA-256 of every byte before this line, signed

The frames are :mod:`visitlog.sync.bundle_cipher`'s: AES-256-GCM with a key
of the file's own (derived from the station key and the salt), chunk by
chunk, each chunk authenticated with its place in the file and whether it
is the last, so a bundle of any size is written and read as a stream, and
an altered, reordered or cut file does not open.  Everything a reader
learns without the key is the format line, the header (cipher, chunk
size, the key's fingerprint, the salt), the file's size and the trailer.

The checksum covers every byte before the trailer and the trailer must
parse and match, so a truncated file or one altered anywhere by a single
byte is refused before anything is decrypted; ``signature`` is an
HMAC-SHA256 of the checksum with the station key and ``key`` names the key
by its fingerprint: a replica refuses a bundle signed with another key, or
whose signature does not match (see :mod:`visitlog.security`), before
anything is decrypted or applied.  The import itself is one transaction,
so a file that changes while being read is refused with nothing applied.
A replica without a station key writes no bundle (it could not encrypt
it) and cannot open one.

**Bundles of earlier versions** (``VISITLOG-BUNDLE 1``: the same gzip
stream, not encrypted, signed when their replica held a key) are still
read, under the same rules of signature as before, and the import says
that the file holds personal data in plain text and should be deleted
from the stick.  Refusing them would protect nothing (the file is already
plain) and would strand the visits of a laptop not yet upgraded.

The manifest names the source replica, its version vector, the per-device
seq ranges and per-table counts in the file, the schema and the synced
fields, so a reader can refuse a bundle from a newer visitlog or one that
starts after what the receiving replica holds (``--for`` another replica).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from visitlog import clock
from visitlog.clock import now_iso
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, VisitlogError
from visitlog.progress import Progress, report
from visitlog.security import bundle_signature, check_bundle
from visitlog.store import APP_VERSION, StationKey, files, migrations, sqlite_errors
from visitlog.store.files import check_user_file
from visitlog.sync.bundle_cipher import (
    MAX_HEADER,
    Sealer,
    SealError,
    new_header,
    open_frames,
    parse_header,
)
from visitlog.sync.interface import Change, Ranges, Replica

FORMAT = "visitlog-bundle"
VERSION = 2
MAGIC = b"VISITLOG-BUNDLE 2\n"
#: Bundles of earlier versions: the same stream, not encrypted.
PLAIN_VERSION = 1
PLAIN_MAGIC = b"VISITLOG-BUNDLE 1\n"
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


def _jline(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# -- writing ----------------------------------------------------------------------------


def new_manifest(
    *,
    schema_version: int,
    source: dict[str, Any],
    vv: dict[str, int],
    base: dict[str, int],
    peer: str | None,
    ranges: Ranges,
    counts: dict[str, int],
) -> dict[str, Any]:
    """The manifest of a bundle holding the changes in ``ranges`` (``counts`` per table).

    Args:
        source: ``{"device", "name", "kind", "former"}`` of the exporting replica.
        vv: what the exporting replica holds; ``base`` what ``peer`` was known to.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "app_version": APP_VERSION,
        "schema_version": schema_version,
        "fields": {tbl: list(fields) for tbl, fields in SYNCED_FIELDS.items()},
        "created_at": now_iso(),
        # the exporting computer's clock, to refuse a bundle from the future
        "wall_ms": clock.now_ms(),
        "source": source,
        "source_vv": vv,
        "base_vv": {d: base[d] for d in ranges if d in base},
        "for": peer,
        "devices": {d: list(r) for d, r in ranges.items()},
        "counts": dict(sorted(counts.items())),
        "total": sum(counts.values()),
    }


def write_bundle(
    tmp: Path,
    manifest: dict[str, Any],
    batches: Iterable[list[Change]],
    total: int,
    progress: Progress | None,
    key: StationKey,
) -> None:
    """Write a bundle to ``tmp``, encrypted and signed with ``key``: the
    manifest, the changes, the checksum trailer; reports ``progress("export", …)``."""
    digest = hashlib.sha256()
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:

        def out(data: bytes) -> None:
            if data:
                digest.update(data)
                fh.write(data)

        header = MAGIC + new_header(key)
        out(header)
        sealer = Sealer(key, header)
        z = zlib.compressobj(6, zlib.DEFLATED, _GZIP)

        def put(plain: bytes) -> None:
            out(sealer.feed(z.compress(plain)))

        put(_jline({"manifest": manifest}))
        done = 0
        for batch in batches:
            put(b"".join(_jline(list(ch)) for ch in batch))
            done += len(batch)
            report(progress, "export", done, total)
        put(_jline({"end": {"count": done}}))
        out(sealer.feed(z.flush()))
        out(sealer.close())
        out(b"\n")
        checksum = digest.hexdigest()
        fh.write(_jline({"sha256": checksum, **bundle_signature(key, checksum)}))
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


@dataclass(frozen=True)
class Opened:
    """A bundle checked whole (checksum, signature, manifest), ready to be read."""

    path: Path
    manifest: dict[str, Any]
    #: Where the checksummed part ends, and its checksum.
    body_end: int
    sha256: str
    #: A bundle of an earlier version: not encrypted (its personal data is plain).
    plain: bool
    #: Where the gzip stream (plain) or the frames begin.
    start: int
    #: The format line and header line, the associated data of every frame.
    header: bytes
    key: StationKey | None


def _head(fh: BinaryIO, path: Path) -> tuple[int, bytes]:
    """The format version of the file at the start of ``fh``, and for an encrypted
    bundle its format line and header line."""
    head = fh.read(len(MAGIC))
    if head == PLAIN_MAGIC:
        return PLAIN_VERSION, b""
    if head == MAGIC:
        rest = fh.read(MAX_HEADER)
        cut = rest.find(b"\n")
        if cut < 0:
            raise _damaged(path)
        return VERSION, head + rest[: cut + 1]
    fh.seek(0)  # a plain or an encrypted (SQLCipher) database
    if files.looks_like_database(fh.read(files.HEAD_BYTES), os.fstat(fh.fileno()).st_size):
        raise BundleError(t("bundle.err.is_database", path=path))
    if head.startswith(b"VISITLOG-BUNDLE "):
        raise BundleError(t("bundle.err.newer_format", path=path, need=">" + APP_VERSION))
    raise BundleError(t("bundle.err.not_bundle", path=path))


def verify_bundle(
    path: Path | str, replica: Replica | None = None, *, key: StationKey | None = None
) -> Opened:
    """Check a bundle whole before anything is applied.

    The checksum is computed on the bytes as written and, when ``replica``
    is given, the station key it holds (else ``key``) has its say
    (:func:`visitlog.security.check_bundle`; ``key`` where the replica holds
    none, as a PostgreSQL hub) before anything is decrypted
    or inflated.

    Raises:
        BundleError: not a bundle, truncated, altered, encrypted while no
            key is held, or of a newer format or schema than this visitlog reads.
        SignatureError: refused by the station key.
    """
    path = Path(path)
    body_end, expected = checksum_of(path)
    held = (replica.station_key() if replica is not None else None) or key
    if replica is not None or key is not None:
        check_bundle(held, path, expected)
    fh, _ = _open(path)
    with fh:
        version, header = _head(fh, path)
        if version == VERSION and held is None:
            try:
                theirs = parse_header(header[len(MAGIC) :])["key"]
            except SealError:
                raise _damaged(path) from None
            raise BundleError(t("bundle.err.needs_key", path=path, theirs=theirs))
        opened = Opened(
            path=path,
            manifest={},
            body_end=body_end,
            sha256=expected,
            plain=version == PLAIN_VERSION,
            start=len(MAGIC) + max(0, len(header) - len(MAGIC)),
            header=header,
            key=held,
        )
        first = next(_lines(_chunks(fh, opened), path), None)
    return replace(opened, manifest=_manifest(first, path, version))


def checksum_of(path: Path) -> tuple[int, str]:
    """Where the checksummed part of a bundle ends, and its checksum (verified)."""
    fh, size = _open(path)
    with fh:
        _head(fh, path)
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


def _manifest(line: bytes | None, path: Path, version: int) -> dict[str, Any]:
    try:
        manifest = json.loads(line or b"")["manifest"]
        fmt, written = manifest["format"], manifest["version"]
    except (ValueError, KeyError, TypeError):
        raise _damaged(path) from None
    need = str(manifest.get("app_version") or ">" + APP_VERSION)
    if fmt != FORMAT:
        raise BundleError(t("bundle.err.not_bundle", path=path))
    if written != version:
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


def _chunks(fh: BinaryIO, opened: Opened) -> Iterator[bytes]:
    """The gzip stream of a checked bundle, chunk by chunk (decrypted when it is encrypted)."""
    length = opened.body_end - 1 - opened.start
    if length < 0:
        raise _damaged(opened.path)
    fh.seek(opened.start)
    if opened.plain:
        yield from _read_chunks(fh, length, opened.path)
        return
    assert opened.key is not None
    try:
        yield from open_frames(fh.read, length, opened.key, opened.header)
    except SealError:
        raise _damaged(opened.path) from None


def _read_chunks(fh: BinaryIO, length: int, path: Path) -> Iterator[bytes]:
    """The next ``length`` bytes of ``fh``, a piece at a time."""
    left = length
    while left > 0:
        chunk = fh.read(min(1 << 16, left))
        if not chunk:
            raise _damaged(path)
        left -= len(chunk)
        yield chunk


def _lines(chunks: Iterable[bytes], path: Path) -> Iterator[bytes]:
    """The JSON lines of the gzip stream that arrives in ``chunks``.

    Inflation is streamed and bounded: at most :data:`_STEP` bytes come out
    of one step, one line may not exceed :data:`MAX_LINE`, and past
    :data:`RATIO_FLOOR` the stream may not inflate more than :data:`MAX_RATIO`
    times what was read (a gzip bomb is refused after a few MB, in little memory).
    """
    z = zlib.decompressobj(_GZIP)
    pending = b""
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
        for chunk in chunks:
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


def read_changes(opened: Opened, batch_size: int) -> Iterator[list[Change]]:
    """The changes of a verified bundle, checked against its manifest as they stream."""
    path, manifest = opened.path, opened.manifest
    ranges = {d: tuple(r) for d, r in manifest["devices"].items()}
    expect: dict[str, int] = {d: r[0] for d, r in ranges.items()}
    fh, _ = _open(path)
    with fh:
        lines = _lines(_chunks(fh, opened), path)
        if _manifest(next(lines, None), path, manifest["version"]) != manifest:
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


def refuse_from_the_future(manifest: dict[str, Any], path: Path) -> None:
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


def read_manifest(path: Path | str, key: StationKey | None = None) -> dict[str, Any]:
    """The manifest of a bundle, after checking the whole file (opened with ``key``)."""
    with sqlite_errors(path):
        return verify_bundle(path, key=key).manifest
