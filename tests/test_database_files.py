"""Only SQLite opens a database, its -wal and its -shm while this process has it open.

On POSIX, closing any descriptor of a file releases every lock the process
holds on it; another process then checkpoints and deletes the WAL under our
connections and what they save afterwards is lost.  Every command runs here,
in this process, while two Stores hold the database open (as the terminal
app does), under an audit hook that records any other open of those files
(``open_audit``); files named on the command line that are the database or
its side files are refused with one plain line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from open_audit import watch_database_opens
from typer.testing import CliRunner

from visitlog.cli import app
from visitlog.model import Household, VisitlogError
from visitlog.store import Store, cipher, files
from visitlog.sync import sync_with


def _command_paths() -> set[str]:
    """Every command a user can run (groups that act on their own included)."""

    def walk(cmd, prefix=()):
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield " ".join(prefix)
            return
        if prefix and cmd.invoke_without_command:
            yield " ".join(prefix)
        for name, sub in subs.items():
            yield from walk(sub, (*prefix, name))

    return set(walk(typer.main.get_command(app)))


COMMANDS = _command_paths()


class Runner:
    """``visitlog --db DB …`` in this process, remembering which commands ran."""

    def __init__(self, db: Path):
        self.db = db
        self.ran: set[str] = set()
        self.runner = CliRunner()

    def __call__(self, *args: object, code: int = 0, db: Path | None = None):
        argv = [str(a) for a in args]
        result = self.runner.invoke(app, ["--db", str(db or self.db), *argv])
        assert result.exit_code == code, (argv, result.output)
        words = [a for a in argv if not a.startswith("-")]
        for n in (3, 2, 1):
            if " ".join(words[:n]) in COMMANDS:
                self.ran.add(" ".join(words[:n]))
                break
        return result

    def json(self, *args: object):
        return json.loads(self(*args, "--json").stdout)


def _conflict_with_another_laptop(db: Path, tmp_path: Path) -> Path:
    """A hub through which another laptop overwrote a field this laptop changed."""
    hub = tmp_path / "hub.db"
    mine = Store(db)
    other = Store(tmp_path / "other.db")
    other.init_identity("李晓燕", "laptop-2")
    hid = mine.list_households()[0].id
    sync_with(mine, hub)
    sync_with(other, hub)
    mine.update_household(hid, head="王建华")
    other.update_household(hid, head="王建民")
    sync_with(mine, hub)
    sync_with(other, hub)
    sync_with(mine, hub)
    # Two households entered twice, for the de-duplication commands.
    for address, again, head, phone in (
        ("曹杨一村12号301室", "普陀区曹杨1村十二号301", "王建国", "13812345678"),
        ("枣阳路100弄5号602室", "枣阳路100弄5号602", "李梅", "13912345678"),
    ):
        for a in (address, again):
            mine.add_household(
                Household(address=a, micro_grid="曹杨一村1号网格", head=head, phone=phone)
            )
    mine.close()
    other.close()
    return hub


def test_every_command_leaves_the_database_files_to_sqlite(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    hub = _conflict_with_another_laptop(demo_db, tmp_path)
    roster = tmp_path / "名册.csv"
    roster.write_text(
        "地址,微网格,户主\n曹杨一村99号101室,曹杨一村1号网格,新户主\n,曹杨一村1号网格,没有地址\n",
        encoding="utf-8",
    )
    key_line = tmp_path / "key.txt"
    run = Runner(demo_db)
    held: list[Store] = []
    try:
        with watch_database_opens() as seen:
            # The app keeps a connection for the screen and opens others in workers.
            held += [Store(demo_db), Store(demo_db)]
            held[0].list_households()
            run("init", "--worker", "王丽华", "--device", "laptop-1")
            run("demo", "--households", "20", db=tmp_path / "empty.db")
            run("check")
            run("backup", tmp_path / "backup.db")
            run("backup", tmp_path / "backup.db")  # an older backup is replaced
            run("summary")
            run("summary", "--format", "xlsx", "-o", tmp_path / "汇总.xlsx")
            run("plan", "--until", "2030-12-31")
            run("plan", "--format", "html", "-o", tmp_path / "本周.html")
            run("plan", "rules")
            run("plan", "rules", "show")
            run("plan", "rules", "set", "独居老人", "21")
            hid = run("household", "add", "--address", "兰溪路1弄2号", "--grid", "三网格")
            hid = hid.stdout.strip()
            run("household", "edit", hid, "--phone", "62345678")
            run("household", "list", "--json")
            vid = run("visit", "add", "-H", hid, "--summary", "看望", "--problem", "物业:灯坏了")
            vid = vid.stdout.strip()
            run("visit", "list", "--household", hid)
            run("visit", "edit", vid, "--summary", "看望老人")
            [item] = run.json("item", "list", "--open", "--kind", "问题")[-1:]
            run("item", "update", item["id"], "--status", "办理中")
            run("visit", "delete", vid)
            run("roster", "import", roster, code=1)  # one row rejected
            run("roster", "import", roster, "--dry-run", code=1)
            run("roster", "export", tmp_path / "导出.xlsx")
            run("key", "init")  # a bundle is encrypted with the station key
            run("sync", hub, "--dry-run")
            run("sync", hub)
            run("bundle", "export", tmp_path / "all.bundle")
            run("bundle", "import", tmp_path / "all.bundle")
            [conflict] = run.json("conflicts")
            run("conflicts", "restore", conflict["id"][:8], "--yes")
            pairs = run.json("dedup", "households")["pairs"]
            assert len(pairs) >= 2
            run("dedup", "visits")
            run("dedup", "ignore", pairs[0]["a"], pairs[0]["b"])
            run("dedup", "households", "--apply")
            [merge] = run.json("dedup", "merges")
            run("dedup", "undo", merge["id"])
            run("dedup", "review")
            run("address", "aliases")
            run("address", "aliases", "add", "兰溪路59弄", "曹杨二村")
            run("address", "aliases", "reject", "兰溪路59弄", "曹杨二村")
            key_line.write_text(run("key", "show").stdout, encoding="utf-8")
            run("key", "import", key_line)  # the key it already holds: "already imported"
            run("audit", "verify")
            run("audit", "list")
            held[1].list_visits(household=hid)
            # Files named by the user that are the database or its side files.
            wal, shm = f"{demo_db}-wal", f"{demo_db}-shm"
            refused = [
                ("roster", "import", demo_db),
                ("roster", "import", wal),
                ("roster", "export", shm),
                ("bundle", "import", demo_db),
                ("bundle", "import", shm),
                ("bundle", "export", wal),
                ("backup", wal),
                ("backup", demo_db),
                ("summary", "--format", "csv", "-o", demo_db),
                ("summary", "--format", "csv", "-o", shm),
                ("plan", "--format", "html", "-o", demo_db),
                ("plan", "--format", "xlsx", "-o", wal),
                ("key", "import", demo_db),
                ("sync", shm),
                ("sync", demo_db),
            ]
            for args in refused:
                result = run(*args, code=1)
                assert "Traceback" not in result.output
            run("check", db=Path(wal), code=1)
            # Encrypting re-writes the whole file: refused while it is open here,
            # done on a database nobody holds.
            run("encrypt", code=1)
            plain = tmp_path / "plain.db"
            with cipher.making_plain():
                Store(plain).close()
            monkeypatch.setenv(cipher.PASSPHRASE_ENV, "口令 passphrase one")
            run("encrypt", db=plain)
            monkeypatch.setenv("VISITLOG_NEW_PASSPHRASE", "口令 passphrase two")
            run("rekey", db=plain)

            # The PostgreSQL hub's commands take a URL and no database file:
            # against a server that is not there, each says so in one line.
            nowhere = "postgresql://nobody@127.0.0.1:1/none"
            for args in (
                ("hub", "init", nowhere),
                ("hub", "station", "add", nowhere, "huaxi", "--community", "花溪园"),
                ("hub", "station", "list", nowhere),
                ("hub", "station", "remove", nowhere, "huaxi"),
            ):
                assert "Traceback" not in run(*args, code=1).output
    finally:
        for store in held:
            store.close()
    assert not seen.opens, seen.report()
    # Every command ran (the terminal app has its own test: tests/tui/test_database_files.py).
    assert COMMANDS - {"tui"} <= run.ran, COMMANDS - run.ran
    with Store(demo_db) as s:
        assert s.check() == []


def test_files_named_by_a_user_are_checked_before_anything_opens_them(tmp_path: Path):
    db = tmp_path / "visitlog.db"
    other = tmp_path / "other.db"
    Store(other).close()
    report = tmp_path / "report.csv"
    report.write_text("x", encoding="utf-8")
    with watch_database_opens() as seen:
        store = Store(db)
        try:
            with pytest.raises(VisitlogError, match="正在使用"):
                files.check_user_file(db)
            with pytest.raises(VisitlogError, match="-wal/-shm"):
                files.check_user_file(f"{db}-wal")
            # A database this process does not have open is still never replaced by a report…
            with pytest.raises(VisitlogError, match="覆盖"):
                files.write_private(other, "报告")
            # …but an ordinary file is.
            files.write_private(report, "报告")
            # A hard link is the same file under another name.
            link = tmp_path / "link.db"
            link.hardlink_to(db)
            with pytest.raises(VisitlogError, match="正在使用"):
                files.check_user_file(link)
        finally:
            store.close()
    assert not seen.opens, seen.report()
    assert report.read_text(encoding="utf-8") == "报告"
    with Store(other) as s:
        assert s.list_households() == []
    # Once closed, the database is an ordinary file to the checks of reading.
    assert files.check_user_file(db) == db


def test_a_file_that_is_not_sqlite_is_refused_without_being_opened_by_python(tmp_path: Path):
    db = tmp_path / "visitlog.db"
    with Store(db) as s:
        s.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"not a database at all\n" * 40)
    with watch_database_opens() as seen:
        held = Store(db)
        try:
            with pytest.raises(VisitlogError, match="不是 visitlog 数据库"):
                Store(notes)
            # and the same database opened again (the app's workers do) opens nothing else
            Store(db).close()
        finally:
            held.close()
    assert not seen.opens, seen.report()
    assert notes.read_bytes() == b"not a database at all\n" * 40
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.db"]
