"""Finding duplicates: blocking, scores, reasons, clusters, decisions (hand-written cases)."""

from __future__ import annotations

import pytest

from visitlog import dedup
from visitlog.dedup import decision_id, mark_distinct
from visitlog.i18n import set_lang
from visitlog.model import Household, Item, ValidationError, Visit


def add(
    store,
    address: str,
    head: str | None = None,
    phone: str | None = None,
    members: int | None = None,
    grid: str = "曹杨一村1号网格",
    estate: str | None = None,
) -> str:
    h = Household(
        address=address, micro_grid=grid, head=head, phone=phone, members=members, estate=estate
    )
    return store.add_household(h).id


def building(store, estate: str = "曹杨一村", b: int = 12, floors: int = 6, units: int = 4):
    """A whole building of distinct households, so rooms have a known layout."""
    ids = {}
    n = 0
    for floor in range(1, floors + 1):
        for unit in range(1, units + 1):
            n += 1
            room = f"{floor}0{unit}"
            ids[room] = add(store, f"{estate}{b}号{room}室", f"住户{n:02d}号", f"1390000{n:04d}")
    return ids


def clustered(result, a: str, b: str) -> bool:
    return any(a in c and b in c for c in result.clusters)


def pair(result, a: str, b: str):
    lo, hi = sorted((a, b))
    return next((p for p in result.pairs if p.a == lo and p.b == hi), None)


# -- spellings used by dedup ----------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "曹杨1村12号301",
        "普陀区曹杨一村十二号301室",
        "曹杨一村１２号３０１室",
        "曹杨一村12-301",
        "曹杨一村12号楼301室",
        "曹杨一村12幢301室",
        "上海市普陀区曹杨新村街道曹杨一村12号301室",
        "曹杨一村 12号 301室",
        "曹杨一村12#301",
        "曹杨一村十二号三〇一室",
    ],
)
def test_spellings_of_one_address_are_the_same_address(store, spelling):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, spelling, "王建国")
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and "address_equal" in p.codes
    assert "地址规范化后相同" in p.reasons
    assert clustered(result, a, b)


def test_building_room_only_address_uses_the_estate_column(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "12-301", "王建国", estate="曹杨一村")
    result = dedup.find_households(store)
    assert clustered(result, a, b)


def test_building_room_only_address_without_estate_meets_within_the_grid(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "12-301", "王建国", "138 1234 5678")
    other_grid = add(store, "12-301", "王建国", grid="别的网格")
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and "estate_unknown" in p.codes
    assert clustered(result, a, b)
    # Another micro-grid's 12-301 is probably another estate's.
    assert not any(other_grid in c for c in result.clusters)
    assert "estate_different" in dedup.explain_households(store, b, other_grid).codes


# -- households: who is and who is not a duplicate -------------------------------------


def test_shared_unit_two_heads_two_phones_is_not_a_duplicate(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678", 2)
    b = add(store, "曹杨一村12号301室", "李秀珍", "13987654321", 2)
    result = dedup.find_households(store)
    assert result.clusters == []
    explained = dedup.explain_households(store, a, b)
    assert "shared_unit" in explained.codes
    assert explained.score < dedup.REVIEW_FLOOR
    assert "同一室号下户主不同、电话不同：按合住的两户处理" in explained.reasons


def test_shared_unit_stays_apart_even_with_a_copy_of_each(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    a2 = add(store, "曹杨1村12-301", "王建国", "13812345678")
    b = add(store, "曹杨一村12号301室", "李秀珍", "13987654321")
    b2 = add(store, "曹杨一村12号楼301室", "李秀珍", "139 8765 4321")
    result = dedup.find_households(store)
    assert sorted(result.clusters) == sorted([sorted([a, a2]), sorted([b, b2])])


def test_homophone_heads_at_one_address_are_merged(store):
    a = add(store, "曹杨一村12号301室", "王晓明")
    b = add(store, "曹杨一村十二号301室", "王小明")
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and "name_homophone" in p.codes
    assert "户主姓名同音" in p.reasons
    assert clustered(result, a, b)


def test_homophone_heads_in_different_rooms_are_not_merged(store):
    a = add(store, "曹杨一村12号301室", "王晓明")
    b = add(store, "曹杨一村12号502室", "王小明")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)


def test_same_room_number_in_the_next_building_is_not_a_duplicate(store):
    a = add(store, "曹杨一村12号301室", "张建国")
    b = add(store, "曹杨一村13号301室", "张建国")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    assert "building_different" in dedup.explain_households(store, a, b).codes


def test_common_name_neighbours_are_not_merged(store):
    rooms = building(store)
    a = add(store, "曹杨一村12号301室", "张伟")
    b = add(store, "曹杨一村12号302室", "张伟")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    assert rooms  # the building is there, so 301 and 302 both really exist


def test_spouse_written_as_head_with_the_same_phone_is_merged(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "李秀珍", "+86 138-1234-5678")
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and {"name_different", "phone_equal"} <= set(p.codes)
    assert "电话相同" in p.reasons
    assert clustered(result, a, b)


def test_spouse_without_a_phone_is_only_listed_for_review(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨一村12号301室", "李秀珍")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)


def test_room_swap_to_a_room_the_building_does_not_have_is_merged(store):
    rooms = building(store)
    real = rooms["302"]
    typo = add(store, "曹杨一村12号320室", "住户10号")
    result = dedup.find_households(store)
    p = pair(result, real, typo)
    assert p is not None
    assert {"room_swap", "room_implausible", "name_equal"} <= set(p.codes)
    assert "室号 302/320 是调换" in p.reasons
    assert clustered(result, real, typo)


def test_room_typo_between_two_real_rooms_needs_more_than_a_name(store):
    rooms = building(store)
    # 303 exists; a second record at 302 with 303's head and no phone.
    other = add(store, "曹杨一村12号302室", "住户11号")
    result = dedup.find_households(store)
    assert not clustered(result, rooms["303"], other)


def test_address_only_record_joins_the_only_household_there(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678", 2)
    bare = add(store, "曹杨一村12号301", members=2)
    result = dedup.find_households(store)
    p = pair(result, a, bare)
    assert p is not None and "only_household" in p.codes
    assert clustered(result, a, bare)


def test_address_only_record_is_not_merged_where_two_households_live(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    add(store, "曹杨一村12号301室", "李秀珍", "13987654321")
    bare = add(store, "曹杨一村12号301")
    result = dedup.find_households(store)
    assert not any(bare in c for c in result.clusters)
    assert "only_household" not in dedup.explain_households(store, a, bare).codes


def test_same_phone_at_unrelated_addresses_is_not_merged(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "枣阳路100弄5号602室", "王建国", "13812345678")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    assert "estate_different" in dedup.explain_households(store, a, b).codes


def test_a_chain_of_near_matches_does_not_glue_a_shared_unit(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨一村12号301室", "李秀珍", "13987654321")
    # Matches a by phone (a spouse's record) and b by name.
    middle = add(store, "曹杨一村12号301室", "李秀珍", "13812345678")
    result = dedup.find_households(store)
    assert not clustered(result, a, b)
    assert any(middle in c for c in result.clusters)


def test_reasons_follow_the_language(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "王建国", "13812345678")
    set_lang("en")
    p = pair(dedup.find_households(store), a, b)
    assert p is not None
    assert "same phone" in p.reasons
    assert "address equal after normalisation" in p.reasons


def test_clusters_are_the_pairs_at_the_threshold(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "王建国")
    p = pair(dedup.find_households(store), a, b)
    assert p is not None
    above = dedup.find_households(store, threshold=p.score)
    below = dedup.find_households(store, threshold=min(1.0, p.score + 0.001))
    assert clustered(above, a, b)
    assert not clustered(below, a, b)
    assert pair(below, a, b) is not None  # still listed for review


def test_bad_threshold_is_refused(store):
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValidationError, match="阈值"):
            dedup.find_households(store, threshold=bad)


def test_never_all_pairs(demo_store):
    first = demo_store.query("SELECT address, head, micro_grid FROM households LIMIT 1")[0]
    add(demo_store, first["address"], first["head"], grid=first["micro_grid"])  # one copy
    result = dedup.find_households(demo_store)
    stats = result.stats
    assert stats["records"] == 201
    assert stats["all_pairs"] == 201 * 200 // 2
    assert 0 < stats["candidate_pairs"] < stats["all_pairs"] / 10


def test_oversized_blocks_are_skipped_and_counted(store):
    for n in range(8):
        add(store, f"曹杨一村{n + 1}号101室", f"住户{n}", "02162345678")
    capped = dedup.find_households(store, max_block=5)
    assert capped.stats["skipped_blocks"] == 1
    assert capped.stats["skipped_block_records"] == 8
    assert capped.stats["candidate_pairs"] == 0
    full = dedup.find_households(store)
    assert full.stats["skipped_blocks"] == 0
    assert full.stats["candidate_pairs"] == 8 * 7 // 2
    assert full.clusters == []  # one office phone does not make them one household


# -- "not a duplicate" ----------------------------------------------------------------


def test_a_pair_declared_distinct_is_never_proposed_again(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "王建国", "13812345678")
    assert clustered(dedup.find_households(store), a, b)
    decided = mark_distinct(store, b[-8:], a, note="父子同名，各自一户")
    assert decided["id"] == decision_id("households", a, b) == decision_id("households", b, a)
    result = dedup.find_households(store)
    assert pair(result, a, b) is None
    assert result.clusters == []
    # Deciding again keeps one row.
    mark_distinct(store, a, b)
    assert store.scalar("SELECT count(*) FROM dedup_decisions") == 1


def test_a_distinct_pair_also_keeps_clusters_apart(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "王建国", "13812345678")
    c = add(store, "曹杨一村12-301", "王建国", "13812345678")
    mark_distinct(store, a, c)
    result = dedup.find_households(store)
    assert not clustered(result, a, c)
    assert len(result.clusters) == 1 and b in result.clusters[0]


def test_mark_distinct_refuses_bad_input(store, demo_store):
    a = add(store, "曹杨一村12号301室", "王建国")
    with pytest.raises(ValidationError):
        mark_distinct(store, a, a)
    with pytest.raises(Exception, match="找不到"):
        mark_distinct(store, a, "no-such-id")
    v = demo_store.list_visits()[0]
    h = demo_store.list_households()[0]
    with pytest.raises(ValidationError, match="不是同一类"):
        mark_distinct(demo_store, v.id, h.id)


# -- visits ---------------------------------------------------------------------------


def _visit(store, hid, date, visitor="陈静", summary="老人身体尚可，子女每周探望。", **kw):
    items = kw.pop("items", [Item(kind="问题", category="房屋修缮", description="卫生间漏水")])
    return store.add_visit(
        Visit(
            household_id=hid, visit_date=date, visitor=visitor, summary=summary, items=items, **kw
        )
    ).id


def test_same_visit_entered_twice_on_one_day_is_a_duplicate(store):
    h = add(store, "曹杨一村12号301室", "王建国")
    a = _visit(store, h, "2026-03-18")
    b = _visit(store, h, "2026-03-18", summary="老人身体尚可，子女每周探望")
    result = dedup.find_visits(store)
    p = pair(result, a, b)
    assert p is not None and {"same_household_day", "summary_similar", "items_similar"} <= set(
        p.codes
    )
    assert clustered(result, a, b)


def test_visits_on_different_days_are_not_candidates(store):
    h = add(store, "曹杨一村12号301室", "王建国")
    a = _visit(store, h, "2026-03-18")
    b = _visit(store, h, "2026-03-19")
    result = dedup.find_visits(store)
    assert pair(result, a, b) is None
    assert result.stats["candidate_pairs"] == 0


def test_visits_that_differ_on_the_day_are_not_merged(store):
    h = add(store, "曹杨一村12号301室", "王建国")
    a = _visit(store, h, "2026-03-18")
    other_visitor = _visit(store, h, "2026-03-18", visitor="李晓燕")
    not_home = _visit(store, h, "2026-03-18", outcome="不在家", summary="敲门无人应答", items=[])
    result = dedup.find_visits(store)
    assert not clustered(result, a, other_visitor)
    assert not clustered(result, a, not_home)
    listed = pair(result, a, other_visitor)
    assert listed is not None and "visitor_different" in listed.codes


def test_visits_with_different_items_are_not_merged(store):
    h = add(store, "曹杨一村12号301室", "王建国")
    a = _visit(store, h, "2026-03-18")
    b = _visit(
        store,
        h,
        "2026-03-18",
        items=[Item(kind="需求", category="养老助餐助医", description="希望上门量血压")],
    )
    assert not clustered(dedup.find_visits(store), a, b)


# -- phones and names as rosters write them --------------------------------------------


@pytest.mark.parametrize(
    ("phone_a", "phone_b"),
    [
        ("62345678", "021-62345678"),
        ("(021)62345678", "2162345678"),
        ("62345678转123", "62345678"),
        ("13812345678/13912345678", "139 1234 5678"),
        ("62345678、13812345678", "+86 138 1234 5678"),
    ],
)
def test_one_number_written_two_ways_is_the_same_phone(store, phone_a, phone_b):
    a = add(store, "曹杨一村12号301室", "王建国", phone_a)
    b = add(store, "曹杨1村12号301", "王建国", phone_b)
    p = pair(dedup.find_households(store), a, b)
    assert p is not None and "phone_equal" in p.codes


def test_a_masked_phone_agrees_by_its_visible_digits(store):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", "王*国", "138****5678")
    c = add(store, "曹杨一村12号302室", "王*国", "138****9999")
    result = dedup.find_households(store)
    assert "phone_partial" in pair(result, a, b).codes
    assert "name_partial" in pair(result, a, b).codes  # 王*国 is not a full name
    assert clustered(result, a, b)
    assert not clustered(result, a, c)


@pytest.mark.parametrize(
    "written", ["王建國", "王建国（户主）", "王 建国", "王建国/李秀珍", "李秀珍、王建国"]
)
def test_head_is_compared_as_understood(store, written):
    a = add(store, "曹杨一村12号301室", "王建国", "13812345678")
    b = add(store, "曹杨1村12号301", written, "13812345678")
    p = pair(dedup.find_households(store), a, b)
    assert p is not None and "name_equal" in p.codes


def test_only_surnames_known_and_different_is_a_different_name(store):
    a = add(store, "曹杨一村12号301室", "老王")
    b = add(store, "曹杨1村12号301", "李阿姨")
    p = pair(dedup.find_households(store), a, b)
    assert p is not None and "name_different" in p.codes


def test_a_shared_landline_with_different_heads_is_left_to_a_person(store):
    # a parent and a grown child registered apart in one flat, one line
    a = add(store, "曹杨一村12号301室", "王建国", "62345678")
    b = add(store, "曹杨1村12号301", "王晓明", "62345678/13912345678")
    result = dedup.find_households(store)
    p = pair(result, a, b)
    assert p is not None and "landline_shared" in p.codes
    assert not clustered(result, a, b)
