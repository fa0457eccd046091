"""A new hub made from a snapshot of the laptop that asks for it
(:mod:`visitlog.sync.sqlite.seed`): the same hub the exchange would fill
change by change, put in place only when whole, never over another hub."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from office_history import office, visit_with
from same_replica import assert_same_replica
from typer.testing import CliRunner

from visitlog.cli import app
from visitlog.model import Household, VisitlogError
from visitlog.store import Store, cipher
from visitlog.sync import sync_with, version_vector
from visitlog.sync.sqlite import seed


def test_a_new_hub_is_the_hub_the_exchange_would_fill(tmp_path):
    a, b = office(tmp_path)
    slow_path = tmp_path / "slow.db"
    Store(slow_path).close()  # an empty hub already there: filled change by change
    slow_report = sync_with(a, slow_path)
    report = sync_with(a, tmp_path / "hub.db")
    assert report.seeded and report.created_target and not slow_report.seeded
    assert report.sent == slow_report.sent and report.sent_total > 10
    assert {c["id"] for c in report.conflicts} == {c["id"] for c in slow_report.conflicts}
    hub, slow = Store(tmp_path / "hub.db"), Store(slow_path)
    assert_same_replica(hub, slow)
    assert hub.check() == []
    assert hub.device_id not in (a.device_id, b.device_id, slow.device_id)
    # the sync is in both audit trails, as any sync is, with what moved
    [entry] = hub.query("SELECT detail FROM audit WHERE action = 'sync'")
    assert json.loads(entry["detail"])["received"] == report.sent
    mine = a.query("SELECT detail FROM audit WHERE action = 'sync' ORDER BY id DESC LIMIT 1")
    assert json.loads(mine[0]["detail"])["sent"] == report.sent
    # nothing of the laptop's own travels: its worker, its peers, its audit trail
    assert hub.scalar("SELECT count(*) FROM audit WHERE action LIKE 'household.%'") == 0
    assert hub.get_setting("worker") in (None, "") and a.get_setting("worker") == "社工甲"
    # and from then on it is a hub like the other: a new laptop fills from either alike
    c, d = Store(tmp_path / "c.db"), Store(tmp_path / "d.db")
    sync_with(c, hub.path)
    sync_with(d, slow.path)
    assert_same_replica(c, d)
    # a second sync of the laptop finds nothing to move
    again = sync_with(a, hub.path)
    assert (again.sent_total, again.received_total, again.seeded) == (0, 0, False)


def test_a_failure_while_the_hub_is_made_leaves_no_hub_and_no_file(tmp_path, monkeypatch):
    a, _ = office(tmp_path)
    before = version_vector(a.conn)

    finish = seed.Applier.finish
    disk = {"full": True}

    def full(self, *args, **kw):
        if disk["full"]:
            raise sqlite3.OperationalError("database or disk is full")
        return finish(self, *args, **kw)

    monkeypatch.setattr(seed.Applier, "finish", full)
    with pytest.raises(VisitlogError) as err:
        sync_with(a, tmp_path / "hub.db")
    assert "Traceback" not in str(err.value)
    assert not (tmp_path / "hub.db").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".hub.db")]
    assert version_vector(a.conn) == before
    disk["full"] = False
    assert sync_with(a, tmp_path / "hub.db").seeded  # tried again: made whole


def test_a_hub_another_laptop_made_meanwhile_is_never_replaced(tmp_path, monkeypatch):
    a, _ = office(tmp_path)
    other = Store(tmp_path / "other.db")
    other.add_household(Household(address="兰溪路1号", micro_grid="二网格"))
    fill = seed._fill

    def racing(local, tmp, progress):
        made = fill(local, tmp, progress)
        if local is a:  # the other laptop makes the hub first (from its own file)
            sync_with(other, tmp_path / "hub.db")
        return made

    monkeypatch.setattr(seed, "_fill", racing)
    report = sync_with(a, tmp_path / "hub.db")
    assert not report.seeded
    hub = Store(tmp_path / "hub.db")
    addresses = {r["address"] for r in hub.query("SELECT address FROM households")}
    assert "兰溪路1号" in addresses and "曹杨一村1号101室" in addresses
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(seed._SUFFIX)]


def test_a_visit_saved_while_the_hub_is_made_goes_in_with_the_exchange(tmp_path, monkeypatch):
    a, _ = office(tmp_path)
    put = seed._put_in_place
    saved = {}

    def saving_meanwhile(tmp, target, key):
        hid = a.query("SELECT id FROM households WHERE merged_into IS NULL LIMIT 1")[0]["id"]
        saved["visit"] = a.add_visit(visit_with(hid, "2026-10-09", "社工甲")).id
        return put(tmp, target, key)

    monkeypatch.setattr(seed, "_put_in_place", saving_meanwhile)
    report = sync_with(a, tmp_path / "hub.db")
    assert report.seeded
    hub = Store(tmp_path / "hub.db")
    assert hub.scalar("SELECT count(*) FROM visits WHERE id = ?", [saved["visit"]]) == 1
    assert version_vector(hub.conn) == version_vector(a.conn)


@pytest.mark.parametrize("name", ["hub.db", "集中库[1]*.db"])
def test_temporary_files_of_a_killed_seed_go_once_an_hour_old(tmp_path, name):
    a, _ = office(tmp_path)
    old = tmp_path / f".{name}.deadbeef{seed._SUFFIX}"
    fresh = tmp_path / f".{name}.cafebabe{seed._SUFFIX}"
    other = tmp_path / f".other.db.deadbeef{seed._SUFFIX}"  # another hub's
    for path in (old, fresh, other):
        path.write_bytes(b"x" * 100)
    hours_ago = time.time() - 2 * 3600
    for path in (old, other):
        os.utime(path, (hours_ago, hours_ago))
    assert sync_with(a, tmp_path / name).seeded
    assert not old.exists() and fresh.exists()  # a seed running now may own it
    assert other.exists()


def test_a_laptop_holding_skips_fills_its_hub_change_by_change(tmp_path):
    a, _ = office(tmp_path)
    assert seed.seedable(a)
    # A station of a PostgreSQL hub holds skips: numbers of changes it may not see.
    a.conn.execute(
        "INSERT INTO changes(device, seq, tbl, row_id, hlc, op, data) "
        "VALUES ('0123456789ab', 1, 'households', '', '0', 'skip', '1')"
    )
    assert not seed.seedable(a)
    assert seed.seed_hub(a, tmp_path / "hub.db") is None
    assert not list(tmp_path.glob("*hub.db*"))


def test_a_plain_laptop_and_an_encrypted_hub_fill_change_by_change(tmp_path, monkeypatch):
    with cipher.making_plain():
        a = Store(tmp_path / "a.db")
        a.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))
    monkeypatch.delenv(cipher.PLAIN_ENV, raising=False)
    monkeypatch.setenv(cipher.PASSPHRASE_ENV, "一个足够长的口令 long enough")
    report = sync_with(a, tmp_path / "hub.db")
    assert not report.seeded and report.sent == {"households": 1}
    assert cipher.is_encrypted(tmp_path / "hub.db")
    hub = Store(tmp_path / "hub.db")
    assert hub.scalar("SELECT count(*) FROM households") == 1


def test_sync_new_hub_on_the_command_line(tmp_path):
    a, _ = office(tmp_path)
    hub = tmp_path / "hub.db"
    out = CliRunner().invoke(app, ["--db", str(a.path), "sync", str(hub), "--new-hub", "--json"])
    assert out.exit_code == 0, out.output
    said = json.loads(out.stdout)
    held = Store(hub)
    # every change the laptop holds, counted once (no gaps: numbered 1…n per device)
    assert (
        said["sent"]
        == sum(version_vector(a.conn).values())
        == sum(version_vector(held.conn).values())
    )
    assert held.check() == []
