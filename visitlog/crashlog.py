"""Crashes: a plain line for the worker, the technical details in a private log.

When visitlog itself fails (a bug, not a bad value), the worker sees one
plain line saying so and naming the log file; the log keeps what a
maintainer needs to find the bug — the command's name, the exception's type
and where in the code it happened — and nothing of the data: no arguments
(they hold addresses and names), no exception message (it may quote a
value), no local variables.  The log is owner-only (0600, in a 0700 folder),
like every other file visitlog writes that could hold anything personal.
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

from visitlog.i18n import t

#: Name of the log file in the log folder.
LOG_NAME = "errors.log"


def log_path() -> Path:
    """Where crash details go: ``errors.log`` in platformdirs' user log folder."""
    import platformdirs

    return Path(platformdirs.user_log_dir("visitlog", appauthor=False)) / LOG_NAME


def crash_report(exc: BaseException, command: str) -> str:
    """The log entry for *exc*: command name, exception types and code locations only."""
    from visitlog import __version__

    lines = [f"--- {dt.datetime.now().isoformat(timespec='seconds')} {command} ({__version__})"]
    seen: set[int] = set()
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for err in reversed(chain):
        lines.append(f"{type(err).__module__}.{type(err).__qualname__}")
        for frame in traceback.extract_tb(err.__traceback__):
            lines.append(f"  {frame.filename}:{frame.lineno} in {frame.name}")
    return "\n".join(lines) + "\n"


def crash_log(exc: BaseException, command: str) -> Path | None:
    """Append *exc*'s report to the private log; its path, or None when it cannot be written."""
    return _append(crash_report(exc, command))


def note_event(event: str) -> Path | None:
    """Append one line about an event worth keeping (three wrong passphrases, say).

    Args:
        event: what happened, holding no personal data (a file name at most).
    """
    return _append(f"--- {dt.datetime.now().isoformat(timespec='seconds')} {event}\n")


def _append(text: str) -> Path | None:
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix" and path.parent.stat().st_mode & 0o077:
            os.chmod(path.parent, 0o700)  # visitlog's own log folder: owner-only
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if os.name == "posix" and os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)  # a log left by an older version
            os.write(fd, text.encode("utf-8", errors="replace"))
        finally:
            os.close(fd)
    except OSError:
        return None
    return path


def crash_line(exc: BaseException, log: Path | None) -> str:
    """What the worker reads: visitlog failed, the data is whole, where the details went."""
    kind = type(exc).__name__
    if log is None:
        return t("err.internal_nolog", kind=kind)
    return t("err.internal", kind=kind, log=log)


__all__ = ["LOG_NAME", "crash_line", "crash_log", "crash_report", "log_path", "note_event"]
