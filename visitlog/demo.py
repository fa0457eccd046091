"""A realistic, deterministic demo street modelled on 曹杨新村街道 (普陀区).

Several 居民区, each with 3–8 微网格; addresses in the spellings the rosters
use (曹杨一村12号301室, 枣阳路100弄5号602室); heads, phones, members and
key-group tags at plausible rates; about a year of visits by named workers in
every mode and outcome; items in all four lists with every status, some
overdue.  The same seed and ``today`` give the same street, ids included, so
tests and benchmarks can rely on it.  Any size can be made: rows are
generated in memory per 居民区 and written with executemany, with the
indexes built once at the end (450,000 households in a few minutes).
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import itertools
import json
import multiprocessing
import os
import random
from collections.abc import Iterator
from queue import Empty, Full
from typing import Any

from visitlog.address import normalize_address
from visitlog.i18n import t
from visitlog.model import (
    Category,
    Kind,
    Level,
    Mode,
    Occupancy,
    Outcome,
    Role,
    Satisfaction,
    Status,
    Tag,
    VisitlogError,
)
from visitlog.progress import Progress, report
from visitlog.residents import phone_numbers
from visitlog.store import Store, bulk_load, phones_column

COMMUNITIES = [
    ("曹杨一村", ["曹杨一村"]),
    ("花溪园", ["花溪园", "花溪路{lane}弄"]),
    ("枣阳", ["枣阳路{lane}弄", "枣阳园"]),
    ("桂巷", ["桂巷新村", "桂巷路{lane}弄"]),
    ("南岭", ["曹杨二村", "南岭园"]),
    ("北石", ["曹杨三村", "北石路{lane}弄"]),
    ("杏梅", ["曹杨四村", "杏山路{lane}弄"]),
    ("棠浦", ["曹杨五村", "棠浦路{lane}弄"]),
    ("兰溪", ["曹杨六村", "兰溪路{lane}弄"]),
    ("梅岭", ["曹杨七村", "梅岭南路{lane}弄"]),
    ("杏山", ["曹杨八村", "杏山园"]),
    ("金梅", ["曹杨九村", "金梅园"]),
    ("沙溪", ["沙溪路{lane}弄", "沙溪园"]),
    ("清涧", ["清涧一村", "清涧路{lane}弄"]),
]
CN_DIGITS = "〇一二三四五六七八九"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华玉兰凤英桂兰淑珍美玲志强海燕红梅晓明小明晓红国强金凤爱华德明根宝阿三秀珍丽华文杰志明"
TAG_RATES = [
    (Tag.ALONE_ELDERLY, 0.06),
    (Tag.ELDERLY_ONLY, 0.10),
    (Tag.VERY_OLD, 0.08),
    (Tag.DISABLED_DEMENTIA, 0.02),
    (Tag.DISABILITY, 0.03),
    (Tag.DIBAO, 0.02),
    (Tag.LOW_INCOME, 0.02),
    (Tag.HARDSHIP, 0.01),
    (Tag.EXTREME_HARDSHIP, 0.003),
    (Tag.VETERAN, 0.01),
    (Tag.CHILD_AT_RISK, 0.003),
    (Tag.FAMILY_PLANNING, 0.005),
]
OCCUPANCY = [
    (Occupancy.OWNER, 80),
    (Occupancy.RENTED, 12),
    (Occupancy.VACANT, 4),
    (Occupancy.SEPARATED, 4),
]
MODES = [
    (Mode.HOME, 55),
    (Mode.PHONE, 20),
    (Mode.ONLINE, 8),
    (Mode.APPOINTMENT, 7),
    (Mode.BUILDING_EVENT, 10),
]
OUTCOMES = [(Outcome.MET, 78), (Outcome.NOT_HOME, 14), (Outcome.REFUSED, 5), (Outcome.MOVED, 3)]
KINDS = [(Kind.PROBLEM, 40), (Kind.DEMAND, 35), (Kind.EMPOWER, 10), (Kind.MEASURE, 15)]
LEVELS = [
    (Level.ON_SPOT, 25),
    (Level.COMMITTEE, 40),
    (Level.STREET, 20),
    (Level.HOTLINE, 10),
    (Level.CITY_GRID, 5),
]
SATISFACTION = [
    (Satisfaction.SATISFIED, 60),
    (Satisfaction.MOSTLY, 25),
    (Satisfaction.UNSATISFIED, 5),
    (Satisfaction.UNRATED, 10),
]
DESCRIPTIONS: dict[Category, list[str]] = {
    Category.REPAIR: ["卫生间漏水渗到楼下", "外墙瓷砖松动", "屋顶漏雨", "木窗腐烂关不严"],
    Category.ELEVATOR: ["希望加装电梯，老人上下楼困难", "询问加装电梯意见征询进度"],
    Category.PROPERTY: ["物业保洁不及时", "门禁损坏无人修", "物业费收支不透明"],
    Category.PARKING: ["小区停车位紧张", "外来车辆乱停堵住消防通道"],
    Category.EBIKE: ["楼道里给电瓶车充电", "希望增设非机动车充电桩"],
    Category.SANITATION: ["垃圾箱房异味大", "楼道堆物", "绿化带有积水蚊虫多"],
    Category.FACILITIES: ["楼道灯不亮", "健身器材损坏", "休息座椅不够"],
    Category.SAFETY: ["煤气管道老化", "电线私拉乱接", "楼道堆放易燃物"],
    Category.NEIGHBOURS: ["楼上噪音扰民", "邻居空调外机滴水", "公共部位使用纠纷"],
    Category.ELDERLY_CARE: ["独居老人需要助餐", "希望上门量血压", "申请长护险评估"],
    Category.RELIEF: ["申请临时救助", "低保复核材料咨询", "大病医疗费用负担重"],
    Category.MEDICAL: ["家庭医生签约", "配药不方便", "需要陪同就医"],
    Category.EMPLOYMENT: ["子女失业求职", "咨询灵活就业社保"],
    Category.OTHER: ["咨询政策", "反映其他情况"],
}
EMPOWER_TEXT = ["联系志愿者服务队上门", "引入社区食堂助餐", "对接物业公司维修", "申请街道专项补贴"]
MEASURE_TEXT = [
    "已联系维修单位上门",
    "已转街道相关科室",
    "已纳入下月议事会议题",
    "已安排楼组长每周探望",
]
SUMMARIES_MET = [
    "老人身体尚可，子女每周探望。",
    "家中一切正常，对社区工作满意。",
    "反映楼道环境问题，希望尽快处理。",
    "独居老人，行动不便，需要多关心。",
    "租户刚搬来，已登记并告知社区联系方式。",
    "老两口身体不错，参加社区合唱队。",
    "家属在外地，老人希望有人定期上门。",
    "孩子在读小学，询问暑托班。",
    "对加装电梯很关心，愿意出资。",
    "近期住院出院，已告知家庭医生。",
]
SUMMARIES_OTHER = {
    Outcome.NOT_HOME: ["敲门无人应答，留下联系卡。", "邻居说白天上班，改天晚上再来。"],
    Outcome.REFUSED: ["住户不愿接受走访。", "隔门交谈，拒绝开门。"],
    Outcome.MOVED: ["邻居称已搬走，房屋待出租。", "已搬离，留有新地址。"],
}
WORKER_NAMES = "王丽华 陈静 李晓燕 张敏 刘建国 周美玲 赵文杰 孙海燕 吴志强 郑红梅 徐秀英 马俊 朱丽 胡斌 郭晨".split()
WORKER_ROLES = [
    Role.SOCIAL_WORKER,
    Role.GRID_LEAD,
    Role.GRID_WORKER,
    Role.BUILDING_HEAD,
    Role.SECRETARY,
]


def _cn(n: int) -> str:
    """1..99 in Chinese numerals (一, 十二, 二十八) for estate names."""
    if n < 10:
        return CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN_DIGITS[tens]) + "十" + (CN_DIGITS[ones] if ones else "")


class _Picker:
    """Weighted choice with precomputed cumulative weights (fast in a hot loop)."""

    def __init__(self, rng: random.Random, pairs: list[tuple[Any, float]]):
        self.rng = rng
        self.values = [v for v, _ in pairs]
        # The enum values as stored, looked up by position (an enum's
        # ``.value`` is slow in a loop run millions of times).
        self.texts = [getattr(v, "value", v) for v in self.values]
        total, cum = 0.0, []
        for _, w in pairs:
            total += w
            cum.append(total)
        self.cum, self.total = cum, total

    def __call__(self) -> Any:
        return self.values[bisect.bisect(self.cum, self.rng.random() * self.total)]

    def text(self) -> str:
        """The stored value of one weighted choice (the same draw as calling the picker)."""
        return self.texts[bisect.bisect(self.cum, self.rng.random() * self.total)]


@functools.cache
def _day_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


@functools.cache
def _iso(day: dt.date) -> str:
    return day.isoformat()


def _det_id(rng: random.Random, day: dt.date) -> str:
    """A UUIDv7 whose time is the record's date and whose bits come from the seed."""
    ms = _day_ms(day) + rng.randrange(86_400_000)
    rand = rng.getrandbits(74)
    value = (
        (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    )
    # str(uuid.UUID(int=value)), written out: millions of ids at district scale.
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def generate(
    households: int, seed: int = 1, today: dt.date | None = None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Yield ``(table, rows)`` chunks, one 居民区 at a time, households first.

    Args:
        households: how many households the street has.
        seed: the same seed (and ``today``) gives the same street.
        today: the last day of the year of visits (default: today).
    """
    today = today or dt.date.today()
    rng = random.Random(seed)
    pick_occ = _Picker(rng, OCCUPANCY)
    pick_mode = _Picker(rng, MODES)
    pick_outcome = _Picker(rng, OUTCOMES)
    pick_kind = _Picker(rng, KINDS)
    pick_level = _Picker(rng, LEVELS)
    pick_sat = _Picker(rng, SATISFACTION)
    categories = list(Category)
    cat_weights = [8, 4, 9, 6, 5, 10, 8, 5, 4, 9, 5, 6, 2, 3]
    pick_cat = _Picker(rng, list(zip(categories, cat_weights, strict=True)))
    start = today - dt.timedelta(days=364)

    per_community = 1500
    n_comm = max(1, round(households / per_community))
    sizes = [households // n_comm + (1 if i < households % n_comm else 0) for i in range(n_comm)]
    estate_counter: dict[str, int] = {}
    ref_no = 0
    for ci, size in enumerate(sizes):
        base_name, estate_patterns = COMMUNITIES[ci % len(COMMUNITIES)]
        rounds = ci // len(COMMUNITIES)
        community = base_name + ("" if rounds == 0 else _cn(rounds + 1)) + "居民区"
        n_grids = min(8, max(3, round(size / 250)))
        grid_names = [
            f"{base_name}{'' if rounds == 0 else _cn(rounds + 1)}{g + 1}号网格"
            for g in range(n_grids)
        ]
        workers = [
            (WORKER_NAMES[(ci * 3 + k) % len(WORKER_NAMES)], WORKER_ROLES[k % len(WORKER_ROLES)])
            for k in range(rng.randint(3, 5))
        ]
        # Estates of this community: village-style names or road + lane.
        estates = []
        for pattern in estate_patterns:
            if "{lane}" in pattern:
                for _ in range(2):
                    lane = rng.randrange(20, 1200, 10)
                    estates.append((pattern.format(lane=lane), pattern.format(lane=lane)))
            else:
                n = estate_counter.get(pattern, 0)
                estate_counter[pattern] = n + 1
                name = pattern if n == 0 else f"{pattern}{_cn(n + 1)}"
                estates.append((name, name))
        house_rows: list[dict[str, Any]] = []
        visit_rows: list[dict[str, Any]] = []
        item_rows: list[dict[str, Any]] = []
        made = 0
        building = 0
        while made < size:
            building += 1
            estate_name, _ = estates[building % len(estates)]
            floors = rng.randint(4, 7)
            per_floor = rng.choice((2, 3, 4))
            grid = grid_names[min(n_grids - 1, made * n_grids // size)]
            bno = building // len(estates) + 1
            for floor in range(1, floors + 1):
                for unit in range(1, per_floor + 1):
                    if made >= size:
                        break
                    made += 1
                    ref_no += 1
                    room = f"{floor}0{unit}"
                    address = _spell(rng, estate_name, bno, room)
                    occupancy = pick_occ()
                    tags = [tag.value for tag, rate in TAG_RATES if rng.random() < rate]
                    head = (
                        rng.choice(SURNAMES)
                        + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
                        if rng.random() > 0.03
                        else None
                    )
                    phone = (
                        rng.choice(
                            (
                                "138",
                                "139",
                                "135",
                                "136",
                                "137",
                                "150",
                                "151",
                                "158",
                                "186",
                                "189",
                                "177",
                            )
                        )
                        + f"{rng.randrange(10**8):08d}"
                        if rng.random() > 0.1
                        else None
                    )
                    hid = _det_id(rng, start)
                    house_rows.append(
                        {
                            "id": hid,
                            # The seed names the street: 编号 is a natural key,
                            # so two demo streets must not share one.
                            "ref": f"CY{seed}-{ref_no:06d}",
                            "community": community,
                            "micro_grid": grid,
                            "estate": estate_name,
                            "address": address,
                            "address_key": normalize_address(address),
                            "head": head,
                            "phone": phone,
                            "phones": phones_column(phone_numbers(phone)),
                            "members": rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5)),
                            "occupancy": occupancy.value,
                            "tags": json.dumps(
                                tags, ensure_ascii=False, separators=(",", ":"), sort_keys=True
                            ),
                            "note": None,
                            "merged_into": None,
                            "deleted": 0,
                        }
                    )
                    if occupancy == Occupancy.VACANT:
                        continue
                    _visits_for(
                        rng, hid, start, today, workers, visit_rows, item_rows,
                        pick_mode, pick_outcome, pick_kind, pick_cat, pick_level, pick_sat,
                    )  # fmt: skip
        yield "households", house_rows
        yield "visits", visit_rows
        yield "items", item_rows


def _spell(rng: random.Random, estate: str, building: int, room: str) -> str:
    """Write an address the way rosters do: mostly 12号301室, sometimes 12号楼301室."""
    r = rng.random()
    if r < 0.8:
        return f"{estate}{building}号{room}室"
    if r < 0.9:
        return f"{estate}{building}号楼{room}室"
    if r < 0.95:
        return f"{estate}{building}号{room}"
    return f"{estate}{building}-{room}"


def _visits_for(
    rng: random.Random,
    hid: str,
    start: dt.date,
    today: dt.date,
    workers: list[tuple[str, Role]],
    visit_rows: list[dict[str, Any]],
    item_rows: list[dict[str, Any]],
    pick_mode: _Picker,
    pick_outcome: _Picker,
    pick_kind: _Picker,
    pick_cat: _Picker,
    pick_level: _Picker,
    pick_sat: _Picker,
) -> None:
    """About six visits a year (some households none), ~0.5 items per visit."""
    n = rng.choice((0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 11, 12))
    span = (today - start).days
    days = sorted(rng.randrange(span + 1) for _ in range(n))
    for d in days:
        vdate = start + dt.timedelta(days=d)
        visitor, role = workers[rng._randbelow(len(workers))]  # rng.choice, without its checks
        outcome = pick_outcome()
        summary = rng.choice(SUMMARIES_MET if outcome == Outcome.MET else SUMMARIES_OTHER[outcome])
        vid = _det_id(rng, vdate)
        visit_rows.append(
            {
                "id": vid,
                "household_id": hid,
                "visit_date": _iso(vdate),
                "visitor": visitor,
                "role": role._value_,
                "mode": pick_mode.text(),
                "outcome": outcome._value_,
                "summary": summary,
                "next_due": _iso(vdate + dt.timedelta(days=rng.choice((30, 60, 90, 180)))),
                "merged_into": None,
                "deleted": 0,
            }
        )
        if outcome != Outcome.MET:
            continue
        k = 0 if rng.random() < 0.5 else rng.choice((1, 1, 1, 2))
        for _ in range(k):
            kind = pick_kind()
            cat = pick_cat()
            if kind == Kind.EMPOWER:
                desc = rng.choice(EMPOWER_TEXT)
            elif kind == Kind.MEASURE:
                desc = rng.choice(MEASURE_TEXT)
            else:
                desc = rng.choice(DESCRIPTIONS[cat])
            level = pick_level()
            deadline = vdate + dt.timedelta(days=rng.choice((7, 14, 30, 60)))
            age = (today - vdate).days
            status, closed, sat, note = _status(rng, level, vdate, deadline, age, today, pick_sat)
            item_rows.append(
                {
                    "id": _det_id(rng, vdate),
                    "visit_id": vid,
                    "household_id": hid,
                    "kind": kind._value_,
                    "category": cat._value_,
                    "description": desc,
                    "level": level._value_,
                    "owner": visitor,
                    "deadline": _iso(deadline),
                    "status": status._value_,
                    "resolution": note,
                    "satisfaction": sat._value_ if sat else None,
                    "raised_date": _iso(vdate),
                    "closed_date": _iso(closed) if closed else None,
                    "deleted": 0,
                }
            )


def _status(
    rng: random.Random,
    level: Level,
    raised: dt.date,
    deadline: dt.date,
    age: int,
    today: dt.date,
    pick_sat: _Picker,
) -> tuple[Status, dt.date | None, Satisfaction | None, str | None]:
    """Older items are mostly closed; recent ones still open; a few overdue."""
    if level == Level.ON_SPOT:
        return Status.FED_BACK, raised, pick_sat(), "当场解决"
    p_closed = min(0.95, 0.2 + age / 120)
    r = rng.random()
    if r < p_closed * 0.04:
        return (
            Status.UNSOLVABLE,
            raised + dt.timedelta(days=min(age, 30)),
            None,
            "涉及产权问题，暂无法解决，已向居民说明",
        )
    if r < p_closed:
        took = rng.randint(1, max(1, min(age, 90)))
        closed = min(today, raised + dt.timedelta(days=took))
        if rng.random() < 0.7:
            return Status.FED_BACK, closed, pick_sat(), "已办结并向居民反馈"
        return Status.DONE, closed, None, "已办结"
    if rng.random() < 0.5:
        return Status.DOING, None, None, None
    return Status.TODO, None, None, None


#: From this many households on, the street is generated in a second process
#: while this one writes (a district: generating is a third of the work).
PARALLEL_FROM = 100_000


def _chunks(
    households: int, seed: int, today: dt.date | None
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """:func:`generate`'s chunks; for a large street made in a second process."""
    if households < PARALLEL_FROM:
        yield from generate(households, seed, today)
        return
    # "spawn": a fresh interpreter that shares no thread or lock with this one.
    mp = multiprocessing.get_context("spawn")
    queue = mp.Queue(maxsize=3)  # a few 居民区 ahead, so memory stays bounded
    child = mp.Process(
        target=_produce, args=(queue, households, seed, today or dt.date.today()), daemon=True
    )
    child.start()
    try:
        while True:
            try:
                chunk = queue.get(timeout=5)
            except Empty:
                if not child.is_alive():
                    raise VisitlogError(t("err.demo_failed")) from None
                continue
            if chunk is None:
                break
            yield chunk
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def _produce(queue: Any, households: int, seed: int, today: dt.date) -> None:
    parent = os.getppid()
    for chunk in itertools.chain(generate(households, seed, today), [None]):
        while True:
            try:
                queue.put(chunk, timeout=2)
                break
            except Full:
                if os.getppid() != parent:
                    return  # the writer was killed: nobody will read the rest


def generate_into(
    store: Store,
    households: int,
    seed: int = 1,
    today: dt.date | None = None,
    progress: Progress | None = None,
    *,
    bulk: bool = True,
) -> dict[str, int]:
    """Fill an empty database with the demo street, in one transaction.

    Every row is written through :meth:`Tx.insert_many`, so it is stamped,
    logged and audited as a normal write is, at any size.  With ``bulk``
    (the default) the writes run inside :func:`visitlog.store.bulk_load`,
    which builds the indexes once at the end instead of row by row: the
    database is the same, written several times faster.

    ``progress("households", done, total)`` is called after each 居民区.

    Raises:
        VisitlogError: the database already holds households (demo data must
            never mix with a real street).
    """
    if store.count_live()["households"]:
        raise VisitlogError(t("err.demo_not_empty", path=store.path))
    counts = {"households": 0, "visits": 0, "items": 0}
    with store.transaction() as tx:
        with bulk_load(tx.conn) if bulk else contextlib.nullcontext():
            for table, rows in _chunks(households, seed, today):
                tx.insert_many(table, rows)
                counts[table] += len(rows)
                if table == "households":
                    report(progress, "households", counts["households"], households)
        if not store.get_setting("street"):
            # The summary's street-level title; a real laptop sets its own.
            tx.set_setting("street", "曹杨新村街道")
        tx.audit("demo", detail={**counts, "seed": seed})
    return counts
