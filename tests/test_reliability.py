"""Reliability: databases made whole or not at all, writers that wait for a
bulk write instead of failing, full disks, read-only media, owner-only files
and online backups while the database is in use."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest
import rawdb
from reliability_support import content_digest, live_counts, read_only_dir, write_roster

from visitlog.model import Household, Visit, VisitlogError
from visitlog.store import Store, migrations


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fails_cleanly(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "内部出错" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(("错误：", "Error: ")), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def _first_household(db: Path) -> str:
    s = Store(db)
    try:
        return s.list_households()[0].id
    finally:
        s.close()


# -- a new database is made whole ---------------------------------------------------------


def test_a_database_interrupted_while_being_created_leaves_nothing_behind(tmp_path, monkeypatch):
    """The first migrations commit statement by statement; a kill in the
    middle of making a new database must not leave a half-made file."""
    path = tmp_path / "hub.db"
    real_apply = migrations.apply

    def dies_half_way(db):
        migrations.m001_initial(db)  # half the schema, committed
        raise KeyboardInterrupt  # stands in for the kill

    monkeypatch.setattr(migrations, "apply", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        Store(path)
    monkeypatch.setattr(migrations, "apply", real_apply)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []
    s = Store(path)
    assert s.check() == [] and s.schema_version == migrations.LATEST
    s.close()


def test_an_empty_file_becomes_a_database(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    s = Store(path)
    assert s.check() == []
    s.close()
    assert _mode(path) == 0o600


def test_two_processes_creating_one_database_share_it(tmp_path):
    path = tmp_path / "new.db"
    stores: list[Store] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            s = Store(path)
            s.init_identity("王丽华")
            stores.append(s)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    s = Store(path)
    assert s.check() == [] and s.scalar("SELECT count(*) FROM audit") == 4
    for x in [*stores, s]:
        x.close()


# -- writers wait for a long write --------------------------------------------------------


def _hold_write_lock(db: Path, seconds: float, started: threading.Event) -> threading.Thread:
    def hold() -> None:
        conn = rawdb.connect(db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    th = threading.Thread(target=hold)
    th.start()
    started.wait()
    return th


def test_a_write_waits_past_the_busy_timeout_for_a_bulk_write(demo_db):
    s = Store(demo_db)
    # A busy timeout shorter than the other writer's transaction: SQLite
    # alone would answer "database is locked".
    s.conn.execute("PRAGMA busy_timeout = 100")
    hid = s.list_households()[0].id
    holder = _hold_write_lock(demo_db, 1.0, threading.Event())
    v = s.add_visit(Visit(household_id=hid, visit_date="2026-11-20", visitor="陈静"))
    holder.join()
    assert s.get_visit(v.id).visitor == "陈静"
    s.close()


def test_a_write_gives_up_with_a_plain_message_after_the_deadline(demo_db):
    s = Store(demo_db)
    s.conn.execute("PRAGMA busy_timeout = 50")
    s.write_wait = 0.3
    hid = s.list_households()[0].id
    before = content_digest(demo_db)
    done = threading.Event()
    holder = _hold_write_lock(demo_db, 1.5, done)
    with pytest.raises(VisitlogError) as err:
        s.add_visit(Visit(household_id=hid, visit_date="2026-11-20", visitor="陈静"))
    holder.join()
    assert "另一个程序" in str(err.value)
    assert content_digest(demo_db) == before
    s.close()


# -- full disk ----------------------------------------------------------------------------------


def test_roster_import_on_a_full_disk(demo_cli, tmp_path, full_disk):
    roster = write_roster(tmp_path / "big.csv", 2000, "FULL")
    before = content_digest(demo_cli.db)
    full_disk(4)
    _fails_cleanly(demo_cli("roster", "import", str(roster)), "磁盘已满")
    full_disk(None)
    assert content_digest(demo_cli.db) == before
    assert demo_cli("check").exit_code == 0
    # with room again, the same import goes through
    assert demo_cli("roster", "import", str(roster)).exit_code == 0


def test_visit_add_on_a_full_disk(demo_cli, full_disk):
    hid = _first_household(demo_cli.db)
    before = content_digest(demo_cli.db)
    full_disk(0)
    r = demo_cli("--lang", "en", "visit", "add", "-H", hid, "--summary", "长" * 5000)
    assert r.exit_code == 1 and "disk is full" in r.stderr and "Traceback" not in r.output
    assert content_digest(demo_cli.db) == before


def test_sync_with_a_hub_on_a_full_disk(demo_cli, tmp_path, full_disk):
    hub = tmp_path / "hub.db"
    Store(hub).close()  # an empty hub, made while there is room
    before = (content_digest(demo_cli.db), content_digest(hub))
    full_disk(8)
    _fails_cleanly(demo_cli("sync", str(hub)), "磁盘已满")
    full_disk(None)
    assert (content_digest(demo_cli.db), content_digest(hub)) == before
    assert demo_cli("sync", str(hub)).exit_code == 0
    assert live_counts(hub) == live_counts(demo_cli.db)


def test_bundle_import_on_a_full_disk(demo_cli, tmp_path, full_disk):
    bundle = tmp_path / "street.bundle"
    assert demo_cli("key", "init").exit_code == 0
    assert demo_cli("bundle", "export", str(bundle)).exit_code == 0
    other = type(demo_cli)(tmp_path / "other.db")
    assert other("check").exit_code == 0
    line = demo_cli("key", "show").stdout.strip()
    assert other("key", "import", "-", input=line).exit_code == 0
    before = content_digest(other.db)
    full_disk(8)
    _fails_cleanly(other("bundle", "import", str(bundle)), "磁盘已满")
    assert content_digest(other.db) == before


# -- read-only media ------------------------------------------------------------------------------


@pytest.fixture
def ro_demo(demo_db, tmp_path):
    """The demo street, checkpointed, alone in a folder of its own."""
    folder = tmp_path / "stick"
    folder.mkdir()
    s = Store(demo_db)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    dest = folder / "street.db"
    dest.write_bytes(demo_db.read_bytes())
    return dest


def test_a_database_on_read_only_media_reads_and_refuses_writes(ro_demo, tmp_path, cli):
    cli = type(cli)(ro_demo)
    hid = _first_household(ro_demo)
    roster = write_roster(tmp_path / "r.csv", 10, "RO")
    before = content_digest(ro_demo)
    with read_only_dir(ro_demo.parent) as how:
        assert how in ("mount", "chmod", "simulated")
        listed = cli.json("household", "list")
        assert len(listed) == 200
        assert cli("check").exit_code == 0
        _fails_cleanly(cli("visit", "add", "-H", hid), "只读")
        _fails_cleanly(cli("roster", "import", str(roster)), "只读")
        _fails_cleanly(cli("key", "init"), "只读")
        _fails_cleanly(cli("--lang", "en", "visit", "add", "-H", hid), "read-only")
    assert content_digest(ro_demo) == before


def test_sync_with_a_hub_on_read_only_media(demo_cli, tmp_path):
    folder = tmp_path / "stick"
    folder.mkdir()
    hub = folder / "hub.db"
    other = Store(tmp_path / "laptop2.db")
    other.init_identity("陈静")
    other.add_household(Household(micro_grid="曹杨二村1号网格", address="枫桥路1号101室"))
    other.close()
    Cli = type(demo_cli)
    assert Cli(tmp_path / "laptop2.db")("sync", str(hub), "--new-hub").exit_code == 0
    Store(hub).close()
    s = rawdb.connect(hub)
    s.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    before = (content_digest(demo_cli.db), content_digest(hub))
    with read_only_dir(folder):
        _fails_cleanly(demo_cli("sync", str(hub)), "只读", "hub.db")
    assert (content_digest(demo_cli.db), content_digest(hub)) == before


def test_new_database_and_backup_on_read_only_media(demo_cli, tmp_path):
    folder = tmp_path / "stick"
    folder.mkdir()
    Cli = type(demo_cli)
    with read_only_dir(folder):
        _fails_cleanly(Cli(folder / "new.db")("check"), "只读")
        _fails_cleanly(demo_cli("backup", str(folder / "b.db")), "b.db")
    assert list(folder.iterdir()) == []


# -- files at rest --------------------------------------------------------------------------------


def test_every_file_visitlog_writes_is_owner_only(demo_cli, tmp_path):
    old = os.umask(0)  # even with a permissive umask
    try:
        out = tmp_path / "out"
        out.mkdir()
        assert demo_cli("backup", str(out / "backup.db")).exit_code == 0
        assert demo_cli("roster", "export", str(out / "roster.csv")).exit_code == 0
        assert demo_cli("roster", "export", str(out / "roster.xlsx")).exit_code == 0
        bad = out / "bad.csv"
        bad.write_text("地址,微网格\n,1号网格\n", encoding="utf-8")
        assert demo_cli("roster", "import", str(bad)).exit_code == 1
        assert demo_cli("key", "init").exit_code == 0
        assert demo_cli("bundle", "export", str(out / "street.bundle")).exit_code == 0
        assert demo_cli("summary", "-o", str(out / "week.html")).exit_code == 0
        assert demo_cli("summary", "--format", "csv", "-o", str(out / "week.csv")).exit_code == 0
        new_db = tmp_path / "fresh" / "visitlog.db"
        assert type(demo_cli)(new_db)("init", "--worker", "王丽华").exit_code == 0
        written = [
            *out.iterdir(),
            demo_cli.db.with_name(demo_cli.db.name + ".key"),
            new_db,
            *new_db.parent.glob("visitlog.db-*"),
        ]
    finally:
        os.umask(old)
    names = {p.name for p in written}
    assert {
        "backup.db",
        "roster.csv",
        "roster.xlsx",
        "bad.csv.rejects.csv",
        "street.bundle",
    } <= names
    for p in written:
        if p.name == "bad.csv":
            continue  # the user's own file
        assert _mode(p) == 0o600, f"{p.name} is {oct(_mode(p))}"
    assert _mode(new_db.parent) == 0o700


def test_backup_while_the_database_is_in_use(demo_cli, tmp_path):
    """The TUI keeps a Store open, reads and saves; a backup taken meanwhile is whole."""
    tui = Store(demo_cli.db)
    hid = tui.list_households()[0].id
    reader = rawdb.connect(demo_cli.db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM visits").fetchone()  # an open read transaction
    stop = threading.Event()
    saved: list[str] = []

    def keep_saving() -> None:
        while not stop.is_set():
            saved.append(
                tui.add_visit(Visit(household_id=hid, visit_date="2026-11-20", visitor="陈静")).id
            )

    writer = threading.Thread(target=keep_saving)
    writer.start()
    try:
        while len(saved) < 3:
            time.sleep(0.01)
        results = [demo_cli("backup", str(tmp_path / f"b{i}.db")) for i in range(3)]
    finally:
        stop.set()
        writer.join()
        reader.execute("ROLLBACK")
        reader.close()
    for i, r in enumerate(results):
        assert r.exit_code == 0, r.output
        b = Store(tmp_path / f"b{i}.db")
        assert b.check() == []
        assert b.count_live()["visits"] >= 1
        b.close()
    final = Store(tmp_path / "b2.db")
    ids = {r["id"] for r in final.query("SELECT id FROM visits")}
    final.close()
    # every visit saved before the last backup started is in it
    assert set(saved[:3]) <= ids
    tui.close()
