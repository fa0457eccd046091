"""How each hand writes a household down: the habits of rosters A, A+ and B, and the rows.

Each source has a style: which address system and spellings it favours, how
it writes names and phones, whether it carries full or masked ID numbers,
what its 编号 look like.  Duplicate rows (``A+`` and ``B``) also carry the
slips of another source and another moment: a room typed wrong, a phone
changed or left out, the spouse written as head.  Plain Python: nothing here
imports visitlog.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from real_roster_forms import (
    ESTATES,
    Community,
    is_landline,
    render_address,
    render_id,
    render_name,
    render_phones,
)
from real_roster_model import ID_HEADER, REMARKS_HEADER, Evidence, RosterRow, TrueHousehold, Weights
from real_roster_people import id_check_digit
from real_roster_street import Builder


@dataclass
class _Style:
    systems: Weights
    mods: dict[str, float]
    estate_col: Weights
    names: Weights
    mobile: Weights
    landline: Weights
    both_numbers: float  # writes both numbers of a two-phone household
    two_forms: Weights
    ids: Weights
    refs: Weights
    two_rooms: float
    members: float  # writes 人数
    occupancy: float
    tags: float
    note: float


_STYLES: dict[str, _Style] = {
    "A": _Style(
        systems=Weights({"estate": 70, "short": 10, "road": 8, "both": 5, "bare": 7}),
        mods={
            "dash": 0.10,
            "no_shi": 0.15,
            "cn_numeral": 0.03,
            "full_width": 0.04,
            "building_unit": 0.06,
            "prefix": 0.05,
            "zero_pad": 0.04,
            "spaces": 0.03,
            "remark_head": 0.03,
            "remark_tail": 0.04,
        },
        estate_col=Weights({"full": 85, "short": 10, "empty": 5}),
        names=Weights(
            {
                "plain": 78,
                "nickname": 2,
                "honorific": 2,
                "remark": 4,
                "two_heads": 3,
                "masked": 1,
                "traditional": 2,
                "fullwidth_space": 5,
                "stray": 2,
                "empty": 1,
            }
        ),
        mobile=Weights(
            {
                "mobile": 70,
                "mobile_spaced": 6,
                "mobile_dashed": 5,
                "mobile_plus86": 3,
                "mobile_86dash": 2,
                "mobile_float": 6,
                "mobile_masked": 2,
                "wrong_length": 3,
            }
        ),
        landline=Weights(
            {
                "landline8": 60,
                "landline8_dash": 8,
                "landline_021dash": 12,
                "landline_021paren": 4,
                "landline_021space": 4,
                "landline_ext_zhuan": 2,
                "landline_ext_dash": 2,
                "landline_ext_en": 1,
                "landline_excel": 4,
                "wrong_length": 3,
            }
        ),
        both_numbers=0.8,
        two_forms=Weights(
            {
                "two_numbers_slash": 35,
                "two_numbers_dunhao": 20,
                "two_numbers_semicolon": 10,
                "two_numbers_or": 8,
                "two_numbers_space": 15,
                "two_numbers_newline": 12,
            }
        ),
        ids=Weights({"full": 75, "masked": 10, "empty": 15}),
        refs=Weights({"ref_code": 80, "ref_number": 13, "ref_long_digits": 5, "ref_id_number": 2}),
        two_rooms=0.6,
        members=0.97,
        occupancy=0.98,
        tags=0.95,
        note=0.10,
    ),
    "A+": _Style(
        systems=Weights({"short": 40, "estate": 30, "bare": 15, "road": 10, "both": 5}),
        mods={
            "dash": 0.25,
            "no_shi": 0.25,
            "cn_numeral": 0.08,
            "full_width": 0.06,
            "building_unit": 0.10,
            "prefix": 0.02,
            "zero_pad": 0.03,
            "spaces": 0.06,
            "remark_head": 0.05,
            "remark_tail": 0.08,
        },
        estate_col=Weights({"short": 45, "full": 35, "empty": 20}),
        names=Weights(
            {
                "plain": 45,
                "nickname": 14,
                "honorific": 14,
                "remark": 5,
                "two_heads": 4,
                "masked": 2,
                "traditional": 3,
                "fullwidth_space": 3,
                "stray": 6,
                "empty": 4,
            }
        ),
        mobile=Weights(
            {
                "mobile": 60,
                "mobile_spaced": 15,
                "mobile_dashed": 10,
                "mobile_plus86": 5,
                "mobile_float": 5,
                "wrong_length": 5,
            }
        ),
        landline=Weights(
            {"landline8": 70, "landline8_dash": 15, "landline_021dash": 10, "wrong_length": 5}
        ),
        both_numbers=0.6,
        two_forms=Weights(
            {
                "two_numbers_slash": 30,
                "two_numbers_dunhao": 20,
                "two_numbers_or": 15,
                "two_numbers_space": 25,
                "two_numbers_newline": 10,
            }
        ),
        ids=Weights({"empty": 80, "full": 10, "masked": 10}),
        refs=Weights({"ref_code": 100}),
        two_rooms=0.4,
        members=0.7,
        occupancy=0.7,
        tags=0.6,
        note=0.10,
    ),
    "B": _Style(
        systems=Weights({"road": 62, "estate": 18, "both": 10, "short": 5, "bare": 5}),
        mods={
            "dash": 0.20,
            "no_shi": 0.05,
            "cn_numeral": 0.01,
            "full_width": 0.02,
            "building_unit": 0.04,
            "prefix": 0.25,
            "zero_pad": 0.10,
            "spaces": 0.02,
            "remark_head": 0.02,
            "remark_tail": 0.03,
        },
        estate_col=Weights({"full": 55, "empty": 45}),
        names=Weights(
            {
                "plain": 55,
                "masked": 28,
                "remark": 3,
                "two_heads": 2,
                "traditional": 2,
                "stray": 3,
                "fullwidth_space": 2,
                "nickname": 1,
                "honorific": 1,
                "empty": 3,
            }
        ),
        mobile=Weights(
            {
                "mobile": 55,
                "mobile_masked": 30,
                "mobile_plus86": 5,
                "mobile_86dash": 3,
                "mobile_dashed": 2,
                "mobile_float": 3,
                "wrong_length": 2,
            }
        ),
        landline=Weights(
            {
                "landline_021dash": 35,
                "landline8": 40,
                "landline_excel": 10,
                "landline_021paren": 5,
                "landline_021space": 5,
                "landline8_dash": 3,
                "wrong_length": 2,
            }
        ),
        both_numbers=0.4,
        two_forms=Weights(
            {"two_numbers_slash": 40, "two_numbers_semicolon": 40, "two_numbers_newline": 20}
        ),
        ids=Weights({"masked": 75, "empty": 20, "full": 5}),
        refs=Weights({"ref_long_digits": 65, "ref_code": 35}),
        two_rooms=0.5,
        members=0.8,
        occupancy=0.85,
        tags=0.5,
        note=0.03,
    ),
}

#: Semantic slips of a duplicate row (another source, another moment).
P_ROOM_TYPO = 0.04
P_PHONE_CHANGED = 0.06
P_PHONE_MISSING = 0.15
P_OTHER_MEMBER = 0.06
#: Households the committee's roster lacks (listed only in roster B).
P_B_ONLY = 0.02
#: Of the duplicate rows, the share that is a household's third row.
P_THIRD_ROW = 0.07
#: Of the duplicate rows, the share another worker pasted into roster A.
P_A_PLUS = 0.2

_TAG_SEPARATORS = Weights({"、": 70, "，": 15, ";": 5, "；": 5, ",": 5})
_NOTES = ("楼组长", "党员", "子女在外地", "电话为子女电话", "低保年审", "门口有狗", "耳背，需大声")
_REMARKS = ("2025年已走访", "需关注", "独居，每周电话", "子女常来", "新搬入", "老人住养老院")


class Writer:
    """Writes households down as rows, in the style of each source (see :data:`_STYLES`)."""

    def __init__(self, builder: Builder):
        self.b = builder
        self.rng = builder.rng
        self.rows: list[RosterRow] = []
        self.new_phone: dict[int, str] = {}
        self.refs: dict[str, int] = defaultdict(int)
        self.long_refs: set[str] = set()

    def _ref(self, source: str, h: TrueHousehold, community: Community) -> tuple[str, str]:
        rng = self.rng
        form = _STYLES[source].refs.pick(rng)
        self.refs[source] += 1
        n = self.refs[source]
        if source == "A+":
            return f"补{n:03d}", "ref_code"
        if form == "ref_id_number":
            return h.id_number, form
        if form == "ref_long_digits":
            return self._long_ref(source), form
        if source == "B":
            return f"PT{self.refs['B'] + 10_000_000:08d}", "ref_code"
        if form == "ref_number":
            return str(n), form
        return f"{community.code}-{n:04d}", "ref_code"

    def _long_ref(self, source: str) -> str:
        """A number of another system (房屋编码, 户籍号): 15–20 digits, never a valid ID number.

        At 18 digits it has an ID number's shape, so its last digit is made
        wrong for the check digit the first 17 would need.
        """
        rng = self.rng
        head = "310107" if source == "A" else "3100"
        while True:
            length = rng.choice((15, 16, 18, 18, 20))
            k = length - len(head) - 1
            body = f"{head}{rng.randrange(10**k):0{k}d}"
            check = id_check_digit(body) if length == 18 else "X"
            last = rng.choice([d for d in "0123456789" if d != check])
            ref = body + last
            if ref not in self.long_refs:
                self.long_refs.add(ref)
                return ref

    def row(self, h: TrueHousehold, source: str, community: Community) -> RosterRow:
        """Household *h* as source *source* writes it (its index is set by the caller)."""
        rng, style = self.rng, _STYLES[source]
        estate = ESTATES[h.estate]
        dup = source != "A"
        changes: list[str] = []
        forms: dict[str, tuple[str, ...]] = {}
        cells: dict[str, str | int | float] = {}
        # -- address
        rooms = list(h.rooms)
        if len(rooms) == 2 and rng.random() >= style.two_rooms:
            rooms = [rng.choice(rooms)]
        if dup and len(rooms) == 1 and rng.random() < P_ROOM_TYPO:
            rooms = [self._room_typo(rooms[0])]
            changes.append("room_typo")
        system = style.systems.pick(rng)
        if system == "short" and not estate.shorts:
            system = "estate"
        mods = [m for m, p in style.mods.items() if rng.random() < p]
        if len(rooms) == 2:
            mods.append("two_rooms")
        short = rng.choice(estate.shorts) if estate.shorts else None
        situation = (
            h.occupancy
            if h.occupancy in ("空置", "出租", "人户分离")
            else "独居"
            if "独居老人" in h.tags
            else ""
        )
        address, applied = render_address(
            rng, estate, h.building, rooms, system, mods, short, situation
        )
        forms["address"] = (f"addr_{system}", *(f"addr_{m}" for m in applied))
        col = style.estate_col.pick(rng)
        if col == "short" and not estate.shorts:
            col = "full"
        cells["小区"] = {"full": estate.name, "short": short or "", "empty": ""}[col]
        forms["estate"] = (f"estate_{col}",)
        cells["地址"] = address
        known = not (system == "bare" and col == "empty")
        # -- head
        name, sex, old, second = h.head, h.sex, h.old, h.spouse
        if dup and h.spouse and rng.random() < P_OTHER_MEMBER:
            name, sex, second = h.spouse, ("M" if h.sex == "F" else "F"), h.head
            changes.append("head_other_member")
        remarks = ["（户主）", "(户主)"]
        if h.old:
            remarks.append("（已故）")
        if h.occupancy == "出租":
            remarks.append("（租客）")
        if situation == "独居":
            remarks.append("（独居）")
        name_text, name_form, name_infos = render_name(
            rng, name, sex, old, style.names.pick(rng), second, tuple(remarks)
        )
        cells["户主"] = name_text
        forms["head"] = (f"name_{name_form}",)
        # -- phones
        numbers = list(h.phones)
        if dup and numbers:
            r = rng.random()
            if r < P_PHONE_CHANGED:
                if h.id not in self.new_phone:
                    self.new_phone[h.id] = self.b.people.mobile()
                numbers = [self.new_phone[h.id]]
                changes.append("phone_changed")
            elif r < P_PHONE_CHANGED + P_PHONE_MISSING:
                numbers = []
                changes.append("phone_missing")
        if len(numbers) == 2 and rng.random() >= style.both_numbers:
            numbers = numbers[:1]
        number_forms = [
            (style.landline if is_landline(n) else style.mobile).pick(rng) for n in numbers
        ]
        two = style.two_forms.pick(rng) if len(numbers) == 2 else None
        cells["联系电话"], forms["phone"], phone_infos = render_phones(
            rng, numbers, number_forms, two
        )
        # -- the rest
        id_choice = style.ids.pick(rng)
        id_text, id_form = render_id(
            h.id_number, None if id_choice == "empty" else id_choice == "masked"
        )
        cells[ID_HEADER] = id_text
        forms["id_number"] = (id_form,)
        ref, ref_form = self._ref(source, h, community)
        cells["编号"] = ref
        forms["ref"] = (ref_form,)
        cells["居民区"] = h.community
        cells["微网格"] = h.grid
        cells["人数"] = h.members if rng.random() < style.members else ""
        cells["居住状态"] = h.occupancy if rng.random() < style.occupancy else ""
        tags = ""
        if h.tags and rng.random() < style.tags:
            tags = _TAG_SEPARATORS.pick(rng).join(h.tags)
        cells["标签"] = tags
        note = ""
        if source != "B" and h.id in self.b.children and rng.random() < 0.4:
            note = "电话为父母家"
        elif rng.random() < style.note:
            note = rng.choice(_NOTES)
        cells["备注"] = note
        cells[REMARKS_HEADER] = (
            rng.choice(_REMARKS) if source == "A" and rng.random() < 0.15 else ""
        )
        evidence = Evidence(
            grid=h.grid,
            estate=h.estate if known else None,
            building=h.building,
            rooms=frozenset(rooms),
            names=name_infos,
            phones=phone_infos,
        )
        return RosterRow(
            index=-1,
            source=source,
            household=h.id,
            cells=cells,
            forms=forms,
            changes=tuple(changes),
            evidence=evidence,
        )

    def _room_typo(self, room: str) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            swapped = room[0] + room[2] + room[1]  # 302 → 320
            if swapped != room:
                return swapped
        i = rng.randrange(len(room))
        return room[:i] + rng.choice([d for d in "123456789" if d != room[i]]) + room[i + 1 :]
