"""A laptop's audit chain head is recorded at the hub (and on peers) at every
sync; a chain rewritten in between is detected there on the next sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rawdb

from visitlog.model import Household
from visitlog.store import GENESIS_HASH, StationKey, Store, save_key
from visitlog.sync import sync_with


class Cli:
    """``visitlog --db DB …`` run in-process."""

    def __init__(self, db: Path):
        from typer.testing import CliRunner

        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str):
        from visitlog.cli import app

        return self.runner.invoke(app, ["--db", str(self.db), *args])


def _laptop(path: Path, worker: str, key: StationKey | None = None) -> Path:
    s = Store(path)
    s.init_identity(worker)
    for i in range(3):
        s.add_household(Household(micro_grid="1号网格", address=f"兰溪路{i}号{worker}室"))
    s.close()
    if key is not None:
        save_key(path, key)
    return path


def _rewrite_chain(db: Path, drop_action: str | None = None) -> None:
    """What someone holding the file does: drop the guarding triggers, delete an
    entry, renumber and recompute the whole chain as a plain hash chain."""
    from visitlog.store.audit_chain import audit_hash as _audit_hash

    conn = rawdb.connect(db)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    ).fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    cols = [c[1] for c in conn.execute("PRAGMA table_info(audit)")]
    rows = [
        dict(zip(cols, r, strict=True)) for r in conn.execute("SELECT * FROM audit ORDER BY id")
    ]
    victim = next(
        (r for r in rows if r["action"] == drop_action) if drop_action else iter(rows[1:2]), None
    )
    assert victim is not None
    rows.remove(victim)
    conn.execute("DELETE FROM audit")
    conn.execute("DELETE FROM sqlite_sequence WHERE name = 'audit'")
    prev = GENESIS_HASH
    for new_id, r in enumerate(rows, 1):
        r["id"], r["prev_hash"] = new_id, prev
        r["hash"] = prev = _audit_hash(prev, r)
        conn.execute(
            f"INSERT INTO audit({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [r[c] for c in cols],
        )
    conn.execute("UPDATE settings SET value = 'plain' WHERE key = 'audit_chain'")
    conn.commit()
    conn.close()


def test_the_rewrite_itself_passes_the_laptops_own_verify(tmp_path):
    """The attack the hub must catch: locally nothing shows."""
    a = _laptop(tmp_path / "a.db", "王丽华")
    _rewrite_chain(a)
    assert Cli(a)("audit", "verify").exit_code == 0


def test_a_rewritten_laptop_chain_is_detected_at_the_hub_on_the_next_sync(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华")
    hub = tmp_path / "hub.db"
    cli = Cli(a)
    assert cli("sync", str(hub), "--new-hub").exit_code == 0
    assert Cli(hub)("audit", "verify").exit_code == 0
    with Store(a) as s:  # work after the sync, then a second sync: no alarm
        s.add_household(Household(micro_grid="1号网格", address="兰溪路9号"))
    again = cli("sync", str(hub))
    assert again.exit_code == 0 and "改写" not in again.output
    assert Cli(hub)("audit", "verify").exit_code == 0
    _rewrite_chain(a)
    assert cli("audit", "verify").exit_code == 0
    result = cli("sync", str(hub))
    warned = [line for line in result.output.splitlines() if "改写" in line]
    assert len(warned) == 1 and "审计记录被改写过" in warned[0]
    verify = Cli(hub)("audit", "verify")
    assert verify.exit_code == 1
    assert len(verify.output.strip().splitlines()) == 1
    assert "别的设备的审计记录被改写" in verify.output
    with Store(a) as s:
        device = s.get_setting("device_id")
    assert device in verify.output
    report = Cli(hub)("audit", "verify", "--json")
    data = json.loads(report.stdout)
    assert data["ok"] is False and data["peers_rewritten"][0]["device"] == device
    # the finding stays: later syncs do not make it go away
    assert cli("sync", str(hub)).exit_code == 0
    assert Cli(hub)("audit", "verify").exit_code == 1


def test_a_peer_laptop_detects_it_too(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华")
    b = _laptop(tmp_path / "b.db", "陈静")
    with Store(b) as s:
        sync_with(s, a)
    _rewrite_chain(a)
    with Store(b) as s:
        report = sync_with(s, a)
    with Store(a) as s:
        device = s.get_setting("device_id")
    assert [(r["device"], r["at"]) for r in report.rewritten] == [(device, "local")]
    assert Cli(b)("audit", "verify").exit_code == 1


@pytest.mark.parametrize("keyed", [False, True], ids=["plain", "keyed"])
def test_a_deleted_reveal_with_a_recomputed_chain_is_caught_at_the_hub(tmp_path, keyed):
    key = StationKey.generate() if keyed else None
    a = _laptop(tmp_path / "a.db", "王丽华", key)
    hub = tmp_path / "hub.db"
    if key is not None:
        save_key(hub, key)
    cli = Cli(a)
    assert cli("household", "list", "--reveal").exit_code == 0
    assert cli("sync", str(hub), "--new-hub").exit_code == 0
    with Store(a) as s:
        reveal = [e["action"] for e in s.audit_entries() if "reveal" in e["action"]]
    assert reveal
    _rewrite_chain(a, drop_action=reveal[0])
    result = cli("sync", str(hub))
    assert "审计记录被改写过" in result.output
    assert Cli(hub)("audit", "verify").exit_code == 1


def test_no_alarm_without_a_rewrite_and_a_no_op_sync_writes_nothing(tmp_path):
    a = _laptop(tmp_path / "a.db", "王丽华")
    hub = tmp_path / "hub.db"
    with Store(a) as s:
        sync_with(s, hub)
    with Store(hub) as h:
        before = h.conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
    with Store(a) as s:
        report = sync_with(s, hub)
    assert report.rewritten == [] and report.sent_total == report.received_total == 0
    with Store(hub) as h:
        after = h.conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
    assert after == before
    assert sum(k.startswith("audit_head:") for k, _v in after) == 1
