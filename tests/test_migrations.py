"""Schema migrations: a blank database and one at the first schema both reach the latest."""

from __future__ import annotations

import rawdb
from sqlite_utils import Database

from visitlog.store import Store, migrations


def _schema(path) -> dict[str, set[str]]:
    conn = rawdb.connect(path)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}
    out["_indexes"] = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('index','trigger') AND name NOT LIKE 'sqlite_%'"
        )
    }
    conn.close()
    return out


def test_blank_database_reaches_latest(tmp_path):
    path = tmp_path / "new.db"
    store = Store(path)
    assert store.schema_version == migrations.LATEST
    applied = [m.name for m in migrations.migrations.applied(store.db)]
    assert applied == [m.name for m in migrations.migrations._migrations]
    assert {
        "households",
        "visits",
        "items",
        "changes",
        "audit",
        "settings",
        "conflicts",
        "drafts",
    } <= set(_schema(path))
    store.close()


def test_first_schema_upgrades_and_keeps_data(tmp_path):
    old = tmp_path / "old.db"
    db = Database(rawdb.connect(old, isolation_level=None))
    first = migrations.migrations._migrations[0].name
    second = migrations.migrations._migrations[1].name
    migrations.migrations.apply(db, stop_before=second)
    assert [m.name for m in migrations.migrations.applied(db)] == [first]
    db.execute(
        "INSERT INTO households (id, micro_grid, address, created_at, hlc, device) "
        "VALUES ('hh0001', 'g', '曹杨一村1号101室', 'now', '0000000000001.00000', 'dev')"
    )
    db.conn.close()

    store = Store(old)
    assert store.schema_version == migrations.LATEST
    assert store.get_household("hh0001").address == "曹杨一村1号101室"
    store.close()
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert _schema(old) == _schema(fresh)


def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "x.db"
    Store(path).close()
    store = Store(path)
    assert migrations.migrations.pending(store.db) == []
    names = [m.name for m in migrations.migrations.applied(store.db)]
    assert len(names) == len(set(names))
    store.close()


def test_phones_are_read_from_contacts_stored_before_they_existed(tmp_path):
    old = tmp_path / "old.db"
    db = Database(rawdb.connect(old, isolation_level=None))
    migrations.migrations.apply(db, stop_before="m008_household_phones")
    for hid, phone in (("hh0001", "02162345678"), ("hh0002", "13812345678"), ("hh0003", None)):
        db.execute(
            "INSERT INTO households (id, micro_grid, address, phone, created_at, hlc, device) "
            "VALUES (?, 'g', '曹杨一村1号101室', ?, 'now', '0000000000001.00000', 'dev')",
            [hid, phone],
        )
    db.conn.close()
    store = Store(old)
    try:
        got = {h: store.get_household(h).phones for h in ("hh0001", "hh0002", "hh0003")}
    finally:
        store.close()
    assert got == {"hh0001": ["02162345678"], "hh0002": ["13812345678"], "hh0003": []}
