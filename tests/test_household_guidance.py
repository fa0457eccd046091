"""`household add` and `visit add --problem` guide: 居民区 from the 微网格, known addresses,
categories from the list."""

from __future__ import annotations

import pytest

from visitlog.model import Category, Item, Kind, ValidationError


def _add(cli, *args: str):
    return cli("household", "add", *args)


def test_community_follows_from_an_existing_grid(cli):
    assert (
        _add(
            cli, "-a", "曹杨一村1号101室", "-g", "一村1号网格", "--community", "曹杨一村"
        ).exit_code
        == 0
    )
    added = cli.json("household", "add", "-a", "曹杨一村2号101室", "-g", "一村1号网格")
    assert added["community"] == "曹杨一村"


def test_a_mistyped_community_of_a_known_grid_is_refused(cli):
    _add(cli, "-a", "曹杨一村1号101室", "-g", "一村1号网格", "--community", "曹杨一村")
    result = _add(cli, "-a", "曹杨一村3号101室", "-g", "一村1号网格", "--community", "曹杨1村")
    assert result.exit_code == 1
    assert "属于居民区“曹杨一村”" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(cli.json("household", "list")) == 1


def test_a_new_grid_keeps_the_community_given(cli):
    added = cli.json("household", "add", "-a", "枣阳路1号", "-g", "新网格", "--community", "枣阳")
    assert added["community"] == "枣阳"


@pytest.mark.parametrize(
    "spelling", ["曹杨1村12号301", "普陀区曹杨一村十二号301室", "曹杨一村１２号３０１室"]
)
def test_an_address_already_recorded_is_refused_without_yes(cli, spelling):
    first = cli.json("household", "add", "-a", "曹杨一村12号301室", "-g", "一村1号网格")
    result = _add(cli, "-a", spelling, "-g", "一村1号网格")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "看起来已经登记过" in line and first["id"][-8:] in line and "--yes" in line
    assert len(cli.json("household", "list")) == 1
    # --yes adds it anyway (two registered households behind one door)
    assert _add(cli, "-a", spelling, "-g", "一村1号网格", "--yes").exit_code == 0
    assert len(cli.json("household", "list")) == 2


def test_a_different_room_is_not_a_look_alike(cli):
    _add(cli, "-a", "曹杨一村12号301室", "-g", "一村1号网格")
    assert _add(cli, "-a", "曹杨一村12号302室", "-g", "一村1号网格").exit_code == 0


def test_unknown_category_is_refused_with_the_list(cli):
    hid = cli.json("household", "add", "-a", "曹杨一村1号101室", "-g", "一村1号网格")["id"]
    result = cli("visit", "add", "-H", hid, "--visitor", "王", "--problem", "灯具:楼道灯坏了")
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "没有“灯具”这个类别" in line
    for category in Category:
        assert category.value in line
    assert cli.json("visit", "list") == []
    english = cli("--lang", "en", "visit", "add", "-H", hid, "--visitor", "W", "--problem", "x:y")
    assert english.exit_code == 1 and "repair (房屋修缮)" in english.stderr


def test_no_category_still_means_other(cli):
    hid = cli.json("household", "add", "-a", "曹杨一村1号101室", "-g", "一村1号网格")["id"]
    visit = cli.json(
        "visit", "add", "-H", hid, "--visitor", "王",
        "--problem", "楼道灯坏了", "--demand", "希望有人陪同就医: 周三", "--problem", "物业：门禁坏了",
    )  # fmt: skip
    got = [(i["category"], i["description"]) for i in visit["items"]]
    assert ("其他", "楼道灯坏了") in got
    assert ("其他", "希望有人陪同就医: 周三") in got
    assert ("物业", "门禁坏了") in got


@pytest.mark.parametrize("spec", ["灯具:坏了", "lamp:broken", "灯具：坏了"])
def test_item_spec_with_an_unknown_short_category(spec):
    with pytest.raises(ValidationError, match="类别"):
        Item.from_spec(Kind.PROBLEM, spec)


def test_item_spec_aliases_still_parse():
    assert Item.from_spec(Kind.DEMAND, "elderly-care:助餐").category == "养老助餐助医"
