"""The search keys kept in the database (m016) and the compact index read from them."""

from __future__ import annotations

import random
import sqlite3

import pytest
from reliability_support import read_only_dir

from visitlog import search
from visitlog.order import natural_key, sort_text
from visitlog.store import Store
from visitlog.tui.search import CompactIndex, HouseholdIndex, LazyRows, display_order

YEAR = 2026


def _kept(store: Store) -> dict[str, tuple[str, str, str]]:
    rows = store.query_values("SELECT id, sort, keys, fuzzy FROM search_keys")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _compact(store: Store) -> CompactIndex:
    return CompactIndex.read(
        store.search_index(), lambda ids: store.household_overview(ids=ids, year=YEAR)
    )


def _exact_ids(index, query: str, still_due: bool = False) -> list[str]:
    result = index.search(query, still_due=still_due)
    indices = list(result.indices[: result.exact])
    if result.more_pending:
        indices = index.rest(result, still_due)
    return [index.rows[i]["id"] for i in indices]


def test_sort_text_orders_as_natural_key_does():
    rng = random.Random(7)
    parts = ["曹杨", "一村", "1", "2", "10", "007", "号", "弄", "-", " ", "a", "99999999999999"]

    def name() -> str | None:
        if rng.random() < 0.05:
            return None
        return "".join(rng.choice(parts) for _ in range(rng.randint(0, 5)))

    for _ in range(20_000):
        a, b = (name(), name()), (name(), name())
        by_key = (natural_key(a[0]), natural_key(a[1])) < (natural_key(b[0]), natural_key(b[1]))
        assert (sort_text(*a) < sort_text(*b)) == by_key, (a, b)
        # SQLite compares TEXT as UTF-8 bytes: the same order.
        assert (sort_text(*a).encode() < sort_text(*b).encode()) == by_key, (a, b)


def test_refresh_keeps_the_keys_of_every_live_household(demo_store):
    assert demo_store.search_keys_count() == (0, 200)
    assert search.refresh(demo_store) == 200
    assert demo_store.search_keys_count() == (200, 200)
    kept = _kept(demo_store)
    for row in demo_store.household_overview(year=YEAR):
        assert kept[row["id"]] == (
            search.order_text(row),
            search.row_key(row),
            search.fuzzy_text(row),
        )
    # Nothing missing: nothing made again.
    assert search.refresh(demo_store) == 0


def test_a_change_by_anyone_drops_the_keys_and_refresh_makes_them_again(demo_store):
    search.refresh(demo_store)
    first, second, third, fourth = (r["id"] for r in demo_store.household_overview()[:4])
    demo_store.update_household(first, head="欧阳娜娜")
    # Another program on the file: the triggers are in the database itself.
    conn = sqlite3.connect(demo_store.path)
    with conn:
        conn.execute("UPDATE households SET address = '曹杨八村99号101室' WHERE id = ?", [second])
        conn.execute("UPDATE households SET merged_into = ? WHERE id = ?", [fourth, third])
        conn.execute("UPDATE households SET tags = '[]' WHERE id = ?", [fourth])
    conn.close()
    kept = _kept(demo_store)
    assert first not in kept and second not in kept and third not in kept
    # A field the keys are not made from does not drop them.
    assert fourth in kept
    assert search.refresh(demo_store) == 2  # the merged one is no longer live
    kept = _kept(demo_store)
    assert "ouyangnana oynn" in kept[first][1] and "欧阳娜娜" in kept[first][1]
    # Made again from the row as the other program left it (its raw spelling's initials).
    assert "cybc99h101s" in kept[second][1]
    assert third not in kept
    assert demo_store.search_keys_count() == (199, 199)


def test_a_household_deleted_from_the_file_takes_its_keys_along(demo_store):
    search.refresh(demo_store)
    gone = demo_store.household_overview()[0]["id"]
    conn = sqlite3.connect(demo_store.path)
    with conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM households WHERE id = ?", [gone])
    conn.close()
    assert gone not in _kept(demo_store)


def test_keys_of_a_household_changed_after_they_were_read_are_not_kept(demo_store):
    row = demo_store.search_keys_missing("", 1)[0]
    demo_store.update_household(row["id"], head="李雷")
    # Made from what was read before the edit: refused, the household's stamp moved on.
    demo_store.put_search_keys([(*search.keys_of(row), row["hlc"])])
    assert row["id"] not in _kept(demo_store)
    search.refresh(demo_store)
    assert "李雷" in _kept(demo_store)[row["id"]][1]


def test_a_read_only_database_makes_no_keys(demo_db, tmp_path):
    folder = tmp_path / "stick"
    folder.mkdir()
    with Store(demo_db) as s:
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dest = folder / "street.db"
    dest.write_bytes(demo_db.read_bytes())
    with read_only_dir(folder), Store(dest) as store:
        assert store.read_only
        assert search.refresh(store) == 0
        assert store.search_keys_count() == (0, 200)


@pytest.mark.parametrize(
    "query", ["cy1c", "曹杨一村1", "1号", "王", "zhang", "138", "一村12号", "xyz不存在", "c"]
)
def test_the_compact_index_finds_what_the_in_memory_one_finds(demo_store, query):
    search.refresh(demo_store)
    rows = display_order(demo_store.household_overview(year=YEAR))
    memory = HouseholdIndex(rows)
    compact = _compact(demo_store)
    assert compact.ids == [r["id"] for r in rows]
    assert _exact_ids(compact, query) == _exact_ids(memory, query)
    compact.set_due(demo_store.households_due(YEAR))
    assert _exact_ids(compact, query, still_due=True) == _exact_ids(memory, query, still_due=True)


def test_the_first_matches_then_the_rest(demo_store, monkeypatch):
    search.refresh(demo_store)
    compact = _compact(demo_store)
    everything = _exact_ids(compact, "曹杨")
    assert len(everything) > 20
    monkeypatch.setattr(CompactIndex, "FIRST", 7)
    compact = _compact(demo_store)
    first = compact.search("曹杨")
    assert first.more_pending and first.exact == 7
    assert [compact.rows[i]["id"] for i in first.indices] == everything[:7]
    rest = compact.rest(first)
    assert [compact.rows[i]["id"] for i in rest] == everything
    # Typing on narrows the complete list (no rescan needed).
    longer = compact.search("曹杨一")
    assert not longer.more_pending
    assert [compact.rows[i]["id"] for i in longer.indices[: longer.exact]] == [
        i for i in everything if i in set(_exact_ids(HouseholdIndex(_rows(demo_store)), "曹杨一"))
    ]
    # A cancelled rest gives up.
    assert compact.rest(compact.search("1"), cancelled=lambda: True) is None


def _rows(store: Store) -> list[dict]:
    return display_order(store.household_overview(year=YEAR))


def test_near_matches_of_a_typo(demo_store):
    search.refresh(demo_store)
    compact = _compact(demo_store)
    target = next(r for r in _rows(demo_store) if r.get("head") and len(r["head"]) == 3)
    typo = target["head"][:2] + "鑫"
    result = compact.search(typo)
    near = compact.near(result, limit=40)
    assert target["id"] in [compact.rows[i]["id"] for i in near]


def test_lazy_rows_read_a_page_in_one_query(demo_store):
    calls: list[int] = []
    ids = [r["id"] for r in _rows(demo_store)]

    def fetch(wanted: list[str]) -> list[dict]:
        calls.append(len(wanted))
        return demo_store.household_overview(ids=wanted, year=YEAR)

    rows = LazyRows([*ids[:50], "gone-household"], fetch)
    rows.prefetch(range(40))
    assert calls == [40]
    assert [rows[i]["id"] for i in range(40)] == ids[:40]
    assert calls == [40]  # kept
    assert rows[50] == {"id": "gone-household"}
    assert rows.position(ids[7]) == 7 and rows.position("nobody") is None
    assert rows.kept(ids[7])["id"] == ids[7] and rows.kept(ids[45]) is None
    with pytest.raises(TypeError):
        list(rows)


def test_an_older_file_gets_the_table_and_its_triggers(tmp_path):
    import rawdb
    from sqlite_utils import Database

    from visitlog.store import migrations

    old = tmp_path / "old.db"
    db = Database(rawdb.connect(old, isolation_level=None))
    migrations.migrations.apply(db, stop_before="m016_search_keys")
    assert (
        db.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchone()[0] == "13"
    )
    db.conn.close()
    with Store(old) as store:
        assert store.schema_version == migrations.LATEST == 15
        names = {
            r[0]
            for r in store.query_values("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert {"search_keys_changed", "search_keys_gone"} <= names
        assert store.search_keys_count() == (0, 0)
        assert store.get_setting("schema_release") == "0.3.0"


def test_lazy_rows_read_many_ids_a_few_at_a_time(demo_store, monkeypatch):
    monkeypatch.setattr(LazyRows, "STEP", 3)
    calls: list[int] = []
    ids = [r["id"] for r in _rows(demo_store)]

    def fetch(wanted: list[str]) -> list[dict]:
        calls.append(len(wanted))
        return demo_store.household_overview(ids=wanted, year=YEAR)

    rows = LazyRows(ids, fetch)
    rows.prefetch(range(10))
    assert calls == [3, 3, 3, 1]
    assert [rows[i]["id"] for i in range(10)] == ids[:10]


def test_lazy_rows_keep_only_the_latest_rows_read(demo_store, monkeypatch):
    monkeypatch.setattr(LazyRows, "KEEP", 5)
    ids = [r["id"] for r in _rows(demo_store)]
    rows = LazyRows(ids, lambda wanted: demo_store.household_overview(ids=wanted, year=YEAR))
    rows.prefetch(range(10))
    assert rows.kept(ids[0]) is None and rows.kept(ids[4]) is None
    assert [rows.kept(ids[i])["id"] for i in range(5, 10)] == ids[5:10]
    # Read again when asked for.
    assert rows[0]["id"] == ids[0] and rows.kept(ids[0])["id"] == ids[0]


def test_demo_makes_the_keys_of_a_large_street(cli, db_path, monkeypatch):
    monkeypatch.setattr(search, "KEEP_FROM", 150)
    assert cli("demo", "--households", "160", "--seed", "3").exit_code == 0
    with Store(db_path) as store:
        assert store.search_keys_count() == (160, 160)


def test_demo_of_a_small_street_leaves_them_to_the_app(cli, db_path, monkeypatch):
    monkeypatch.setattr(search, "KEEP_FROM", 150)
    assert cli("demo", "--households", "100", "--seed", "3").exit_code == 0
    with Store(db_path) as store:
        assert store.search_keys_count() == (0, 100)
