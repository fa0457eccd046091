"""The domain of 四百大走访: households, visits, list items and micro-grids.

Values are stored and shown in Chinese (the words the workers use); every
enumeration also accepts an English alias on input, so `--mode home` and
`--mode 入户` mean the same.  Validation turns a bad value into one
:class:`ValidationError` whose message a worker can act on.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from visitlog.i18n import get_lang, t


class VisitlogError(Exception):
    """An error the user can fix: printed as one or two plain lines, exit code 1."""


class ValidationError(VisitlogError):
    """A value that does not fit the domain (unknown enum value, bad date, …)."""


class NotFoundError(VisitlogError):
    """An id that names no live record."""


#: The values of each ChoiceEnum, made on first use (a summary asks tens of
#: thousands of times).
_CHOICES: dict[type, tuple[str, ...]] = {}


class ChoiceEnum(str, enum.Enum):
    """A str enum whose value is Chinese and which also accepts English aliases."""

    alias: str

    def __new__(cls, value: str, alias: str) -> ChoiceEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.alias = alias
        return obj

    def __str__(self) -> str:
        return self.value

    @classmethod
    def label(cls) -> str:
        """The field name shown in error messages."""
        return t(f"field.{cls.__name__}")

    @classmethod
    def choices(cls) -> list[str]:
        """The values, in order (a new list each time; made once per class)."""
        made = _CHOICES.get(cls)
        if made is None:
            made = _CHOICES[cls] = tuple(m.value for m in cls)
        return list(made)

    @classmethod
    def parse(cls, text: str | ChoiceEnum) -> ChoiceEnum:
        """Accept the Chinese value or the English alias (case-insensitive).

        Raises:
            ValidationError: naming the field and the accepted values.
        """
        if isinstance(text, cls):
            return text
        raw = str(text).strip()
        for member in cls:
            if raw == member.value or raw.lower() == member.alias.lower():
                return member
        if get_lang() == "en":
            accepted = ", ".join(f"{m.alias} ({m.value})" for m in cls)
        else:
            accepted = "、".join(m.value for m in cls)
        raise ValidationError(t("err.enum", field=cls.label(), value=raw, accepted=accepted))


class Occupancy(ChoiceEnum):
    OWNER = ("自住", "owner")
    RENTED = ("出租", "rented")
    VACANT = ("空置", "vacant")
    SEPARATED = ("人户分离", "separated")


class Tag(ChoiceEnum):
    ALONE_ELDERLY = ("独居老人", "elderly-alone")
    ELDERLY_ONLY = ("纯老家庭", "elderly-only")
    VERY_OLD = ("高龄", "very-old")
    DISABLED_DEMENTIA = ("失能失智", "dependent")
    DISABILITY = ("残疾", "disability")
    DIBAO = ("低保", "dibao")
    LOW_INCOME = ("低收入", "low-income")
    HARDSHIP = ("困难人员", "hardship")
    EXTREME_HARDSHIP = ("特困", "extreme-hardship")
    VETERAN = ("优抚对象", "veteran")
    CHILD_AT_RISK = ("困境儿童", "child-at-risk")
    FAMILY_PLANNING = ("计划生育特殊家庭", "family-planning")


class Mode(ChoiceEnum):
    HOME = ("入户", "home")
    PHONE = ("电话", "phone")
    ONLINE = ("线上", "online")
    APPOINTMENT = ("约见", "appointment")
    BUILDING_EVENT = ("楼组活动", "building-event")


class Outcome(ChoiceEnum):
    MET = ("见面", "met")
    NOT_HOME = ("不在家", "not-home")
    REFUSED = ("拒访", "refused")
    MOVED = ("已搬离", "moved")


class Role(ChoiceEnum):
    SOCIAL_WORKER = ("社工", "social-worker")
    GRID_LEAD = ("微网格长", "grid-lead")
    GRID_WORKER = ("网格员", "grid-worker")
    SECRETARY = ("书记", "secretary")
    PARTY_MEMBER = ("党员", "party-member")
    BUILDING_HEAD = ("楼组长", "building-head")
    VOLUNTEER = ("志愿者", "volunteer")
    OFFICIAL = ("下沉干部", "official")


class Kind(ChoiceEnum):
    PROBLEM = ("问题", "problem")
    DEMAND = ("需求", "demand")
    EMPOWER = ("赋能", "empower")
    MEASURE = ("措施", "measure")


class Category(ChoiceEnum):
    REPAIR = ("房屋修缮", "repair")
    ELEVATOR = ("加装电梯", "elevator")
    PROPERTY = ("物业", "property")
    PARKING = ("停车", "parking")
    EBIKE = ("非机动车充电", "ebike-charging")
    SANITATION = ("环境卫生", "sanitation")
    FACILITIES = ("公共设施", "facilities")
    SAFETY = ("安全隐患", "safety")
    NEIGHBOURS = ("邻里纠纷", "neighbours")
    ELDERLY_CARE = ("养老助餐助医", "elderly-care")
    RELIEF = ("救助帮困", "relief")
    MEDICAL = ("医疗", "medical")
    EMPLOYMENT = ("就业", "employment")
    OTHER = ("其他", "other")


class Level(ChoiceEnum):
    ON_SPOT = ("当场解决", "on-the-spot")
    COMMITTEE = ("居委自办", "committee")
    STREET = ("街道协调", "street")
    HOTLINE = ("12345", "hotline")
    CITY_GRID = ("一网统管", "city-grid")


class Status(ChoiceEnum):
    TODO = ("待办", "todo")
    DOING = ("办理中", "doing")
    DONE = ("已办结", "done")
    FED_BACK = ("已反馈", "fed-back")
    UNSOLVABLE = ("无法解决", "unsolvable")


class Satisfaction(ChoiceEnum):
    SATISFIED = ("满意", "satisfied")
    MOSTLY = ("基本满意", "mostly")
    UNSATISFIED = ("不满意", "unsatisfied")
    UNRATED = ("未评", "unrated")


#: Statuses in which an item still needs work.
OPEN_STATUSES = (Status.TODO, Status.DOING)
#: Statuses that count as closed (办结) for the meeting's rates.
CLOSED_STATUSES = (Status.DONE, Status.FED_BACK, Status.UNSOLVABLE)
#: Outcomes after which a household is still due.
STILL_DUE_OUTCOMES = (Outcome.NOT_HOME, Outcome.REFUSED)


def parse_date(text: str | dt.date | None, field_name: str = "date") -> dt.date | None:
    """Parse YYYY-MM-DD (also accepts / and . separators).

    Raises:
        ValidationError: with the field name and the expected form.
    """
    if text is None or text == "":
        return None
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    raw = str(text).strip().replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        parts = raw.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                pass
        raise ValidationError(t("err.date", field=t(f"field.{field_name}"), value=text)) from None


def parse_tags(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Split a tag list written with 、,，;； and validate each tag."""
    if not value:
        return []
    if isinstance(value, str):
        for sep in "、,，;；":
            value = value.replace(sep, ",")
        raw = [v.strip() for v in value.split(",")]
    else:
        raw = [str(v).strip() for v in value]
    tags: list[str] = []
    for item in raw:
        if item:
            tag = Tag.parse(item).value
            if tag not in tags:
                tags.append(tag)
    return tags


def require_text(value: str | None, field_name: str, max_len: int = 2000) -> str:
    """A required free-text field: stripped, not empty, not absurdly long."""
    text = (value or "").strip()
    if not text:
        raise ValidationError(t("err.required", field=t(f"field.{field_name}")))
    if len(text) > max_len:
        raise ValidationError(t("err.too_long", field=t(f"field.{field_name}"), max=max_len))
    return text


@dataclass
class MicroGrid:
    """A 微网格 and the 居民区 it belongs to."""

    name: str
    community: str | None = None
    households: int = 0


@dataclass
class Household:
    """A household (户) as the roster and the workers know it."""

    address: str
    micro_grid: str
    community: str | None = None
    estate: str | None = None
    ref: str | None = None
    head: str | None = None
    phone: str | None = None
    members: int | None = None
    occupancy: str = Occupancy.OWNER.value
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    id: str | None = None
    hlc: str | None = None
    device: str | None = None
    deleted: bool = False
    merged_into: str | None = None
    created_at: str | None = None
    #: The numbers understood from ``phone`` (derived, see visitlog.residents).
    phones: list[str] = field(default_factory=list)

    def validated(self) -> Household:
        """Return a copy with every value checked and normalised.

        The contact (``phone``) and the head's name are kept as written: no
        way of writing them refuses a household (``phones`` holds the numbers
        understood).  ID numbers (身份证号) are cut out of every text field:
        visitlog does not store them.
        """
        from visitlog.residents import phone_numbers, strip_ids

        def text(value: Any, fifteen: bool = True) -> str | None:
            if value in (None, ""):
                return None
            return strip_ids(str(value).strip(), fifteen)[0].strip() or None

        members = self.members
        if members is not None and members != "":
            try:
                members = int(members)
            except (TypeError, ValueError):
                raise ValidationError(t("err.members", value=members)) from None
            if members < 0 or members > 99:
                raise ValidationError(t("err.members", value=members))
        else:
            members = None
        phone = text(self.phone)
        return Household(
            address=require_text(text(self.address), "address", 200),
            micro_grid=require_text(self.micro_grid, "micro_grid", 60),
            community=text(self.community),
            estate=text(self.estate),
            ref=text(self.ref, fifteen=False),
            head=text(self.head),
            phone=phone,
            members=members,
            occupancy=Occupancy.parse(self.occupancy or Occupancy.OWNER.value).value,
            tags=parse_tags(self.tags),
            note=text(self.note),
            id=self.id,
            hlc=self.hlc,
            device=self.device,
            deleted=self.deleted,
            merged_into=self.merged_into,
            created_at=self.created_at,
            phones=phone_numbers(phone),
        )


@dataclass
class Item:
    """One entry of the four lists 问题-需求-赋能-措施."""

    kind: str
    category: str
    description: str
    level: str | None = None
    owner: str | None = None
    deadline: str | None = None
    status: str = Status.TODO.value
    resolution: str | None = None
    satisfaction: str | None = None
    raised_date: str | None = None
    closed_date: str | None = None
    visit_id: str | None = None
    household_id: str | None = None
    id: str | None = None
    hlc: str | None = None
    device: str | None = None
    deleted: bool = False

    def validated(self) -> Item:
        """Return a copy with every value checked and normalised."""
        deadline = parse_date(self.deadline, "deadline")
        return Item(
            kind=Kind.parse(self.kind).value,
            category=Category.parse(self.category or Category.OTHER.value).value,
            description=require_text(self.description, "description", 2000),
            level=Level.parse(self.level).value if self.level else None,
            owner=(self.owner or "").strip() or None,
            deadline=deadline.isoformat() if deadline else None,
            status=Status.parse(self.status or Status.TODO.value).value,
            resolution=(self.resolution or "").strip() or None,
            satisfaction=Satisfaction.parse(self.satisfaction).value if self.satisfaction else None,
            raised_date=self.raised_date,
            closed_date=self.closed_date,
            visit_id=self.visit_id,
            household_id=self.household_id,
            id=self.id,
            hlc=self.hlc,
            device=self.device,
            deleted=self.deleted,
        )

    @classmethod
    def from_spec(cls, kind: Kind | str, spec: str) -> Item:
        """Parse the CLI form "类别:描述" (or just "描述", category 其他).

        A short word before the colon is meant as a category: one that is not
        a category (灯具:楼道灯坏了) is refused with the list of categories,
        rather than silently becoming 其他 with "灯具:" in the description.  A
        long text before a colon (希望有人陪同就医: 周三) is a description.

        Raises:
            ValidationError: the word before the colon is not a category.
        """
        text = spec.strip()
        cut = min((i for i in (text.find(":"), text.find("：")) if i >= 0), default=-1)
        if cut < 0:
            return cls(kind=str(kind), category=Category.OTHER.value, description=text)
        head, rest = text[:cut].strip(), text[cut + 1 :]
        try:
            category = Category.parse(head).value
        except ValidationError:
            if _looks_like_category(head):
                if get_lang() == "en":
                    accepted = ", ".join(f"{c.alias} ({c.value})" for c in Category)
                else:
                    accepted = "、".join(c.value for c in Category)
                raise ValidationError(
                    t("err.unknown_category", category=head, accepted=accepted)
                ) from None
            return cls(kind=str(kind), category=Category.OTHER.value, description=text)
        return cls(kind=str(kind), category=category, description=rest)


def _looks_like_category(head: str) -> bool:
    """Whether the text before a colon was meant as a category (a short word)."""
    if not head or any(ch.isspace() for ch in head):
        return False
    longest = max(len(c.value) for c in Category)
    if head.isascii():
        return head.replace("-", "").isalpha() and len(head) <= 20
    return len(head) <= longest


@dataclass
class Visit:
    """A visit (走访记录) to one household, with the list items it raised."""

    household_id: str
    visit_date: str
    visitor: str
    mode: str = Mode.HOME.value
    outcome: str = Outcome.MET.value
    summary: str | None = None
    role: str | None = None
    next_due: str | None = None
    items: list[Item] = field(default_factory=list)
    id: str | None = None
    hlc: str | None = None
    device: str | None = None
    deleted: bool = False
    merged_into: str | None = None
    created_at: str | None = None

    def validated(self, today: dt.date | None = None) -> Visit:
        """Return a copy with every value checked and normalised.

        A visit date in the future is refused: it is almost always a typo
        (2205 for 2025) and would distort the meeting's figures.
        """
        date = parse_date(self.visit_date, "visit_date")
        if date is None:
            raise ValidationError(t("err.required", field=t("field.visit_date")))
        today = today or dt.date.today()
        if date > today + dt.timedelta(days=1):
            raise ValidationError(t("err.future_date", value=date.isoformat()))
        next_due = parse_date(self.next_due, "next_due")
        items = [i.validated() for i in self.items]
        for item in items:
            item.raised_date = item.raised_date or date.isoformat()
        return Visit(
            household_id=require_text(self.household_id, "household", 64),
            visit_date=date.isoformat(),
            visitor=require_text(self.visitor, "visitor", 60),
            mode=Mode.parse(self.mode or Mode.HOME.value).value,
            outcome=Outcome.parse(self.outcome or Outcome.MET.value).value,
            summary=(self.summary or "").strip() or None,
            role=Role.parse(self.role).value if self.role else None,
            next_due=next_due.isoformat() if next_due else None,
            items=items,
            id=self.id,
            hlc=self.hlc,
            device=self.device,
            deleted=self.deleted,
            merged_into=self.merged_into,
            created_at=self.created_at,
        )


#: Columns of each synced table that carry domain values (the ones a change
#: may touch and that sync merges field by field).  ``merged_into`` is not
#: one of them since m009: each replica derives it from the merge records
#: (see :mod:`visitlog.store.clusters`).
HOUSEHOLD_FIELDS = (
    "ref",
    "community",
    "micro_grid",
    "estate",
    "address",
    "head",
    "phone",
    "members",
    "occupancy",
    "tags",
    "note",
    "deleted",
)
VISIT_FIELDS = (
    "household_id",
    "visit_date",
    "visitor",
    "role",
    "mode",
    "outcome",
    "summary",
    "next_due",
    "deleted",
)
ITEM_FIELDS = (
    "visit_id",
    "household_id",
    "kind",
    "category",
    "description",
    "level",
    "owner",
    "deadline",
    "status",
    "resolution",
    "satisfaction",
    "raised_date",
    "closed_date",
    "deleted",
)
#: De-duplication records (migration m004): merges with the before/after of
#: every field they changed, and pairs declared "not a duplicate".  ``twins``
#: (m009): ``{item id: item id}`` of the items a visit merge found entered twice.
DEDUP_MERGE_FIELDS = (
    "kind",
    "survivor",
    "members",
    "score",
    "reasons",
    "changes",
    "worker",
    "undone",
    "undone_at",
    "twins",
    "deleted",
)
DEDUP_DECISION_FIELDS = ("kind", "a", "b", "decision", "worker", "note", "deleted")
#: Workers' decisions on address aliases (migration m010): ``alias`` names the
#: estate ``target`` (confirmed) or not (rejected).
ADDRESS_ALIAS_FIELDS = ("alias", "target", "kind", "scope", "status", "worker", "note", "deleted")
#: The street's visit planning rules (migration m012): ``kind`` (default, tag,
#: item, outcome) and ``key`` (a tag, an item category, an outcome) name the
#: rule, ``days`` its interval or deadline (NULL: the rule is off).
PLAN_RULE_FIELDS = ("kind", "key", "days", "worker", "note", "deleted")
SYNCED_FIELDS: dict[str, tuple[str, ...]] = {
    "households": HOUSEHOLD_FIELDS,
    "visits": VISIT_FIELDS,
    "items": ITEM_FIELDS,
    "dedup_merges": DEDUP_MERGE_FIELDS,
    "dedup_decisions": DEDUP_DECISION_FIELDS,
    "address_aliases": ADDRESS_ALIAS_FIELDS,
    "plan_rules": PLAN_RULE_FIELDS,
}


def row_to_dict(obj: Any) -> dict[str, Any]:
    """Plain dict of a dataclass, for JSON output."""
    return asdict(obj)
