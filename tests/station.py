"""A station key for tests whose laptops exchange bundles, and bundle files made by hand.

A laptop writes a bundle only when it holds a station key (the bundle is
encrypted with it), so tests that carry bundles give their laptops one:
:func:`hold_key`.  :func:`bundle_lines` reads what a bundle carries and
:func:`seal_bundle` writes a crafted one, encrypted and signed like a real
one, so a test can reach the checks behind the encryption.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

from visitlog.security import bundle_signature
from visitlog.store import StationKey, save_key
from visitlog.sync.bundle_cipher import Sealer, new_header
from visitlog.sync.bundle_file import MAGIC, _chunks, _lines, _open, verify_bundle

#: The key every laptop of the tests' station holds.
STATION = StationKey.generate()

DATA = Path(__file__).parent / "data"


def hold_key(*db_paths: Path | str, key: StationKey = STATION) -> None:
    """Give each database the station key (its key file beside it)."""
    for path in db_paths:
        save_key(path, key)


def bundle_lines(path: Path, key: StationKey = STATION) -> list[bytes]:
    """The JSON lines a bundle carries (manifest, changes, end), decrypted with ``key``."""
    opened = verify_bundle(path, key=key)
    fh, _ = _open(path)
    with fh:
        return list(_lines(_chunks(fh, opened), path))


def seal_bundle(path: Path, lines: list[bytes], key: StationKey = STATION) -> Path:
    """Write ``lines`` as a bundle encrypted and signed with ``key`` (a crafted file)."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    stream = z.compress(b"\n".join(lines) + b"\n") + z.flush()
    header = MAGIC + new_header(key)
    sealer = Sealer(key, header)
    body = header + sealer.feed(stream) + sealer.close() + b"\n"
    checksum = hashlib.sha256(body).hexdigest()
    trailer = {"sha256": checksum, **bundle_signature(key, checksum)}
    path.write_bytes(body + json.dumps(trailer, separators=(",", ":")).encode() + b"\n")
    return path


def old_bundle(name: str, dest: Path) -> Path:
    """A copy of a bundle written by visitlog before bundles were encrypted
    (``plain``: from a laptop without a key; ``signed``: with the key in
    ``bundle-v1-signed.key``)."""
    dest.write_bytes((DATA / f"bundle-v1-{name}.vlb").read_bytes())
    return dest


def old_station_key() -> StationKey:
    """The key that signed ``bundle-v1-signed.vlb``."""
    return StationKey.from_line((DATA / "bundle-v1-signed.key").read_text())
