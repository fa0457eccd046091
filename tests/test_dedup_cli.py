"""``visitlog dedup``: the JSON contract, --apply, undo, ignore, and bad input."""

from __future__ import annotations

import json

from visitlog.model import Household
from visitlog.store import Store


def _messy(db) -> dict[str, str]:
    s = Store(db)
    ids = {
        "a": s.add_household(
            Household(
                address="曹杨一村12号301室", micro_grid="g", head="王建国", phone="13812345678"
            )
        ).id,
        "a2": s.add_household(
            Household(address="普陀区曹杨一村十二号301室", micro_grid="g", head="王建国")
        ).id,
        "shared": s.add_household(
            Household(
                address="曹杨一村12号301室", micro_grid="g", head="李秀珍", phone="13987654321"
            )
        ).id,
    }
    s.close()
    return ids


def test_json_contract_and_apply_then_undo(cli, db_path):
    ids = _messy(db_path)
    out = cli.json("dedup", "households")
    assert set(out) >= {"threshold", "pairs", "clusters"}
    assert out["threshold"] == 0.9
    assert out["clusters"] == [sorted([ids["a"], ids["a2"]])]
    for p in out["pairs"]:
        assert set(p) >= {"a", "b", "score", "reasons"} and p["a"] < p["b"]
        assert all(isinstance(r, str) and r for r in p["reasons"])
    scores = {(p["a"], p["b"]): p["score"] for p in out["pairs"]}
    assert scores[tuple(sorted([ids["a"], ids["a2"]]))] >= 0.9
    assert out["stats"]["candidate_pairs"] <= out["stats"]["all_pairs"]

    applied = cli.json("dedup", "households", "--apply")
    assert applied["clusters"] == out["clusters"]
    (merge_id,) = applied["merges"]
    assert {h["id"] for h in cli.json("household", "list")} == {ids["a"], ids["shared"]}
    assert cli.json("dedup", "households")["clusters"] == []

    result = cli("dedup", "undo", merge_id)
    assert result.exit_code == 0, result.output
    assert merge_id in result.stdout
    assert len(cli.json("household", "list")) == 3
    again = cli("dedup", "undo", merge_id)
    assert again.exit_code == 1
    assert "已经撤销" in again.stderr and "Traceback" not in again.output


def test_apply_prints_merge_ids(cli, db_path):
    _messy(db_path)
    result = cli("dedup", "households", "--apply")
    assert result.exit_code == 0, result.output
    assert "已合并 1 组" in result.stdout
    record = Store(db_path).query("SELECT id FROM dedup_merges")[0]["id"]
    assert record in result.stdout


def test_table_masks_names_and_phones(cli, db_path):
    _messy(db_path)
    result = cli("dedup", "households")
    assert result.exit_code == 0, result.output
    assert "王**" in result.stdout and "王建国" not in result.stdout
    assert "13812345678" not in result.stdout
    revealed = cli("dedup", "households", "--reveal")
    assert "王建国" in revealed.stdout


def test_ignore_means_never_proposed_again(cli, db_path):
    ids = _messy(db_path)
    result = cli("dedup", "ignore", ids["a"], ids["a2"][-8:], "--note", "父子同名")
    assert result.exit_code == 0, result.output
    out = cli.json("dedup", "households")
    assert out["clusters"] == []
    assert all({p["a"], p["b"]} != {ids["a"], ids["a2"]} for p in out["pairs"])


def test_english_reasons(cli, db_path):
    _messy(db_path)
    result = cli("--lang", "en", "dedup", "households", "--json")
    reasons = {r for p in json.loads(result.stdout)["pairs"] for r in p["reasons"]}
    assert "address equal after normalisation" in reasons


def test_visits_command(demo_cli):
    out = demo_cli.json("dedup", "visits")
    assert set(out) >= {"threshold", "pairs", "clusters"}
    assert out["stats"]["records"] > 0


def test_bad_input_is_one_line_and_exit_1(cli, db_path):
    ids = _messy(db_path)
    for args, message in [
        (("dedup", "households", "--threshold", "abc"), "阈值"),
        (("dedup", "households", "--threshold", "1.5"), "阈值"),
        (("dedup", "visits", "--threshold", "0"), "阈值"),
        (("dedup", "undo", "no-such-merge"), "找不到"),
        (("dedup", "ignore", ids["a"], ids["a"]), "同一条记录"),
        (("dedup", "ignore", ids["a"], "zzzzzzzz"), "找不到"),
    ]:
        result = cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_missing_argument_is_a_usage_error(cli):
    assert cli("dedup", "undo").exit_code == 2
    assert cli("dedup", "ignore", "onlyone").exit_code == 2


def test_merges_lists_ids_that_undo_accepts(cli, db_path):
    _messy(db_path)
    (merge_id,) = cli.json("dedup", "households", "--apply")["merges"]
    listed = cli.json("dedup", "merges")
    assert [m["id"] for m in listed] == [merge_id]
    assert listed[0]["undone"] == 0 and len(listed[0]["members"]) == 1
    table = cli("dedup", "merges")
    assert merge_id[-8:] in table.stdout
    assert cli("dedup", "undo", merge_id[-8:]).exit_code == 0
    assert cli.json("dedup", "merges")[0]["undone"] == 1


def test_changed_compares_only_what_changed_since_the_last_run(cli, db_path):
    ids = _messy(db_path)
    first = cli("dedup", "households", "--changed", "--json")
    assert first.exit_code == 0, first.output
    assert "这次比较了全部住户" in first.stderr.replace("\n", "")
    assert json.loads(first.stdout)["clusters"] == [sorted([ids["a"], ids["a2"]])]

    quiet = cli("dedup", "households", "--changed")
    assert quiet.exit_code == 0, quiet.output
    assert "只比较了上次查重以来新增或改动的 0 户" in quiet.stderr.replace("\n", "")

    s = Store(db_path)
    again = s.add_household(
        Household(address="曹杨一村12号301", micro_grid="g", head="李秀珍", phone="13987654321")
    ).id
    s.close()
    out = cli.json("dedup", "households", "--changed")
    assert out["stats"]["changed"] == 1
    # the pair found before is not listed again; the new copy is
    assert out["clusters"] == [sorted([ids["shared"], again])]

    english = cli("--lang", "en", "dedup", "households", "--changed")
    assert english.exit_code == 0, english.output
    said = " ".join(english.stderr.split())
    assert "Compared only the 0 households added or changed since the last run" in said
