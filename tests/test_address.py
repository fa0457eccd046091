"""Tests for visitlog.address: normalisation keys, parsing, pinyin, phones, rooms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visitlog.address import (
    AddressParts,
    building_key,
    name_initials,
    name_pinyin,
    normalize_address,
    normalize_phone,
    normalize_query,
    parse_address,
    room_distance,
    search_keys,
)

CAOYANG_KEY = "曹杨1村12号301室"


@pytest.mark.parametrize(
    "spelling",
    [
        "曹杨一村12号301室",
        "曹杨1村12号301",
        "普陀区曹杨一村十二号301室",
        "上海市普陀区曹杨新村街道曹杨一村12号楼301室",
        "曹杨一村１２号３０１室",
        "曹杨一村12-301",
        "曹杨一村12号 301",
        "曹杨一村 12 301",
        "曹杨一村12幢301",
        "曹杨一村12栋301室",
        "曹杨一村十二号三〇一室",
        "曹杨一村十二号三〇一",
        "曹杨一村12#301",
        "曹杨一村12/301",
        "曹杨一村12，301",
        "上海普陀曹杨一村12号301室",
        "上海市 普陀区 曹杨一村 12号 301室",
        "曹杨一村12－301",
        "（曹杨一村）12号301室。",
    ],
)
def test_spellings_of_one_room_share_a_key(spelling: str) -> None:
    assert normalize_address(spelling) == CAOYANG_KEY


@pytest.mark.parametrize(
    "spelling",
    ["枣阳路100弄12号楼301室", "枣阳路一百弄十二幢301室", "枣阳路100-12-301"],
)
def test_road_lane_spellings_share_a_key(spelling: str) -> None:
    assert normalize_address(spelling) == "枣阳路100弄12号301室"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("十二号", "12号"),
        ("二十八弄", "28弄"),
        ("三〇一室", "301室"),
        ("三零一室", "301室"),
        ("一百零五号", "105号"),
        ("一百五十号", "150号"),
        ("一百五号", "150号"),
        ("一百号", "100号"),
        ("两千零一号", "2001号"),
        ("曹杨三村五支弄", "曹杨3村5支弄"),
        ("万里城一街坊", "万里城1街坊"),
        ("曹杨一村三单元", "曹杨1村3单元"),
        ("曹杨一村十二号楼四层", "曹杨1村12号4层"),
    ],
)
def test_chinese_numerals_before_units_become_digits(raw: str, key: str) -> None:
    assert normalize_address(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("百禧公园", "百禧公园"),
        ("万里城", "万里城"),
        ("三门路", "三门路"),
        ("一心家园", "一心家园"),
        ("中远两湾城", "中远两湾城"),
        ("百禧公园三号", "百禧公园3号"),
        ("三门路一百弄", "三门路100弄"),
        ("一心家园二十八弄三〇一室", "一心家园28弄301室"),
        # A malformed positional numeral is left as written, not guessed at.
        ("十十号", "十十号"),
    ],
)
def test_names_containing_numerals_are_kept(raw: str, key: str) -> None:
    assert normalize_address(raw) == key


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        # 上海 is only a prefix when followed by a district: 上海新村 is an estate.
        ("上海市上海新村1号", "上海新村1号"),
        # Bare district names start road names; they stay.
        ("上海长宁路1号", "长宁路1号"),
        ("上海浦东南路1号", "浦东南路1号"),
        ("浦东新区浦东大道1号", "浦东大道1号"),
        ("静安区宝山路街道宝山路1号", "宝山路1号"),
        ("宝山路1号", "宝山路1号"),
        ("普陀曹杨一村", "普陀曹杨1村"),
        ("闸北区芷江西路街道1号", "1号"),
        ("上海市崇明县1号", "1号"),
    ],
)
def test_prefixes(raw: str, key: str) -> None:
    assert normalize_address(raw) == key


@pytest.mark.parametrize("raw", [None, "", "   ", "，。、", "上海市普陀区"])
def test_nothing_usable_gives_empty_key(raw: str | None) -> None:
    assert normalize_address(raw) == ""


def test_different_rooms_keep_different_keys() -> None:
    assert normalize_address("曹杨一村12号301室") != normalize_address("曹杨一村12号302室")
    assert normalize_address("曹杨一村12号301室") != normalize_address("曹杨二村12号301室")
    assert normalize_address("曹杨一村12号301室") != normalize_address("曹杨一村21号301室")


_ADDRESS_ALPHABET = (
    "曹杨新村路弄支号楼幢栋室层街坊道区县市上海普陀浦东宝山百禧万里城门"
    "零〇一二两三四五六七八九十百千"
    "0123456789０１２３-－—#/ 　,，()（）aAｂ"
)


@given(st.text())
def test_normalize_is_idempotent_on_any_text(text: str) -> None:
    key = normalize_address(text)
    assert normalize_address(key) == key


@given(st.text(alphabet=_ADDRESS_ALPHABET, max_size=30))
def test_normalize_is_idempotent_on_address_like_text(text: str) -> None:
    key = normalize_address(text)
    assert normalize_address(key) == key
    # The key only ever holds key characters: no spaces, no full-width forms.
    assert not any(ch.isspace() or "\uff00" <= ch <= "\uffef" for ch in key)
    # And the parts can always be read back without error.
    parse_address(text)


# No deadline: the first example pays for pypinyin's lazy import (~0.3 s).
@settings(deadline=None)
@given(st.text())
def test_other_functions_do_not_crash(text: str) -> None:
    parse_address(text)
    building_key(text)
    normalize_query(text)
    normalize_phone(text)
    room_distance(text, "301")
    assert isinstance(search_keys(text), str)
    assert isinstance(name_pinyin(text), str)
    assert isinstance(name_initials(text), str)


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("曹杨一村12号301室", AddressParts("曹杨1村", "12", "301")),
        ("枣阳路一百弄十二幢301室", AddressParts("枣阳路100弄", "12", "301")),
        ("12-301", AddressParts(None, "12", "301")),
        ("曹杨一村", AddressParts("曹杨1村", None, None)),
        ("曹杨一村301室", AddressParts("曹杨1村", None, "301")),
        ("枣阳路100号", AddressParts("枣阳路", "100", None)),
        ("", AddressParts(None, None, None)),
    ],
)
def test_parse_address(raw: str, parts: AddressParts) -> None:
    assert parse_address(raw) == parts


def test_address_parts_are_frozen() -> None:
    parts = parse_address("曹杨一村12号301室")
    with pytest.raises(AttributeError):
        parts.room = "302"  # type: ignore[misc]


def test_building_key() -> None:
    assert building_key("普陀区曹杨一村十二号301室") == "曹杨1村12号"
    assert building_key("曹杨1村12号302") == "曹杨1村12号"
    assert building_key("枣阳路100弄12号楼301室") == "枣阳路100弄12号"
    # Unknown estate or building: no block, rather than a huge one.
    assert building_key("12号301室") is None
    assert building_key("曹杨一村") is None
    assert building_key(None) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("王晓明", "王小明"),
        ("张伟", "张 伟"),
        ("张伟", "張偉"),
        ("李娜", "李 娜 "),
        # Read by phrase, 重庆 would make 重 "chong" here but "zhong" in 李重青.
        ("李重庆", "李重青"),
    ],
)
def test_name_pinyin_meets(a: str, b: str) -> None:
    assert name_pinyin(a) == name_pinyin(b)
    assert name_pinyin(a) != ""


def test_name_pinyin_values() -> None:
    assert name_pinyin("王晓明") == "wangxiaoming"
    assert name_pinyin("张伟") == "zhangwei"
    assert name_pinyin("吕") == "lv"
    assert name_pinyin("John Smith") == "johnsmith"
    assert name_pinyin("王晓明") != name_pinyin("汪晓敏")
    assert name_pinyin("") == ""
    assert name_pinyin(None) == ""


def test_name_initials() -> None:
    assert name_initials("曹杨一村") == "cyyc"
    assert name_initials(normalize_address("曹杨一村")) == "cy1c"
    assert name_initials("曹杨1村12号301室") == "cy1c12h301s"
    assert name_initials("Ａ座") == "az"
    assert name_initials("") == ""
    assert name_initials(None) == ""


@pytest.mark.parametrize(
    "query",
    [
        "cy1c",
        "CY1C",
        "cyyc",
        "曹杨1村",
        "曹杨一村",
        "一村",
        "１村",
        "12号301",
        "12-301",
        "12号楼",
        "301",
    ],
)
def test_search_finds_caoyang(query: str) -> None:
    keys = search_keys("曹杨一村12号301室")
    assert normalize_query(query) in keys


@pytest.mark.parametrize("query", ["cy2c", "二村", "13号", "302", "12-302"])
def test_search_misses_other_places(query: str) -> None:
    keys = search_keys("曹杨一村12号301室")
    assert normalize_query(query) not in keys


def test_query_typed_one_character_at_a_time_keeps_matching() -> None:
    keys = search_keys("曹杨一村12号301室")
    typed = "曹杨1村12号301"
    for end in range(1, len(typed) + 1):
        assert normalize_query(typed[:end]) in keys


def test_search_keys_shape() -> None:
    assert search_keys("曹杨一村12号301室") == "曹杨1村12号301室 cy1c12h301s cyyc12h301s"
    assert search_keys("") == ""
    assert search_keys(None) == ""
    assert normalize_query(None) == ""


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086 138 1234 5678",
        "86-138-1234-5678",
        "138-1234-5678",
        "(138) 1234 5678",
        "138 1234 5678",
        "１３８１２３４５６７８",
        "13812345678.0",
        "1.3812345678E+10",
        13812345678,
        13812345678.0,
    ],
)
def test_phone_forms(raw: str | int | float) -> None:
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("021-6234 5678", "02162345678"),
        ("(021)62345678", "02162345678"),
        ("+86 21 6234 5678", "02162345678"),
    ],
)
def test_landline_forms(raw: str, phone: str) -> None:
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "62345678",
        "1381234567",
        "138123456789",
        "13812345678.5",
        "13812345678 转 123",
        "13812345678/13912345678",
        "没有",
        True,
    ],
)
def test_phone_rejects(raw: str | None) -> None:
    assert normalize_phone(raw) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("301", "301", (0, "equal")),
        ("301", "301室", (0, "equal")),
        ("301", "３０１", (0, "equal")),
        ("301", "三〇一", (0, "equal")),
        ("302", "320", (1, "swap")),
        ("301", "031", (1, "swap")),
        ("301", "302", (1, "typo")),
        ("301", "3010", (1, "different")),
        ("101", "202", (2, "different")),
        ("301", "", (3, "different")),
        ("", "", (0, "equal")),
    ],
)
def test_room_distance(a: str, b: str, expected: tuple[int, str]) -> None:
    assert room_distance(a, b) == expected


def test_module_is_headless_and_lazy() -> None:
    # A fresh interpreter: importing the module must not pull in textual (the
    # layering rule) nor pay for pypinyin's dictionaries until a name is used.
    code = (
        "import sys, visitlog.address as a;"
        "assert 'textual' not in sys.modules;"
        "assert 'pypinyin' not in sys.modules;"
        "a.name_pinyin('王');"
        "assert 'pypinyin' in sys.modules"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.parametrize(
    ("address", "estate", "key"),
    [
        ("12-301", "曹杨一村", "曹杨1村12号301室"),
        ("12号301室", "曹杨一村", "曹杨1村12号301室"),
        ("曹杨一村12号301室", "曹杨一村", "曹杨1村12号301室"),
        ("花溪路45弄12号301室", "曹杨一村", "花溪路45弄12号301室"),  # names its own place
        ("12-301", None, "12号301室"),
        ("12-301", "", "12号301室"),
        ("12-301", "12号", "12号301室"),  # a 小区 cell that is a building is no estate
    ],
)
def test_household_key_reads_a_bare_address_with_its_estate(address, estate, key):
    from visitlog.address import household_key

    assert household_key(address, estate) == key


def test_an_overlong_address_is_read_only_to_its_first_thousand_characters():
    # A pasted page of digits: the key is that of its first MAX_READ
    # characters (the patterns may cost the square of the length).
    from visitlog.address import MAX_READ, normalize_address, parse_address

    text = "花溪路" + "1" * 100_000 + "号"
    assert normalize_address(text) == normalize_address(text[:MAX_READ])
    assert parse_address(text).building is None  # the 号 beyond the limit is not read
