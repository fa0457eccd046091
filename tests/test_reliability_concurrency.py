"""Two processes at once: visits saved while a roster import and a sync run.

Real processes on one database: a long-lived process that keeps a Store
open and saves visits one after another (as the TUI does), a loop of
``visitlog visit add`` processes, and — meanwhile — ``visitlog roster
import`` of a large roster and ``visitlog sync`` with a hub.  Nobody may
see "database is locked", and every visit reported saved must be there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from reliability_support import (
    checkpoint_close,
    live_counts,
    peek,
    visitlog_cmd,
    write_roster,
)

from visitlog.store import Store

ROSTER_ROWS = 10_000

TUI_LIKE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from visitlog.model import Visit
    from visitlog.store import Store

    db, stop, hid = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    store = Store(db)
    n = 0
    while not stop.exists():
        started = time.monotonic()
        v = store.add_visit(
            Visit(household_id=hid, visit_date="2026-11-20", visitor="陈静", summary=f"tui-{n}")
        )
        print(v.id, round(time.monotonic() - started, 3), flush=True)
        n += 1
        time.sleep(0.05)
    store.close()
    """
)


def _hub_with_another_laptop(tmp_path: Path) -> Path:
    from visitlog.demo import generate_into
    from visitlog.sync import sync_with

    other = Store(tmp_path / "laptop2.db")
    other.init_identity("陈静", "laptop-2")
    generate_into(other, households=100, seed=5)
    hub = tmp_path / "hub.db"
    sync_with(other, hub)
    checkpoint_close(other)
    return hub


@pytest.mark.slow
def test_visits_saved_while_roster_import_and_sync_run(demo_db, tmp_path):
    db = demo_db
    hub = _hub_with_another_laptop(tmp_path)
    hub_households = live_counts(hub)["households"]
    before = live_counts(db)["households"]
    hid = peek(db, "SELECT id FROM households ORDER BY id LIMIT 1")[0][0]
    roster = write_roster(tmp_path / "big.csv", ROSTER_ROWS, "CONC")
    stop = tmp_path / "stop"
    cli_loop = (
        f'while [ ! -e "{stop}" ]; do '
        + subprocess.list2cmdline(
            visitlog_cmd(db, "visit", "add", "-H", hid, "--visitor", "王丽华", "-s", "cli")
        )
        + " || exit 1; done"
    )
    tui = subprocess.Popen(
        [sys.executable, "-c", TUI_LIKE, str(db), str(stop), hid],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    loop = subprocess.Popen(
        ["bash", "-c", cli_loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # both writers are saving before the bulk work starts
        deadline = time.monotonic() + 60
        while peek(db, "SELECT count(*) FROM visits WHERE summary = 'cli'")[0][0] < 1:
            assert time.monotonic() < deadline, "the visit add loop never saved"
            assert loop.poll() is None, loop.stderr.read()
            time.sleep(0.05)
        bulk = [
            subprocess.Popen(
                visitlog_cmd(db, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for args in (("roster", "import", str(roster)), ("sync", str(hub)))
        ]
        outputs = [p.communicate(timeout=300) for p in bulk]
        time.sleep(1.0)  # a few more saves after the bulk work
    finally:
        stop.touch()
        tui_out, tui_err = tui.communicate(timeout=120)
        loop_out, loop_err = loop.communicate(timeout=120)

    for p, (_out, err) in zip(bulk, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err and "锁" not in err and "另一个程序" not in err, err
    assert tui.returncode == 0, tui_err
    assert loop.returncode == 0, loop_err
    assert not tui_err.strip() and not loop_err.strip(), (tui_err, loop_err)

    tui_saved = [line.split()[0] for line in tui_out.splitlines() if line.strip()]
    cli_saved = [line.strip() for line in loop_out.splitlines() if line.strip()]
    waits = [float(line.split()[1]) for line in tui_out.splitlines() if line.strip()]
    sys.stdout.write(
        f"\nTWO-PROCESS tui_saves={len(tui_saved)} cli_saves={len(cli_saved)} "
        f"longest_tui_save_s={max(waits):.2f}\n"
    )
    assert len(tui_saved) >= 3 and len(cli_saved) >= 2
    live = {r[0] for r in peek(db, "SELECT id FROM visits WHERE deleted = 0")}
    assert set(tui_saved) <= live and set(cli_saved) <= live
    assert live_counts(db)["households"] == before + ROSTER_ROWS + hub_households
    with Store(db) as s:
        assert s.check() == []
    with Store(hub) as h:
        assert h.check() == []
