"""Twenty laptops syncing with one PostgreSQL hub at the same moment converge."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from visitlog.model import Household, Visit
from visitlog.store import Store
from visitlog.sync import sync_with

LAPTOPS = 20

_SYNC = """
import sys
from visitlog.store import Store
from visitlog.sync import sync_with
store = Store(sys.argv[1])
for _ in range(int(sys.argv[3])):
    sync_with(store, sys.argv[2])
store.close()
"""


def _content(store: Store) -> list[tuple]:
    return [
        tuple(r.values())
        for r in store.query(
            "SELECT id, phone, members, hlc, device, stamps FROM households ORDER BY id"
        )
    ]


@pytest.mark.slow
def test_twenty_laptops_syncing_at_once_converge(tmp_path: Path, pg_hub: str) -> None:
    office = Store(tmp_path / "office.db")
    office.init_identity("街道", "office")
    shared = office.add_household(Household(address="花溪园1号101室", micro_grid="一网格")).id
    sync_with(office, pg_hub)
    paths = []
    for n in range(LAPTOPS):
        path = tmp_path / f"l{n}.db"
        store = Store(path)
        store.init_identity(f"社工{n}", f"l{n}")
        sync_with(store, pg_hub)
        # each laptop adds its own household and visit, and all edit one household
        hid = store.add_household(Household(address=f"花溪园{n + 2}号", micro_grid="一网格")).id
        store.add_visit(Visit(household_id=hid, visit_date="2026-11-02", visitor=f"社工{n}"))
        store.update_household(shared, members=n + 1, phone=f"1381234{n:04d}")
        store.close()
        paths.append(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SYNC, str(p), pg_hub, "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in paths
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
    stores = [Store(p) for p in paths] + [office]
    for store in stores:  # one more round: every laptop holds what all sent
        sync_with(store, pg_hub)
    first = _content(stores[0])
    assert len(first) == LAPTOPS + 1
    for store in stores[1:]:
        assert _content(store) == first
        assert store.scalar("SELECT count(*) FROM visits") == LAPTOPS
    # the same conflicts everywhere, nothing lost: 19 losing phone values kept
    lost = {r[0] for r in stores[0].query("SELECT value FROM conflicts WHERE field = 'phone'")}
    assert len(lost) == LAPTOPS - 1
    for store in stores:
        again = sync_with(store, pg_hub)
        assert (again.sent_total, again.received_total) == (0, 0)
        store.close()
