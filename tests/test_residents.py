"""Phones, names, address remarks and ID numbers as rosters write them (visitlog.residents)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visitlog.residents import (
    find_ids,
    is_id_header,
    name_key,
    phone_numbers,
    read_name,
    read_phones,
    split_address_remarks,
    strip_ids,
)
from visitlog.residents.idnumbers import valid_id

# -- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "numbers"),
    [
        ("13812345678", ["13812345678"]),
        ("138 1234 5678", ["13812345678"]),
        ("138-1234-5678", ["13812345678"]),
        ("+86 138 1234 5678", ["13812345678"]),
        ("+8613812345678", ["13812345678"]),
        ("86-13812345678", ["13812345678"]),
        ("0086 138 1234 5678", ["13812345678"]),
        ("13812345678.0", ["13812345678"]),
        (13812345678.0, ["13812345678"]),
        ("１３８１２３４５６７８", ["13812345678"]),
        ("62345678", ["02162345678"]),
        ("5847-6446", ["02158476446"]),
        ("021-62345678", ["02162345678"]),
        ("(021)62345678", ["02162345678"]),
        ("（021）62345678", ["02162345678"]),
        ("021 6234 5678", ["02162345678"]),
        ("+86 21 6234 5678", ["02162345678"]),
        (2158942977, ["02158942977"]),
        ("2158942977", ["02158942977"]),
        ("2.158942977E+09", ["02158942977"]),
        ("62345678转123", ["02162345678转123"]),
        ("62345678-8012", ["02162345678转8012"]),
        ("62345678 ext 45", ["02162345678转45"]),
        ("62345678 EXT. 45", ["02162345678转45"]),
        ("62345678-分机12", ["02162345678转12"]),
        ("13812345678/13912345678", ["13812345678", "13912345678"]),
        ("62345678、13812345678", ["02162345678", "13812345678"]),
        ("62345678；13812345678", ["02162345678", "13812345678"]),
        ("62345678;13812345678", ["02162345678", "13812345678"]),
        ("62345678,13812345678", ["02162345678", "13812345678"]),
        ("62345678或13812345678", ["02162345678", "13812345678"]),
        ("62345678 13812345678", ["02162345678", "13812345678"]),
        ("62345678\n13812345678", ["02162345678", "13812345678"]),
        ("62345678转123/13812345678", ["02162345678转123", "13812345678"]),
        ("女儿13812345678", ["13812345678"]),
        ("13812345678（女儿）", ["13812345678"]),
        ("13812345678/13812345678", ["13812345678"]),
    ],
)
def test_numbers_are_understood(written, numbers):
    reading = read_phones(written)
    assert [n.text for n in reading.numbers] == numbers
    assert reading.warnings == ()
    assert reading.unread == ()


def test_extension_is_kept_apart_from_the_number():
    (number,) = read_phones("62345678转123").numbers
    assert number.number == "02162345678"
    assert number.ext == "123"
    assert number.kind == "landline"
    assert read_phones("62345678转123").keys == ("02162345678",)


def test_the_written_text_is_kept():
    assert read_phones(" 021-6234 5678 ").written == "021-6234 5678"
    assert read_phones(2158942977).written == "2158942977"


@pytest.mark.parametrize("written", ["138****5678", "138XXXX5678", "138＊＊＊＊5678"])
def test_masked_number_keeps_only_what_it_says(written):
    reading = read_phones(written)
    (number,) = reading.numbers
    assert number.kind == "masked"
    assert number.number == "138****5678"
    assert number.last4 == "5678"
    assert reading.keys == ()
    assert reading.warnings == ("phone_masked",)


@pytest.mark.parametrize(
    ("written", "unread"),
    [
        ("1381234567", ("1381234567",)),
        ("138123456789", ("138123456789",)),
        ("6234567", ("6234567",)),
        ("见备注", ("见备注",)),
    ],
)
def test_unreadable_values_are_flagged_not_refused(written, unread):
    reading = read_phones(written)
    assert reading.numbers == ()
    assert reading.unread == unread
    assert reading.warnings == ("phone_unreadable",)


def test_one_bad_number_does_not_hide_the_good_one():
    reading = read_phones("1381234567 13912345678")
    assert reading.keys == ("13912345678",)
    assert reading.warnings == ("phone_unreadable",)


def test_scientific_form_that_lost_digits_is_flagged():
    reading = read_phones("1.38123E+10")
    assert reading.numbers == ()
    assert reading.warnings == ("phone_shortened",)


@pytest.mark.parametrize("written", [None, "", "  ", "无", "暂无", "-", "/"])
def test_no_phone(written):
    reading = read_phones(written)
    assert reading.numbers == () and reading.warnings == ()


def test_phone_numbers_is_what_is_stored():
    assert phone_numbers("62345678转123 / 138****5678") == ["02162345678转123", "138****5678"]
    assert phone_numbers(None) == []


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=True), st.none()))
def test_any_phone_value_reads_without_raising(value):
    reading = read_phones(value)
    for n in reading.numbers:
        assert n.kind in ("mobile", "landline", "masked")
        assert n.number.isdigit() or n.kind == "masked"
        assert n.number.isascii()
    assert set(reading.warnings) <= {"phone_unreadable", "phone_shortened", "phone_masked"}


@given(
    st.lists(
        st.one_of(
            st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
            st.from_regex(r"[2-9][0-9]{7}", fullmatch=True),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["/", "、", "；", " ", "\n", "或", ","]),
)
def test_numbers_joined_by_any_separator_are_all_found(numbers, sep):
    expected = list(dict.fromkeys(n if len(n) == 11 else "021" + n for n in numbers))
    assert list(read_phones(sep.join(numbers)).keys) == expected


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key", "forms"),
    [
        ("王秀英", "王秀英", ()),
        ("老王", "王*", ("nickname",)),
        ("小李", "李*", ("nickname",)),
        ("阿英", "*英", ("nickname",)),
        ("王阿姨", "王*", ("honorific",)),
        ("张老师", "张*", ("honorific",)),
        ("陈师傅", "陈*", ("honorific",)),
        ("王秀英（已故）", "王秀英", ("remark",)),
        ("李强(户主)", "李强", ("remark",)),
        ("赵敏（租客）", "赵敏", ("remark",)),
        ("王秀英/冯玲建", "王秀英/冯玲建", ("two_heads",)),
        ("王秀英、冯玲建", "王秀英/冯玲建", ("two_heads",)),
        ("王秀英／冯玲建", "王秀英/冯玲建", ("two_heads",)),
        ("王秀英 冯玲建", "王秀英/冯玲建", ("two_heads",)),
        ("王*国", "王*国", ("masked",)),
        ("王**", "王*", ("masked",)),
        ("張偉", "张伟", ("traditional",)),
        ("馮玲建", "冯玲建", ("traditional",)),
        ("王\u3000秀英", "王秀英", ("spacing",)),
        ("王 秀英", "王秀英", ("spacing",)),
        ("王.秀英", "王秀英", ("spacing",)),
        ("王秀英。", "王秀英", ("spacing",)),
        ("", "", ()),
    ],
)
def test_names_are_understood(written, key, forms):
    reading = read_name(written)
    assert reading.key == key
    assert reading.forms == forms
    assert reading.written == written.strip()
    assert name_key(written) == key


def test_partial_names_are_flagged_and_say_what_they_know():
    reading = read_name("王*国")
    (person,) = reading.people
    assert (person.full, person.surname, person.last, person.length) == (None, "王", "国", 3)
    assert reading.warnings == ("name_partial",)
    assert read_name("王秀英").warnings == ()


def test_remarks_are_kept():
    assert read_name("王秀英（已故）").remarks == ("已故",)
    assert read_name("王秀英、冯玲建（租客）").full_names == ("王秀英", "冯玲建")


@given(st.text())
def test_any_name_reads_without_raising(text):
    reading = read_name(text)
    assert isinstance(reading.key, str)
    assert "\n" not in reading.key or "\n" in text


# -- address remarks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "address", "remarks"),
    [
        ("【空关】曹杨一村12号301室", "曹杨一村12号301室", ["空关"]),
        ("（出租）曹杨一村12号301室", "曹杨一村12号301室", ["出租"]),
        ("[独居]曹杨一村12号301室", "曹杨一村12号301室", ["独居"]),
        ("曹杨一村12号301室（出租）", "曹杨一村12号301室", ["出租"]),
        ("曹杨一村12号301室【人户分离】", "曹杨一村12号301室", ["人户分离"]),
        ("花溪路45弄12号301 群租", "花溪路45弄12号301", ["群租"]),
        ("曹杨一村12号301室 空关", "曹杨一村12号301室", ["空关"]),
        ("曹杨一村12号301室、出租", "曹杨一村12号301室", ["出租"]),
        ("曹杨一村12号301室、备注：独居老人", "曹杨一村12号301室", ["独居老人"]),
        ("【待核】曹杨一村12号301室（门牌待核）", "曹杨一村12号301室", ["待核", "门牌待核"]),
        # address, not remark
        ("曹杨一村（花溪路45弄）12号301室", "曹杨一村（花溪路45弄）12号301室", []),
        ("曹杨一村 12号301室", "曹杨一村 12号301室", []),
        ("曹杨一村 十二号三〇一室", "曹杨一村 十二号三〇一室", []),
        ("曹杨一村12号301室（花溪路45弄12号）", "曹杨一村12号301室（花溪路45弄12号）", []),
        ("（空关）", "（空关）", []),
    ],
)
def test_address_remarks(written, address, remarks):
    assert split_address_remarks(written) == (address, remarks)


def test_remark_does_not_change_the_address_key():
    from visitlog.address import normalize_address

    plain = normalize_address("曹杨一村12号301室")
    for written in ("【空关】曹杨一村12号301室", "曹杨一村12号301室、备注：独居老人"):
        assert normalize_address(split_address_remarks(written)[0]) == plain


@given(st.text())
def test_any_address_splits_without_raising(text):
    address, remarks = split_address_remarks(text)
    assert address == "" or address in text.strip() or text.strip()
    assert all(isinstance(r, str) and r for r in remarks)


# -- ID numbers ---------------------------------------------------------------------------

VALID_18 = "110101194803121232"
VALID_18_X = "31010719650101003X"


def test_check_digits():
    assert valid_id(VALID_18)
    assert valid_id(VALID_18_X)
    assert not valid_id("110101194803121233")
    assert valid_id("310107480312123")  # 15 digits, 1948-03-12
    assert not valid_id("310107481312123")  # month 13


@pytest.mark.parametrize(
    ("cell", "left"),
    [
        (VALID_18, ""),
        (VALID_18_X.lower(), ""),
        (f"身份证：{VALID_18}；电话为父母家", "电话为父母家"),
        (f"户主 {VALID_18_X}", "户主"),
        ("310***********1234", ""),
        ("310107********123X 备注", "备注"),
        ("310107480312123", ""),
        ("１１０１０１１９４８０３１２１２３２", ""),
    ],
)
def test_ids_are_stripped(cell, left):
    text, n = strip_ids(cell)
    assert text == left
    assert n == 1
    assert find_ids(text) == []


@pytest.mark.parametrize(
    "cell",
    [
        "110101194803121233",  # check digit wrong: a 房屋编码, not an ID
        "13812345678",
        "138****5678",
        "02162345678转123",
        "CY1-0001",
        "31010712345678901234",
        "电话为父母家",
    ],
)
def test_other_numbers_are_left_alone(cell):
    assert strip_ids(cell) == (cell, 0)


@pytest.mark.parametrize(
    "header",
    ["身份证号", "身份证号码", "证件号码", "公民身份号码", "身份证号*", " 身份证 ", "ID Number"],
)
def test_id_headers(header):
    assert is_id_header(header)


@pytest.mark.parametrize("header", ["编号", "联系电话", "备注", "", None])
def test_other_headers(header):
    assert not is_id_header(header)


@settings(max_examples=200)
@given(st.text(), st.sampled_from([VALID_18, VALID_18_X, "310***********1234"]), st.text())
def test_no_id_survives_stripping(before, id_number, after):
    text, n = strip_ids(before + " " + id_number + " " + after)
    assert n >= 1
    assert id_number not in text
    assert find_ids(text) == []
