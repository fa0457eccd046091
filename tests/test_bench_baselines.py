"""The benchmark's own baselines run on a database of today's schema."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from visitlog import search
from visitlog.store import Store

ROOT = Path(__file__).resolve().parents[1]


def test_the_upsert_baseline_copies_every_synced_row(demo_db, tmp_path):
    with Store(demo_db) as store:
        search.refresh(store)  # the households' triggers name this table
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dest = tmp_path / "upsert.db"
    out = subprocess.run(
        [sys.executable, "-m", "bench.child", "upsert_baseline", str(demo_db), str(dest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    copied = json.loads(out.stdout.strip().splitlines()[-1])["rows"]
    source, target = sqlite3.connect(demo_db), sqlite3.connect(dest)
    tables = ("households", "visits", "items")
    for tbl in tables:
        n = source.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0]
        assert n > 0 and target.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0] == n
    assert copied >= sum(source.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)
    # The kept keys are a laptop's cache: the baseline, like a new hub, has none.
    assert target.execute("SELECT count(*) FROM search_keys").fetchone()[0] == 0
