"""Incremental household de-duplication (``dedup households --changed``): the
households added or changed since the last run, against all the others."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

from dedup_corpus import generate

from visitlog.dedup import households as dedup_households
from visitlog.dedup.dwellings import AliasBook
from visitlog.dedup.fields import FIELDS, PRIOR_LAMBDA
from visitlog.dedup.model import Model
from visitlog.dedup.results import REVIEW_FLOOR
from visitlog.model import Household
from visitlog.store import Store
from visitlog.store import household_row as _household_row

SEED = 1


def _rows(corpus, community: str | None = None, rename: tuple[str, str] | None = None):
    out = []
    for h in corpus.households():
        h = h.validated()
        if community:
            h.community = community
            h.micro_grid = h.micro_grid.replace("曹杨一村", rename[0])
            h.address = h.address.replace(*rename)
            h.estate = h.estate.replace(*rename) if h.estate else h.estate
            h.ref = f"{rename[0]}-{h.ref}"
        out.append(h)
    return out


def _insert(store: Store, households: list[Household]) -> list[str]:
    rows = [_household_row(h) for h in households]
    before = {r["id"] for r in store.query("SELECT id FROM households")}
    with store.transaction() as tx:
        tx.insert_many("households", rows)
    return [r["id"] for r in store.query("SELECT id FROM households") if r["id"] not in before]


def _stored(store: Store) -> tuple[Model, AliasBook]:
    """The model and the aliases the last run kept."""
    mark = json.loads(store.get_setting(dedup_households.MARK))
    model = Model.from_state(FIELDS, PRIOR_LAMBDA, mark["model"])
    assert model is not None
    return model, AliasBook.from_state(mark["book"])


def _whole(store: Store, kept: tuple[Model, AliasBook], changed: set[str]):
    """Every candidate pair with a changed household, scored over the whole
    database with the last run's model and aliases: what the incremental run
    must give."""
    model, book = kept
    run = dedup_households._Run(store, model=model, only=changed, book=book)
    out = {}
    for i, j in run.pairs:
        a, b = sorted((run.houses[i].id, run.houses[j].id))
        out[(a, b)] = round(dedup_households.weight_to_score(run.scored(i, j)[0]), 9)
    return out


def _street(tmp_path):
    """Two 居民区 of messy rosters; 15% of the first's rows held back as "new"."""
    store = Store(tmp_path / "street.db")
    first = _rows(generate(SEED, 6))
    second = _rows(generate(SEED + 1, 6), community="兰溪路居民区", rename=("曹杨", "兰溪"))
    rng = random.Random(SEED)
    later = set(rng.sample(range(len(first)), len(first) * 15 // 100))
    _insert(store, [h for n, h in enumerate(first) if n not in later] + second)
    return store, [h for n, h in enumerate(first) if n in later], second


def test_changed_run_gives_the_whole_runs_pairs_of_the_changed_households(tmp_path):
    store, held_back, second = _street(tmp_path)
    whole = dedup_households.find_households(store)
    assert whole.stats["changed"] is None
    new_ids = set(_insert(store, held_back))
    # a household of the other 居民区 listed again by this one (its number, its name)
    theirs = next(h for h in second if h.head and h.phone and h.address)
    moved = Household(
        address=theirs.address,
        micro_grid="曹杨一村1号网格",
        community="曹杨一村居民区",
        head=theirs.head,
        phone=theirs.phone,
    )
    moved_id = _insert(store, [moved])[0]
    new_ids.add(moved_id)
    # and an old household edited to look like another one
    victim = store.query("SELECT id FROM households ORDER BY id LIMIT 1")[0]["id"]
    store.update_household(victim, head="杨军")
    kept = _stored(store)

    result = dedup_households.find_households(store, changed=True)

    changed = new_ids | {victim}
    assert result.stats["changed"] == len(changed)
    assert result.stats["records"] < whole.stats["records"] + len(changed)
    expected = {k: v for k, v in _whole(store, kept, changed).items() if v >= REVIEW_FLOOR}
    got = {(p.a, p.b): round(p.score, 9) for p in result.pairs}
    assert got == expected
    theirs_id = store.scalar(
        "SELECT id FROM households WHERE phone = ? AND community = '兰溪路居民区'", [theirs.phone]
    )
    assert tuple(sorted((moved_id, theirs_id))) in got
    # the clusters hold changed households only with the pairs found
    for cluster in result.clusters:
        assert changed & set(cluster)
    # and the held-back duplicates are found again
    assert len(result.clusters) >= len(held_back) // 3


def test_nothing_changed_compares_nothing(tmp_path):
    store, _held, _second = _street(tmp_path)
    dedup_households.find_households(store)
    again = dedup_households.find_households(store, changed=True)
    assert again.stats["changed"] == 0
    assert again.stats["candidate_pairs"] == 0
    assert again.pairs == [] and again.clusters == []


def test_changed_without_a_last_run_compares_every_household(tmp_path):
    store, _held, _second = _street(tmp_path)
    first = dedup_households.find_households(store, changed=True)
    assert first.stats["changed"] is None
    assert first.stats["records"] == store.scalar("SELECT count(*) FROM households")
    assert store.get_setting(dedup_households.MARK)


def test_a_restored_backup_is_compared_in_full(tmp_path):
    store, held_back, _second = _street(tmp_path)
    older = tmp_path / "older.db"
    store.close()
    shutil.copy(tmp_path / "street.db", older)
    store = Store(tmp_path / "street.db")
    _insert(store, held_back)
    dedup_households.find_households(store)
    mark = store.get_setting(dedup_households.MARK)
    # the older file with the newer file's mark: it does not hold what the mark says
    restored = Store(older)
    restored.keep_setting(dedup_households.MARK, mark)
    result = dedup_households.find_households(restored, changed=True)
    assert result.stats["changed"] is None
    assert result.stats["records"] == restored.scalar("SELECT count(*) FROM households")


def test_a_mark_of_other_fields_or_unreadable_is_a_whole_run(tmp_path):
    store, _held, _second = _street(tmp_path)
    dedup_households.find_households(store)
    mark = json.loads(store.get_setting(dedup_households.MARK))
    mark["model"]["fields"][0][1].append("new-level")
    store.keep_setting(dedup_households.MARK, json.dumps(mark))
    assert dedup_households.find_households(store, changed=True).stats["changed"] is None
    store.keep_setting(dedup_households.MARK, "{not json")
    assert dedup_households.find_households(store, changed=True).stats["changed"] is None


def test_an_alias_decided_since_the_last_run_reads_every_household_again(tmp_path):
    from visitlog.dedup import add_alias

    store, _held, _second = _street(tmp_path)
    dedup_households.find_households(store)
    assert dedup_households.find_households(store, changed=True).stats["changed"] == 0
    add_alias(store, "花溪路58弄", "曹杨一村")
    assert dedup_households.find_households(store, changed=True).stats["changed"] is None
    assert dedup_households.find_households(store, changed=True).stats["changed"] == 0


def test_received_changes_count_as_changed(tmp_path):
    """A household synced in from another laptop is new to this one's next run."""
    from visitlog.sync import sync_with

    store, _held, _second = _street(tmp_path)
    hub = tmp_path / "hub.db"
    sync_with(store, hub)
    dedup_households.find_households(store)
    original = store.query(
        "SELECT * FROM households WHERE head IS NOT NULL AND phone IS NOT NULL "
        "AND community = '兰溪路居民区' ORDER BY id LIMIT 1"
    )[0]
    other = Store(tmp_path / "other.db")
    other.init_identity("李四", "other")
    copy_id = other.add_household(
        Household(
            address=original["address"],
            micro_grid=original["micro_grid"],
            community=original["community"],
            head=original["head"],
            phone=original["phone"],
        )
    ).id
    sync_with(other, hub)
    sync_with(store, hub)
    result = dedup_households.find_households(store, changed=True)
    assert result.stats["changed"] == 1
    # with the original (and any copy of it the rosters already had)
    assert any({original["id"], copy_id} <= set(c) for c in result.clusters)


def test_model_state_round_trip_scores_alike():
    model = Model(FIELDS, PRIOR_LAMBDA)
    model.lam = 0.25
    model.set_random(Counter({(0,) * len(FIELDS): 10}), 5, 1000)
    again = Model.from_state(FIELDS, PRIOR_LAMBDA, json.loads(json.dumps(model.state())))
    assert again is not None
    pattern = tuple(0 for _ in FIELDS)
    assert again.match_weight(pattern) == model.match_weight(pattern)
    assert Model.from_state(FIELDS, PRIOR_LAMBDA, {"fields": []}) is None
    assert Model.from_state(FIELDS, PRIOR_LAMBDA, None) is None


def test_alias_book_state_reads_places_alike(tmp_path):
    from visitlog.dedup.houses import alias_book

    store, _held, _second = _street(tmp_path)
    book = alias_book(store)
    assert book.aliases
    again = AliasBook.from_state(json.loads(json.dumps(book.state())))
    assert [a.to_json() for a in again.aliases] == [a.to_json() for a in book.aliases]
    run = dedup_households._Run(store)
    for h in run.houses:
        assert again.estate(h.scope, h.dwelling, h.column) == book.estate(
            h.scope, h.dwelling, h.column
        )


def test_many_changed_households_are_compared_in_a_whole_run(tmp_path, monkeypatch):
    store, held_back, _second = _street(tmp_path)
    dedup_households.find_households(store)
    _insert(store, held_back)
    monkeypatch.setattr(dedup_households, "CHANGED_UP_TO", len(held_back) - 1)
    result = dedup_households.find_households(store, changed=True)
    assert result.stats["changed"] is None
    assert result.stats["changed_many"] == len(held_back)
    assert result.stats["records"] == store.scalar("SELECT count(*) FROM households")
    # and the mark moved on: nothing is new to the next run
    assert dedup_households.find_households(store, changed=True).stats["changed"] == 0


def test_the_changed_households_neighbours_are_found_through_indexes(tmp_path):
    """Numbers, heads, addresses and grids are looked up, never by reading every row."""
    from visitlog.dedup.houses import Cache

    store, held_back, _second = _street(tmp_path)
    ids = set(_insert(store, held_back))
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        rows, changed = dedup_households._neighbourhood(store, ids, Cache())
    finally:
        store.conn.set_trace_callback(None)
    assert changed == ids and len(rows) > len(ids)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert any("json_each" in s for s in reads)
    for sql in reads:
        plan = " | ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN h" not in plan and "SCAN households" not in plan, (sql[:120], plan)
        if "json_each" in sql:
            assert "COVERING INDEX households_numbers" in plan, plan


def test_a_database_from_before_the_dedup_indexes_gets_them(tmp_path):
    import rawdb
    from sqlite_utils import Database

    from visitlog.store import migrations

    old = tmp_path / "old.db"
    db = Database(rawdb.connect(old, isolation_level=None))
    migrations.migrations.apply(db, stop_before="m014_dedup_indexes")
    before = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "households_numbers" not in before and "households_head" not in before
    db.conn.close()
    store = Store(old)
    names = {
        r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {"households_head", "households_numbers"} <= names
