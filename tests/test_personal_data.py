"""Personal data never leaks: private crash logs without data, every export
audited, leftover temporary files removed, and an audit chain keyed with the
station key so that a rewritten trail is caught."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import rawdb

from visitlog.crashlog import log_path
from visitlog.model import Household, Visit
from visitlog.store import Store

SECRET_HEAD = "王秀英"
SECRET_PHONE = "13812345678"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- crashes ----------------------------------------------------------------------------------


def test_an_internal_error_prints_one_line_and_logs_no_data(cli, monkeypatch):
    cli("household", "add", "--address", "曹杨一村1号", "--grid", "一网格", "--head", SECRET_HEAD)
    log = log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("--- an older entry\n", encoding="utf-8")
    os.chmod(log, 0o644)  # as an older version left it

    def broken(self, *args, **kwargs):
        address = f"曹杨一村1号 {SECRET_HEAD} {SECRET_PHONE}"
        raise RuntimeError(f"cannot list {address}")

    monkeypatch.setattr(Store, "household_overview", broken)
    result = cli("household", "list", "--grid", f"一网格{SECRET_PHONE}"[:3])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert "".join(lines).startswith("错误：visitlog 内部出错（RuntimeError）")
    assert str(log) in result.stderr.replace("\n", "")
    assert SECRET_HEAD not in result.output and SECRET_PHONE not in result.output
    content = log.read_text(encoding="utf-8")
    assert "RuntimeError" in content and "broken" in content and "household list" in content
    assert SECRET_HEAD not in content and SECRET_PHONE not in content and "一网格" not in content
    if os.name == "posix":
        assert _mode(log) == 0o600
        assert _mode(log.parent) & 0o077 == 0 or log.parent.stat().st_uid != os.getuid()


def test_an_internal_error_in_english(cli, monkeypatch):
    def broken(self, *args, **kwargs):
        raise KeyError("x")

    monkeypatch.setattr(Store, "household_overview", broken)
    result = cli("--lang", "en", "household", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: visitlog hit an internal error (KeyError)")


# -- every export is audited --------------------------------------------------------------------


@pytest.fixture
def street(cli):
    cli("init", "--worker", "王丽华")
    hid = cli(
        "household", "add", "--address", "曹杨一村1号", "--grid", "一网格",
        "--head", SECRET_HEAD, "--phone", SECRET_PHONE,
    ).stdout.strip()  # fmt: skip
    cli("visit", "add", "--household", hid, "--summary", "腿脚不便", "--problem", "物业:灯坏了")
    return cli


def _exports(cli) -> list[dict]:
    return [e for e in cli.json("audit", "list") if e["action"].endswith(".export")]


@pytest.mark.parametrize(
    ("args", "action", "rows"),
    [
        (("household", "list", "--json"), "household.export", 1),
        (("visit", "list", "--json"), "visit.export", 1),
        (("item", "list", "--json"), "item.export", 1),
        (("conflicts", "--json"), "conflicts.export", 0),
        (("dedup", "households", "--json"), "dedup.export", 0),
    ],
)
def test_json_listings_are_audited_with_rows_and_destination(street, args, action, rows):
    before = _exports(street)
    result = street(*args)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # nothing but JSON on stdout
    (entry,) = [e for e in _exports(street) if e not in before]
    assert entry["action"] == action
    assert entry["detail"]["rows"] == rows and entry["detail"]["to"] == "stdout"
    assert entry["detail"]["worker"] == "王丽华"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_roster_export_and_backup_are_audited_with_the_file(street, tmp_path, suffix):
    dest = tmp_path / f"名册{suffix}"
    assert street("roster", "export", str(dest)).exit_code == 0
    backup = tmp_path / "copy.db"
    assert street("backup", str(backup)).exit_code == 0
    entries = {e["action"]: e["detail"] for e in _exports(street)}
    assert entries["roster.export"]["rows"] == 1
    assert entries["roster.export"]["to"] == str(dest.resolve())
    assert entries["backup.export"]["to"] == str(backup.resolve())


# -- every --reveal is audited: who, which command, where to, how many households ------------------

#: The demo street's period in the summary, the grid of the plan.
_PERIOD = ("--from", "2026-01-01", "--to", "2026-12-31")
_GRID = "曹杨一村1号网格"


def _reveals(cli) -> list[dict]:
    return [e for e in cli.json("audit", "list") if e["action"].endswith(".reveal")]


def _due_households(cli) -> int:
    totals = cli.json("summary", *_PERIOD)["totals"]
    return totals["households"] - totals["visited_households"]


def _dedup_households(cli) -> int:
    pairs = cli.json("dedup", "households")["pairs"]
    return len({i for p in pairs for i in (p["a"], p["b"])})


def _review_households(cli) -> int:
    pairs = cli.json("dedup", "review")["pairs"]
    return len({i for p in pairs for i in (p["a"], p["b"])})


# (arguments, the action, where to ("FILE": the file given), households named: how to count them
# independently of the command under test)
REVEALS = {
    "household list": (
        ("household", "list", "--reveal"),
        "household.reveal",
        "terminal",
        lambda cli: len(cli.json("household", "list")),
    ),
    "household list --grid": (
        ("household", "list", "--grid", _GRID, "--reveal"),
        "household.reveal",
        "terminal",
        lambda cli: len(cli.json("household", "list", "--grid", _GRID)),
    ),
    "summary table": (("summary", *_PERIOD, "--reveal"), "summary.reveal", "terminal", None),
    "summary html": (
        ("summary", *_PERIOD, "--format", "html", "-o", "FILE.html", "--reveal"),
        "summary.reveal",
        "FILE.html",
        _due_households,
    ),
    "summary xlsx": (
        ("summary", *_PERIOD, "-o", "FILE.xlsx", "--reveal"),
        "summary.reveal",
        "FILE.xlsx",
        _due_households,
    ),
    # the CSV holds the figures only: it names no household, revealed or not
    "summary csv": (
        ("summary", *_PERIOD, "--format", "csv", "-o", "FILE.csv", "--reveal"),
        "summary.reveal",
        "FILE.csv",
        None,
    ),
    "plan terminal": (
        ("plan", "--grid", _GRID, "--reveal"),
        "plan.reveal",
        "terminal",
        lambda cli: len(cli.json("plan", "--grid", _GRID)),
    ),
    "plan route sheet html": (
        ("plan", "--grid", _GRID, "-o", "FILE.html", "--reveal"),
        "plan.reveal",
        "FILE.html",
        lambda cli: len(cli.json("plan", "--grid", _GRID)),
    ),
    "plan route sheet xlsx": (
        ("plan", "--grid", _GRID, "-o", "FILE.xlsx", "--reveal"),
        "plan.reveal",
        "FILE.xlsx",
        lambda cli: len(cli.json("plan", "--grid", _GRID)),
    ),
    "dedup households": (
        ("dedup", "households", "--reveal"),
        "dedup.reveal",
        "terminal",
        _dedup_households,
    ),
    "dedup review": (
        ("dedup", "review", "--reveal"),
        "dedup.reveal",
        "terminal",
        _review_households,
    ),
    "conflicts": (("conflicts", "--reveal"), "conflicts.reveal", "terminal", lambda cli: 0),
}


@pytest.mark.parametrize("name", sorted(REVEALS))
def test_every_reveal_is_audited_with_who_what_where_and_how_many(demo_cli, tmp_path, name):
    args, action, to, count = REVEALS[name]
    # one household entered twice, and a pair for a person to decide
    for address, head, phone in (
        ("曹杨一村1号101室", SECRET_HEAD, SECRET_PHONE),
        ("曹杨1村1号101", SECRET_HEAD, SECRET_PHONE),
        ("曹杨一村2号201室", "李建国", "13900001111"),
        ("曹杨一村2号201室", "李国", None),
    ):
        # --yes: entered twice on purpose, past the look-alike address check
        add = ["household", "add", "--address", address, "--grid", _GRID, "--head", head, "--yes"]
        assert demo_cli(*add, *(("--phone", phone) if phone else ())).exit_code == 0
    expected = count(demo_cli) if count else 0
    dest = tmp_path / "out"
    argv = [str(dest) + a[4:] if a.startswith("FILE") else a for a in args]
    before = _reveals(demo_cli)
    result = demo_cli(*argv)
    assert result.exit_code == 0, result.output
    (entry,) = [e for e in _reveals(demo_cli) if e not in before]
    assert entry["action"] == action
    assert entry["worker"] == "王丽华" and entry["detail"]["worker"] == "王丽华"
    assert entry["detail"]["command"] == action.split(".")[0]
    if to.startswith("FILE"):
        written = Path(str(dest) + to[4:])
        assert written.exists()
        assert entry["detail"]["to"] == str(written.resolve())
    else:
        assert entry["detail"]["to"] == to
    assert entry["detail"]["households"] == expected
    if count is not None and name != "conflicts":
        assert expected > 0  # the demo street gives each command something to name


def test_a_reveal_without_a_worker_writes_nothing(cli, tmp_path):
    cli("household", "add", "--address", "曹杨一村1号", "--grid", "一网格", "--head", SECRET_HEAD)
    out = tmp_path / "week.html"
    for args in (("summary", "-o", str(out), "--reveal"), ("plan", "-o", str(out), "--reveal")):
        r = cli(*args)
        assert r.exit_code == 1 and "init --worker" in r.output
    assert not out.exists()
    assert _reveals(cli) == []


def test_masked_table_listings_write_no_export_entry(street):
    before = len(street.json("audit", "list"))
    for args in (("household", "list"), ("visit", "list"), ("item", "list")):
        assert street(*args).exit_code == 0
    assert len(street.json("audit", "list")) == before


# -- temporary files left by a kill ---------------------------------------------------------------

_KILLED_EXPORT = textwrap.dedent(
    """
    import os, signal, sys
    from visitlog.store import files
    cm = files.replacing(sys.argv[1])
    tmp = cm.__enter__()
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("王秀英,13812345678\\n")
    print(tmp, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_temporary_export_file_left_by_a_kill_is_removed_at_next_start(cli, tmp_path):
    dest = tmp_path / "名册.csv"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_EXPORT, str(dest)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL
    tmp = Path(proc.stdout.strip())
    assert tmp.exists() and tmp.parent == tmp_path and not dest.exists()
    assert cli("household", "list").exit_code == 0  # any start of visitlog
    assert not tmp.exists()
    assert list(tmp_path.glob(".*.tmp")) == []


def test_a_temporary_file_of_a_running_visitlog_is_left_alone(cli, tmp_path):
    from visitlog.store import files

    dest = tmp_path / "名册.csv"
    with files.replacing(dest) as tmp:
        tmp.write_text("在写", encoding="utf-8")
        assert files.sweep_leftovers() == []
        assert cli("household", "list").exit_code == 0
        assert tmp.exists()
    assert not tmp.exists()


# -- the keyed audit chain ----------------------------------------------------------------------


def _plain_hash(prev: str, row: sqlite3.Row) -> str:
    """What someone who read visitlog's source would compute for a plain chain."""
    payload = json.dumps(
        [prev, row["at"], row["worker"], row["device"], row["action"], row["tbl"],
         row["row_id"], row["detail"]],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )  # fmt: skip
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _rewrite(db: Path, drop_action: str, *, from_deleted_on: bool) -> None:
    """The attack: drop the triggers, delete one entry, recompute a plain hash chain
    (over the whole trail, or from the deleted entry on), renumber, hide the cut."""
    conn = rawdb.connect(db)
    conn.row_factory = rawdb.errors(conn).Row
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    (gone,) = conn.execute("SELECT id FROM audit WHERE action = ?", [drop_action]).fetchone()
    conn.execute("DELETE FROM audit WHERE id = ?", [gone])
    conn.execute("UPDATE audit SET id = id - 1 WHERE id > ?", [gone])
    rows = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
    prev = "0" * 64
    for row in rows:
        if from_deleted_on and row["id"] < gone:
            prev = row["hash"]
            continue
        new = _plain_hash(prev, row)
        conn.execute(
            "UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [prev, new, row["id"]]
        )
        prev = new
    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit'", [len(rows)])
    conn.commit()
    conn.close()


def _attack_works_on_a_plain_chain(db: Path) -> None:
    """The recomputation is right: without a station key, verify cannot tell."""
    with Store(db) as s:
        assert s.verify_audit() is None


@pytest.fixture
def keyed_laptop(cli):
    cli("init", "--worker", "王丽华")
    hid = cli("household", "add", "--address", "曹杨一村1号", "--grid", "一网格").stdout.strip()
    assert cli("key", "init").exit_code == 0
    cli("visit", "add", "--household", hid, "--summary", "看过")
    assert cli("household", "list", "--reveal").exit_code == 0
    cli("visit", "add", "--household", hid, "--summary", "又看过")
    assert cli("audit", "verify").exit_code == 0
    assert cli.json("audit", "verify")["keyed"] is True
    return cli


@pytest.mark.parametrize("from_deleted_on", [False, True])
def test_a_deleted_reveal_and_a_recomputed_plain_chain_are_caught(keyed_laptop, from_deleted_on):
    cli = keyed_laptop
    _rewrite(cli.db, "household.reveal", from_deleted_on=from_deleted_on)
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "被改写" in result.stderr and "Traceback" not in result.output
    data = json.loads(cli("audit", "verify", "--json").stdout)
    assert data["ok"] is False
    assert data["broken"]["reason"] == ("downgraded" if from_deleted_on else "unsealed")
    assert cli("check").exit_code == 1
    # Writing on does not hide it: the rewritten chain is not keyed over.
    hid = cli.json("household", "list")[0]["id"]
    cli("visit", "add", "--household", hid, "--summary", "之后")
    assert cli("audit", "verify").exit_code == 1


def test_the_same_rewrite_of_an_unkeyed_chain_goes_unnoticed(cli):
    """What the station key adds, shown by its absence (a limit the README states)."""
    cli("init", "--worker", "王丽华")
    hid = cli("household", "add", "--address", "曹杨一村1号", "--grid", "一网格").stdout.strip()
    cli("visit", "add", "--household", hid)
    assert cli("household", "list", "--reveal").exit_code == 0
    _rewrite(cli.db, "household.reveal", from_deleted_on=False)
    _attack_works_on_a_plain_chain(cli.db)


def test_a_keyed_entry_edited_without_the_key_is_named(keyed_laptop):
    cli = keyed_laptop
    conn = rawdb.connect(cli.db)
    conn.execute("DROP TRIGGER audit_no_update")
    (last,) = conn.execute("SELECT max(id) FROM audit").fetchone()
    conn.execute("UPDATE audit SET worker = '别人' WHERE id = ?", [last])
    conn.commit()
    conn.close()
    data = json.loads(cli("audit", "verify", "--json").stdout)
    assert data["broken"]["id"] == last and data["broken"]["reason"] == "edited"


def test_a_database_keyed_before_keyed_chains_still_verifies_and_is_sealed_at_its_next_write(
    cli,
):
    """A laptop that held a key under an older visitlog: all its entries are plain."""
    from visitlog.store import StationKey, save_key

    cli("init", "--worker", "王丽华")
    hid = cli("household", "add", "--address", "曹杨一村1号", "--grid", "一网格").stdout.strip()
    save_key(cli.db, StationKey.generate())  # the key file, as an older version wrote it
    data = cli.json("audit", "verify")
    assert data["ok"] is True and data["keyed"] is False
    cli("visit", "add", "--household", hid)
    data = cli.json("audit", "verify")
    assert data["ok"] is True and data["keyed"] is True
    conn = rawdb.connect(cli.db)
    stamps = [h for (h,) in conn.execute("SELECT hash FROM audit ORDER BY id")]
    conn.close()
    assert stamps[-1].startswith("k1:") and not stamps[0].startswith("k1:")


def test_a_copy_without_the_key_checks_the_links_it_can(keyed_laptop, tmp_path):
    cli = keyed_laptop
    copy = tmp_path / "copy.db"
    assert cli("backup", str(copy)).exit_code == 0
    with Store(copy) as s:
        assert s.audit_key() is None
        assert s.verify_audit() is None


def test_visits_add_audited_entries_keyed(keyed_laptop):
    with Store(keyed_laptop.db) as s:
        hid = s.list_households()[0].id
        s.add_visit(Visit(household_id=hid, visit_date="2026-11-20", visitor="陈静"))
        newest = s.audit_entries(limit=1)[0]
        assert newest["hash"].startswith("k1:")
        assert s.verify_audit() is None
        s.add_household(Household(address="曹杨一村2号", micro_grid="一网格"))
        assert s.verify_audit() is None


def test_a_crashed_terminal_app_makes_the_command_exit_non_zero(cli, monkeypatch):
    """The app prints its one line itself on exit; the command then exits with its status."""
    import visitlog.tui.app as tui_app

    class Crashed:
        return_code = 1

        def run(self) -> None:
            pass

    monkeypatch.setattr(tui_app, "make_app", lambda store: Crashed())
    assert cli("tui").exit_code == 1
