"""The app keeps every save while other visitlog programs use the same database.

As it happens in an office: the terminal app is open all morning (its own
connection plus the ones its workers open) and saves visits; from a second
terminal the same worker runs ``backup``, ``check``, ``sync``, ``bundle
export``, ``summary`` and a dry run that fails; the app saves again; a third
program, while the app is still open, sees every save and an intact file.

When any descriptor of the database was opened and closed by something other
than SQLite inside the app's process, the app's locks were gone: the second
program, closing last as far as it could tell, checkpointed and deleted the
WAL under the app, and the app's next saves never reached the file.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest
from open_audit import watch_database_opens
from station import hold_key

from visitlog.store import Store
from visitlog.tui.app import make_app
from visitlog.tui.screens.home import HomeScreen

THIRD_PROGRAM = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[2])
    import rawdb  # plain sqlite3, or SQLCipher with the test passphrase
    conn = rawdb.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    summaries = [r[0] for r in conn.execute("SELECT summary FROM visits WHERE deleted = 0")]
    print(json.dumps({
        "integrity": conn.execute("PRAGMA integrity_check").fetchone()[0],
        "summaries": summaries,
    }, ensure_ascii=False))
    """
)


async def _run(*argv: str) -> tuple[int, str, str]:
    """Another program, run while the app keeps handling its events."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def _visitlog(db: Path, *args: object) -> tuple[int, str, str]:
    return await _run(sys.executable, "-m", "visitlog", "--db", str(db), *map(str, args))


async def _save_visit(app, pilot, wait_for, summary: str) -> None:
    await pilot.press("n")
    await wait_for(pilot, lambda: getattr(app.focused, "id", "") == "summary", "the form")
    await pilot.press(*summary)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), "saved")


@pytest.mark.slow
async def test_saves_reach_the_file_while_other_programs_use_it(
    demo_db, tmp_path, today, settle, wait_for
):
    hub = tmp_path / "hub.db"
    bad_roster = tmp_path / "名册.csv"
    bad_roster.write_text("地址,微网格\n,曹杨一村1号网格\n", encoding="utf-8")
    results: dict[str, tuple[int, str, str]] = {}

    hold_key(demo_db)  # a bundle is encrypted with the station key
    store = Store(demo_db)
    app = make_app(store, today=today)
    with watch_database_opens() as seen:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            # a worker's connection, as the app's loaders hold while they read
            worker_connection = Store(demo_db)
            worker_connection.list_households()
            await _save_visit(app, pilot, wait_for, "早上第一户")
            await settle(pilot)
            for name, args in {
                "backup": ("backup", tmp_path / "backup.db"),
                "check": ("check",),
                "sync": ("sync", hub, "--new-hub"),
                "bundle": ("bundle", "export", tmp_path / "all.bundle"),
                "summary": ("summary",),
                "dry-run": ("roster", "import", bad_roster, "--dry-run"),
            }.items():
                results[name] = await _visitlog(demo_db, *args)
            await _save_visit(app, pilot, wait_for, "上午第二户")
            await settle(pilot)
            # the third program looks while the app is still open
            results["third"] = await _run(
                sys.executable, "-c", THIRD_PROGRAM, str(demo_db), str(Path(__file__).parent.parent)
            )
            results["third-check"] = await _visitlog(demo_db, "check")
            assert app.is_running
            worker_connection.close()
    store.close()
    assert not seen.opens, seen.report()
    for name in ("backup", "check", "sync", "bundle", "summary", "third", "third-check"):
        code, _out, err = results[name]
        assert code == 0, (name, err)
        assert "Traceback" not in err
    code, _out, err = results["dry-run"]
    assert code == 1 and "Traceback" not in err  # the roster's bad row is refused
    import json

    third = json.loads(results["third"][1])
    assert third["integrity"] == "ok"
    assert {"早上第一户", "上午第二户"} <= set(third["summaries"])
    # and after everything closed, the file holds both, whole
    with Store(demo_db) as s:
        assert s.check() == []
        summaries = {v.summary for v in s.list_visits()}
        assert {"早上第一户", "上午第二户"} <= summaries
