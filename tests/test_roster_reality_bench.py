"""The scoring of bench/roster_reality.py: rows found again, losses by reason, pairs counted right.

The benchmark's figures are only as good as its bookkeeping, so that is
checked here on a small corpus with made-up database contents and dedup
results whose right answers are known.
"""

from __future__ import annotations

import re
import sys
from itertools import combinations
from pathlib import Path

import pytest
import real_roster as rr

# The repository root, where the bench package lives, is not on sys.path under pytest.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.roster_reality import (
    altered_phones,
    dedup_figures,
    id_leaks,
    import_figures,
    map_rows,
    reason_kind,
)


@pytest.fixture(scope="module")
def corpus() -> rr.Corpus:
    return rr.generate(3, households=700)


def _stored(corpus: rr.Corpus, rows: list[rr.RosterRow]) -> list[dict]:
    return [
        {
            "id": f"h{r.index}",
            "ref": str(r.cells["编号"]),
            "micro_grid": r.cells["微网格"],
            "address": str(r.cells["地址"]).strip(),
            "head": str(r.cells["户主"]).strip() or None,
            "note": None,
        }
        for r in rows
    ]


def test_rows_are_found_by_ref_or_by_what_was_written(corpus: rr.Corpus):
    rows = corpus.rows
    stored = _stored(corpus, rows[::2])  # every other row was lost
    stored[0]["ref"] = "changed-by-the-importer"
    mapped = map_rows(corpus, stored)
    assert mapped[rows[0].index] == "h0"  # found by 微网格 + 地址 + 户主
    assert set(mapped) == {r.index for r in rows[::2]}
    assert all(mapped[i] == f"h{i}" for i in mapped)


def test_losses_by_reason_and_form(corpus: rr.Corpus):
    rows = corpus.rows
    lost = [r for r in rows if "landline8" in r.forms["phone"]]
    mapped = {r.index: f"h{r.index}" for r in rows if r not in lost}
    lines = {r.index: (r.roster, r.index + 10) for r in rows}
    rejects = {r.roster: {} for r in rows}
    for r in lost:
        value = r.cells["联系电话"]
        rejects[r.roster][r.index + 10] = (
            f"联系电话“{value}”无效：去掉 +86、空格和横线后应为 11 位数字。"
        )
    figures = import_figures(corpus, mapped, lines, rejects)
    assert figures["lost"] == len(lost) > 0
    assert figures["reasons"] == {"联系电话“…”无效：去掉 +N、空格和横线后应为 N 位数字": len(lost)}
    by_form = {(f["field"], f["form"]): f for f in figures["by_form"]}
    assert by_form[("phone", "landline8")]["lost"] == by_form[("phone", "landline8")]["rows"]
    assert by_form[("phone", "phone_empty")]["lost"] == 0
    plain = sum(1 for r in lost if r.forms["head"] == ("name_plain",))
    assert (
        0
        < by_form[("head", "name_plain")]["lost"]
        == plain
        < by_form[("head", "name_plain")]["rows"]
    )


def test_reasons_group_without_their_values():
    a = reason_kind("联系电话“62345678”无效：去掉 +86、空格和横线后应为 11 位数字。")
    b = reason_kind("联系电话“138****5678”无效：去掉 +86、空格和横线后应为 11 位数字。")
    assert a == b
    assert reason_kind("编号“CY1-0001”与第 12 行重复。") != a


def test_perfect_dedup_scores_one_and_a_false_merge_is_counted(corpus: rr.Corpus):
    mapped = {r.index: f"h{r.index}" for r in corpus.rows}
    clusters = [[f"h{i}" for i in idx] for idx in corpus.rows_by_household.values() if len(idx) > 1]
    perfect = dedup_figures(corpus, mapped, {"threshold": 0.9, "clusters": clusters, "pairs": []})
    assert perfect["found"] == perfect["true_pairs"] == len(corpus.true_pairs())
    assert perfect["false_pairs"] == 0
    assert all(c["found"] == c["pairs"] for c in perfect["classes"])
    assert all(la["merged"] == 0 for la in perfect["lookalikes"])

    look = next(la for la in corpus.lookalikes if la.cls == "owner_two_flats")
    a, b = corpus.rows_by_household[look.a][0], corpus.rows_by_household[look.b][0]
    wrong = [[f"h{a}", f"h{b}"]]
    pairs = [{"a": f"h{a}", "b": f"h{b}", "score": 0.95}]
    merged = dedup_figures(corpus, mapped, {"threshold": 0.9, "clusters": wrong, "pairs": pairs})
    owner = next(la for la in merged["lookalikes"] if la["class"] == "owner_two_flats")
    assert owner["merged"] == owner["listed"] == 1
    assert merged["found"] == 0 and merged["false_pairs"] == 1
    assert merged["predicted_pairs"] == len(list(combinations(wrong[0], 2)))


def test_id_numbers_in_stored_fields_are_found(corpus: rr.Corpus):
    h = corpus.households[0]
    stored = [
        {"id": "a", "note": f"身份证号: {h.id_number}", "ref": "CY1-0001"},
        {"id": "b", "note": "身份证号: 310***********1234", "ref": "310107123456789017"},
        {"id": "c", "note": "楼组长", "ref": "12"},
    ]
    leaks = id_leaks(stored)
    assert leaks["valid"] == {"note": 1}
    assert leaks["masked"] == {"note": 1}
    assert leaks["shaped"] == {"ref": 1}  # 18 digits, but no possible birth date


def test_a_phone_stored_as_another_number_is_counted(corpus: rr.Corpus):
    rows = [r for r in corpus.rows if r.forms["phone"] == ("landline_ext_zhuan",)][:2]
    plain = next(r for r in corpus.rows if r.forms["phone"] == ("landline8",))
    mapped = {r.index: f"h{r.index}" for r in [*rows, plain]}
    stored = [
        # what an importer that drops every non-digit makes of 62345678转123
        {"id": f"h{rows[0].index}", "phone": re.sub(r"\D", "", rows[0].cells["联系电话"])},
        {"id": f"h{rows[1].index}", "phone": rows[1].cells["联系电话"]},  # kept as written
        {"id": f"h{plain.index}", "phone": "021" + plain.cells["联系电话"]},  # understood
    ]
    assert altered_phones(corpus, mapped, stored) == {"landline_ext_zhuan": 1}
