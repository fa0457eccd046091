"""Crash safety, proven by killing real visitlog processes with SIGKILL.

Three operations run as real ``python -m visitlog`` subprocesses and are
killed at random moments:

(a) ``roster import`` of a large roster (one transaction of thousands of
    households);
(b) ``sync`` of a laptop with thousands of changes with a hub holding
    another laptop's changes (sometimes a hub that does not exist yet, so
    the kill can land while the hub file is being created);
(c) a burst of ``visit add`` processes, one after another; each id a
    process printed is recorded as *saved*;
(d) ``bundle import`` of a street's whole bundle into a new, empty laptop
    (the path that sets the file's indexes aside and builds them at the end).

After every kill: ``visitlog check`` passes on every database involved;
every visit reported saved is still there with its list item and audit
entry; the new laptop has all its indexes and triggers; and the
interrupted operation is wholly done or wholly absent
(roster: the household count is the before or the after count, with the
change log and audit entry to match; sync: each side holds all of the
other side's changes or none of them, as ``visitlog.sync.replica``
promises, and a sync run afterwards converges both; visit add: at most the
one visit in flight may have been saved without being reported).

The kill count is ``VISITLOG_KILLS`` (default 15, a CI-sized run of well
under a minute), spread over the first three operations (each gets a third;
the bundle import as many); ``VISITLOG_KILL_SEED``
fixes the random moments.  The large run::

    VISITLOG_KILLS=120 .venv/bin/pytest tests/test_crash_harness.py -s -p no:xdist

prints one line of figures per operation.
"""

from __future__ import annotations

import json
import math
import os
import random
import shlex
import sys
from pathlib import Path

import pytest
from reliability_support import (
    Killed,
    checkpoint_close,
    copy_db,
    live_counts,
    peek,
    run_and_kill,
    visitlog_cmd,
    vv,
    write_roster,
)
from typer.testing import CliRunner

from visitlog.store import Store

pytestmark = pytest.mark.slow

KILLS = int(os.environ.get("VISITLOG_KILLS", "15"))
PER_OPERATION = max(1, math.ceil(KILLS / 3))
SEED = int(os.environ.get("VISITLOG_KILL_SEED", "0")) or random.SystemRandom().randrange(1, 10**9)
ROSTER_ROWS = int(os.environ.get("VISITLOG_KILL_ROSTER_ROWS", "4000"))


def _rng(name: str) -> random.Random:
    return random.Random(f"{SEED}-{name}")


def _check_passes(db: Path) -> None:
    """``visitlog check`` on ``db`` exits 0 (run in-process: no interpreter start-up)."""
    from visitlog.cli import app

    result = CliRunner().invoke(app, ["--db", str(db), "check", "--json"])
    assert result.exit_code == 0, f"check failed on {db.name}: {result.output}"
    assert json.loads(result.stdout)["ok"] is True


def _report(name: str, figures: dict) -> None:
    # One greppable line per operation for the large run's figures.
    sys.stdout.write(f"\nKILL-HARNESS {name} seed={SEED} {json.dumps(figures, sort_keys=True)}\n")


def _moment(rng: random.Random, attempt: int, base: Killed) -> tuple[float, bool]:
    """A random moment to kill at, as ``(delay, counted from the first write)``.

    Every other kill lands anywhere from interpreter start-up to just past
    the end of an uninterrupted run (``base``); the others land after the
    database starts being written, which is where a kill can hurt.
    """
    if attempt % 2 or base.wrote_at is None:
        return rng.uniform(0.1, 1.05) * base.elapsed, False
    return rng.uniform(0.0, 1.1) * (base.elapsed - base.wrote_at), True


def _wal(*dbs: Path) -> list[Path]:
    return [Path(f"{db}-wal") for db in dbs] + list(dbs)


def _kill_at_random(rng: random.Random, attempt: int, base: Killed, db: Path, *args: str) -> Killed:
    """``visitlog --db db args…`` killed at a random moment (:func:`_moment`)."""
    delay, after_write = _moment(rng, attempt, base)
    return run_and_kill(visitlog_cmd(db, *args), delay, watch=_wal(db), after_write=after_write)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Checkpointed template databases, copied per kill where a fresh start is needed."""
    from visitlog.demo import generate_into
    from visitlog.sync import sync_with

    root = tmp_path_factory.mktemp("crash-templates")
    street = Store(root / "street.db")
    street.init_identity("王丽华", "laptop-1", "曹杨一村1号网格")
    generate_into(street, households=600, seed=11)
    checkpoint_close(street)

    other = Store(root / "laptop2.db")
    other.init_identity("陈静", "laptop-2", "曹杨二村1号网格")
    generate_into(other, households=150, seed=12)
    hub_path = root / "hub.db"
    sync_with(other, hub_path)
    checkpoint_close(other)
    checkpoint_close(Store(hub_path))
    return {"street": root / "street.db", "hub": hub_path}


# -- (a) roster import -------------------------------------------------------------------------


def test_kill_roster_import(templates, tmp_path):
    rng = _rng("roster")
    db = copy_db(templates["street"], tmp_path / "roster.db")
    # Baseline: how long an uninterrupted import takes here.
    scratch = copy_db(templates["street"], tmp_path / "scratch.db")
    roster = write_roster(tmp_path / "baseline.csv", ROSTER_ROWS, "BASE")
    base = run_and_kill(
        visitlog_cmd(scratch, "roster", "import", str(roster)), None, watch=_wal(scratch)
    )
    assert base.returncode == 0, base.stderr
    assert live_counts(scratch)["households"] == live_counts(db)["households"] + ROSTER_ROWS

    figures = {"kills": 0, "done": 0, "absent": 0, "finished_before_kill": 0, "partial": 0}
    attempt = 0
    while figures["kills"] < PER_OPERATION:
        attempt += 1
        assert attempt < PER_OPERATION * 4, "the import keeps finishing before the kill"
        if live_counts(db)["households"] > 20 * ROSTER_ROWS:
            db = copy_db(templates["street"], tmp_path / "roster.db")
        tag = f"K{attempt}"
        roster = write_roster(tmp_path / f"{tag}.csv", ROSTER_ROWS, tag)
        before = live_counts(db)["households"]
        changes_before = peek(db, "SELECT count(*) FROM change_log")[0][0]
        audits_before = peek(db, "SELECT count(*) FROM audit WHERE action = 'roster.import'")[0][0]
        result = _kill_at_random(rng, attempt, base, db, "roster", "import", str(roster))
        _check_passes(db)
        after = live_counts(db)["households"]
        mine = peek(db, "SELECT count(*) FROM households WHERE ref LIKE ?", [f"{tag}-%"])[0][0]
        changes = peek(db, "SELECT count(*) FROM change_log")[0][0] - changes_before
        audits = (
            peek(db, "SELECT count(*) FROM audit WHERE action = 'roster.import'")[0][0]
            - audits_before
        )
        if not result.killed:
            figures["finished_before_kill"] += 1
            assert result.returncode == 0, result.stderr
            assert (after, mine, changes, audits) == (
                before + ROSTER_ROWS,
                ROSTER_ROWS,
                ROSTER_ROWS,
                1,
            )
            continue
        figures["kills"] += 1
        if (after, mine, changes, audits) == (before, 0, 0, 0):
            figures["absent"] += 1
        elif (after, mine, changes, audits) == (before + ROSTER_ROWS, ROSTER_ROWS, ROSTER_ROWS, 1):
            figures["done"] += 1
        else:
            figures["partial"] += 1
    _report("roster", figures | {"rows": ROSTER_ROWS, "baseline_s": round(base.elapsed, 2)})
    assert figures["partial"] == 0


# -- (b) sync ----------------------------------------------------------------------------------


def test_kill_sync(templates, tmp_path):
    from visitlog.sync import sync_with

    rng = _rng("sync")
    street_vv, hub_vv = vv(templates["street"]), vv(templates["hub"])
    street_counts, hub_counts = live_counts(templates["street"]), live_counts(templates["hub"])
    union = {k: street_counts[k] + hub_counts[k] for k in street_counts}

    def fresh(absent_hub: bool) -> tuple[Path, Path]:
        local = copy_db(templates["street"], tmp_path / "laptop.db")
        hub = tmp_path / "hub.db"
        if absent_hub:
            for suffix in ("", "-wal", "-shm"):
                Path(str(hub) + suffix).unlink(missing_ok=True)
        else:
            copy_db(templates["hub"], hub)
        return local, hub

    local, hub = fresh(False)
    base = run_and_kill(visitlog_cmd(local, "sync", str(hub)), None, watch=_wal(local, hub))
    assert base.returncode == 0, base.stderr
    assert live_counts(local) == live_counts(hub) == union

    figures = {
        "kills": 0,
        "finished_before_kill": 0,
        "laptop_done": 0,
        "laptop_absent": 0,
        "laptop_nothing_to_receive": 0,
        "hub_done": 0,
        "hub_absent": 0,
        "hub_not_created": 0,
        "partial": 0,
    }
    attempt = 0
    while figures["kills"] < PER_OPERATION:
        attempt += 1
        assert attempt < PER_OPERATION * 4, "the sync keeps finishing before the kill"
        absent_hub = attempt % 3 == 0
        local, hub = fresh(absent_hub)
        delay, after_write = _moment(rng, attempt, base)
        result = run_and_kill(
            visitlog_cmd(local, "sync", str(hub), "--new-hub"),
            delay,
            watch=_wal(local, hub),
            after_write=after_write,
        )
        _check_passes(local)
        local_has = vv(local)
        # the laptop holds the hub's changes wholly or not at all
        got = {d: local_has.get(d, 0) for d in hub_vv}
        if absent_hub:
            # a new hub has nothing to give: the laptop's data must be as it was
            same = local_has == street_vv and live_counts(local) == street_counts
            laptop = "nothing_to_receive" if same else "partial"
        elif got == hub_vv and live_counts(local) == union:
            laptop = "done"
        elif not any(got.values()) and live_counts(local) == street_counts:
            laptop = "absent"
        else:
            laptop = "partial"
        if not hub.exists() or hub.stat().st_size == 0:
            hub_state = "not_created"
        else:
            _check_passes(hub)
            hub_has = vv(hub)
            sent = {d: hub_has.get(d, 0) for d in street_vv}
            base_counts = {k: 0 for k in hub_counts} if absent_hub else hub_counts
            expect_done = {k: street_counts[k] + base_counts[k] for k in street_counts}
            if sent == street_vv and live_counts(hub) == expect_done:
                hub_state = "done"
            elif not any(sent.values()) and live_counts(hub) == base_counts:
                hub_state = "absent"
            else:
                hub_state = "partial"
        if not result.killed:
            figures["finished_before_kill"] += 1
            assert result.returncode == 0, result.stderr
            assert laptop in ("done", "nothing_to_receive") and hub_state == "done"
            continue
        figures["kills"] += 1
        if "partial" in (laptop, hub_state):
            figures["partial"] += 1
        else:
            figures[f"laptop_{laptop}"] += 1
            figures[f"hub_{hub_state}"] += 1
        # Whatever the kill left, the next sync finishes the job.
        with Store(local) as s:
            sync_with(s, hub)
        assert live_counts(local) == live_counts(hub) == (street_counts if absent_hub else union)
        _check_passes(local)
        _check_passes(hub)
    _report(
        "sync", figures | {"baseline_s": round(base.elapsed, 2), "changes": sum(street_vv.values())}
    )
    assert figures["partial"] == 0


# -- (c) a burst of visit add ------------------------------------------------------------------


def test_kill_visit_add_burst(templates, tmp_path):
    rng = _rng("visits")
    db = copy_db(templates["street"], tmp_path / "visits.db")
    households = [r[0] for r in peek(db, "SELECT id FROM households ORDER BY id LIMIT 50")]
    saved: set[str] = set()
    figures = {"kills": 0, "saved": 0, "lost": 0, "in_flight_saved": 0, "partial": 0}
    attempt = 0
    while figures["kills"] < PER_OPERATION:
        attempt += 1
        assert attempt < PER_OPERATION * 4, "the burst keeps finishing before the kill"
        tag = f"burst{attempt}"
        loop = " ; ".join(
            shlex.join(
                visitlog_cmd(
                    db,
                    "visit",
                    "add",
                    "--household",
                    households[(attempt * 7 + i) % len(households)],
                    "--date",
                    "2026-11-20",
                    "--visitor",
                    "陈静",
                    "--summary",
                    f"{tag}-{i}",
                    "--problem",
                    f"物业:楼道灯坏了{i}",
                )
            )
            + " || exit 1"
            for i in range(40)
        )
        result = run_and_kill(["bash", "-c", loop], rng.uniform(0.3, 5.0))
        reported = {
            line.strip()
            for line in result.stdout.splitlines()
            if len(line.strip()) == 36 and line.count("-") == 4
        }
        assert not result.stderr.strip() or result.killed, result.stderr
        saved |= reported
        _check_passes(db)
        rows = peek(
            db,
            "SELECT v.id, (SELECT count(*) FROM items i WHERE i.visit_id = v.id AND i.deleted = 0),"
            " (SELECT count(*) FROM audit a WHERE a.row_id = v.id AND a.action = 'visit.add'),"
            " (SELECT count(*) FROM change_log c WHERE c.row_id = v.id)"
            " FROM visits v WHERE v.summary LIKE ? AND v.deleted = 0",
            [f"{tag}-%"],
        )
        present = {r[0] for r in rows}
        if any(r[1:] != (1, 1, 1) for r in rows):
            figures["partial"] += 1
        live = {r[0] for r in peek(db, "SELECT id FROM visits WHERE deleted = 0")}
        figures["lost"] = len(saved - live)
        extra = present - reported
        if not result.killed:
            continue
        figures["kills"] += 1
        # only the process in flight can have saved without printing
        assert len(extra) <= 1, extra
        figures["in_flight_saved"] += len(extra)
    figures["saved"] = len(saved)
    _report("visit_add", figures)
    assert figures["lost"] == 0 and figures["partial"] == 0
    assert saved, "no visit was saved before the kills: the burst never got going"


# -- (d) a whole bundle into a new laptop -----------------------------------------------------


def _schema(db: Path) -> list[tuple]:
    return peek(
        db,
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
    )


def test_kill_bundle_import_into_a_new_laptop(templates, tmp_path):
    from station import hold_key

    from visitlog.sync import export_bundle

    rng = _rng("bundle")
    source = copy_db(templates["street"], tmp_path / "source.db")
    hold_key(source)
    bundle = tmp_path / "street.vlb"
    with Store(source) as s:
        export_bundle(s, bundle)

    def held(db: Path) -> list[int]:
        return [peek(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("households", "visits")]

    everything = held(source)
    empty = tmp_path / "empty-template.db"
    hold_key(empty)
    new = Store(empty)
    new.init_identity("新来的社工", "laptop-new")
    checkpoint_close(new)
    schema = _schema(empty)

    def fresh() -> Path:
        db = copy_db(empty, tmp_path / "new.db")
        hold_key(db)
        return db

    db = fresh()
    base = run_and_kill(visitlog_cmd(db, "bundle", "import", str(bundle)), None, watch=_wal(db))
    assert base.returncode == 0, base.stderr
    assert held(db) == everything
    figures = {"kills": 0, "done": 0, "absent": 0, "finished_before_kill": 0, "partial": 0}
    attempt = 0
    while figures["kills"] < PER_OPERATION:
        attempt += 1
        assert attempt < PER_OPERATION * 4, "the import keeps finishing before the kill"
        db = fresh()
        result = _kill_at_random(rng, attempt, base, db, "bundle", "import", str(bundle))
        _check_passes(db)
        assert _schema(db) == schema  # the indexes set aside are back, or were never dropped
        rows = held(db)
        changes = peek(db, "SELECT count(*) FROM change_log")[0][0]
        if not result.killed:
            figures["finished_before_kill"] += 1
            assert result.returncode == 0, result.stderr
            assert rows == everything
            continue
        figures["kills"] += 1
        if rows == [0, 0] and changes == 0:
            figures["absent"] += 1
            # and the laptop takes the bundle whole when it is imported again
            again = run_and_kill(visitlog_cmd(db, "bundle", "import", str(bundle)), None)
            assert again.returncode == 0, again.stderr
            assert held(db) == everything
            _check_passes(db)
        elif rows == everything:
            figures["done"] += 1
        else:
            figures["partial"] += 1
    _report("bundle_import", figures | {"baseline_s": round(base.elapsed, 2)})
    assert figures["partial"] == 0
