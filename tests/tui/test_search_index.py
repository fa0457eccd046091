"""The search index behind the home screen (pure Python, no app)."""

from __future__ import annotations

from visitlog.address import normalize_query, search_keys
from visitlog.order import natural_key
from visitlog.search import address_keys
from visitlog.tui.search import HouseholdIndex, display_order


def test_cached_keys_equal_the_address_modules_keys(tui_store):
    rows = tui_store.household_overview()
    assert rows
    for r in rows:
        assert address_keys(r["address"], r["address_key"]) == search_keys(r["address"])
        assert address_keys(r["address"]) == search_keys(r["address"])


def test_odd_spellings_keep_their_keys():
    for address in (
        "普陀区曹杨一村十二号301室",
        "曹杨一村１２号３０１室",
        "枣阳路100弄12号楼301室",
        "曹杨一村12-301",
        "上海市普陀区曹杨新村街道曹杨一村12号楼301室",
        "",
    ):
        assert address_keys(address) == search_keys(address), address


def test_narrowing_gives_the_same_rows_as_a_full_scan(tui_store):
    index = HouseholdIndex(tui_store.household_overview())
    typed = ""
    for ch in "cy1c12h3":
        typed += ch
        narrowed = index.search(typed).indices[: index.search(typed).exact]
        fresh = HouseholdIndex(index.rows).search(typed)
        assert narrowed == fresh.indices[: fresh.exact], typed
    # a query that is not an extension starts over
    other = index.search("王")
    q = normalize_query("王")
    assert other.indices[: other.exact] == [i for i, k in enumerate(index.keys) if q in k]


def test_head_names_by_characters_pinyin_and_initials():
    rows = [
        {"id": "a", "address": "曹杨一村1号101室", "head": "张伟"},
        {"id": "b", "address": "曹杨一村1号102室", "head": "王小明"},
    ]
    index = HouseholdIndex(rows)
    for query, expected in (("张伟", "a"), ("zhangwei", "a"), ("wxm", "b"), ("小明", "b")):
        result = index.search(query)
        assert [rows[i]["id"] for i in result.indices[: result.exact]] == [expected], query


def test_still_due_and_near_matches():
    rows = [
        {
            "id": "met",
            "address": "曹杨一村1号101室",
            "visited_this_year": True,
            "occupancy": "自住",
        },
        {
            "id": "due",
            "address": "曹杨一村1号102室",
            "visited_this_year": False,
            "occupancy": "自住",
        },
        {
            "id": "vacant",
            "address": "曹杨一村1号103室",
            "visited_this_year": False,
            "occupancy": "空置",
        },
        {
            "id": "other",
            "address": "枣阳路100弄5号101室",
            "visited_this_year": False,
            "occupancy": "自住",
        },
    ]
    index = HouseholdIndex(rows)
    due = index.search("", still_due=True)
    assert [rows[i]["id"] for i in due.indices] == ["due", "other"]
    near = index.search("曹扬一村1号")  # 扬 for 杨
    assert near.exact == 0
    assert {rows[i]["id"] for i in near.indices} == {"met", "due", "vacant"}


def test_numbers_sort_as_numbers():
    rows = [
        {"micro_grid": g, "address_key": a}
        for g, a in (
            ("10号网格", "曹杨1村2号101室"),
            ("2号网格", "曹杨1村10号101室"),
            ("2号网格", "曹杨1村9号101室"),
            ("2号网格", "曹杨1村9号1201室"),
        )
    ]
    ordered = [(r["micro_grid"], r["address_key"]) for r in display_order(rows)]
    assert ordered == [
        ("2号网格", "曹杨1村9号101室"),
        ("2号网格", "曹杨1村9号1201室"),
        ("2号网格", "曹杨1村10号101室"),
        ("10号网格", "曹杨1村2号101室"),
    ]
    assert natural_key("a2") < natural_key("a10")


def test_a_number_in_chinese_still_being_typed_keeps_its_rows():
    """曹杨一 is on the way to 曹杨一村, which the keys hold as 曹杨1村: the rows
    of 曹杨一村 stay listed at every character, not gone at 一 and back at 村;
    a name with 一 in it is found too, and 一百 is not read as a prefix of 100."""
    rows = [
        {"id": "a", "address": "曹杨一村1号101室", "head": "张伟"},
        {"id": "b", "address": "曹杨二村3号202室", "head": "王一鸣"},
        {"id": "c", "address": "枣阳路105弄2号301室", "head": "李四"},
    ]
    index = HouseholdIndex(rows)
    shown = []
    for typed in ("曹", "曹杨", "曹杨一", "曹杨一村", "曹杨一村1号"):
        result = index.search(typed)
        shown.append([rows[i]["id"] for i in result.indices[: result.exact]])
        fresh = HouseholdIndex(rows).search(typed)
        assert result.indices[: result.exact] == fresh.indices[: fresh.exact], typed
    assert shown == [["a", "b"], ["a", "b"], ["a"], ["a"], ["a"]]
    found = index.search("王一")
    assert [rows[i]["id"] for i in found.indices[: found.exact]] == ["b"]
    hundred = index.search("枣阳路一百")
    assert hundred.exact == 0
    room = index.search("三〇")
    assert [rows[i]["id"] for i in room.indices[: room.exact]] == ["c"]
