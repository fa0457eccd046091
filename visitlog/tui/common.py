"""Small helpers shared by the screens: translated key bindings, labels, bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingsMap, BindingType
from textual.dom import DOMNode
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, OptionList, Select, Static
from textual.widgets._footer import FooterKey
from textual.widgets.option_list import Option

from visitlog.i18n import get_lang, has, t
from visitlog.model import ChoiceEnum, ValidationError
from visitlog.visible import visible

if TYPE_CHECKING:
    from visitlog.tui.app import VisitlogApp

#: Select value meaning "every 微网格".
ALL_GRIDS = "\x00all"


def shown(value: Any, style: str = "", **kwargs: Any) -> Text:
    """Data as a Rich :class:`Text` for any widget: shown literally, never as markup,
    control characters made visible (:func:`visitlog.visible.visible`).

    Every value that comes from the data (an address, a name, a summary, a
    file name, an error naming one) reaches the screen through this or
    :class:`Plain`; a ``str`` handed to a Textual widget or a Rich table would
    be read as markup, and its escape sequences would reach the terminal.
    """
    return Text(visible(value), style=style, **kwargs)


def _plain_content(content: Any) -> Any:
    if isinstance(content, str):
        return shown(content)
    if isinstance(content, Text) and visible(content.plain) != content.plain:
        # Every stand-in is one character for one: the styles stay where they were.
        out = content.copy()
        out.plain = visible(content.plain)
        return out
    return content


class Plain(Static):
    """A :class:`~textual.widgets.Static` for text that may hold data: never markup.

    A ``str`` (at creation or in :meth:`update`) is shown literally with its
    control characters made visible; Rich renderables are shown as they are
    (build them with :func:`shown`).
    """

    def __init__(self, content: Any = "", **kwargs: Any) -> None:
        kwargs["markup"] = False
        super().__init__(_plain_content(content), **kwargs)

    def update(self, content: Any = "", **kwargs: Any) -> None:
        super().update(_plain_content(content), **kwargs)


class PlainInput(Input):
    """An :class:`~textual.widgets.Input` whose value (which may come from the data:
    a household being edited, a restored draft) is drawn with its control
    characters made visible; the value itself is kept as it is."""

    @property
    def _value(self) -> Text:
        text = super()._value
        if visible(text.plain) != text.plain:
            text.plain = visible(text.plain)  # one character for one: the cursor stays put
        return text


# -- drop-downs ---------------------------------------------------------------
#
# A drop-down whose list opens on a layer of its own, so Chinese text around it stays whole.
#
# Textual's :class:`~textual.widgets.Select` draws its list as an overlay on the
# same screen as the form.  The screen is drawn in slices cut at every widget's
# edge, the hidden ones under the overlay included, and a slice edge that falls
# inside a two-cell character of the list loses that character: an option such
# as 需求 showed as 求, and the labels beside it looked overwritten.  Here the
# list is a small screen of its own laid over the form (:class:`ChoiceList`),
# drawn without the form's slices, placed under the field (or above it when
# there is no room below) and kept inside the dialog that holds the field.

#: Rows a list shows at most (more scroll).
MAX_ROWS = 10


def _cells(prompt: Any) -> int:
    plain = getattr(prompt, "plain", prompt)
    return cell_len(str(plain))


class CompactFooter(Footer):
    """Textual's compact footer, its keys made compact as they are made.

    The footer is made again whenever the keys in force change (every focus
    change); Textual's own compact footer then gives each new key its compact
    look one at a time, re-styling each (a tenth of the time a form takes to
    open).  Here the keys are born with it, and look the same.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(compact=True, **kwargs)

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                widget.add_class("-compact", update=False)
            yield widget


class ChoiceList(ModalScreen[int | None]):
    """The options of a :class:`Choice`; dismisses with the chosen index (None: unchanged).

    Args:
        prompts: what each option shows.
        highlighted: the option under the cursor at first (the current value).
        field: where the drop-down is on the screen.
        bounds: the region the list must stay inside (the dialog, or the screen).
    """

    # Not in any footer: the footer under the list is the form's.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", show=False)]

    DEFAULT_CSS = """
    ChoiceList {
        background: transparent;
        align: left top;
    }
    ChoiceList > OptionList {
        border: round $primary;
        padding: 0;
        background: $panel;
        height: auto;
        width: auto;
        overflow-x: hidden;
    }
    """

    def __init__(
        self, prompts: list[Any], highlighted: int | None, field: Region, bounds: Region
    ) -> None:
        super().__init__()
        self._prompts = prompts
        self._highlighted = highlighted
        self._field = field
        self._bounds = bounds

    def compose(self) -> ComposeResult:
        yield OptionList(*(Option(p) for p in self._prompts), id="choice-list")

    def place(self) -> Region:
        """Where the list goes: under the field, above it when that has no room,
        inside :attr:`bounds` either way (borders included)."""
        field, bounds = self._field, self._bounds
        rows = min(len(self._prompts), MAX_ROWS, max(1, bounds.height - 2))
        height = rows + 2
        scrollbar = 2 if len(self._prompts) > rows else 0
        width = max(field.width, max((_cells(p) for p in self._prompts), default=4) + 2)
        width = min(width + 2 + scrollbar, bounds.width)
        x = min(field.x, bounds.right - width)
        x = max(x, bounds.x)
        if field.bottom + height <= bounds.bottom:
            y = field.bottom
        elif field.y - height >= bounds.y:
            y = field.y - height
        else:
            y = max(bounds.y, bounds.bottom - height)
        return Region(x, y, width, height)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        where = self.place()
        options.styles.offset = (where.x, where.y)
        options.styles.width = where.width
        options.styles.max_height = where.height
        if self._highlighted is not None:
            options.highlighted = self._highlighted
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def on_click(self, event: events.Click) -> None:
        # A click beside the list closes it, as a click outside a drop-down does.
        if event.widget is self:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class Choice(Select):
    """A :class:`~textual.widgets.Select` whose list opens as a :class:`ChoiceList`.

    Everything else (the value, ``Select.Changed``, the keys that open it) is
    Select's.
    """

    def _watch_expanded(self, expanded: bool) -> None:
        if not expanded:
            return
        # The list is not Select's overlay: the field itself stays closed.
        self.set_reactive(Select.expanded, False)
        self.open_list()

    def open_list(self) -> None:
        """Show the options in a :class:`ChoiceList` under (or over) the field."""
        if not self.is_attached:
            return
        options = self._options
        current = next(
            (i for i, (_prompt, value) in enumerate(options) if value == self.value), None
        )
        bounds = self.screen.region
        for ancestor in self.ancestors:
            if getattr(ancestor, "has_class", None) and ancestor.has_class("dialog"):
                # Inside the dialog's border, not over it.
                bounds = ancestor.region.shrink(ancestor.styles.border.spacing)  # type: ignore[attr-defined]
                break

        def chosen(index: int | None) -> None:
            if index is not None and 0 <= index < len(options):
                self.value = options[index][1]
            if self.is_attached:
                self.focus()

        self.app.push_screen(
            ChoiceList([p for p, _v in options], current, self.region, bounds), chosen
        )


def localize_bindings(node: DOMNode) -> None:
    """Translate the descriptions of *node*'s key bindings with :func:`t`.

    Textual merges ``BINDINGS`` when a class is created, which may be before
    the language was chosen; so classes write i18n keys as descriptions and
    every instance translates its own copy here, in the language of the day.
    """
    keys = {
        key: [replace(b, description=t(b.description)) if b.description else b for b in bindings]
        for key, bindings in node._bindings.key_to_bindings.items()
    }
    node._bindings = BindingsMap.from_keys(keys)


#: Textual's bindings as shown in the chosen language: (id, language) -> (binding, shown).
#: Keyed by id (hashing a Binding hashes all its fields, on every footer refresh);
#: the binding is kept in the entry, so its id cannot be reused meanwhile.
_SHOWN: dict[tuple[int, str], tuple[Binding, Binding]] = {}


def _textual_text(text: str | None) -> str | None:
    key = f"textual.{text}"
    return t(key) if text and has(key) else text


def localize_binding(binding: Binding) -> Binding:
    """*binding* with Textual's own English description and tooltip in the chosen language.

    Textual's widgets (Input, DataTable, Select, TextArea, Button, the screen
    and the app) bring bindings described in English ("Cursor up", "Dismiss
    menu", "Focus Next"); they are shown through this, in the footer and the
    keys panel alike.  A binding with nothing to translate is returned as it is.
    """
    lang = get_lang()
    entry = _SHOWN.get((id(binding), lang))
    if entry is not None and entry[0] is binding:
        return entry[1]
    description = _textual_text(binding.description) or ""
    tooltip = _textual_text(binding.tooltip) or ""
    shown = binding
    if description != binding.description or tooltip != binding.tooltip:
        shown = replace(binding, description=description, tooltip=tooltip)
    _SHOWN[(id(binding), lang)] = (binding, shown)
    return shown


def localize_textual() -> None:
    """Name Textual's key groups in the chosen language (the keys panel's "Input").

    The language is one for the whole process (:func:`visitlog.i18n.set_lang`),
    and so is this class setting.
    """
    Input.BINDING_GROUP_TITLE = t("textual.Input")


class Localized:
    """Mixin for screens and apps whose BINDINGS descriptions are i18n keys.

    On a screen, every active binding (Textual's own included) is shown in
    the chosen language: the footer and the keys panel both read them here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        localize_bindings(self)  # type: ignore[arg-type]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        found: dict[str, ActiveBinding] = super().active_bindings  # type: ignore[misc]
        for key, active in found.items():
            shown = localize_binding(active.binding)
            if shown is not active.binding:
                found[key] = active._replace(binding=shown, tooltip=shown.tooltip)
        return found


class RowTable(Localized, DataTable):
    """A table of rows with a row cursor: ``home`` and ``end`` go to the first
    and last row (DataTable's own scroll sideways, which a row list never needs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", show=False),
        Binding("end", "scroll_bottom", show=False),
    ]


class VisitlogScreen(Localized):
    """Mixin for visitlog's screens: translated bindings, and the app typed as ours."""

    _resumed = False

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler (Textual calls each class's).  A
        # new screen's widgets were styled as they were mounted: styling the
        # whole screen again as it first shows costs a form a third of its
        # opening time.  Later resumes (after a theme change, a dialog) do it.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    @property
    def vapp(self) -> VisitlogApp:
        return self.app  # type: ignore[attr-defined]


def enum_label(value: str | ChoiceEnum | None, enum_cls: type[ChoiceEnum] | None = None) -> str:
    """An enumeration value as the worker reads it: Chinese, or its alias in English."""
    if value is None or value == "":
        return ""
    if get_lang() == "zh":
        return str(value)
    if enum_cls is not None:
        try:
            return enum_cls.parse(value).alias
        except ValidationError:
            return str(value)
    return str(value)


def enum_options(enum_cls: type[ChoiceEnum]) -> list[tuple[str, str]]:
    """``(label, stored value)`` pairs for a Select of *enum_cls*."""
    return [(enum_label(m.value, enum_cls), m.value) for m in enum_cls]


def known_value(enum_cls: type[ChoiceEnum], value: Any) -> str | None:
    """*value* as stored (an alias such as ``met`` gives 见面), or None when it is not one.

    Drafts and stored records may hold what a Select cannot show (an older
    version's value, a typo in a file); a Select given it would raise.
    """
    if value in (None, ""):
        return None
    try:
        return enum_cls.parse(str(value)).value
    except ValidationError:
        return None


def enum_choice(enum_cls: type[ChoiceEnum], value: str, name: str) -> Select[str]:
    """A compact drop-down (:class:`Choice`) of *enum_cls* that always holds a value;
    *name* is its id and class.

    A *value* that is not one of the choices gives the first choice.
    """
    chosen = known_value(enum_cls, value) or next(iter(enum_cls)).value
    return Choice(
        enum_options(enum_cls), value=chosen, allow_blank=False, id=name, compact=True, classes=name
    )


def clip(text: str, width: int) -> str:
    """Cut *text* to *width* terminal cells (CJK counts 2), marking the cut with …."""
    if cell_len(text) <= width:
        return text
    out = Text(text)
    out.truncate(width, overflow="ellipsis")
    return out.plain


def bar(share: float | None, width: int = 20, style: str = "", empty_style: str = "") -> Text:
    """A drawn bar (█ and ░) for a ratio between 0 and 1 (None: an empty bar)."""
    ratio = max(0.0, min(1.0, share or 0.0))
    filled = round(ratio * width)
    out = Text()
    out.append("█" * filled, style=style)
    out.append("░" * (width - filled), style=empty_style)
    return out


def short_date(value: str | None) -> str:
    return value or "—"


def is_overdue(deadline: str | None, today: dt.date) -> bool:
    return bool(deadline) and str(deadline) < today.isoformat()
