"""Helpers shared by the crash harness, the two-process test and the fuzzers:
real ``python -m visitlog`` subprocesses, roster files, replica templates and
read-only looks at a database that never write to it."""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import rawdb

from visitlog.store import Store

ROSTER_HEADER = [
    "编号",
    "居民区",
    "微网格",
    "小区",
    "地址",
    "户主",
    "联系电话",
    "人数",
    "居住状态",
    "标签",
    "备注",
]
SURNAMES = "张王李赵陈刘杨黄周吴徐孙胡朱高林何郭马罗"


def visitlog_cmd(db: Path, *args: str) -> list[str]:
    """The command line of a real visitlog process on ``db``."""
    return [sys.executable, "-m", "visitlog", "--db", str(db), *args]


def run_visitlog(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        visitlog_cmd(db, *args), capture_output=True, text=True, timeout=timeout, check=False
    )


def write_roster(path: Path, rows: int, tag: str, grid: str | None = None) -> Path:
    """A valid roster of ``rows`` new households whose 编号 start with ``tag``."""
    grid = grid or f"压测{tag}号网格"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ROSTER_HEADER)
        for i in range(rows):
            w.writerow(
                [
                    f"{tag}-{i:06d}",
                    "曹杨一村",
                    grid,
                    "兰溪小区",
                    f"兰溪路{i // 200 + 1}号{i % 200 + 101}室",
                    SURNAMES[i % len(SURNAMES)] + "建国",
                    f"139{i:08d}",
                    str(i % 5 + 1),
                    "自住",
                    "独居老人" if i % 7 == 0 else "",
                    "",
                ]
            )
    return path


def copy_db(src: Path, dest: Path) -> Path:
    """Copy a closed, checkpointed database (no -wal beside it) to ``dest``."""
    for suffix in ("", "-wal", "-shm"):
        with_suffix = Path(str(dest) + suffix)
        if with_suffix.exists():
            with_suffix.unlink()
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o600)
    return dest


def checkpoint_close(store: Store) -> None:
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def peek(db: Path, sql: str, params: Sequence = ()) -> list[tuple]:
    """Read a database without visitlog (and without migrating or writing it)."""
    conn = rawdb.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def vv(db: Path) -> dict[str, int]:
    return dict(peek(db, "SELECT device, max(seq) FROM change_log GROUP BY device"))


def live_counts(db: Path) -> dict[str, int]:
    return {
        tbl: peek(db, f"SELECT count(*) FROM {tbl} WHERE deleted = 0")[0][0]
        for tbl in ("households", "visits", "items")
    }


def content_digest(db: Path) -> str:
    """What a failed operation must leave unchanged: every row of every table."""
    import hashlib

    h = hashlib.sha256()
    conn = rawdb.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for tbl in tables:
            h.update(tbl.encode())
            for row in conn.execute(f"SELECT * FROM {tbl} ORDER BY 1"):
                h.update(repr(row).encode())
    finally:
        conn.close()
    return h.hexdigest()


@dataclass
class Killed:
    """What a killed process had done when it was killed."""

    killed: bool  # False: it finished before the kill came
    stdout: str
    stderr: str
    returncode: int | None
    elapsed: float
    #: Seconds from the start until a watched file first changed (None: never).
    wrote_at: float | None = None


def _sizes(paths: Sequence[Path]) -> list[int]:
    out = []
    for p in paths:
        try:
            out.append(p.stat().st_size)
        except FileNotFoundError:
            out.append(-1)
    return out


def run_and_kill(
    cmd: list[str], delay: float | None, *, watch: Sequence[Path] = (), after_write: bool = False
) -> Killed:
    """Start ``cmd`` in its own process group and SIGKILL the whole group.

    Args:
        cmd: the command line.
        delay: seconds after the start (or, with ``after_write``, after the
            first change of a watched file) to kill; None: never kill.
        watch: files whose first change in size marks "writing has begun"
            (a database's ``-wal`` file grows while a transaction spills to
            it and when it commits).
        after_write: count ``delay`` from that moment instead of the start.
    """
    start = time.monotonic()
    initial = _sizes(watch)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )
    # Drain the pipes in the background so a chatty process never blocks on them.
    import threading

    chunks: dict[str, list[str]] = {"out": [], "err": []}
    readers = [
        threading.Thread(target=lambda f=f, k=k: chunks[k].append(f.read()), daemon=True)
        for f, k in ((proc.stdout, "out"), (proc.stderr, "err"))
    ]
    for r in readers:
        r.start()
    wrote_at: float | None = None
    deadline = None if (delay is None or after_write) else start + delay
    while proc.poll() is None:
        now = time.monotonic()
        if wrote_at is None and watch and _sizes(watch) != initial:
            wrote_at = now - start
            if after_write and delay is not None:
                deadline = now + delay
        if deadline is not None and now >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    for r in readers:
        r.join()
    # A process that finished just before the signal was not killed.
    killed = proc.returncode == -signal.SIGKILL
    return Killed(
        killed,
        "".join(chunks["out"]),
        "".join(chunks["err"]),
        proc.returncode,
        time.monotonic() - start,
        wrote_at,
    )


@contextlib.contextmanager
def read_only_dir(folder: Path) -> Iterator[str]:
    """Make ``folder`` read-only for visitlog; yields how it was done.

    - ``"mount"``: a read-only bind mount over it (as root, where ``mount``
      is allowed): writes fail with EROFS, as on a write-protected stick;
    - ``"chmod"``: not root: the folder and its files lose their write bits;
    - ``"simulated"``: root without ``mount``: chmod would not stop root, so
      ``os.access`` reports the files unwritable and folder writes fail as
      they would — only for code running in this process.
    """
    # VISITLOG_TEST_READ_ONLY=simulated forces the last way (to test the test).
    forced = os.environ.get("VISITLOG_TEST_READ_ONLY")
    if forced != "simulated" and os.geteuid() == 0 and shutil.which("mount"):
        bind = subprocess.run(
            ["mount", "--bind", str(folder), str(folder)], capture_output=True, check=False
        )
        if bind.returncode == 0:
            ro = subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True, check=False
            )
            try:
                if ro.returncode == 0:
                    yield "mount"
                    return
            finally:
                subprocess.run(["umount", str(folder)], capture_output=True, check=False)
    if forced != "simulated" and os.geteuid() != 0:
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.iterdir()]}
        for p in modes:
            p.chmod(0o500 if p.is_dir() else 0o400)
        try:
            yield "chmod"
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    real_access, real_open = os.access, os.open
    inside = str(folder.resolve()) + os.sep

    def access(path, mode, *a, **kw):
        if str(Path(path).resolve()).startswith(inside) and mode & os.W_OK:
            return False
        return real_access(path, mode, *a, **kw)

    def fake_open(path, flags, *a, **kw):
        if str(Path(path).resolve()).startswith(inside) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *a, **kw)

    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "access", access)
        mp.setattr(os, "open", fake_open)
        yield "simulated"
