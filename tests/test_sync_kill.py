"""``visitlog sync`` killed with SIGKILL at random moments leaves both databases
whole; running it again completes the exchange with nothing duplicated.

A big sync goes in chunks (``visitlog.sync.replica.CHUNK_CHANGES``): a kill
keeps the chunks committed before it, per device a prefix of the changes,
and the next sync goes on from there.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rawdb

from visitlog.demo import generate_into
from visitlog.store import Store
from visitlog.sync import version_vector

DEMO_TODAY = __import__("datetime").date(2026, 11, 27)


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "VISITLOG_LANG": "en"}
    return subprocess.Popen(
        [sys.executable, "-m", "visitlog", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _vv(path: Path) -> dict[str, int]:
    with Store(path) as s:
        assert s.check() == [], f"{path.name} fails its check"
        vv = version_vector(s.conn)
        for device, top in vv.items():  # no hole: every number up to the highest
            assert s.scalar("SELECT count(*) FROM change_log WHERE device = ?", [device]) == top
        return vv


def _held_by(hub: Path, device: str) -> int:
    """The highest change of *device* committed in *hub*, read beside a sync
    writing it (0 while the hub is being made)."""
    if not hub.exists():
        return 0
    try:
        with contextlib.closing(rawdb.connect(f"{hub.as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT max(seq) FROM change_log WHERE device = ?", [device]
            ).fetchone()
    except sqlite3.Error:  # no schema yet
        return 0
    return row[0] or 0


#: ``python -c`` running the CLI with chunks of this many changes.
_CHUNKED_CLI = (
    "import sys; import visitlog.sync.replica as r; "
    "r.CHUNK_CHANGES = int(sys.argv.pop(1)); "
    "from visitlog.cli import main; sys.argv[0] = 'visitlog'; main()"
)


def _rows(path: Path) -> dict[str, tuple[int, int]]:
    with Store(path) as s:
        return {
            tbl: (
                s.scalar(f"SELECT count(*) FROM {tbl}"),
                s.scalar(f"SELECT count(DISTINCT id) FROM {tbl}"),
            )
            for tbl in ("households", "visits", "items")
        }


@pytest.mark.slow
def test_sync_killed_at_random_moments_then_completed(tmp_path: Path):
    laptop, other, hub = tmp_path / "laptop.db", tmp_path / "other.db", tmp_path / "hub.db"
    for path, n, seed in ((laptop, 2500, 11), (other, 40, 12)):
        with Store(path) as s:
            s.init_identity("社工", path.stem)
            generate_into(s, households=n, seed=seed, today=DEMO_TODAY)
    for args in (("--db", str(other), "sync", str(hub), "--new-hub"),):
        assert (
            subprocess.run([sys.executable, "-m", "visitlog", *args], check=False).returncode == 0
        )
    full_laptop, full_hub = _vv(laptop), _vv(hub)
    me = next(iter(full_laptop))
    them = next(iter(full_hub))
    rng = random.Random(int(os.environ.get("SYNC_KILL_SEED", "20261127")))
    kills = 0
    for _attempt in range(4):
        proc = _cli("--db", str(laptop), "sync", str(hub))
        time.sleep(rng.uniform(0.3, 2.5))
        if proc.poll() is not None:
            break  # finished before the kill: nothing left to interrupt
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        # each side is whole: it holds a prefix of the other's changes (the
        # chunks committed before the kill), and passes its check
        assert 0 <= _vv(hub).get(me, 0) <= full_laptop[me]
        assert _vv(laptop).get(them, 0) in (0, full_hub[them])
    done = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(laptop), "sync", str(hub), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for path in (laptop, hub):
        check = subprocess.run(
            [sys.executable, "-m", "visitlog", "--db", str(path), "check"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
    assert _vv(laptop) == _vv(hub) == {me: full_laptop[me], them: full_hub[them]}
    rows = _rows(laptop)
    assert rows == _rows(hub)
    assert all(total == distinct for total, distinct in rows.values())
    with Store(laptop) as s:
        assert s.count_live()["households"] == 2540
    again = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(laptop), "sync", str(hub), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert '"sent": 0' in again.stdout and '"received": 0' in again.stdout
    assert kills >= 1, "the sync always finished before the first kill"


@pytest.mark.slow
def test_sync_killed_after_its_first_chunk_keeps_it_and_the_next_sync_goes_on(tmp_path: Path):
    laptop, hub = tmp_path / "laptop.db", tmp_path / "hub.db"
    with Store(laptop) as s:
        s.init_identity("社工", "laptop")
        generate_into(s, households=300, seed=11, today=DEMO_TODAY)
        me = s.device_id
    total = _vv(laptop)[me]
    chunk = 200
    chunked = [sys.executable, "-c", _CHUNKED_CLI, str(chunk), "--db", str(laptop)]
    # An empty hub already there is filled chunk by chunk (a missing one is
    # made whole from the laptop's file: tests/test_sync_seed.py).
    Store(hub).close()
    proc = subprocess.Popen(
        [*chunked, "sync", str(hub)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "VISITLOG_LANG": "en"},
    )
    deadline = time.monotonic() + 120
    held = 0
    while held == 0:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no chunk was committed"
        time.sleep(0.005)
        held = _held_by(hub, me)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = _vv(hub).get(me, 0)  # whole, no hole, and passes its check
    assert chunk <= kept < total, "killed after the first chunk, before the last"
    assert kept % chunk == 0  # whole chunks only
    _vv(laptop)
    done = subprocess.run(
        [*chunked, "sync", str(hub), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f'"sent": {total - kept}' in done.stdout  # only what the kill left behind
    assert _vv(hub)[me] == total
    assert _rows(hub) == _rows(laptop)
    check = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(hub), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
