"""Store: round trips, change log, tombstones, audit chain, bad files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import rawdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visitlog.model import (
    Category,
    Household,
    Item,
    Kind,
    Mode,
    NotFoundError,
    Occupancy,
    Outcome,
    Tag,
    ValidationError,
    Visit,
    VisitlogError,
)
from visitlog.store import Store

cjk = st.text(
    alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=12
)
households = st.builds(
    Household,
    address=cjk.map(lambda s: s + "1号101室"),
    micro_grid=cjk,
    community=st.none() | cjk,
    estate=st.none() | cjk,
    ref=st.none() | st.text("ABC0123456789", min_size=1, max_size=8),
    head=st.none() | cjk,
    phone=st.none() | st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    members=st.none() | st.integers(0, 99),
    occupancy=st.sampled_from([o.value for o in Occupancy]),
    tags=st.lists(st.sampled_from([t.value for t in Tag]), unique=True, max_size=4),
    note=st.none() | cjk,
)
items = st.builds(
    Item,
    kind=st.sampled_from([k.value for k in Kind]),
    category=st.sampled_from([c.value for c in Category]),
    description=cjk,
    deadline=st.none() | st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)).map(str),
)
visits = st.builds(
    Visit,
    household_id=st.just("?"),
    visit_date=st.dates(dt.date(2024, 1, 1), dt.date(2026, 11, 27)).map(str),
    visitor=cjk,
    mode=st.sampled_from([m.value for m in Mode]),
    outcome=st.sampled_from([o.value for o in Outcome]),
    summary=st.none() | st.text(max_size=200).filter(lambda s: s.strip() == s and "\x00" not in s),
    items=st.lists(items, max_size=3),
)


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(h=households)
def test_household_round_trip(store, h):
    saved = store.add_household(h)
    again = store.get_household(saved.id)
    expected = h.validated()
    for field in (
        "address",
        "micro_grid",
        "community",
        "estate",
        "ref",
        "head",
        "phone",
        "members",
        "occupancy",
        "tags",
        "note",
    ):
        assert getattr(again, field) == getattr(expected, field), field
    assert again.device == store.device_id and again.hlc and not again.deleted


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(v=visits)
def test_visit_round_trip_with_items(store, v):
    hid = store.add_household(Household(address="曹杨一村1号101室", micro_grid="1号网格")).id
    v.household_id = hid
    saved = store.add_visit(v)
    again = store.get_visit(saved.id)
    assert (again.visit_date, again.visitor, again.mode, again.outcome, again.summary) == (
        v.visit_date,
        v.visitor.strip(),
        v.mode,
        v.outcome,
        (v.summary or "").strip() or None,
    )
    assert [(i.kind, i.category, i.description, i.deadline) for i in again.items] == [
        (i.kind, i.category, i.description.strip(), i.deadline) for i in v.items
    ]
    assert all(i.visit_id == saved.id and i.household_id == hid for i in again.items)


def _household(store: Store) -> str:
    return store.add_household(Household(address="曹杨一村1号101室", micro_grid="1号网格")).id


def test_every_write_lands_in_change_log_with_increasing_seq(store):
    hid = _household(store)
    vid = store.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-03-01",
            visitor="王丽华",
            items=[Item(kind="问题", category="物业", description="漏水")],
        )
    ).id
    store.edit_visit(vid, summary="补记")
    rows = store.query(
        "SELECT device, seq, tbl, row_id, op, data, base FROM change_log ORDER BY seq"
    )
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert [(r["tbl"], r["op"]) for r in rows] == [
        ("households", "insert"),
        ("visits", "insert"),
        ("items", "insert"),
        ("visits", "update"),
    ]
    last = rows[-1]
    assert json.loads(last["data"]) == {"summary": "补记"}
    base = json.loads(last["base"])
    insert_hlc = store.query("SELECT hlc FROM change_log WHERE seq = 2")[0]["hlc"]
    # the stamps the edit overwrote, and the delete state it was made on
    assert base == {
        "summary": [insert_hlc, store.device_id],
        "~deleted": [insert_hlc, store.device_id],
    }
    assert store.version_vector() == {store.device_id: 4}


def test_edit_touches_only_given_fields_and_records_stamps(store):
    hid = _household(store)
    v = store.add_visit(
        Visit(household_id=hid, visit_date="2026-03-01", visitor="王丽华", summary="a")
    )
    edited = store.edit_visit(v.id, outcome="不在家")
    assert edited.summary == "a" and edited.outcome == "不在家" and edited.hlc > v.hlc
    stamps = json.loads(store.query("SELECT stamps FROM visits WHERE id = ?", [v.id])[0]["stamps"])
    assert stamps["*"] == [v.hlc, v.device] and stamps["outcome"] == [edited.hlc, edited.device]
    # Editing to the same value writes nothing and logs nothing.
    before = store.scalar("SELECT count(*) FROM change_log")
    store.edit_visit(v.id, outcome="不在家")
    assert store.scalar("SELECT count(*) FROM change_log") == before


def test_delete_is_a_tombstone_for_visit_and_items(store):
    hid = _household(store)
    v = store.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-03-01",
            visitor="王丽华",
            items=[Item(kind="需求", category="医疗", description="配药")],
        )
    )
    store.delete_visit(v.id)
    assert store.list_visits() == [] and store.list_items() == []
    assert store.scalar("SELECT deleted FROM visits WHERE id = ?", [v.id]) == 1
    assert store.scalar("SELECT deleted FROM items WHERE visit_id = ?", [v.id]) == 1
    with pytest.raises(NotFoundError):
        store.get_visit(v.id)


def test_failed_operation_rolls_back_everything(store):
    hid = _household(store)
    before = store.scalar("SELECT count(*) FROM change_log")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert(
            "visits",
            {
                "household_id": hid,
                "visit_date": "2026-01-01",
                "visitor": "x",
                "mode": "入户",
                "outcome": "见面",
            },
        )
        raise RuntimeError("power cut")
    assert store.scalar("SELECT count(*) FROM change_log") == before
    assert store.scalar("SELECT count(*) FROM visits") == 0


def test_bad_item_leaves_no_visit(store):
    hid = _household(store)
    with pytest.raises(ValidationError):
        store.add_visit(
            Visit(
                household_id=hid,
                visit_date="2026-03-01",
                visitor="x",
                items=[
                    Item(kind="问题", category="物业", description="ok"),
                    Item(kind="谣言", category="物业", description="bad"),
                ],
            )
        )
    assert store.scalar("SELECT count(*) FROM visits") == 0


def test_item_lifecycle(store):
    hid = _household(store)
    v = store.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-03-01",
            visitor="x",
            items=[Item(kind="问题", category="物业", description="漏水", deadline="2026-03-10")],
        )
    )
    iid = v.items[0].id
    today = dt.date(2026, 4, 1)
    assert [i.id for i in store.list_items(overdue=True, today=today)] == [iid]
    with pytest.raises(ValidationError, match="原因"):
        store.update_item(iid, status="无法解决")
    done = store.update_item(iid, status="done", note="已修好", satisfaction="满意", today=today)
    assert (done.status, done.closed_date, done.resolution, done.satisfaction) == (
        "已办结",
        "2026-04-01",
        "已修好",
        "满意",
    )
    assert store.list_items(open_only=True, today=today) == []


def test_id_prefix_and_suffix_resolution(store):
    hid = _household(store)
    assert store.resolve_id("households", hid[:8]) == hid
    assert store.resolve_id("households", hid[-8:]) == hid
    with pytest.raises(NotFoundError):
        store.resolve_id("households", "abc")


def test_audit_chain_detects_edit_and_removal(store, db_path):
    for n in range(3):
        store.add_household(Household(address=f"曹杨一村{n}号101室", micro_grid="1号网格"))
    assert store.verify_audit() is None
    with pytest.raises(rawdb.errors(store.conn).IntegrityError):
        store.conn.execute("UPDATE audit SET action = 'x' WHERE id = 2")
    # Someone with the sqlite3 shell drops the triggers and edits entry 2.
    store.conn.execute("DROP TRIGGER audit_no_update")
    store.conn.execute("UPDATE audit SET worker = '别人' WHERE id = 2")
    assert store.verify_audit() == 2
    assert any("2" in p for p in store.check())


def test_check_passes_on_demo_and_counts(demo_store):
    assert demo_store.check() == []
    counts = demo_store.count_live()
    assert counts["households"] == 200 and counts["visits"] > 500 and counts["items"] > 100


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"hello, this is a text file, not a database at all")
    with pytest.raises(VisitlogError, match="不是 visitlog 数据库"):
        Store(path)
    assert path.read_bytes().startswith(b"hello")


def test_foreign_sqlite_database(tmp_path):
    path = tmp_path / "other.db"
    conn = rawdb.connect(path)
    conn.execute("CREATE TABLE stuff (x)")
    conn.commit()
    conn.close()
    with pytest.raises(VisitlogError, match="别的程序"):
        Store(path)


def test_newer_schema_refused_and_untouched(store, db_path):
    store.set_settings(schema_version="99", schema_release="9.0.0")
    store.close()
    before = db_path.read_bytes()
    with pytest.raises(VisitlogError, match=r"9\.0\.0"):
        Store(db_path)
    assert db_path.read_bytes() == before


def test_full_disk_gives_plain_message_and_keeps_data(store):
    hid = _household(store)
    page_count = store.scalar("PRAGMA page_count")
    store.conn.execute(f"PRAGMA max_page_count = {page_count}")
    big = "很长的摘要" * 20000
    with pytest.raises(VisitlogError, match="磁盘已满"):
        store.add_visit(Visit(household_id=hid, visit_date="2026-03-01", visitor="x", summary=big))
    assert store.get_household(hid).address == "曹杨一村1号101室"
    assert store.scalar("SELECT count(*) FROM visits") == 0


def test_readonly_connection_message(store, db_path):
    hid = _household(store)
    store.conn.execute("PRAGMA query_only = 1")
    with pytest.raises(VisitlogError, match="只读"):
        store.add_visit(Visit(household_id=hid, visit_date="2026-03-01", visitor="x"))
    store.conn.execute("PRAGMA query_only = 0")
    assert store.scalar("SELECT count(*) FROM visits") == 0


def test_new_database_is_owner_only(db_path):
    Store(db_path).close()
    assert db_path.stat().st_mode & 0o077 == 0


def test_backup_is_a_consistent_copy(demo_store, tmp_path):
    dest = demo_store.backup(tmp_path / "b" / "copy.db")
    copy = Store(dest)
    assert copy.count_live() == demo_store.count_live() and copy.check() == []
    assert dest.stat().st_mode & 0o077 == 0
    with pytest.raises(VisitlogError):
        demo_store.backup(demo_store.path)


def test_drafts_survive_reopen_and_never_touch_the_database(store, db_path):
    from reliability_support import content_digest

    from visitlog.store import DraftBox

    before = content_digest(db_path)
    box = DraftBox(db_path)
    box.save("visit:abc", "visit", {"summary": "写了一半"})
    box.save("visit:abc", "visit", {"summary": "写了一半，又写了一点"})
    box.save("household:new", "household", {"address": "曹杨一村1号"})
    store.close()
    again = DraftBox(db_path)
    assert [d.data["summary"] for d in again.list("visit")] == ["写了一半，又写了一点"]
    assert {d.id for d in again.list()} == {"visit:abc", "household:new"}
    # beside the database, readable by its owner only, and not the database
    assert content_digest(db_path) == before
    assert again.folder.parent == db_path.parent and again.folder.stat().st_mode & 0o077 == 0
    assert all(p.stat().st_mode & 0o077 == 0 for p in again.folder.iterdir())
    again.discard("visit:abc")
    again.discard("visit:abc")  # twice: nothing to discard, no error
    assert [d.id for d in again.list()] == ["household:new"]


def test_a_damaged_draft_file_is_skipped(db_path):
    from visitlog.store import DraftBox

    box = DraftBox(db_path)
    box.save("visit:ok", "visit", {"summary": "好的"})
    (box.folder / "broken.json").write_text("{not json", encoding="utf-8")
    assert [d.id for d in box.list()] == ["visit:ok"]


def test_a_visit_or_household_given_its_id_is_stored_once(store):
    from visitlog.clock import new_id

    hid = new_id()
    h = store.add_household(Household(id=hid, address="曹杨一村1号101室", micro_grid="一网格"))
    assert h.id == hid
    assert store.add_household(Household(id=hid, address="曹杨一村1号101室", micro_grid="一网格"))
    vid = new_id()
    v = Visit(id=vid, household_id=hid, visit_date="2026-11-20", visitor="王丽华", summary="看望")
    assert store.add_visit(v).id == vid
    assert store.add_visit(v).id == vid  # a retried save: still one visit
    assert [x.id for x in store.list_visits(household=hid)] == [vid]
    assert store.count_live()["households"] == 1


def test_household_overview_flags(demo_store):
    rows = demo_store.household_overview(year=2026)
    assert len(rows) == 200
    row = next(r for r in rows if r["last_visit"])
    visits = demo_store.list_visits(household=row["id"])
    assert row["last_visit"] == max(v.visit_date for v in visits)
    met = any(v.outcome == "见面" and v.visit_date.startswith("2026") for v in visits)
    assert row["visited_this_year"] == met
    unvisited = {h.id for h in demo_store.list_households(unvisited=True, year=2026)}
    assert unvisited == {
        r["id"] for r in rows if not r["visited_this_year"] and r["occupancy"] != "空置"
    }


def test_unsynced_count_follows_changes_and_the_hub_ack(store):
    assert store.unsynced_count() == 0
    hid = _household(store)
    store.add_visit(
        Visit(
            household_id=hid,
            visit_date="2026-03-01",
            visitor="x",
            items=[Item(kind="问题", category="物业", description="漏水")],
        )
    )
    assert store.unsynced_count() == store.scalar("SELECT count(*) FROM change_log") == 3
    store.set_settings(synced_seq="2")
    assert store.unsynced_count() == 1


def test_a_waiting_write_tries_for_the_lock_every_few_milliseconds(store, db_path):
    """A write waiting for another program's write tries again every few
    milliseconds (SQLite's own busy handler sleeps 100 ms between tries once
    it has waited a while): a sync that lets go of the lock for a moment
    between two chunks lets it in within that moment."""
    import threading
    import time

    tries: list[str] = []
    store.conn.set_trace_callback(lambda sql: tries.append(sql) if "IMMEDIATE" in sql else None)
    other = rawdb.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another program's write, for half a second
    releaser = threading.Timer(0.5, lambda: other.execute("COMMIT"))
    releaser.start()
    started = time.monotonic()
    try:
        store.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))
    finally:
        releaser.join()
        other.close()
        store.conn.set_trace_callback(None)
    assert time.monotonic() - started >= 0.45
    assert len(tries) >= 20  # at least one try every 25 ms of the wait
    assert store.count_live()["households"] == 1
    # ... and the statements of a transaction wait as long as they always did
    assert store.scalar("PRAGMA busy_timeout") == 10_000


def test_a_write_reports_its_waits_and_can_give_up(store, db_path):

    store.add_household(Household(address="曹杨一村1号101室", micro_grid="一网格"))
    waits: list[float] = []

    def on_wait(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) < 3  # give up at the third report

    store.report_waits(on_wait, step_ms=20, limit_s=float("inf"))
    other = rawdb.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program's long write
    try:
        with pytest.raises(VisitlogError, match="另一个程序"):
            store.add_household(Household(address="曹杨一村1号102室", micro_grid="一网格"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(waits) == 3 and waits == sorted(waits)
    assert store.count_live()["households"] == 1
    # with the lock free, the same write goes through without a report
    waits.clear()
    store.add_household(Household(address="曹杨一村1号102室", micro_grid="一网格"))
    assert waits == [] and store.count_live()["households"] == 2
