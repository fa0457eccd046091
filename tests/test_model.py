"""Domain model: enumerations, dates, validation messages."""

from __future__ import annotations

import datetime as dt

import pytest

from visitlog.i18n import set_lang
from visitlog.model import (
    Category,
    Household,
    Item,
    Kind,
    Mode,
    Outcome,
    Status,
    Tag,
    ValidationError,
    Visit,
    parse_date,
    parse_tags,
)


@pytest.mark.parametrize(
    ("enum_cls", "text", "expected"),
    [
        (Mode, "入户", "入户"),
        (Mode, "home", "入户"),
        (Mode, "HOME", "入户"),
        (Outcome, "met", "见面"),
        (Outcome, " 不在家 ", "不在家"),
        (Kind, "problem", "问题"),
        (Status, "fed-back", "已反馈"),
        (Category, "ebike-charging", "非机动车充电"),
    ],
)
def test_enum_accepts_chinese_and_english(enum_cls, text, expected):
    assert enum_cls.parse(text).value == expected


def test_enum_error_names_field_and_choices():
    with pytest.raises(ValidationError) as err:
        Mode.parse("飞鸽传书")
    msg = str(err.value)
    assert "走访方式" in msg and "飞鸽传书" in msg and "入户" in msg and "\n" not in msg


def test_enum_error_in_english():
    set_lang("en")
    with pytest.raises(ValidationError, match="visit mode 'carrier pigeon' is not valid"):
        Mode.parse("carrier pigeon")


@pytest.mark.parametrize("text", ["2026-03-18", "2026/3/18", "2026.03.18"])
def test_parse_date_forms(text):
    assert parse_date(text) == dt.date(2026, 3, 18)


@pytest.mark.parametrize("text", ["2026-02-30", "yesterday", "18/03/2026", "2026-13-01"])
def test_parse_date_rejects(text):
    with pytest.raises(ValidationError, match="年-月-日"):
        parse_date(text)


def test_parse_tags_separators_and_unknown():
    assert parse_tags("独居老人、高龄，低保;残疾；dibao") == ["独居老人", "高龄", "低保", "残疾"]
    with pytest.raises(ValidationError, match="富豪"):
        parse_tags("独居老人、富豪")


def test_household_validation_cleans_phone_and_members():
    h = Household(
        address=" 曹杨一村1号101室 ",
        micro_grid="1号网格",
        phone="+86 138-1234-5678",
        members="3",
        tags="高龄、独居老人",
    ).validated()
    assert (h.address, h.phone, h.phones, h.members, h.tags) == (
        "曹杨一村1号101室",
        "+86 138-1234-5678",
        ["13812345678"],
        3,
        ["高龄", "独居老人"],
    )


@pytest.mark.parametrize("phone", ["62345678", "12345", "138****5678", "见备注", "62345678转123"])
def test_no_phone_refuses_a_household(phone):
    h = Household(address="曹杨一村1号101室", micro_grid="1号网格", phone=phone).validated()
    assert h.phone == phone


def test_id_numbers_are_cut_from_every_text_field():
    h = Household(
        address="曹杨一村1号101室",
        micro_grid="1号网格",
        ref="110101194803121232",
        head="王秀英 110101194803121232",
        note="身份证：110101194803121232；独居",
    ).validated()
    assert (h.ref, h.head, h.note) == (None, "王秀英", "独居")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"address": ""}, "地址"),
        ({"micro_grid": " "}, "微网格"),
        ({"members": "三"}, "人数"),
        ({"members": -1}, "人数"),
        ({"occupancy": "别墅"}, "居住状态"),
        ({"tags": "不存在的标签"}, "标签"),
    ],
)
def test_household_validation_errors(kwargs, fragment):
    base = {"address": "曹杨一村1号101室", "micro_grid": "1号网格"}
    with pytest.raises(ValidationError, match=fragment):
        Household(**(base | kwargs)).validated()


def test_visit_validation_future_date_and_defaults():
    today = dt.date(2026, 11, 27)
    v = Visit(
        household_id="h1",
        visit_date="2026/11/2",
        visitor="王丽华",
        items=[Item(kind="problem", category="物业", description="门禁坏了")],
    ).validated(today)
    assert v.visit_date == "2026-11-02" and v.mode == "入户" and v.outcome == "见面"
    assert v.items[0].raised_date == "2026-11-02" and v.items[0].status == "待办"
    with pytest.raises(ValidationError, match="将来"):
        Visit(household_id="h1", visit_date="2206-11-02", visitor="x").validated(today)


def test_item_spec_parsing():
    item = Item.from_spec(Kind.PROBLEM, "物业：门禁坏了")
    assert (item.category, item.description) == ("物业", "门禁坏了")
    item = Item.from_spec(Kind.DEMAND, "希望有人陪同就医: 周三")
    assert (item.category, item.description) == ("其他", "希望有人陪同就医: 周三")
    assert Item.from_spec(Kind.DEMAND, "medical:配药").category == "医疗"


def test_every_enum_alias_is_unique():
    for cls in (Mode, Outcome, Kind, Status, Category, Tag):
        aliases = [m.alias for m in cls]
        assert len(set(aliases)) == len(aliases)
