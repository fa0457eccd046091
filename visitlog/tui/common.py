"""Small helpers shared by the screens: translated key bindings, labels, bars."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import ActiveBinding, Binding, BindingsMap
from textual.dom import DOMNode
from textual.widgets import Input, Select, Static

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


class VisitlogScreen(Localized):
    """Mixin for visitlog's screens: translated bindings, and the app typed as ours."""

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
    """A compact Select of *enum_cls* that always holds a value; *name* is its id and class.

    A *value* that is not one of the choices gives the first choice.
    """
    chosen = known_value(enum_cls, value) or next(iter(enum_cls)).value
    return Select(
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
