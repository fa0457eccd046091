"""Listings stream: ``--json`` is one valid array, ``--jsonl`` one object a
line, and records are written while the database still has rows to give."""

from __future__ import annotations

import json
import sys

import pytest

from visitlog.store import Store, listing, rowmap
from visitlog.store import households as household_records

LISTINGS = [
    (["household", "list"], "list_households", {}),
    (["visit", "list"], "list_visits", {}),
    (["item", "list"], "list_items", {}),
    (
        ["household", "list", "--grid", "曹杨一村2号网格"],
        "list_households",
        {"grid": "曹杨一村2号网格"},
    ),
    (["item", "list", "--open"], "list_items", {"open_only": True}),
]


@pytest.mark.parametrize(("args", "method", "query"), LISTINGS)
def test_json_is_one_array_and_jsonl_one_object_a_line(demo_cli, demo_db, args, method, query):
    with Store(demo_db) as store:
        expected = [r.id for r in getattr(store, method)(**query)]
    assert expected
    whole = demo_cli(*args, "--json")
    assert whole.exit_code == 0, whole.output
    records = json.loads(whole.stdout)
    assert [r["id"] for r in records] == expected
    lines = demo_cli(*args, "--jsonl")
    assert lines.exit_code == 0, lines.output
    texts = lines.stdout.splitlines()
    assert len(texts) == len(expected)
    assert [json.loads(line) for line in texts] == records


def test_visits_carry_their_items_in_both_forms(demo_cli, demo_db):
    with Store(demo_db) as store:
        expected = {v.id: [i.id for i in v.items] for v in store.list_visits()}
    assert any(expected.values())
    for flag in ("--json", "--jsonl"):
        out = demo_cli("visit", "list", flag).stdout
        visits = json.loads(out) if flag == "--json" else [json.loads(x) for x in out.splitlines()]
        assert {v["id"]: [i["id"] for i in v["items"]] for v in visits} == expected


def test_an_empty_listing_is_an_empty_array(cli):
    assert json.loads(cli("household", "list", "--json").stdout) == []
    assert cli("household", "list", "--jsonl").stdout == ""


def test_the_audit_counts_what_is_written(demo_cli, demo_db):
    out = demo_cli("household", "list", "--jsonl")
    written = len(out.stdout.splitlines())
    with Store(demo_db) as store:
        detail = store.query(
            "SELECT detail FROM audit WHERE action = 'household.export' ORDER BY id DESC LIMIT 1"
        )[0]["detail"]
    assert json.loads(detail)["rows"] == written
    assert json.loads(detail)["format"] == "jsonl"


def test_records_are_written_before_the_last_row_is_read(demo_cli, monkeypatch):
    """Each batch is written before the next is read: when the last rows are
    turned into households, most of the listing is already on stdout."""
    monkeypatch.setattr(listing, "BATCH", 10)
    seen: list[int] = []
    real = rowmap.household_from_row

    def spy(row):
        sys.stdout.flush()
        seen.append(sys.stdout.buffer.getvalue().count(b'"id"'))
        return real(row)

    monkeypatch.setattr(household_records, "household_from_row", spy)
    out = demo_cli("household", "list", "--jsonl")
    total = len(out.stdout.splitlines())
    assert total == len(seen) > 100
    # the last row was read with all but its own batch already written
    assert seen[-1] >= total - 10
    assert seen[0] == 0


def test_other_json_is_laid_out_an_object_a_line(demo_cli, demo_db):
    """``plan --json`` (as every other ``--json``) is the same JSON as before,
    written by the C encoder: the households due an object a line."""
    import datetime as dt

    from visitlog.plan import make_plan

    with Store(demo_db) as store:
        expected = make_plan(store, until=dt.date(2099, 12, 31), today=dt.date.today()).to_json()
    out = demo_cli("plan", "--until", "2099-12-31", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == expected
    lines = out.stdout.splitlines()
    assert len(expected) > 10
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(expected) + 2
    assert [json.loads(line.strip().rstrip(",")) for line in lines[1:-1]] == expected


@pytest.mark.parametrize(
    "value",
    [{}, [], {"a": []}, {"a": [{"b": 1}], "c": {"d": [1, "乙"]}}, [{"x": None}, {"y": 2.5}], "甲"],
)
def test_the_layout_is_the_same_json(value):
    from visitlog.visible import json_layout

    assert json.loads(json_layout(value)) == value
