"""A big sync goes in chunks: bounded transactions, resumable, others in between.

``visitlog.sync.replica.CHUNK_CHANGES`` is set to a few dozen changes here,
so that a demo street of a few dozen households takes many chunks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import threading
import time
from pathlib import Path

import psycopg
import pytest
import rawdb

from visitlog.demo import generate_into
from visitlog.model import SYNCED_FIELDS, Household, Visit
from visitlog.store import Store
from visitlog.sync import replica, sync_with, version_vector
from visitlog.sync.chunks import plan_chunk

DEMO_TODAY = dt.date(2026, 11, 27)
CHUNK = 25


@pytest.fixture
def chunk(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(replica, "CHUNK_CHANGES", CHUNK)
    monkeypatch.setattr(replica, "CHUNK_PAUSE_S", 0)
    return CHUNK


def laptop(path: Path, households: int, seed: int) -> Store:
    s = Store(path)
    s.init_identity("社工", path.stem)
    generate_into(s, households=households, seed=seed, today=DEMO_TODAY)
    return s


def log_of(hub: Path | str) -> dict[str, tuple[int, int]]:
    """``{device: (highest seq, how many changes)}`` of the hub's log, read
    beside whatever holds the hub's lock."""
    sql = "SELECT device, max(seq), count(*) FROM {} WHERE op <> 'skip' GROUP BY device"
    if isinstance(hub, str):
        with psycopg.connect(hub, autocommit=True) as conn:
            rows = conn.execute(sql.format("changes")).fetchall()
    else:
        # a SQLite log is changes and the inserts the rows hold (visitlog.store.inserts)
        with contextlib.closing(rawdb.connect(f"{hub.resolve().as_uri()}?mode=ro", uri=True)) as c:
            rows = c.execute(sql.format("change_log")).fetchall()
    return {d: (top, n) for d, top, n in rows}


def rows_of(store: Store) -> dict[str, list[tuple]]:
    out = {}
    for tbl in ("households", "visits", "items"):
        cols = ["id", *SYNCED_FIELDS[tbl], "hlc", "device", "stamps"]
        out[tbl] = [
            tuple(r.values())
            for r in store.query(f"SELECT {', '.join(cols)} FROM {tbl} ORDER BY id")
        ]
    return out


def test_a_big_first_sync_commits_chunk_by_chunk_each_a_prefix(tmp_path: Path, chunk: int):
    big = laptop(tmp_path / "big.db", 12, seed=3)
    hub = tmp_path / "hub.db"
    Store(hub).close()  # an empty hub already there (a new one is made whole: test_sync_seed)
    me = big.device_id
    total = version_vector(big.conn)[me]
    assert total > 4 * chunk
    seen: list[tuple[str, int, int | None]] = []
    held: list[tuple[int, int]] = []

    def progress(phase: str, done: int, todo: int | None) -> None:
        seen.append((phase, done, todo))
        if phase == "commit" and hub.exists():
            # between the hub's commit and the laptop's (or after both)
            held.append(log_of(hub).get(me, (0, 0)))

    report = sync_with(big, hub, progress=progress)
    # every chunk left the hub holding a prefix of the laptop's changes,
    # at most a chunk more than the last one
    tops = [top for top, _n in held]
    assert all(top == n for top, n in held), "a hole in the hub's log"
    assert tops == sorted(tops) and tops[-1] == total
    steps = [b - a for a, b in zip([0, *tops], tops, strict=False) if b != a]
    assert len(steps) >= total // chunk and max(steps) <= chunk
    # the report counts the whole sync once
    assert report.sent_total == total and report.received_total == 0
    with Store(hub) as h:
        assert rows_of(h) == rows_of(big)
        assert h.check() == []
        entries = h.query("SELECT detail FROM audit WHERE action = 'sync' ORDER BY id")
        assert len(entries) == len(steps)  # one audit entry per committed chunk
    # progress goes once over the whole: send from 0 to all, commits counted up
    sends = [(d, n) for p, d, n in seen if p == "send"]
    assert sends[0] == (0, total) and sends[-1] == (total, total)
    assert [d for d, _ in sends] == sorted(d for d, _ in sends)
    assert {n for _, n in sends} == {total}
    commits = [(d, n) for p, d, n in seen if p == "commit"]
    assert [d for d, _ in commits] == list(range(1, len(commits) + 1))
    assert commits[-1] == (2 * len(steps), 2 * len(steps))
    again = sync_with(big, hub)
    assert (again.sent_total, again.received_total) == (0, 0)


def test_both_ways_in_chunks_report_as_one_sync(tmp_path: Path, chunk: int):
    """Two laptops with work of their own: the second one's sync sends and
    receives in chunks; its report equals that of the same sync in one go."""
    a = laptop(tmp_path / "a.db", 6, seed=4)
    sync_with(a, tmp_path / "hub.db")
    b = laptop(tmp_path / "b.db", 7, seed=5)
    shutil.copy(tmp_path / "hub.db", tmp_path / "hub2.db")
    b.close()
    shutil.copy(tmp_path / "b.db", tmp_path / "b2.db")
    b, b2 = Store(tmp_path / "b.db"), Store(tmp_path / "b2.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(replica, "CHUNK_CHANGES", 10**9)
        one_go = sync_with(b2, tmp_path / "hub2.db")  # a copy: a new id, the same changes
    chunked = sync_with(b, tmp_path / "hub.db")
    assert chunked.sent_total > 2 * chunk and chunked.received_total > 2 * chunk
    assert chunked.to_json()["sent_by_table"] == one_go.to_json()["sent_by_table"]
    assert chunked.to_json()["received_by_table"] == one_go.to_json()["received_by_table"]
    sync_with(a, tmp_path / "hub.db")
    with Store(tmp_path / "hub.db") as h:
        assert rows_of(h) == rows_of(a) == rows_of(b)
        assert h.check() == []


class Boom(Exception):
    pass


def test_a_sync_stopped_after_some_chunks_keeps_them_and_the_next_one_goes_on(
    tmp_path: Path, chunk: int
):
    big = laptop(tmp_path / "big.db", 12, seed=3)
    hub = tmp_path / "hub.db"
    Store(hub).close()  # an empty hub already there: filled chunk by chunk
    me, total = big.device_id, version_vector(big.conn)[big.device_id]
    commits = 0

    def stop_in_the_fourth_chunk(phase: str, done: int, todo: int | None) -> None:
        nonlocal commits
        commits += phase == "commit"
        if phase == "send" and commits == 6:
            raise Boom

    with pytest.raises(Boom):
        sync_with(big, hub, progress=stop_in_the_fourth_chunk)
    top, n = log_of(hub)[me]
    assert top == n == 3 * chunk  # three chunks committed, the fourth rolled back whole
    with Store(hub) as h:
        assert h.check() == []
    rest = sync_with(big, hub)
    assert rest.sent_total == total - 3 * chunk
    with Store(hub) as h:
        assert rows_of(h) == rows_of(big)
        assert h.check() == []


def test_a_dry_run_stays_one_rolled_back_estimate(tmp_path: Path, chunk: int):
    big = laptop(tmp_path / "big.db", 8, seed=3)
    hub = tmp_path / "hub.db"
    sync_with(Store(tmp_path / "other.db"), hub)  # the hub is there, empty
    seen: list[str] = []
    report = sync_with(big, hub, dry_run=True, progress=lambda p, d, n: seen.append(p))
    assert report.sent_total == version_vector(big.conn)[big.device_id] > 3 * chunk
    assert "commit" not in seen  # one exchange, rolled back
    assert big.device_id not in log_of(hub)


def test_conflicts_found_across_chunks_are_reported_once(tmp_path: Path, chunk: int):
    hub = tmp_path / "hub.db"
    a = laptop(tmp_path / "a.db", 3, seed=6)
    sync_with(a, hub)
    b = Store(tmp_path / "b.db")
    b.init_identity("李四", "b")
    sync_with(b, hub)
    hids = [r["id"] for r in a.query("SELECT id FROM households ORDER BY id")]
    for hid in hids:
        a.update_household(hid, note="A的备注")
        b.update_household(hid, note="B的备注")
    for k in range(3 * chunk):  # b's own work first, so the edits come in later chunks
        b.add_household(Household(address=f"曹杨二村{k}号", micro_grid="二网格"))
    for hid in hids:
        b.update_household(hid, note="B又改了")
        b.update_household(hid, note="B的备注")
    sync_with(a, hub)
    report = sync_with(b, hub)
    stored = {r["id"] for r in b.query("SELECT id FROM conflicts WHERE resolved = 0")}
    assert {c["id"] for c in report.conflicts} == stored != set()
    assert len(report.conflicts) == len(stored)
    sync_with(a, hub)
    assert rows_of(a) == rows_of(b)


def test_a_big_sync_into_a_postgresql_hub_goes_in_chunks(tmp_path: Path, chunk: int, pg_hub: str):
    big = laptop(tmp_path / "big.db", 10, seed=3)
    me, total = big.device_id, version_vector(big.conn)[big.device_id]
    held: list[tuple[int, int]] = []

    def progress(phase: str, done: int, todo: int | None) -> None:
        if phase == "commit":
            held.append(log_of(pg_hub).get(me, (0, 0)))

    report = sync_with(big, pg_hub, progress=progress)
    assert report.sent_total == total
    tops = [top for top, _ in held]
    assert all(top == n for top, n in held) and tops == sorted(tops) and tops[-1] == total
    assert len(set(tops) - {0}) >= total // chunk
    other = Store(tmp_path / "other.db")
    got = sync_with(other, pg_hub)
    assert got.received_total == total
    assert rows_of(other) == rows_of(big)
    assert other.check() == []


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_another_laptop_syncs_between_two_chunks_of_a_big_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, request: pytest.FixtureRequest
):
    """A big first sync in many chunks; a small laptop's sync, started once the
    first chunk is in, completes while the big one is still going (it gets
    the lock in one of the big sync's short pauses); both converge."""
    monkeypatch.setattr(replica, "CHUNK_CHANGES", 60)
    monkeypatch.setattr(replica, "LONG_PAUSE_EVERY", 10_000)  # the short pauses only
    hub: Path | str = (
        tmp_path / "hub.db" if engine == "sqlite" else request.getfixturevalue("pg_hub")
    )
    big_path = tmp_path / "big.db"
    laptop(big_path, 25, seed=3).close()
    small = Store(tmp_path / "small.db")
    small.init_identity("李四", "small")
    small.add_household(Household(address="花溪园1号", micro_grid="一网格"))
    if engine == "sqlite":
        sync_with(small, hub, create=True)  # the hub is there before the big one starts
    with Store(big_path) as b:
        me, total = b.device_id, version_vector(b.conn)[b.device_id]
    outcome: dict[str, object] = {}
    small_done = threading.Event()

    def between_chunks(phase: str, done: int, _todo: int | None) -> None:
        # Both sides committed (the second commit of a chunk), no lock held:
        # while the small sync runs, the big one dawdles a moment here, so a
        # fast machine does not finish all its chunks before the small sync
        # has even opened the hub.  The small sync still has to get the lock
        # in one of the pauses between chunks.
        if phase == "commit" and done % 2 == 0:
            small_done.wait(0.2)

    def big_sync() -> None:
        with Store(big_path) as b:
            try:
                outcome["report"] = sync_with(b, hub, progress=between_chunks)
            except Exception as exc:  # shown by the assertions below
                outcome["error"] = exc

    thread = threading.Thread(target=big_sync)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while log_of(hub).get(me, (0, 0))[0] == 0:
            assert time.monotonic() < deadline, "the first chunk never came"
            time.sleep(0.01)
        small.add_household(Household(address="花溪园2号", micro_grid="一网格"))
        small_report = sync_with(small, hub)
        big_held = log_of(hub)[me][0]
        small_done.set()
        assert thread.is_alive() and 0 < big_held < total, "the big sync was not in progress"
        assert small_report.sent_total >= 1
    finally:
        small_done.set()
        thread.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].sent_total == total  # type: ignore[attr-defined]
    sync_with(small, hub)
    with Store(big_path) as b:
        sync_with(b, hub)
        assert rows_of(b) == rows_of(small)
        assert b.check() == [] and small.check() == []


def test_a_conflict_settled_by_a_later_chunk_is_not_reported(tmp_path: Path, chunk: int):
    """b's first edit loses to a's in an early chunk, and b's own later edit,
    which overwrote it knowingly, wins in a later one: as in one exchange,
    only a's value is a conflict."""
    hub = tmp_path / "hub.db"
    a = laptop(tmp_path / "a.db", 2, seed=6)
    sync_with(a, hub)
    b = Store(tmp_path / "b.db")
    b.init_identity("李四", "b")
    sync_with(b, hub)
    hids = [r["id"] for r in a.query("SELECT id FROM households ORDER BY id")]
    for hid in hids:
        b.update_household(hid, note="B先改的")
    for hid in hids:
        a.update_household(hid, note="A后改的")
    sync_with(a, hub)
    for k in range(3 * chunk):
        b.add_household(Household(address=f"曹杨二村{k}号", micro_grid="二网格"))
    for hid in hids:
        b.update_household(hid, note="B最后改的")
    report = sync_with(b, hub)
    stored = {r["id"] for r in b.query("SELECT id FROM conflicts WHERE resolved = 0")}
    assert len(stored) == len(hids)
    assert {c["id"] for c in report.conflicts} == stored
    assert {c["value"] for c in report.conflicts} == {"A后改的"}


def test_a_chunk_takes_prefixes_both_ways_within_the_limit():
    send = {"a": (1, 30), "b": (5, 9)}
    receive = {"c": (3, 100)}
    plan = plan_chunk(send, receive, 20)
    assert plan.truncated
    assert plan.send == {"a": (1, 10)} and plan.receive == {"c": (3, 12)}
    # what one direction leaves unused the other takes
    assert plan_chunk(send, {"c": (1, 2)}, 20).send == {"a": (1, 18)}
    assert plan_chunk(send, {"c": (1, 2)}, 20).receive == {"c": (1, 2)}
    # devices in the order of their first missing change's stamp
    stamps = {"a": "2", "b": "1"}
    plan = plan_chunk(send, {}, 8, lambda _way, d, _seq: stamps[d])
    assert list(plan.send.items()) == [("b", (5, 9)), ("a", (1, 3))]
    # all of it fits: one chunk, nothing left
    whole = plan_chunk(send, receive, 10**6)
    assert (whole.send, whole.receive, whole.truncated) == (send, receive, False)
    assert plan_chunk(send, receive, None).truncated is False


def test_households_arrive_before_the_visits_other_laptops_made_for_them(
    tmp_path: Path, chunk: int
):
    """The office made the households, a laptop the visits: a new laptop
    syncing in chunks gets the households first (the office's first change
    is older), so no visit waits for its household and no row is merged
    again, whatever order the device ids sort in."""
    hub = tmp_path / "hub.db"
    office = Store(tmp_path / "office.db")
    office.init_identity("街道", "office")
    hids = [
        office.add_household(Household(address=f"花溪园{k}号", micro_grid="一网格")).id
        for k in range(2 * chunk)
    ]
    sync_with(office, hub)
    worker = Store(tmp_path / "worker.db")
    worker.init_identity("社工", "worker")
    sync_with(worker, hub)
    for hid in hids:
        worker.add_visit(Visit(household_id=hid, visit_date="2026-11-02", visitor="社工"))
    sync_with(worker, hub)
    new = Store(tmp_path / "new.db")
    new.init_identity("新社工", "new")
    waiting: list[int] = []

    def progress(phase: str, done: int, todo: int | None) -> None:
        if phase == "commit":  # after each commit: rows waiting for their parent
            uri = f"{new.path.resolve().as_uri()}?mode=ro"
            with contextlib.closing(rawdb.connect(uri, uri=True)) as conn:
                waiting.append(conn.execute("SELECT count(*) FROM sync_orphans").fetchone()[0])

    report = sync_with(new, hub, progress=progress)
    assert report.received_total > 3 * chunk and len(waiting) > 6
    assert set(waiting) == {0}  # no visit ever waited for its household
    assert rows_of(new) == rows_of(worker)


def test_audit_chain_heads_are_checked_once_and_kept_at_every_chunk(tmp_path: Path, chunk: int):
    """No false alarm across the chunks of one sync (each records the head the
    next one checks); a chain rewritten between two syncs is reported once."""
    from test_chain_heads import _rewrite_chain

    from visitlog.sync.heads import REWRITTEN

    hub = tmp_path / "hub.db"
    a = laptop(tmp_path / "a.db", 6, seed=7)
    first = sync_with(a, hub)
    assert first.sent_total > 2 * chunk and first.rewritten == []

    def more_work() -> None:
        for k in range(3 * chunk):
            a.add_household(Household(address=f"兰溪路{k}号", micro_grid="一网格"))

    more_work()
    second = sync_with(a, hub)
    assert second.sent_total == 3 * chunk and second.rewritten == []
    path = a.path
    a.close()
    _rewrite_chain(path)
    a = Store(path)
    more_work()
    third = sync_with(a, hub)
    assert third.sent_total == 3 * chunk
    assert [r["at"] for r in third.rewritten] == ["target"]
    with Store(hub) as h:
        assert h.scalar("SELECT count(*) FROM audit WHERE action = ?", [REWRITTEN]) == 1


def test_a_chunk_counts_only_the_changes_its_sender_may_read():
    from visitlog.sync.chunks import plan_chunk, prefix

    # 1,000 numbers of which the sender may read five: one chunk of 3 takes
    # the first three, ending just before the fourth it may read.
    readable = {"a": [10, 20, 30, 40, 50]}
    assert prefix({"a": (1, 1000)}, 3, readable=readable) == {"a": (1, 39)}
    assert prefix({"a": (1, 1000)}, 5, readable=readable) == {"a": (1, 1000)}
    # a range with nothing readable costs nothing: it goes with the next device
    both = {"x": (1, 500), "a": (1, 1000)}
    got = prefix(both, 2, ["x", "a"], {"x": [], "a": [10, 20, 30]})
    assert got == {"x": (1, 500), "a": (1, 29)}
    # all of a station's pull in one chunk when what it may read is under the limit
    plan = plan_chunk({}, {"a": (1, 100_000)}, 20_000, None, {"a": list(range(1, 15_001))})
    assert not plan.truncated and plan.receive == {"a": (1, 100_000)}
    plan = plan_chunk({}, {"a": (1, 100_000)}, 20_000, None, {"a": list(range(1, 30_001))})
    assert plan.truncated and plan.receive == {"a": (1, 20_000)}


def test_a_station_pull_is_chunked_by_what_it_may_read(
    tmp_path: Path, chunk: int, pg, pg_hub: str, monkeypatch: pytest.MonkeyPatch
):
    """A station reads a few of the hub's changes: its first pull takes as
    many chunks as those need, not as many as the whole log would, and holds
    exactly its households' rows."""
    from visitlog.sync.postgres import replica as pg_replica
    from visitlog.sync.postgres.stations import add_station

    monkeypatch.setattr(pg_replica, "SCOPED_MIN", 0)  # by places, as a big hub's first pull

    big = laptop(tmp_path / "big.db", 12, seed=3)
    ids = [r["id"] for r in big.query("SELECT id FROM households ORDER BY id")]
    for hid in ids[3:]:  # most of the street lies in another 居民区
        big.update_household(hid, community="另一居民区")
    sync_with(big, pg_hub)
    community = big.scalar("SELECT community FROM households WHERE id = ?", [ids[0]])
    role = pg.role_name("one")
    add_station(pg_hub, role, communities=(community,))
    mine = big.scalar(
        "SELECT count(*) FROM change_log WHERE tbl IN ('households', 'visits', 'items') "
        "AND row_id IN (SELECT id FROM households WHERE community = ? "
        "UNION SELECT id FROM visits WHERE household_id IN "
        "(SELECT id FROM households WHERE community = ?) "
        "UNION SELECT id FROM items WHERE household_id IN "
        "(SELECT id FROM households WHERE community = ?))",
        [community] * 3,
    )
    total = version_vector(big.conn)[big.device_id]
    assert mine < total / 2  # the test means something only if most is hidden
    commits: list[int] = []

    def progress(phase: str, done: int, todo: int | None) -> None:
        if phase == "commit":
            commits.append(done)

    lap = Store(tmp_path / "station.db")
    lap.init_identity("社工", "station")
    got = sync_with(lap, pg.url_as(pg_hub, role), progress=progress)
    assert got.received_total == mine
    chunks = len(commits) // 2  # each chunk commits both sides
    assert -(-mine // chunk) <= chunks <= -(-mine // chunk) + 1 < -(-total // chunk)
    assert version_vector(lap.conn)[big.device_id] == total
    assert {r["community"] for r in lap.query("SELECT community FROM households")} == {community}
    ours = rows_of(big)
    theirs = rows_of(lap)
    assert {r[0] for r in theirs["households"]} == {
        r["id"] for r in big.query("SELECT id FROM households WHERE community = ?", [community])
    }
    assert set(theirs["visits"]) <= set(ours["visits"])
    assert lap.check() == []


def test_what_a_sender_may_read_is_asked_once_a_sync_and_again_when_ranges_grow():
    from visitlog.sync.chunks import Cursor, prefix

    asked: list[dict] = []

    def read(ranges):
        asked.append(dict(ranges))
        return {"a": [10, 20, 30, 40, 50]}

    cursor = Cursor()
    first = cursor.readable({"a": (1, 1000)}, read)
    # the next chunk starts after what the first shipped: same answer, not asked again
    assert cursor.readable({"a": (40, 1000)}, read) is first
    assert len(asked) == 1
    # counted within the chunk's range only
    assert prefix({"a": (40, 1000)}, 1, readable=first) == {"a": (40, 49)}
    # a device that came since, or a range that grew: asked again
    cursor.readable({"a": (40, 1200)}, read)
    cursor.readable({"a": (40, 1200), "b": (1, 5)}, read)
    assert len(asked) == 3


def test_a_household_moved_into_a_station_between_two_chunks_of_its_pull_arrives_whole(
    tmp_path: Path, chunk: int, pg, pg_hub: str, monkeypatch: pytest.MonkeyPatch
):
    """A station's chunks read the changes its first chunk found it may read,
    by their numbers.  A household the office moves into the station's 居民区
    while the pull is between two chunks was not among them: it comes whole
    all the same, and the laptop ends as a fresh pull made afterwards."""
    import types

    from visitlog.sync.postgres import replica as pg_replica
    from visitlog.sync.postgres.stations import add_station

    monkeypatch.setattr(pg_replica, "SCOPED_MIN", 0)  # by places, as a big hub's first pull
    office = laptop(tmp_path / "office.db", 12, seed=3)
    ids = [r["id"] for r in office.query("SELECT id FROM households ORDER BY id")]
    for hid in ids[4:]:
        office.update_household(hid, community="另一居民区")
    sync_with(office, pg_hub)
    community = office.scalar("SELECT community FROM households WHERE id = ?", [ids[0]])
    moving = office.scalar(
        "SELECT household_id FROM visits WHERE household_id IN (SELECT id FROM households "
        "WHERE community = '另一居民区') ORDER BY household_id DESC LIMIT 1"
    )
    role = pg.role_name("one")
    add_station(pg_hub, role, communities=(community,))
    url = pg.url_as(pg_hub, role)
    pauses: list[int] = []

    def between_chunks(_seconds: float) -> None:
        pauses.append(1)
        if len(pauses) == 1:  # the first chunk is in, the numbers it may read read
            office.update_household(moving, community=community, phone="13900000000")
            sync_with(office, pg_hub)

    monkeypatch.setattr(replica, "time", types.SimpleNamespace(sleep=between_chunks))
    lap = Store(tmp_path / "station.db")
    lap.init_identity("社工", "station")
    sync_with(lap, url)
    assert len(pauses) >= 1, "the pull took one chunk: nothing was between two"
    assert lap.scalar("SELECT phone FROM households WHERE id = ?", [moving]) == "13900000000"
    fresh = Store(tmp_path / "fresh.db")
    fresh.init_identity("社工", "fresh")
    monkeypatch.setattr(replica, "time", time)
    sync_with(fresh, url)
    assert rows_of(lap) == rows_of(fresh)
    mine = rows_of(office)
    held = {r[0] for r in rows_of(lap)["households"]}
    assert held == {
        r["id"] for r in office.query("SELECT id FROM households WHERE community = ?", [community])
    }
    assert moving in held
    assert set(rows_of(lap)["visits"]) == {v for v in mine["visits"] if v[1] in held}
    assert lap.check() == []


def test_a_syncs_connections_keep_their_statement_journals_in_memory(tmp_path: Path):
    """With foreign keys on, every row a sync inserts opens a statement
    journal; SQLite spills those of more than 64 KiB to temporary files,
    which cost a first sync of 50,000 households 3.9 million writes to
    /var/tmp.  A sync's connections keep them, and their temp tables, in memory."""
    from visitlog.sync.sqlite.replica import open_store

    path = tmp_path / "a.db"
    Store(path).close()
    store = open_store(path)
    try:
        assert store.conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()
