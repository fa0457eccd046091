"""Labels of duplicate pairs: what differs between the two rows, and whether it can be decided.

:func:`pair_classes` names the variant classes of a pair from the forms and
slips of its rows.  :func:`relation` is the careful reader: how well two rows
can be read as one household from what they say (see
:meth:`real_roster.Corpus.duplicate_pairs`).  Plain Python: nothing here
imports visitlog.
"""

from __future__ import annotations

from real_roster_forms import NameInfo, PhoneInfo
from real_roster_model import VARIANT_CLASSES, Evidence, RosterRow


def _one_edit(a: str, b: str) -> bool:
    """One digit wrong, or two adjacent digits swapped (same length)."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


_ADDRESS_MOD_CLASSES = {
    "addr_dash": "dash_form",
    "addr_no_shi": "no_shi",
    "addr_cn_numeral": "cn_numeral",
    "addr_full_width": "full_width",
    "addr_building_unit": "building_unit",
    "addr_prefix": "address_prefix",
    "addr_zero_pad": "zero_pad",
    "addr_spaces": "address_spaces",
}
_NAME_CLASSES = {
    "name_nickname": "name_nickname",
    "name_honorific": "name_honorific",
    "name_masked": "name_masked",
    "name_two_heads": "two_heads",
    "name_remark": "name_remark",
    "name_traditional": "traditional",
    "name_fullwidth_space": "name_spacing",
    "name_stray": "name_spacing",
}
_SYSTEM_FAMILY = {
    "addr_estate": "name",
    "addr_short": "name",
    "addr_bare": "name",
    "addr_road": "road",
    "addr_both": "both",
}


def _family(forms: tuple[str, ...]) -> str:
    return _SYSTEM_FAMILY[forms[0]]


def _estate_from_column(row: RosterRow) -> bool:
    """The address lacks the estate name (bare, or only road and lane) and the 小区 column gives it."""
    system = row.forms["address"][0]
    return system in ("addr_bare", "addr_road") and row.forms["estate"][0] != "estate_empty"


def pair_classes(x: RosterRow, y: RosterRow) -> tuple[str, ...]:
    """What differs between two rows of one household, as :data:`VARIANT_CLASSES`."""
    out: list[str] = []
    cx, cy = x.cells, y.cells
    ax, ay = set(x.forms["address"]), set(y.forms["address"])
    if cx["地址"] != cy["地址"] or cx["小区"] != cy["小区"]:
        fx, fy = _family(x.forms["address"]), _family(y.forms["address"])
        if {fx, fy} == {"name", "road"}:
            out.append("address_system")
        elif fx != fy:  # one row gives both systems, the other one of them
            out.append("address_both")
        if "addr_short" in ax | ay or "estate_short" in x.forms["estate"] + y.forms["estate"]:
            out.append("short_estate")
        if _estate_from_column(x) or _estate_from_column(y):
            out.append("estate_column")
        for form, cls in _ADDRESS_MOD_CLASSES.items():
            if form in ax ^ ay and cls not in out:
                out.append(cls)
        if cx["地址"] != cy["地址"] and (
            "addr_two_rooms" in ax | ay
            or ("room_typo" not in x.changes + y.changes and x.evidence.rooms != y.evidence.rooms)
        ):
            # a family holding two flats, written as both, or as one or the other
            out.append("two_rooms")
        if cx["地址"] != cy["地址"] and ax & {"addr_remark_head", "addr_remark_tail"} | ay & {
            "addr_remark_head",
            "addr_remark_tail",
        }:
            out.append("address_remark")
    if "room_typo" in x.changes + y.changes:
        out.append("room_typo")
    if cx["户主"] != cy["户主"]:
        for form in x.forms["head"] + y.forms["head"]:
            cls = _NAME_CLASSES.get(form)
            if cls and cls not in out:
                out.append(cls)
        if (x.forms["head"] == ("name_empty",)) != (y.forms["head"] == ("name_empty",)):
            out.append("name_missing")
        if "head_other_member" in x.changes + y.changes:
            out.append("head_other_member")
    if cx["联系电话"] != cy["联系电话"]:
        px, py = x.evidence.phones, y.evidence.phones
        if bool(px) != bool(py):
            out.append("phone_missing")
        elif px and py:
            nx, ny = {n for n, _ in px}, {n for n, _ in py}
            if nx & ny:
                out.append("phone_form")
                if nx != ny:
                    out.append("phone_extra")
            else:
                out.append("phone_changed")
            forms = x.forms["phone"] + y.forms["phone"]
            if "mobile_masked" in forms:
                out.append("phone_masked")
            if "wrong_length" in forms:
                out.append("phone_wrong_length")
    if not out:
        out.append("identical")
    return tuple(c for c in VARIANT_CLASSES if c in out)


def _name_weight(xs: list[NameInfo], ys: list[NameInfo]) -> int | None:
    """2 the same person, 1 a surname or last character agrees, 0 nothing to compare, None contradicts."""
    if not xs or not ys:
        return 0
    best: int | None = None
    for a in xs:
        for b in ys:
            if any(a[k] != b[k] for k in ("full", "surname", "last", "len") if k in a and k in b):
                continue
            if "full" in a and "full" in b:
                w = 2
            else:
                shared = sum(1 for k in ("surname", "last") if k in a and k in b)
                w = 2 if shared == 2 else shared
            best = w if best is None else max(best, w)
    return best


def _visible(number: str) -> tuple[str, str]:
    """What a masked number still shows: its first three and last four digits."""
    return number[:3], number[-4:]


def _phone_weight(xs: list[PhoneInfo], ys: list[PhoneInfo]) -> int | None:
    """2 a whole number agrees, 1 a masked number fits, 0 nothing to compare, None contradicts."""
    full_x = {n for n, v in xs if v == "full"}
    full_y = {n for n, v in ys if v == "full"}
    if full_x & full_y:
        return 2
    masked_x = {_visible(n) for n, v in xs if v == "last4"}
    masked_y = {_visible(n) for n, v in ys if v == "last4"}
    if masked_x & ({_visible(n) for n in full_y} | masked_y) or masked_y & {
        _visible(n) for n in full_x
    }:
        return 1
    if full_x and full_y:
        return None
    return 0


def _landline_only(xs: list[PhoneInfo], ys: list[PhoneInfo]) -> bool:
    """The whole numbers two rows share are all landlines (8 digits)."""
    shared = {n for n, v in xs if v == "full"} & {n for n, v in ys if v == "full"}
    return bool(shared) and all(len(n) == 8 for n in shared)


def relation(
    x: Evidence, y: Evidence, rooms: dict[tuple[str, int], frozenset[str]]
) -> tuple[int, int] | None:
    """How well two rows can be read as one household: (doubts, -points), or None when not at all."""
    if x.grid != y.grid or x.building != y.building:
        return None
    if x.estate and y.estate and x.estate != y.estate:
        return None
    doubts = 0
    if not x.rooms & y.rooms:
        estate = x.estate or y.estate
        existing = rooms.get((estate, x.building), frozenset()) if estate else frozenset()
        stray = (x.rooms | y.rooms) - existing
        if not estate or not stray:
            return None
        if not any(_one_edit(a, b) for a in x.rooms for b in y.rooms):
            return None
        doubts += 1
    name = _name_weight(x.names, y.names)
    phone = _phone_weight(x.phones, y.phones)
    if name is None and phone is None:
        return None
    if name is None:
        if phone != 2 or _landline_only(x.phones, y.phones):
            # Two different heads with only the flat's landline in common may
            # be a spouse named as head or a parent and a grown child
            # registered apart behind one door: the rows cannot tell.
            return None
        doubts, name = doubts + 1, 0
    if phone is None:
        if name != 2:
            return None
        doubts, phone = doubts + 1, 0
    if phone == 2 and name < 2 and _landline_only(x.phones, y.phones):
        # The flat's landline and a surname at most: a parent and a grown
        # child of one surname registered apart behind one door share both.
        return None
    points = name + phone
    if points < 2:
        return None
    return doubts, -points
