"""A labelled, messy household roster for measuring de-duplication quality.

Two rosters of one street are laid on top of each other: the first lists
every household once in the usual spelling, the second re-lists some of them
the way another worker or an old spreadsheet wrote them down. Each row keeps
the id of the real household it stands for, so the duplicate pairs are known
and precision and recall over pairs can be measured.

What makes it hard, on purpose:

* spellings of one address: 曹杨一村12号301室 / 曹杨1村12号301 /
  普陀区曹杨一村十二号301室 / full-width digits / 12-301 / 12号楼 / 12幢 /
  上海市…街道 prefixes / 三〇一 / spaces / ``#``, and a few with a mistyped
  estate character that sounds the same (曹扬);
* neighbours in the same building (301/302/401 differ by one digit), and the
  same room number in the next building;
* shared units: two real households behind one room number (old 非成套
  housing), each with its own head and phone;
* common names (张伟, 王芳 …) also given to neighbours, and homophone names
  (王晓明/王小明) both for duplicates and for different neighbours;
* missing phones and names, phones written as ``+86 138 …`` or with dashes,
  a phone that changed between rosters, a parent and an adult child in one
  building sharing a phone;
* room-number typos (swaps 302/320 and one wrong digit);
* a spouse written down as head in the second roster.

The generator is deterministic for a seed. It is plain Python (no visitlog
imports except the domain dataclass) so the benchmarks can use it too.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from visitlog.model import Household

ESTATES = [
    # (canonical spelling, other spellings of the same estate)
    ("曹杨一村", ["曹杨1村"]),
    ("曹杨二村", ["曹杨2村"]),
    ("曹杨五村", ["曹杨5村"]),
    ("枣阳路100弄", ["枣阳路一百弄"]),
    ("桂巷新村", []),
    ("花溪路58弄", ["花溪路五十八弄"]),
    ("杏山园", []),
]
# A mistyped character that sounds the same (the worker typed by pinyin).
ESTATE_HOMOPHONE_TYPOS = {"曹杨": "曹扬", "桂巷": "贵巷", "杏山": "兴山", "花溪": "花西"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余杜叶程魏苏吕丁沈姚卢姜崔钟谭陆汪范金石"
GIVEN = [
    "晓明", "建国", "秀英", "桂英", "玉兰", "志强", "海燕", "红梅", "国强", "金凤",
    "爱华", "德明", "根宝", "秀珍", "丽华", "文杰", "志明", "美玲", "建华", "淑珍",
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "超", "霞", "平", "刚", "兰", "玲", "燕", "华", "英", "红", "斌", "琴", "萍",
]  # fmt: skip
COMMON_NAMES = ["张伟", "王伟", "王芳", "李伟", "李娜", "张敏", "李静", "王静", "刘伟", "张丽"]
# Characters a worker typing by pinyin may pick instead (same reading).
HOMOPHONES = {
    "晓": "小", "小": "晓", "明": "鸣", "伟": "玮", "芳": "方", "丽": "莉", "华": "桦",
    "军": "君", "英": "瑛", "红": "虹", "静": "婧", "敏": "闽", "娟": "鹃", "杰": "洁",
    "强": "蔷", "平": "萍", "刚": "钢", "涛": "韬", "兰": "岚", "玲": "铃", "燕": "艳",
    "建": "健", "国": "帼", "志": "智", "珍": "贞", "凤": "风", "霞": "侠", "琴": "勤",
}  # fmt: skip
CN_DIGITS = "〇一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _cn_number(n: int) -> str:
    """1..999 as spoken: 十二, 二十八, 一百零五, 三百一十."""
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
    tail = _cn_number(rest)
    return head + (tail if rest >= 20 else "一" + tail)


@dataclass
class Row:
    """One roster row and the real household it stands for."""

    entity: int
    estate: str  # the 小区 column
    address: str
    head: str | None
    phone: str | None
    members: int | None
    grid: str
    kind: str = "original"  # original / duplicate: what the generator did, for diagnosis
    variations: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    """Rows plus labels; ``rows[i].entity`` is the real household of row i."""

    rows: list[Row]
    seed: int

    def true_pairs(self) -> set[tuple[int, int]]:
        """Pairs of row indexes (i < j) that stand for the same household."""
        by_entity: dict[int, list[int]] = {}
        for i, row in enumerate(self.rows):
            by_entity.setdefault(row.entity, []).append(i)
        return {pair for idx in by_entity.values() for pair in combinations(sorted(idx), 2)}

    def ref(self, index: int) -> str:
        """The 编号 written for row *index*: unique, so an import never upserts two rows."""
        return f"R{self.seed:02d}{index:05d}"

    def index_of_ref(self, ref: str) -> int:
        return int(ref[3:])

    def households(self) -> list[Household]:
        """The rows as households ready for ``Store.add_household``."""
        return [
            Household(
                address=row.address,
                micro_grid=row.grid,
                community="曹杨一村居民区",
                estate=row.estate,
                ref=self.ref(i),
                head=row.head,
                phone=row.phone,
                members=row.members,
            )
            for i, row in enumerate(self.rows)
        ]

    def write_csv(self, path: Path) -> Path:
        """Write a roster file with the Chinese headers of the roster contract."""
        headers = ["编号", "居民区", "微网格", "小区", "地址", "户主", "联系电话", "人数"]
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            for i, row in enumerate(self.rows):
                writer.writerow(
                    [
                        self.ref(i),
                        "曹杨一村居民区",
                        row.grid,
                        row.estate,
                        row.address,
                        row.head or "",
                        row.phone or "",
                        "" if row.members is None else row.members,
                    ]
                )
        return path


def precision_recall(
    predicted: set[tuple[int, int]], truth: set[tuple[int, int]]
) -> tuple[float, float]:
    """Precision and recall of predicted duplicate pairs (sorted index tuples)."""
    hit = len(predicted & truth)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(truth) if truth else 1.0
    return precision, recall


def cluster_pairs(clusters: list[list[int]]) -> set[tuple[int, int]]:
    """Every pair inside each cluster: what a merge of the clusters joins."""
    return {pair for c in clusters for pair in combinations(sorted(c), 2)}


class _Maker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def name(self) -> str:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.choice(COMMON_NAMES)
        return rng.choice(SURNAMES) + rng.choice(GIVEN)

    def phone(self) -> str:
        rng = self.rng
        return rng.choice(("138", "139", "135", "136", "150", "158", "186", "189", "177")) + (
            f"{rng.randrange(10**8):08d}"
        )

    def homophone(self, name: str) -> str | None:
        """The name with one given-name character swapped for a homophone."""
        spots = [i for i, ch in enumerate(name) if i > 0 and ch in HOMOPHONES]
        if not spots:
            return None
        i = self.rng.choice(spots)
        return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]

    def phone_spelling(self, phone: str) -> str:
        style = self.rng.random()
        if style < 0.6:
            return phone
        if style < 0.75:
            return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
        if style < 0.9:
            return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        return f"+86 {phone}"

    def spell(self, estate: str, building: int, room: str, messy: bool) -> tuple[str, str, str]:
        """Return (小区 column, address, style) for one household."""
        rng = self.rng
        spellings = next(v for k, v in ESTATES if k == estate)
        if not messy:
            return estate, f"{estate}{building}号{room}室", "std"
        name = rng.choice([estate, *spellings])
        styles = [
            ("no_shi", 10), ("district_cn", 10), ("full_width", 8), ("dash", 10),
            ("hao_lou", 8), ("zhuang", 5), ("prefix", 8), ("spaces", 6), ("cn_room", 5),
            ("hash", 4), ("bare_dash", 6), ("estate_typo", 3), ("std", 10),
        ]  # fmt: skip
        style = rng.choices([s for s, _ in styles], [w for _, w in styles])[0]
        if style == "no_shi":
            return estate, f"{name}{building}号{room}", style
        if style == "district_cn":
            cn_estate = estate  # the canonical spelling has Chinese numerals already
            return estate, f"普陀区{cn_estate}{_cn_number(building)}号{room}室", style
        if style == "full_width":
            return estate, f"{name}{building}号{room}室".translate(FULL_WIDTH), style
        if style == "dash":
            return estate, f"{name}{building}-{room}", style
        if style == "hao_lou":
            return estate, f"{name}{building}号楼{room}室", style
        if style == "zhuang":
            return estate, f"{name}{building}幢{room}室", style
        if style == "prefix":
            return estate, f"上海市普陀区曹杨新村街道{name}{building}号{room}室", style
        if style == "spaces":
            return estate, f"{name} {building}号 {room}室", style
        if style == "cn_room":
            return estate, f"{name}{building}号{''.join(CN_DIGITS[int(d)] for d in room)}室", style
        if style == "hash":
            return estate, f"{name}{building}#{room}", style
        if style == "bare_dash":
            # Only building-room in the address; the estate is in the 小区 column.
            return estate, f"{building}-{room}", style
        if style == "estate_typo":
            typo = name
            for good, bad in ESTATE_HOMOPHONE_TYPOS.items():
                typo = typo.replace(good, bad)
            return estate, f"{typo}{building}号{room}室", style
        return estate, f"{name}{building}号{room}室", "std"

    def room_typo(self, room: str) -> str:
        rng = self.rng
        if rng.random() < 0.5 and len(room) >= 3:
            # Swap the last two digits (302 → 320) or the first two (1201 → 2101).
            i = len(room) - 2 if rng.random() < 0.7 else 0
            swapped = room[:i] + room[i + 1] + room[i] + room[i + 2 :]
            if swapped != room:
                return swapped
        i = rng.randrange(len(room))
        digits = [d for d in "0123456789" if d != room[i]]
        return room[:i] + rng.choice(digits) + room[i + 1 :]


def generate(seed: int = 1, buildings_per_estate: int = 6) -> Corpus:
    """Make a labelled messy roster.

    Args:
        seed: the same seed gives the same rows.
        buildings_per_estate: 6 gives about 1,500 rows; raise it for a bigger
            corpus (each building has 4–6 floors of 2–4 rooms).

    Returns:
        The corpus; ``true_pairs()`` are the duplicate pairs.
    """
    mk = _Maker(seed)
    rng = mk.rng
    entities: list[dict] = []
    # -- the real households ------------------------------------------------
    for e_i, (estate, _) in enumerate(ESTATES):
        grid = f"曹杨一村{e_i % 3 + 1}号网格"
        for b in range(1, buildings_per_estate + 1):
            floors, per_floor = rng.randint(4, 6), rng.choice((2, 3, 4))
            building_entities: list[dict] = []
            for floor in range(1, floors + 1):
                for unit in range(1, per_floor + 1):
                    room = f"{floor}0{unit}"
                    in_room = 2 if rng.random() < 0.04 else 1  # shared unit
                    for _ in range(in_room):
                        ent = {
                            "estate": estate,
                            "building": b,
                            "room": room,
                            "grid": grid,
                            "head": mk.name() if rng.random() > 0.03 else None,
                            "phone": mk.phone() if rng.random() > 0.15 else None,
                            "spouse": mk.name(),
                            "members": rng.choice((1, 2, 2, 3, 3, 4)),
                            "shared": in_room == 2,
                        }
                        # Neighbours: earlier households of this building in other rooms.
                        others = [o for o in building_entities if o["room"] != room]
                        previous = others[-1] if others else None
                        if previous and previous["head"] and rng.random() < 0.03:
                            # A neighbour with the very same (often common) name.
                            ent["head"] = previous["head"]
                        elif previous and previous["head"] and rng.random() < 0.03:
                            ent["head"] = mk.homophone(previous["head"]) or ent["head"]
                        if others and rng.random() < 0.02:
                            # A parent and an adult child in one building share a phone.
                            ent["phone"] = rng.choice(others)["phone"] or ent["phone"]
                        building_entities.append(ent)
            entities.extend(building_entities)
    # -- roster rows --------------------------------------------------------
    rows: list[Row] = []
    for ent_id, ent in enumerate(entities):
        estate_col, address, _ = mk.spell(ent["estate"], ent["building"], ent["room"], False)
        rows.append(
            Row(ent_id, estate_col, address, ent["head"], ent["phone"], ent["members"], ent["grid"])
        )
        copies = 0
        r = rng.random()
        if r < 0.30:
            copies = 1
        elif r < 0.34:
            copies = 2
        for _ in range(copies):
            rows.append(_duplicate(mk, ent_id, ent))
    rng.shuffle(rows)
    return Corpus(rows=rows, seed=seed)


def _duplicate(mk: _Maker, ent_id: int, ent: dict) -> Row:
    """Another roster's row for the same household."""
    rng = mk.rng
    variations: list[str] = []
    room = ent["room"]
    if rng.random() < 0.04:
        room = mk.room_typo(room)
        variations.append("room_typo")
    estate_col, address, style = mk.spell(ent["estate"], ent["building"], room, True)
    variations.append(f"addr:{style}")
    head = ent["head"]
    r = rng.random()
    if head is None or r < 0.06:
        head = None
        variations.append("name_missing")
    elif r < 0.20:
        head = mk.homophone(head) or head
        variations.append("name_homophone")
    elif r < 0.28:
        head = ent["spouse"]
        variations.append("spouse")
    elif r < 0.31:
        head = f"{head[0]} {head[1:]}"
        variations.append("name_spaced")
    phone = ent["phone"]
    r = rng.random()
    if phone is None or r < 0.20:
        phone = None
        variations.append("phone_missing")
    elif r < 0.25:
        phone = mk.phone()
        variations.append("phone_changed")
    else:
        phone = mk.phone_spelling(phone)
    members = ent["members"] if rng.random() < 0.7 else None
    return Row(
        ent_id, estate_col, address, head, phone, members, ent["grid"], "duplicate", variations
    )
