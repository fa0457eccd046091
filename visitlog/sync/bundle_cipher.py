"""The encryption of bundle files: AES-256-GCM in authenticated chunks, keyed by the station key.

A bundle may be large, so it is sealed and opened as a stream, one chunk at
a time, in bounded memory.  The construction is the "STREAM" online
authenticated encryption of Hoang, Reyhanitabar, Rogaway and Vizár (2015):

- **A key of its own for each file.**  The writer draws 32 random bytes
  (the *salt*, written in the file's header) and derives the file's key
  with HKDF-SHA256 from the station key and that salt.  Two files never
  share a key, so the counter nonces below never repeat under one key,
  and a chunk moved from another bundle does not open.
- **Chunks.**  The plaintext (the gzip stream of the bundle) is cut into
  chunks of :data:`CHUNK` bytes, the last one shorter (never empty).  Chunk
  ``i`` is sealed with the nonce ``i`` (11 bytes, big-endian) followed by a
  final flag byte (1 for the last chunk, 0 for the others), and with the
  file's header (its format line and header line) as associated data.
- **Frames.**  Each sealed chunk (ciphertext and its 16-byte tag) is
  written as a 4-byte big-endian length followed by the sealed bytes.

What that gives: a chunk that was altered, moved to another place, or
comes from another file does not open (its nonce or key differs); a file
cut at a frame boundary ends with a chunk sealed as not final, which does
not open as the last one; a file that goes on past the final chunk is
refused; a changed header (salt, chunk size, key fingerprint) changes the
associated data of every chunk.  Nothing of the plaintext is handed on
before its chunk's tag has been checked.

The header names the station key by its fingerprint (never the key) so a
laptop of another station is told so in words.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from visitlog.store import StationKey

CIPHER = "AES-256-GCM"
KDF = "HKDF-SHA256"
#: Plaintext bytes per chunk: memory per step stays small, the tag overhead tiny.
CHUNK = 1 << 18
TAG = 16
SALT_BYTES = 32
_INFO = b"visitlog bundle 2 AES-256-GCM"
_LENGTH = 4
#: Longest header line a reader accepts (the real one is about 150 bytes).
MAX_HEADER = 1024


class SealError(ValueError):
    """A sealed stream that does not open whole: altered, cut, reordered or of another key."""


def _file_key(key: StationKey, salt: bytes) -> AESGCM:
    secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(key.secret)
    return AESGCM(secret)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def new_header(key: StationKey, chunk: int = CHUNK) -> bytes:
    """The header line of a new sealed file: cipher, chunk size, key fingerprint, fresh salt."""
    salt = base64.b64encode(os.urandom(SALT_BYTES)).decode("ascii")
    fields = {"cipher": CIPHER, "kdf": KDF, "chunk": chunk, "key": key.fingerprint, "salt": salt}
    return (json.dumps(fields, separators=(",", ":")) + "\n").encode("ascii")


def parse_header(line: bytes) -> dict[str, object]:
    """The fields of a header line, checked: ``{"cipher","kdf","chunk","key","salt"}``.

    Raises:
        SealError: not a header this visitlog writes.
    """
    try:
        fields = json.loads(line)
        salt = base64.b64decode(fields["salt"], validate=True)
        chunk = fields["chunk"]
        if (
            fields["cipher"] != CIPHER
            or fields["kdf"] != KDF
            or not isinstance(fields["key"], str)
            or len(salt) != SALT_BYTES
            or type(chunk) is not int
            or not 1 <= chunk <= CHUNK
        ):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise SealError("header") from None
    return {**fields, "salt": salt}


class Sealer:
    """Seals a stream chunk by chunk: :meth:`feed` returns the frames ready so far,
    :meth:`close` the last one.

    Args:
        key: the station key.
        header: the file's format line and header line (associated data of every chunk).
    """

    def __init__(self, key: StationKey, header: bytes) -> None:
        fields = parse_header(header.split(b"\n")[-2])
        self._aead = _file_key(key, fields["salt"])  # type: ignore[arg-type]
        self._chunk = int(fields["chunk"])  # type: ignore[call-overload]
        self._aad = header
        self._pending = bytearray()
        self._index = 0

    def _frame(self, data: bytes, final: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._index, final), data, self._aad)
        self._index += 1
        return len(sealed).to_bytes(_LENGTH, "big") + sealed

    def feed(self, data: bytes) -> bytes:
        """Take plaintext; return the frames of every chunk now full (kept back: the last)."""
        self._pending += data
        out = []
        # A full chunk is sealed only once more follows: the last one is sealed as final.
        while len(self._pending) > self._chunk:
            out.append(self._frame(bytes(self._pending[: self._chunk]), False))
            del self._pending[: self._chunk]
        return b"".join(out)

    def close(self) -> bytes:
        """The final frame (the rest of the plaintext, sealed as the last chunk)."""
        return self._frame(bytes(self._pending), True)


def open_frames(
    read: Callable[[int], bytes], length: int, key: StationKey, header: bytes
) -> Iterator[bytes]:
    """The plaintext chunks of the ``length`` bytes of frames that ``read`` returns.

    Each chunk is yielded only after its tag checked out, in order; the
    stream must end exactly with the chunk sealed as final.

    Raises:
        SealError: a frame that does not open (altered, moved, of another
            file or key), a stream cut short, or bytes after the final chunk.
    """
    fields = parse_header(header.split(b"\n")[-2])
    aead = _file_key(key, fields["salt"])  # type: ignore[arg-type]
    most = int(fields["chunk"]) + TAG  # type: ignore[call-overload]
    left = length
    index = 0
    while True:
        if left < _LENGTH + TAG:
            raise SealError("cut")
        size = int.from_bytes(_read_exactly(read, _LENGTH), "big")
        left -= _LENGTH
        if not TAG <= size <= min(most, left):
            raise SealError("frame")
        sealed = _read_exactly(read, size)
        left -= size
        final = left == 0
        try:
            yield aead.decrypt(_nonce(index, final), sealed, header)
        except InvalidTag:
            raise SealError("tag") from None
        if final:
            return
        index += 1


def _read_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    data = read(n)
    while len(data) < n:
        more = read(n - len(data))
        if not more:
            raise SealError("cut")
        data += more
    return data


__all__ = ["CHUNK", "SealError", "Sealer", "new_header", "open_frames", "parse_header"]
