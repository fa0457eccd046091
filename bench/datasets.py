"""Deterministic benchmark databases, built with the real CLI and cached.

A cached database is named after its scale, seed and a hash of the code that
decides its contents (the demo generator and the schema migrations), so a
change to either rebuilds it instead of measuring a stale file.  Cases never
touch the cached file: each run works on its own copy.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.proc import ROOT, Run, run

CACHE = Path(__file__).resolve().parent / ".cache"

#: Households per scale.
SCALES = {"street": 5_000, "district": 50_000, "region": 450_000}
#: Seconds a dataset build may take before the benchmark gives up on it.
BUILD_TIMEOUT = {"region": 3600}
SEED = 1


def code_hash() -> str:
    """Hash of the files that decide what ``visitlog demo`` writes."""
    h = hashlib.sha256()
    migrations = sorted((ROOT / "visitlog/store/migrations").glob("*.py"))
    # visitlog/store/totals.py: the kept totals' tables, made by migration m017
    rels = [
        "visitlog/demo.py",
        "visitlog/store/totals.py",
        *(p.relative_to(ROOT).as_posix() for p in migrations),
    ]
    for rel in rels:
        h.update(rel.encode())
        h.update((ROOT / rel).read_bytes())
    return h.hexdigest()[:12]


@dataclass
class Dataset:
    """A cached demo database and how it was made."""

    scale: str
    households: int
    path: Path
    built: Run | None  # the measured demo run when this call built it, else None
    record: dict | None = None  # how the cached file's build went (seconds, cpu, peak_mb, …)

    @property
    def size_mb(self) -> float:
        return self.path.stat().st_size / 1e6

    def save_record(self, result: Run) -> None:
        """Remember a measured demo run of this dataset's code beside the cached file."""
        self.record = {
            "seconds": result.seconds,
            "cpu": result.cpu,
            "peak_mb": result.peak_mb,
            "output": result.json(),
            "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        }
        Path(f"{self.path}.build.json").write_text(
            json.dumps(self.record, ensure_ascii=False), "utf-8"
        )

    def copy_to(self, dest: Path) -> Path:
        """A private copy for one run (the cached file stays untouched)."""
        for suffix in ("-wal", "-shm"):
            Path(str(dest) + suffix).unlink(missing_ok=True)
        shutil.copyfile(self.path, dest)
        return dest


def demo_command(db: Path, households: int, seed: int = SEED) -> list[str]:
    """The command line that builds a demo database."""
    return [
        "python",
        "-m",
        "visitlog",
        "--db",
        str(db),
        "demo",
        "--households",
        str(households),
        "--seed",
        str(seed),
        "--json",
    ]


def dataset(scale: str, workdir: Path, *, rebuild: bool = False) -> Dataset:
    """The cached database of ``scale``, built (and timed) when absent or stale.

    Two benchmark runs started at once take turns: the second waits for the
    first one's build instead of building (and deleting) the same file.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{scale}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _dataset(scale, workdir, rebuild)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _dataset(scale: str, workdir: Path, rebuild: bool) -> Dataset:
    households = SCALES[scale]
    path = CACHE / f"{scale}-seed{SEED}-{code_hash()}.db"
    sidecar = Path(f"{path}.build.json")
    if path.exists() and not rebuild:
        record = json.loads(sidecar.read_text("utf-8")) if sidecar.exists() else None
        return Dataset(scale, households, path, None, record)
    # Remove caches of older code for this scale: they can never be used again.
    for old in CACHE.glob(f"{scale}-seed{SEED}-*.db*"):
        old.unlink()
    tmp = CACHE / f"{path.name}.building"
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    result = run(demo_command(tmp, households), workdir, timeout=BUILD_TIMEOUT.get(scale, 900))
    checkpoint(tmp)
    tmp.rename(path)
    data = Dataset(scale, households, path, result)
    data.save_record(result)
    return data


def checkpoint(db: Path) -> None:
    """Fold the WAL into the main file so one file copy holds everything."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)


def copy_db(src: Path, dest: Path) -> Path:
    """Copy a (checkpointed) database file, dropping any stale WAL at ``dest``.

    The copy is flushed to the disk before returning: a copy is made before
    the clock starts, and the kernel writing gigabytes of it back meanwhile
    (a district's file is 2.7 GB) would slow the case being timed.
    """
    for suffix in ("-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dest)
    fd = os.open(dest, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return dest
