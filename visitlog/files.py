"""Files visitlog writes for people: whole or not at all, readable by their owner only.

Rosters, reports, bundles, backups and key files hold personal data, so each
is written to a fresh temporary file beside its destination (created with
O_EXCL and mode 0600, so nobody can have planted it with looser rights) and
renamed over the destination only once it is complete: a full disk, an
unplugged stick or a kill never leaves half a file under the requested name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from visitlog.i18n import t
from visitlog.model import VisitlogError


@contextlib.contextmanager
def replacing(dest: Path | str) -> Iterator[Path]:
    """Yield an empty owner-only temporary file beside *dest*; on success it replaces *dest*.

    The caller writes the temporary file by path (SQLite's backup, a stream).
    Any failure removes it; an ``OSError`` becomes one plain
    :class:`VisitlogError` naming *dest*.
    """
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        yield tmp
        os.replace(tmp, dest)
    except OSError as exc:
        detail = exc.strerror or str(exc)
        raise VisitlogError(t("err.write_file", path=dest, detail=detail)) from exc
    finally:
        # OSError, not just FileNotFoundError: on a read-only medium the
        # unlink fails too, and must not hide the message above.
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_private(dest: Path | str, data: bytes | str, *, fsync: bool = False) -> Path:
    """Write *data* (str as UTF-8) to *dest* through :func:`replacing`.

    Args:
        fsync: flush to the disk before the rename (for a key that must
            survive a power cut the moment the command says it is saved).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(dest) as tmp, open(tmp, "wb") as fh:
        fh.write(payload)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return Path(dest)
