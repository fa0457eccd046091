"""People for the realistic roster corpus: names at their real frequencies, phones, ID numbers.

Names follow what a Shanghai committee's roster of an old workers' estate
looks like: surnames weighted as in Shanghai (张 王 陈 李 徐 朱 沈 周 陆 吴
顾 … lead), given names by generation and sex (秀英 桂英 凤英 for women born
before 1960, 建国 国强 根宝 for men; 芳 静 敏 / 伟 强 磊 for the younger),
drawn with Zipf-like weights so that 王秀英, 张伟, 王芳 repeat in a street as
they do in life.  Phones are unique per household: 8-digit Shanghai
landlines (62…, 52…, 56…) and 11-digit mobiles.  ID numbers (身份证号) are
18 characters with a valid ISO 7064 MOD 11-2 check digit.

Plain Python: nothing here imports visitlog.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect
from itertools import accumulate
from operator import mul

# -- surnames --------------------------------------------------------------------------
# Relative frequencies (per mille, rounded) among Shanghai residents; the
# order matters only for readability.
_SURNAME_WEIGHTS = """
张 58 王 62 陈 60 李 45 徐 34 朱 30 沈 28 周 28 陆 26 吴 25 顾 23 刘 22 杨 20
黄 20 金 17 钱 16 孙 16 胡 15 蒋 13 曹 12 姚 12 戴 11 唐 11 许 11 马 10 范 10
施 10 汪 10 丁 9 俞 9 薛 8 倪 8 袁 8 潘 8 赵 8 冯 7 严 7 叶 7 蔡 7 高 7 郑 7
何 6 邱 6 龚 6 邵 6 谢 6 林 6 罗 5 毛 5 葛 5 宋 5 傅 5 方 5 汤 5 夏 5 秦 4
季 4 程 4 韩 4 苏 4 卫 4 邓 3 杜 3 石 3 魏 3 贾 3 盛 3 浦 2 瞿 2 奚 2 郁 2
"""
_pairs = _SURNAME_WEIGHTS.split()
SURNAMES: tuple[str, ...] = tuple(_pairs[0::2])
SURNAME_WEIGHTS: tuple[int, ...] = tuple(int(w) for w in _pairs[1::2])

# -- given names -------------------------------------------------------------------------
# Ordered from the most common down; weights fall off as 1/rank (Zipf).
GIVEN: dict[tuple[str, bool], tuple[str, ...]] = {
    # (sex, born before 1960)
    ("F", True): tuple(
        "秀英 桂英 凤英 秀珍 玉英 秀兰 玉兰 桂兰 美华 丽华 雅琴 惠英 彩娣 金娣 根娣 "
        "月娥 菊英 莲英 素珍 杏娣 招娣 巧英 瑞英 宝娣 小妹 佩华 月英 国英 雪珍 林妹 "
        "爱珍 梅芳 静娟 美娟 兰英 玲娣 凤珍 文英 琴 英".split()
    ),
    ("M", True): tuple(
        "建国 国强 国华 建华 志明 德明 根宝 金宝 荣根 伟民 国平 福根 正明 永康 国良 "
        "建平 学明 文华 兴发 关林 海根 妙根 阿三 长根 龙 明 宝林 耀祖 家骏 信义 "
        "伯良 瑞林 国庆 鸿 荣".split()
    ),
    ("F", False): tuple(
        "芳 静 敏 丽 燕 红 艳 婷 霞 颖 洁 琳 慧 莉 佳 雯 晓燕 海燕 丽娟 春燕 丽萍 "
        "晓红 美玲 晓雯 佳怡 玲 娟 萍 瑾 蕾 晶 倩 菁 怡 雪 英 秀英".split()
    ),
    ("M", False): tuple(
        "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 浩 峰 晓明 建军 海峰 志强 俊 "
        "骏 昊 晨 彬 毅 敏 炜 健 海 军 卫东 春华".split()
    ),
}

#: Simplified → traditional for the characters of the tables above that have
#: one (rosters copied from Hong Kong/Taiwan documents or typed with a
#: traditional input method): 陳, 劉, 張, 國, 華 …
TRADITIONAL: dict[str, str] = {
    simplified: traditional
    for simplified, traditional in zip(
        "张陈刘杨黄赵吴周孙马胡郭罗郑谢许韩冯邓苏叶顾陆钱沈蒋龚汤卫贾叶国华宝兰凤丽伟军"
        "强红东龙荣庆鸿爱娟萍晓艳颖洁静芳丽琴娥莲凤珍兴发庆长邱严宋汪俞倪袁潘彦骏",
        "張陳劉楊黃趙吳周孫馬胡郭羅鄭謝許韓馮鄧蘇葉顧陸錢沈蔣龔湯衛賈葉國華寶蘭鳳麗偉軍"
        "強紅東龍榮慶鴻愛娟萍曉艷穎潔靜芳麗琴娥蓮鳳珍興發慶長邱嚴宋汪俞倪袁潘彥駿",
        strict=True,
    )
    if simplified != traditional
}

# -- phones ------------------------------------------------------------------------------
#: First four digits of 普陀 landlines around 曹杨 (62xx and 52xx exchanges).
LANDLINE_PREFIXES = (
    "6254",
    "6257",
    "6243",
    "6250",
    "6266",
    "5266",
    "5281",
    "5257",
    "5835",
    "6245",
    "5284",
    "6216",
)
MOBILE_PREFIXES = (
    "138",
    "139",
    "135",
    "136",
    "137",
    "158",
    "159",
    "150",
    "186",
    "189",
    "133",
    "181",
    "177",
    "199",
    "130",
    "131",
)

# -- ID numbers --------------------------------------------------------------------------
#: Issuing-area codes: 普陀 and the neighbouring districts, then provinces
#: many Shanghai residents came from.
ID_AREAS = (
    ("310107", 40),  # 普陀区
    ("310108", 10),  # 闸北区 (merged into 静安)
    ("310106", 6),  # 静安区
    ("310109", 5),  # 虹口区
    ("310110", 5),  # 杨浦区
    ("310101", 4),  # 黄浦区
    ("310104", 4),  # 徐汇区
    ("320501", 5),  # 苏州
    ("330102", 3),  # 杭州
    ("320621", 3),  # 海门
    ("342401", 3),  # 六安
    ("410101", 3),  # 郑州
    ("513701", 2),  # 巴中
    ("360101", 2),  # 南昌
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The 18th character of a 身份证号 (GB 11643-1999, ISO 7064 MOD 11-2)."""
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


class _Table:
    """Weighted draws by bisection (``rng.choices`` costs ten times more per draw)."""

    def __init__(
        self, items: tuple[str, ...] | list[str], weights: list[float] | tuple[float, ...]
    ):
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect(self.cum, rng.random() * self.total)]


class People:
    """Makes names, phones and ID numbers from one seeded ``random.Random``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._surnames = _Table(SURNAMES, SURNAME_WEIGHTS)
        self._given = {k: _Table(v, [1 / (i + 1) for i in range(len(v))]) for k, v in GIVEN.items()}
        self._areas = _Table([a for a, _ in ID_AREAS], [w for _, w in ID_AREAS])
        self._phones: set[str] = set()

    def surname(self) -> str:
        return self._surnames.draw(self.rng)

    def given(self, sex: str, old: bool) -> str:
        return self._given[(sex, old)].draw(self.rng)

    def name(self, sex: str, old: bool, surname: str | None = None) -> str:
        """A full name: surname (drawn unless given) and a given name of that sex and age."""
        return (surname or self.surname()) + self.given(sex, old)

    def sibling_given(self, elder: str, sex: str, old: bool) -> str:
        """A sibling's given name: shares the generation character when the elder's has two."""
        if len(elder) == 2 and self.rng.random() < 0.7:
            pool = [g for g in GIVEN[(sex, old)] if len(g) == 2 and g != elder]
            tail = self.rng.choice(pool)[1] if pool else "华"
            if tail != elder[1]:
                return elder[0] + tail
        given = self.given(sex, old)
        return given if given != elder else given + "华"

    def _unique(self, prefixes: tuple[str, ...], digits: int) -> str:
        # random() arithmetic rather than choice()/randrange(): this runs for
        # every household of a 50,000-household corpus
        rng, used, top = self.rng, self._phones, 10**digits
        while True:
            prefix = prefixes[int(rng.random() * len(prefixes))]
            number = f"{prefix}{int(rng.random() * top):0{digits}d}"
            if number not in used:
                used.add(number)
                return number

    def landline(self) -> str:
        """An 8-digit Shanghai landline, unique in the corpus."""
        return self._unique(LANDLINE_PREFIXES, 4)

    def mobile(self) -> str:
        """An 11-digit mobile, unique in the corpus."""
        return self._unique(MOBILE_PREFIXES, 8)

    def id_number(self, born: dt.date, sex: str) -> str:
        """A 身份证号 for someone born on *born*; the sequence number is odd for men."""
        rng = self.rng
        area = self._areas.draw(rng)
        seq = int(rng.random() * 500) * 2 + (1 if sex == "M" else 0)
        first17 = f"{area}{born.year}{born.month:02d}{born.day:02d}{seq:03d}"
        return first17 + id_check_digit(first17)

    def birth_date(self, age: int, today: dt.date) -> dt.date:
        """A birth date giving *age* on *today*."""
        year = today.year - age
        day = self.rng.randrange(365)
        return dt.date(year, 1, 1) + dt.timedelta(days=day)
