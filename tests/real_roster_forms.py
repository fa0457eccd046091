"""Streets, estates and the forms in which committees write addresses, names and phones.

The street table is invented but laid out as 曹杨新村街道 (普陀区) is: each
estate (小区) has a name (曹杨一村) and one 门牌 road and lane (花溪路45弄),
and both name one place; short names (一村, 7村, 桂巷) are what people say.
:data:`ESTATES` is that ground truth; beyond 曹杨新村 come estates of
neighbouring streets, used only for district-size corpora.

Each ``render_*`` function writes one value in one named form and also
returns what a careful reader can still understand from it (the *evidence*:
which person's name, which numbers, fully or only their last digits), which
is what decides whether a duplicate pair can be told from the rows alone.

Plain Python: nothing here imports visitlog.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from real_roster_people import TRADITIONAL

CN_DIGITS = "〇一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def cn_number(n: int) -> str:
    """1..999 as written in words: 十二, 二十八, 一百零五, 三百一十."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    head = CN_DIGITS[hundreds] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + CN_DIGITS[rest]
    return head + ("一" if rest < 20 else "") + cn_number(rest)


# -- places ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estate:
    """A 小区 and its 门牌 road and lane: two addresses of one place.

    Attributes:
        name: the estate's name (曹杨一村).
        road: the road of its 门牌 (花溪路).
        lane: the lane number on that road (45 → 花溪路45弄).
        shorts: short names people write (一村, 1村).
        street: the 街道 it belongs to.
        old: 1950s–80s workers' housing, where some buildings are 非成套
            (two households behind one room number).
    """

    name: str
    road: str
    lane: int
    shorts: tuple[str, ...] = ()
    street: str = "曹杨新村街道"
    old: bool = True

    @property
    def gate(self) -> str:
        """The 门牌 road and lane: 花溪路45弄."""
        return f"{self.road}{self.lane}弄"


@dataclass(frozen=True)
class Community:
    """A 居民区: its name, the stem of its 微网格 names, its 编号 code and its estates."""

    name: str
    grid_stem: str
    code: str
    estates: tuple[Estate, ...]


def _cy(n: int, road: str, lane: int) -> Estate:
    return Estate(f"曹杨{CN_DIGITS[n]}村", road, lane, (f"{CN_DIGITS[n]}村", f"{n}村"))


CY = {
    1: _cy(1, "花溪路", 45),
    2: _cy(2, "兰溪路", 59),
    3: _cy(3, "枣阳路", 200),
    4: _cy(4, "杏山路", 88),
    5: _cy(5, "梅岭北路", 350),
    6: _cy(6, "枫桥路", 38),
    7: _cy(7, "兰溪路", 137),
    8: _cy(8, "花溪路", 113),
    9: _cy(9, "梅岭南路", 120),
}
GUIXIANG = Estate("桂巷新村", "桂巷路", 66, ("桂巷",))
LANXI = Estate("兰溪新村", "兰溪路", 81, ("兰溪",))
HUAXI = Estate("花溪园", "花溪路", 190, (), old=False)
YUANYUAN = Estate("源园", "枣阳路", 166, (), old=False)

#: 曹杨新村街道's 居民区 in the order a corpus uses them: the first three make
#: the 2,000-household street (曹杨一村, 曹杨七村 with 兰溪新村, and 桂巷 with
#: 花溪园 and 源园), so one small corpus has both systems on the same roads
#: (兰溪路137弄 is 曹杨七村, 兰溪路81弄 is 兰溪新村; 花溪路45弄 is 曹杨一村,
#: 花溪路190弄 is 花溪园).
CAOYANG: tuple[Community, ...] = (
    Community("曹杨一村居民区", "曹杨一村", "CY1", (CY[1],)),
    Community("曹杨七村居民区", "曹杨七村", "CY7", (CY[7], LANXI)),
    Community("桂巷居民区", "桂巷", "GX", (GUIXIANG, HUAXI, YUANYUAN)),
    Community("曹杨二村居民区", "曹杨二村", "CY2", (CY[2],)),
    Community("曹杨三村居民区", "曹杨三村", "CY3", (CY[3],)),
    Community("曹杨四村居民区", "曹杨四村", "CY4", (CY[4],)),
    Community("曹杨五村居民区", "曹杨五村", "CY5", (CY[5],)),
    Community("曹杨六村居民区", "曹杨六村", "CY6", (CY[6],)),
    Community("曹杨八村居民区", "曹杨八村", "CY8", (CY[8],)),
    Community("曹杨九村居民区", "曹杨九村", "CY9", (CY[9],)),
)

# Neighbouring streets of 普陀区, for corpora beyond one street: (street, stem,
# pinyin code, roads of their 门牌).
_OTHER_STREETS = (
    ("长风新村街道", "长风", "CF", ("大渡河路", "云岭东路", "金沙江路", "泸定路")),
    ("甘泉路街道", "甘泉", "GQ", ("甘泉路", "黄陵路", "志丹路", "西乡路")),
    ("宜川路街道", "宜川", "YC", ("宜川路", "延长西路", "中潭路", "交通路")),
    ("石泉路街道", "石泉", "SQ", ("石泉路", "管弄路", "岚皋路", "洵阳路")),
    ("真如镇街道", "真光", "ZG", ("真光路", "铜川路", "真华路", "清峪路")),
    ("长征镇", "梅川", "MC", ("梅川路", "怒江北路", "中宁路", "同普路")),
    ("万里街道", "万里", "WL", ("新村路", "富平路", "真北路", "白丽路")),
    ("桃浦镇", "桃浦", "TP", ("桃浦路", "真南路", "李子园路", "武威路")),
)


def _other_communities() -> tuple[Community, ...]:
    out = []
    for street, stem, code, roads in _OTHER_STREETS:
        for i in range(1, 10):
            road = roads[i % len(roads)]
            estate = Estate(
                f"{stem}{CN_DIGITS[i]}村",
                road,
                17 + 23 * i,
                (f"{CN_DIGITS[i]}村", f"{i}村"),
                street=street,
                old=i % 3 != 0,
            )
            out.append(Community(f"{estate.name}居民区", estate.name, f"{code}{i}", (estate,)))
    return tuple(out)


#: Every 居民区 a corpus can draw on, 曹杨新村街道's first.
COMMUNITIES: tuple[Community, ...] = CAOYANG + _other_communities()
#: Every estate, by name.
ESTATES: dict[str, Estate] = {e.name: e for c in COMMUNITIES for e in c.estates}
#: Ground truth of the two address systems: estate name → 门牌 road and lane.
ADDRESS_ALIASES: dict[str, str] = {name: e.gate for name, e in ESTATES.items()}
#: Short names of 曹杨新村街道's estates → the estate (within one street they are unambiguous).
SHORT_NAMES: dict[str, str] = {
    short: e.name for c in CAOYANG for e in c.estates for short in e.shorts
}
DISTRICT = "普陀区"

# -- addresses ---------------------------------------------------------------------------

#: How the estate part of an address is written.
ADDRESS_SYSTEMS = ("estate", "road", "both", "short", "bare")
#: What else can be done to an address; several may apply to one cell.
ADDRESS_MODIFIERS = (
    "dash",
    "no_shi",
    "cn_numeral",
    "full_width",
    "building_unit",
    "prefix",
    "zero_pad",
    "spaces",
    "two_rooms",
    "remark_head",
    "remark_tail",
)
#: Remarks offices put into the address cell, by what they say (the household's
#: occupancy, or 独居): (written before the address, written after it).
ADDRESS_REMARKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "空置": (("【空关】", "（空关）"), ("（空关）", "【空关】", " 空关")),
    "出租": (("【出租】", "（出租）"), ("（出租）", " 群租", "、出租")),
    "人户分离": (("【人户分离】",), ("（户在人不在）", "【人户分离】")),
    "独居": (("[独居]",), ("（独居）", "、备注：独居老人")),
    "": (("【待核】",), ("、备注：子女代管", "（门牌待核）")),
}


def render_address(
    rng: random.Random,
    estate: Estate,
    building: int,
    rooms: list[str],
    system: str,
    mods: list[str],
    short: str | None = None,
    situation: str = "",
) -> tuple[str, list[str]]:
    """Write one address.

    Args:
        rng: the corpus' random source (chooses among spellings of a form).
        estate: where the dwelling is.
        building: its building number.
        rooms: the room numbers written (two only for a family holding two rooms).
        system: one of :data:`ADDRESS_SYSTEMS`.
        mods: wanted :data:`ADDRESS_MODIFIERS`; those that cannot apply are dropped.
        short: the short name to use with system ``short``.
        situation: what an address remark says: a key of :data:`ADDRESS_REMARKS`.

    Returns:
        The address text and the modifiers really applied.
    """
    applied: list[str] = []
    dash = "dash" in mods
    zero = "zero_pad" in mods
    cn = "cn_numeral" in mods and not dash and not zero
    two = "two_rooms" in mods and len(rooms) == 2
    rooms = rooms if two else rooms[:1]
    if zero:
        b_txt = f"{building:03d}" if building < 100 else str(building)
        room_txts = [f"{int(r):04d}" for r in rooms]
    else:
        b_txt = cn_number(building) if cn else str(building)
        room_txts = list(rooms)
    if dash:
        core = f"{b_txt}-{'、'.join(room_txts)}"
    else:
        unit = "号"
        if "building_unit" in mods:
            unit = rng.choice(("号楼", "幢", "栋"))
            applied.append("building_unit")
        sep = rng.choice(("-", "、")) if two else ""
        shi = "" if "no_shi" in mods else "室"
        if shi == "":
            applied.append("no_shi")
        if cn:
            applied.append("cn_numeral")
        core = f"{b_txt}{unit}{sep.join(room_txts)}{shi}"
    for flag, on in (("dash", dash), ("zero_pad", zero), ("two_rooms", two)):
        if on:
            applied.append(flag)
    if system == "estate":
        place = estate.name
    elif system == "road":
        place = estate.gate
    elif system == "both":
        place = rng.choice((f"{estate.name}（{estate.gate}）", f"{estate.name}({estate.gate})"))
    elif system == "short":
        place = short or estate.name
    else:
        place = ""
    text = place + (" " if place and "spaces" in mods else "") + core
    if place and "spaces" in mods:
        applied.append("spaces")
    if place and "prefix" in mods:
        text = (
            rng.choice(
                (
                    f"上海市{DISTRICT}{estate.street}",
                    DISTRICT,
                    f"上海市{DISTRICT}",
                    f"{DISTRICT}{estate.street}",
                )
            )
            + text
        )
        applied.append("prefix")
    if "full_width" in mods:
        text = text.translate(FULL_WIDTH)
        applied.append("full_width")
    heads, tails = ADDRESS_REMARKS[situation]
    if "remark_head" in mods:
        text = rng.choice(heads) + text
        applied.append("remark_head")
    if "remark_tail" in mods:
        text = text + rng.choice(tails)
        applied.append("remark_tail")
    return text, [m for m in ADDRESS_MODIFIERS if m in applied]


# -- names -------------------------------------------------------------------------------

NAME_FORMS = (
    "plain",
    "nickname",
    "honorific",
    "remark",
    "two_heads",
    "masked",
    "traditional",
    "fullwidth_space",
    "stray",
    "empty",
)
TWO_HEAD_SEPARATORS = ("/", "、", "／", " ")

#: What a reader still knows of a name: any of full, surname, last (character), len.
NameInfo = dict[str, object]


def full_info(name: str) -> NameInfo:
    """Everything is known of a name written out in full."""
    return {"full": name, "surname": name[0], "last": name[-1], "len": len(name)}


def render_name(
    rng: random.Random,
    name: str,
    sex: str,
    old: bool,
    form: str,
    second: str | None = None,
    remarks: tuple[str, ...] = ("（户主）",),
) -> tuple[str, str, list[NameInfo]]:
    """Write a head's name in *form*.

    Args:
        rng: the corpus' random source.
        name: the person's name (simplified characters, no spaces).
        sex: "F" or "M" (for honorifics).
        old: born before 1960 (老王 and 阿英 rather than 小王).
        form: one of :data:`NAME_FORMS`.
        second: the other head, for ``two_heads``.
        remarks: the remarks that fit this household (（户主）, （已故）, （租客）…),
            for ``remark``.

    Returns:
        (text, the form really used, what a reader understands of it). A form
        that cannot apply (``traditional`` to a name without traditional
        characters, ``two_heads`` without a second head) falls back to ``plain``.
    """
    surname, given = name[0], name[1:]
    if form == "traditional":
        text = "".join(TRADITIONAL.get(ch, ch) for ch in name)
        if text != name:
            return text, form, [full_info(name)]
        form = "plain"
    if form == "two_heads":
        if second:
            sep = rng.choice(TWO_HEAD_SEPARATORS)
            return f"{name}{sep}{second}", form, [full_info(name), full_info(second)]
        form = "plain"
    if form == "empty":
        return "", form, []
    if form == "nickname":
        if old and sex == "F" and rng.random() < 0.5:
            return "阿" + name[-1], form, [{"last": name[-1]}]
        return ("老" if old else "小") + surname, form, [{"surname": surname}]
    if form == "honorific":
        if sex == "F":
            title = rng.choice(("阿姨", "老师", "阿婆") if old else ("阿姨", "老师", "女士"))
        else:
            title = rng.choice(("师傅", "老师", "伯伯") if old else ("师傅", "老师", "先生"))
        return surname + title, form, [{"surname": surname}]
    if form == "masked":
        if len(name) == 3 and rng.random() < 0.6:
            return f"{surname}*{name[-1]}", form, [{"surname": surname, "last": name[-1], "len": 3}]
        return surname + "*" * len(given), form, [{"surname": surname, "len": len(name)}]
    if form == "remark":
        return name + rng.choice(remarks), form, [full_info(name)]
    if form == "fullwidth_space":
        return f"{surname}\u3000{given}", form, [full_info(name)]
    if form == "stray":
        text = rng.choice(
            (
                f" {name}",
                f"{name} ",
                f"{name}.",
                f"{surname} {given}",
                f"{surname}.{given}",
                f"{name}。",
            )
        )
        return text, form, [full_info(name)]
    return name, "plain", [full_info(name)]


# -- phones ------------------------------------------------------------------------------

MOBILE_FORMS = (
    "mobile",
    "mobile_spaced",
    "mobile_dashed",
    "mobile_plus86",
    "mobile_86dash",
    "mobile_float",
    "mobile_masked",
    "wrong_length",
)
LANDLINE_FORMS = (
    "landline8",
    "landline8_dash",
    "landline_021dash",
    "landline_021paren",
    "landline_021space",
    "landline_ext_zhuan",
    "landline_ext_dash",
    "landline_ext_en",
    "landline_excel",
    "wrong_length",
)
#: Two numbers in one cell, by separator.
TWO_NUMBER_FORMS = {
    "two_numbers_slash": "/",
    "two_numbers_dunhao": "、",
    "two_numbers_semicolon": "；",
    "two_numbers_or": "或",
    "two_numbers_space": " ",
    "two_numbers_newline": "\n",
}
#: Forms whose cell is a number, not text (in an XLSX they are numeric cells).
NUMERIC_PHONE_FORMS = ("mobile_float", "landline_excel")

#: What a reader knows of one number: (the number, "full" | "last4" | "garbled").
PhoneInfo = tuple[str, str]


def is_landline(number: str) -> bool:
    return len(number) == 8


def _mistype(rng: random.Random, number: str) -> str:
    """One digit dropped or doubled: 10 or 12 digits for a mobile, 7 or 9 for a landline."""
    i = rng.randrange(1, len(number))
    if rng.random() < 0.5:
        return number[:i] + number[i + 1 :]
    return number[:i] + number[i] + number[i:]


def render_number(
    rng: random.Random, number: str, form: str
) -> tuple[str | int | float, PhoneInfo]:
    """Write one phone number in *form*; numeric forms give a number (as Excel stores it)."""
    n = number
    if form == "wrong_length":
        return _mistype(rng, n), (n, "garbled")
    if form == "mobile_masked":
        return f"{n[:3]}****{n[-4:]}", (n, "last4")
    if form == "mobile_float":
        return float(n), (n, "full")
    if form == "landline_excel":
        return int("21" + n), (n, "full")
    text = {
        "mobile": n,
        "mobile_spaced": f"{n[:3]} {n[3:7]} {n[7:]}",
        "mobile_dashed": f"{n[:3]}-{n[3:7]}-{n[7:]}",
        "mobile_plus86": f"+86 {n[:3]} {n[3:7]} {n[7:]}",
        "mobile_86dash": f"86-{n}",
        "landline8": n,
        "landline8_dash": f"{n[:4]}-{n[4:]}",
        "landline_021dash": f"021-{n}",
        "landline_021paren": f"(021){n}",
        "landline_021space": f"021 {n[:4]} {n[4:]}",
        "landline_ext_zhuan": f"{n}转{rng.randrange(100, 1000)}",
        "landline_ext_dash": f"{n}-{rng.randrange(8000, 8100)}",
        "landline_ext_en": f"{n} ext {rng.randrange(10, 100)}",
    }[form]
    return text, (n, "full")


def render_phones(
    rng: random.Random, numbers: list[str], forms: list[str], two_form: str | None
) -> tuple[str | int | float, tuple[str, ...], list[PhoneInfo]]:
    """Write a contact cell of zero, one or two numbers.

    Args:
        rng: the corpus' random source.
        numbers: the numbers to write.
        forms: one form per number (numeric forms are turned into their text
            form when two numbers share the cell).
        two_form: a key of :data:`TWO_NUMBER_FORMS` when two numbers are written.

    Returns:
        (cell value, its form classes, what a reader understands of it).
    """
    if not numbers:
        return "", ("phone_empty",), []
    if len(numbers) == 1:
        value, info = render_number(rng, numbers[0], forms[0])
        return value, (forms[0],), [info]
    assert two_form is not None
    texts, infos, used = [], [], []
    for number, form in zip(numbers, forms, strict=True):
        if form in NUMERIC_PHONE_FORMS:
            form = "landline8" if is_landline(number) else "mobile"
        value, info = render_number(rng, number, form)
        texts.append(str(value))
        infos.append(info)
        used.append(form)
    return TWO_NUMBER_FORMS[two_form].join(texts), (two_form, *used), infos


# -- ID numbers and 编号 -------------------------------------------------------------------

ID_FORMS = ("id_full", "id_full_x", "id_masked", "id_masked_x", "id_empty")
REF_FORMS = ("ref_code", "ref_number", "ref_long_digits", "ref_id_number")


def render_id(id_number: str, masked: bool | None) -> tuple[str, str]:
    """The 身份证号 cell: full, masked (310***********1234) or empty (``masked`` None)."""
    if masked is None:
        return "", "id_empty"
    x = "_x" if id_number.endswith("X") else ""
    if masked:
        return f"{id_number[:3]}{'*' * 11}{id_number[-4:]}", f"id_masked{x}"
    return id_number, f"id_full{x}"
