"""Every grid's open items, a page at a time: the index that orders them, the
pages and counts, and the migration that brings the index to an older file."""

from __future__ import annotations

import datetime as dt

import rawdb
from sqlite_utils import Database

from visitlog.model import OPEN_STATUSES
from visitlog.store import Store, migrations

TODAY = dt.date(2026, 11, 27)


def _expected_order(items, today: dt.date):
    """The order the list promises, written out: overdue first, then by deadline
    (none last), then by the day it was raised, then by id."""

    def key(i):
        late = i.status in {s.value for s in OPEN_STATUSES} and bool(
            i.deadline and i.deadline < today.isoformat()
        )
        return (not late, i.deadline is None, i.deadline or "", i.raised_date or "", i.id)

    return sorted(items, key=key)


def test_every_grids_open_items_come_in_pages_from_the_index(demo_store: Store):
    store = demo_store
    everything = store.list_items(open_only=True, today=TODAY)
    assert len(everything) > 60  # more than a page: the demo street has hundreds
    assert [i.id for i in everything] == [i.id for i in _expected_order(everything, TODAY)]
    paged = []
    while page := store.list_items(open_only=True, today=TODAY, limit=25, offset=len(paged)):
        paged += page
    assert [i.id for i in paged] == [i.id for i in everything]
    # Read straight from items_open in that order: no sort of every open item.
    sql, params = store._items_query(True, False, None, None, None, None, TODAY)
    plan = " | ".join(r["detail"] for r in store.query(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "items_open" in plan and "TEMP B-TREE" not in plan


def test_counts_match_the_list_with_filters(demo_store: Store):
    store = demo_store
    for query in (
        {},
        {"grid": "曹杨一村1号网格"},
        {"kind": "需求"},
        {"kind": "问题", "grid": "曹杨一村2号网格"},
    ):
        listed = store.list_items(open_only=True, today=TODAY, **query)
        late = sum(bool(i.deadline and i.deadline < TODAY.isoformat()) for i in listed)
        assert store.count_items(open_only=True, today=TODAY, **query) == (len(listed), late)
        assert listed, query  # each filter lists something on the demo street


def test_open_only_order_is_the_order_of_all_statuses_restricted(demo_store: Store):
    """The simpler ORDER BY of open items gives what the general one gives them."""
    store = demo_store
    everything = store.list_items(today=TODAY)
    open_values = {s.value for s in OPEN_STATUSES}
    assert [i.id for i in everything if i.status in open_values] == [
        i.id for i in store.list_items(open_only=True, today=TODAY)
    ]


def test_an_older_file_gets_the_index_and_keeps_its_schema_version(tmp_path):
    old = tmp_path / "old.db"
    db = Database(rawdb.connect(old, isolation_level=None))
    migrations.migrations.apply(db, stop_before="m013_open_items_index")
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "items_open" not in names
    version = db.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchone()[0]
    db.conn.close()
    db = Database(rawdb.connect(old, isolation_level=None))
    migrations.migrations.apply(db, stop_before="m015_inserts_kept_by_row")
    assert db.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchone()[0] == (
        version
    )
    db.conn.close()
    with Store(old) as store:
        assert int(version) == 12 and store.schema_version == migrations.LATEST == 15
        names = {
            r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert "items_open" in names


def test_without_the_index_the_pages_are_the_same(demo_store: Store):
    """A database whose items_open was dropped lists the same pages, read without it."""
    store = demo_store
    before = [i.id for i in store.list_items(open_only=True, today=TODAY, limit=20, offset=10)]
    store.conn.execute("DROP INDEX items_open")
    assert not store.has_index("items_open")
    assert [
        i.id for i in store.list_items(open_only=True, today=TODAY, limit=20, offset=10)
    ] == before
