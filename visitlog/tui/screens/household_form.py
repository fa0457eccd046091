"""Add one household by hand (the welcome screen and the command palette).

The contact and the head's name are kept as typed: a landline (62345678), two
numbers, an extension or a masked number are all accepted, as on import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Header, Input, Label, Select

from visitlog.clock import new_id
from visitlog.grids import look_alikes
from visitlog.i18n import t
from visitlog.model import Household, Occupancy, ValidationError, parse_tags, require_text
from visitlog.store import Store
from visitlog.tui.common import CompactFooter, Plain, PlainInput, enum_choice, known_value
from visitlog.tui.screens.confirm import ChoiceDialog
from visitlog.tui.screens.form import FormScreen, SaveJob


@dataclass
class LookAlikes:
    """What a save found instead of storing: households at the same address."""

    households: list[Household]


TEXT_FIELDS = ("address", "micro_grid", "community", "head", "phone", "members", "tags", "note")


class HouseholdFormScreen(FormScreen):
    """Dismisses with the stored :class:`Household`.

    The 居民区 follows from the 微网格: an existing grid fills it in (and it
    cannot be typed differently); a new grid asks for it, once, since the
    next household of that grid finds it.  An address that reads as a stored
    household's offers that household before a second one is added.

    Args:
        grids: existing 微网格 names, offered as completions.
        grid: the 微网格 filled in to start with (my grid).
        communities: each existing 微网格's 居民区 (None: its households name none).
        draft: values of an unsaved form to restore.
    """

    DRAFT_KIND = "household"
    FIRST_FOCUS = "#address"

    def __init__(
        self,
        grids: list[str],
        grid: str | None = None,
        communities: dict[str, str | None] | None = None,
        draft: dict[str, Any] | None = None,
    ):
        super().__init__(draft)
        self._grids = grids
        self._grid = grid or ""
        self._communities = communities or {}
        #: The worker said the address is another household than the look-alikes.
        self._add_anyway = False
        #: The id the household is stored under (the draft's, when restoring one).
        self.household_id: str = (draft or {}).get("household_id") or new_id()

    @property
    def draft_id(self) -> str:
        return "household:new"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(t("tui.household.title"), id="form-title")
        yield Plain("", id="form-status")
        with VerticalScroll(id="form"):
            suggest = SuggestFromList(self._grids) if self._grids else None
            fields: list[tuple[str, str, Any]] = [
                ("address", t("tui.col.address") + " *", {"placeholder": "曹杨一村12号301室"}),
                (
                    "micro_grid",
                    t("tui.household.grid") + " *",
                    {"value": self._grid, "suggester": suggest},
                ),
                ("community", t("tui.details.community"), {}),
                ("head", t("tui.col.head"), {}),
                ("phone", t("tui.details.phone"), {}),
                ("members", t("tui.details.members"), {"restrict": r"[0-9]*", "max_length": 2}),
            ]
            for name, label, kwargs in fields:
                with Horizontal(classes="row"):
                    yield Label(label, classes="field-label wide")
                    yield PlainInput(id=name, compact=True, **kwargs)
                yield Plain("", id=f"err-{name}", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.details.occupancy"), classes="field-label wide")
                yield enum_choice(Occupancy, Occupancy.OWNER.value, "occupancy")
            with Horizontal(classes="row"):
                yield Label(t("tui.col.tags"), classes="field-label wide")
                yield PlainInput(
                    id="tags", compact=True, placeholder=t("tui.household.tags_placeholder")
                )
            yield Plain("", id="err-tags", classes="error")
            with Horizontal(classes="row"):
                yield Label(t("tui.details.note"), classes="field-label wide")
                yield PlainInput(id="note", compact=True)
            yield Plain("", id="err-form", classes="error")
        yield CompactFooter()

    def on_mount(self) -> None:
        self._follow_grid(self._grid)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "micro_grid":
            self._follow_grid(event.value.strip())
        elif event.input.id == "address":
            self._add_anyway = False

    def _follow_grid(self, grid: str) -> None:
        """Fill in the grid's 居民区, or ask for it when the grid is new."""
        community = self.query_one("#community", Input)
        known = self._communities.get(grid)
        if known:
            community.value = known
            community.disabled = True
            community.tooltip = t("tui.household.community_follows")
        else:
            if community.disabled:
                community.value = ""
            community.disabled = False
            community.tooltip = None
            new = grid and grid not in self._communities
            community.placeholder = t("tui.household.community_new") if new else ""

    def collect(self) -> dict[str, Any]:
        data = {name: self.query_one(f"#{name}", Input).value.strip() for name in TEXT_FIELDS}
        data["occupancy"] = str(self.query_one("#occupancy", Select).value)
        data["household_id"] = self.household_id
        return data

    def fill(self, data: dict[str, Any]) -> None:
        for name in TEXT_FIELDS:
            if name in data:
                self.query_one(f"#{name}", Input).value = str(data[name] or "")
        occupancy = known_value(Occupancy, data.get("occupancy"))
        if occupancy:
            self.query_one("#occupancy", Select).value = occupancy

    def prepare(self) -> SaveJob | None:
        data = self.collect()
        ok = True
        checks = {
            "address": lambda v: require_text(v, "address", 200),
            "micro_grid": lambda v: require_text(v, "micro_grid", 60),
            "tags": parse_tags,
        }
        for name, check in checks.items():
            try:
                check(data[name])
            except ValidationError as exc:
                self.field_error(name, str(exc))
                ok = False
        grid = data["micro_grid"]
        if grid not in self._communities and not data["community"]:
            self.field_error("community", t("tui.household.community_needed", grid=grid))
            ok = False
        if not ok:
            return None
        data["community"] = self._communities.get(grid) or data["community"]
        household = Household(
            id=self.household_id,
            address=data["address"],
            micro_grid=data["micro_grid"],
            community=data["community"] or None,
            head=data["head"] or None,
            phone=data["phone"] or None,
            members=data["members"] or None,
            occupancy=data["occupancy"],
            tags=parse_tags(data["tags"]),
            note=data["note"] or None,
        )
        try:
            household = household.validated()
        except ValidationError as exc:
            self.field_error("form", str(exc))
            return None
        anyway = self._add_anyway

        def add(store: Store) -> Household | LookAlikes:
            if not anyway and (same := look_alikes(store, household.address)):
                return LookAlikes(same)
            return store.add_household(household)

        return add

    def _stored(self, result: Any) -> None:
        if not isinstance(result, LookAlikes):
            super()._stored(result)
            return
        # Nothing was stored: ask whether it is one of these households.
        self.saving = False
        self.query_one("#form").disabled = False
        self._status(None)
        same = result.households[0]
        lines = [
            t(
                "tui.household.look_alike_line",
                address=h.address,
                grid=h.micro_grid,
                head=h.head or "—",
            )
            for h in result.households[:3]
        ]

        def answer(choice: str | None) -> None:
            if choice == "open":
                self._close(None)
                self.vapp.open_household(same.id)
            elif choice == "add":
                self._add_anyway = True
                self.action_save()

        self.app.push_screen(
            ChoiceDialog(
                t("tui.household.look_alike_title"),
                t("tui.household.look_alike_body", lines="\n".join(lines)),
                [
                    ("open", t("tui.household.look_alike_open")),
                    ("add", t("tui.household.look_alike_add")),
                    ("back", t("tui.household.look_alike_back")),
                ],
            ),
            answer,
        )
