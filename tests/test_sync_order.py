"""The order devices' changes come in does not change what a replica records.

A hub's log holds many laptops' changes, and a bundle or a sync sends them
device by device: the laptop that added a visit may come before the one
that made its household.  The visit then arrives before its household.
Within one batch the household still goes in first; across batches the
visit waits and is built from its log when the household comes, with the
same conflicts as a visit inserted first and merged after.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from same_replica import assert_same_replica

from visitlog.model import Household, Visit
from visitlog.store import Store
from visitlog.store.inserts import changes_in
from visitlog.sync import list_conflicts, sync_with, version_vector
from visitlog.sync.engines import local_replica


def _office(tmp_path: Path) -> tuple[Store, str, list[str]]:
    """Laptop x makes a household; y adds a visit to it; y and z then edit the
    visit's summary at once.  Returns the hub, the visit, and the devices in
    the order that sends the visit before its household (y, z, x)."""
    hub = tmp_path / "hub.db"
    x, y, z = (Store(tmp_path / f"{n}.db") for n in "xyz")
    for store, name in ((x, "社工甲"), (y, "社工乙"), (z, "社工丙")):
        store.init_identity(name, f"laptop-{name}")
    h = x.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))
    sync_with(x, hub, create=True)
    sync_with(y, hub)
    v = y.add_visit(Visit(household_id=h.id, visit_date="2026-11-02", visitor="社工乙"))
    sync_with(y, hub)
    sync_with(z, hub)
    z.edit_visit(v.id, summary="丙写的：楼道灯坏了")
    y.edit_visit(v.id, summary="乙写的：家中无人")
    sync_with(z, hub)
    sync_with(y, hub)
    return Store(hub), v.id, [y.device_id, z.device_id, x.device_id]


def _changes(hub: Store, devices: list[str]) -> list[list[tuple]]:
    vv = version_vector(hub.conn)
    return [list(changes_in(hub.conn, d, 1, vv[d])) for d in devices]


@contextlib.contextmanager
def _applier(store: Store):
    with contextlib.closing(local_replica(store)) as replica, replica.session() as s:
        yield s.applier(), s.conn


def test_a_visit_before_its_household_in_one_batch_goes_in_at_once(tmp_path):
    hub, visit, devices = _office(tmp_path)
    new = Store(tmp_path / "new.db")
    with _applier(new) as (applier, conn):
        applier.add([ch for part in _changes(hub, devices) for ch in part])
        # in, with its household, before the merges of finish(): no orphan to build
        assert conn.execute("SELECT count(*) FROM visits WHERE id = ?", [visit]).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM sync_orphans").fetchone()[0] == 0
        applier.finish()
    assert new.get_visit(visit).summary == hub.get_visit(visit).summary


def test_a_visit_built_from_its_log_records_its_conflicts(tmp_path):
    """The visit's batch comes before its household's: the visit is built
    when the household arrives, and the concurrent summaries are a conflict
    there as on a replica that took the household first."""
    hub, visit, devices = _office(tmp_path)
    late = Store(tmp_path / "late.db")
    with _applier(late) as (applier, conn):
        first, second, households = _changes(hub, devices)
        applier.add(first + second)  # the visit and its edits
        assert not conn.execute("SELECT count(*) FROM visits").fetchone()[0]  # waiting
        applier.add(households)
        applier.finish()
    in_order = Store(tmp_path / "in-order.db")
    with _applier(in_order) as (applier, _conn):
        for part in reversed(_changes(hub, devices)):  # x, then z, then y
            applier.add(part)
        applier.finish()
    assert_same_replica(late, in_order)  # rows, log and the conflicts' ids
    found = [(c["tbl"], c["row_id"], c["field"]) for c in list_conflicts(late)]
    assert found == [("visits", visit, "summary")]
    assert found == [(c["tbl"], c["row_id"], c["field"]) for c in list_conflicts(hub)]


def test_a_postgresql_hub_records_the_conflicts_of_a_visit_built_from_its_log(tmp_path, pg_hub):
    import psycopg

    from visitlog.sync.engines import find_target

    hub, visit, devices = _office(tmp_path)
    first, second, households = _changes(hub, devices)
    with contextlib.closing(find_target(pg_hub).open()) as replica:
        with replica.session() as s:
            applier = s.applier()
            applier.add(first + second)  # the visit before its household
            applier.add(households)
            applier.finish()
    with psycopg.connect(pg_hub, autocommit=True) as conn:
        rows = conn.execute("SELECT tbl, row_id FROM conflicts WHERE NOT resolved").fetchall()
        summary = conn.execute(
            "SELECT data->>'summary' FROM rows WHERE tbl = 'visits' AND id = %s", [visit]
        ).fetchone()
    assert rows == [("visits", visit)]
    assert summary == (hub.get_visit(visit).summary,)
