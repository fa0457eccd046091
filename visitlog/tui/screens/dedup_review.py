"""Review possible duplicate households pair by pair: ``m`` merge, ``x`` not a duplicate, ``u`` undo.

The candidates are computed off the UI thread (a district takes seconds).
The pairs for a person to decide (the middle band) come first, the one
whose decision would teach the model most first; then the pairs ``--apply``
would merge.  The address aliases a pair relies on (花溪路45弄 = 曹杨一村)
are shown under it: ``k`` confirms one, ``r`` rejects it.
Each pair is shown side by side, field by field, with the fields that differ
highlighted and the reasons for the score underneath.  Every decision is
written at once through the core (a merge record or a "not a duplicate"
decision, both synced) and can be taken back with ``u``, last first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static

from visitlog.address import normalize_address
from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import t
from visitlog.model import Occupancy, VisitlogError
from visitlog.residents import read_phones
from visitlog.tui.common import CompactFooter, Plain, VisitlogScreen, enum_label, shown
from visitlog.visible import visible

if TYPE_CHECKING:
    from visitlog.dedup import Pair
    from visitlog.store import Store

#: Fields shown for each household, in this order.
FIELDS = ("address", "head", "phone", "members", "micro_grid", "occupancy", "tags", "visits")


@dataclass
class _Done:
    """One decision taken on this screen, for ``u``."""

    kind: str  # "merge" or "distinct"
    ref: str  # merge id, or ""
    pair: Pair
    pairs_before: list[Pair]
    index_before: int


class DedupReviewScreen(VisitlogScreen, Screen[None]):
    """Possible duplicate households, one pair at a time."""

    DEFAULT_CSS = """
    DedupReviewScreen #dedup-status { height: 1; padding: 0 1; }
    DedupReviewScreen #dedup-sides { height: auto; }
    DedupReviewScreen .dedup-side { width: 1fr; height: auto; padding: 0 1; border: round $primary; }
    DedupReviewScreen #dedup-reasons { height: auto; padding: 0 1; }
    DedupReviewScreen #dedup-aliases { height: auto; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "dedup.tui.back"),
        Binding("m", "merge", "dedup.tui.merge"),
        Binding("x", "distinct", "dedup.tui.distinct"),
        Binding("u", "undo", "dedup.tui.undo"),
        Binding("n,right,down", "move(1)", "dedup.tui.next"),
        Binding("p,left,up", "move(-1)", "dedup.tui.prev"),
        Binding("k", "alias('confirmed')", "dedup.tui.alias_confirm"),
        Binding("r", "alias('rejected')", "dedup.tui.alias_reject"),
    ]

    class Found(Message):
        """The candidates, computed in a worker."""

        def __init__(
            self,
            pairs: list[Pair] | None,
            info: dict[str, dict[str, Any]] | None,
            error: str | None = None,
            aliases: list[dict[str, Any]] | None = None,
        ):
            super().__init__()
            self.pairs, self.info, self.error = pairs, info, error
            self.aliases = aliases or []

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[Pair] = []
        self.info: dict[str, dict[str, Any]] = {}
        #: The address aliases in force or decided (visitlog.dedup.dwellings.Alias.to_json()).
        self.aliases: list[dict[str, Any]] = []
        self.index = 0
        self.done: list[_Done] = []
        self.loaded = False
        #: Fields of the shown pair whose values differ (highlighted).
        self.differ: set[str] = set()
        #: True while a decision is being written.
        self.writing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(t("dedup.tui.loading"), id="dedup-status")
        with VerticalScroll(id="dedup-scroll"):
            with Horizontal(id="dedup-sides"):
                yield Plain("", id="dedup-a", classes="dedup-side")
                yield Plain("", id="dedup-b", classes="dedup-side")
            yield Plain("", id="dedup-reasons")
            yield Plain("", id="dedup-aliases")
        yield CompactFooter()

    def on_mount(self) -> None:
        self.title = t("dedup.tui.title")
        self.query_one("#dedup-scroll").focus()
        self._find()

    # -- loading ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="dedup")
    def _find(self) -> None:
        from visitlog import dedup

        try:
            with self.vapp.reader() as store:
                result = dedup.find_households(store)
                ids = {i for p in result.pairs for i in (p.a, p.b)}
                info = dedup.describe(store, "households", ids)
        except VisitlogError as exc:
            self.post_message(self.Found(None, None, str(exc)))
            return
        except Exception as exc:  # a core bug must not take the app down
            self.post_message(self.Found(None, None, crash_line(exc, crash_log(exc, "tui dedup"))))
            return
        # The middle band first (most instructive first), then what --apply merges.
        review = {(p.a, p.b) for p in result.review}
        pairs = result.review + [p for p in result.pairs if (p.a, p.b) not in review]
        self.post_message(self.Found(pairs, info, aliases=result.aliases))

    def on_dedup_review_screen_found(self, message: Found) -> None:
        if message.error is not None:
            self.query_one("#dedup-status", Static).update(Text(message.error, style="bold"))
            return
        self.pairs = message.pairs or []
        self.info = message.info or {}
        self.aliases = message.aliases
        self.index = 0
        self.loaded = True
        self.show()

    # -- drawing --------------------------------------------------------------------------

    def current(self) -> Pair | None:
        if not self.pairs:
            return None
        self.index = max(0, min(self.index, len(self.pairs) - 1))
        return self.pairs[self.index]

    def show(self) -> None:
        status = self.query_one("#dedup-status", Static)
        pair = self.current()
        a_side = self.query_one("#dedup-a", Static)
        b_side = self.query_one("#dedup-b", Static)
        reasons = self.query_one("#dedup-reasons", Static)
        if pair is None:
            self.differ = set()
            status.update(t("dedup.tui.empty"))
            for widget in (a_side, b_side, reasons, self.query_one("#dedup-aliases", Static)):
                widget.update("")
            return
        status.update(
            t(
                "dedup.tui.progress",
                n=self.index + 1,
                total=len(self.pairs),
                score=f"{pair.score:.3f}",
            )
        )
        a, b = self.info.get(pair.a, {}), self.info.get(pair.b, {})
        self.differ = {f for f in FIELDS if _key(f, a.get(f)) != _key(f, b.get(f))}
        a_side.update(self._side("A", pair.a, a, self.differ))
        b_side.update(self._side("B", pair.b, b, self.differ))
        body = Text()
        for line in pair.reasons:
            body.append(visible("· " + line) + "\n")
        reasons.update(body)
        self._show_aliases(a, b)

    def pair_aliases(self) -> list[dict[str, Any]]:
        """The aliases the shown pair's addresses use (in force or decided)."""
        pair = self.current()
        if pair is None:
            return []
        return _aliases_of(self.aliases, [self.info.get(pair.a, {}), self.info.get(pair.b, {})])

    def _show_aliases(self, a: dict[str, Any], b: dict[str, Any]) -> None:
        widget = self.query_one("#dedup-aliases", Static)
        found = _aliases_of(self.aliases, [a, b])
        if not found:
            widget.update(Text(t("alias.tui.none"), style="dim"))
            return
        body = Text()
        for al in found:
            line = t(
                "alias.tui.line",
                alias=al["alias"],
                target=al["target"],
                status=t(f"alias.status.{al['status']}"),
                evidence=al["evidence"],
            )
            body.append(
                visible("· " + line) + "\n", style="dim" if al["status"] == "rejected" else ""
            )
        body.append(t("alias.tui.keys"), style="dim")
        widget.update(body)

    def _side(self, label: str, rid: str, info: dict[str, Any], differ: set[str]) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, style="dim")
        table.add_column(overflow="fold")
        table.add_row(label, Text(rid[-8:], style="dim"))
        accent = f"bold {self.vapp.theme_color('warning')}"
        for f in FIELDS:
            value = _shown(f, info.get(f))
            text = shown(value or "—", style=accent if f in differ else "")
            if not value:
                text.stylize("dim")
            table.add_row(t(f"dedup.field.{f}"), text)
        return table

    # -- actions --------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        if self.pairs:
            self.index = (self.index + step) % len(self.pairs)
            self.show()

    # Each decision is written in a worker (the database may be busy with
    # another program's write); the pairs change once it is stored.

    def action_merge(self) -> None:
        from visitlog.dedup import merges as dedup_merge

        pair = self.current()
        if pair is None or self._busy():
            return

        def merge(store: Store) -> tuple[str, str]:
            merge_id = dedup_merge.merge(
                store, [pair.a, pair.b], kind="households", score=pair.score,
                reasons=pair.reasons,
            )  # fmt: skip
            return merge_id, dedup_merge.get_merge(store, merge_id)["survivor"]

        def merged(result: tuple[str, str]) -> None:
            merge_id, survivor = result
            self._remember("merge", merge_id, pair)
            # The merged-away record is no longer live: its other pairs go too.
            gone = {pair.a, pair.b} - {survivor}
            self.pairs = [p for p in self.pairs if not ({p.a, p.b} & gone) and p is not pair]
            self.notify(t("dedup.tui.merged", id=merge_id[-8:]))
            self._changed()

        self._write(merge, merged)

    def action_distinct(self) -> None:
        from visitlog.dedup import merges as dedup_merge

        pair = self.current()
        if pair is None or self._busy():
            return

        def marked(_result: Any) -> None:
            self._remember("distinct", "", pair)
            self.pairs = [p for p in self.pairs if p is not pair]
            self.notify(t("dedup.tui.marked"))
            self._changed()

        self._write(lambda store: dedup_merge.mark_distinct(store, pair.a, pair.b), marked)

    def action_undo(self) -> None:
        from visitlog.dedup import merges as dedup_merge

        if self._busy():
            return
        if not self.done:
            self.notify(t("dedup.tui.nothing_to_undo"), severity="warning")
            return
        last = self.done[-1]

        def undo(store: Store) -> None:
            if last.kind == "merge":
                dedup_merge.undo(store, last.ref)
            else:
                dedup_merge.unmark_distinct(store, last.pair.a, last.pair.b)

        def undone(_result: Any) -> None:
            self.done.pop()
            self.pairs = last.pairs_before
            self.index = last.index_before
            self.notify(t("dedup.tui.undone"))
            self._changed()

        self._write(undo, undone)

    def action_alias(self, status: str) -> None:
        """Confirm or reject the first alias the shown pair uses (kept and synced)."""
        from visitlog.dedup import places

        found = self.pair_aliases()
        if not found or self._busy():
            return
        al = found[0]
        decide = places.add_alias if status == "confirmed" else places.reject_alias

        def job(store: Store) -> dict[str, Any]:
            return decide(store, al["alias"], al["target"], al["scope"] or None)

        def done(_row: Any) -> None:
            for other in self.aliases:
                if (other["alias"], other["target"], other["scope"]) == (
                    al["alias"],
                    al["target"],
                    al["scope"],
                ):
                    other["status"] = status
            key = "alias.tui.confirmed" if status == "confirmed" else "alias.tui.rejected"
            self.notify(t(key, alias=al["alias"], target=al["target"]))
            self._changed()

        self._write(job, done)

    def _busy(self) -> bool:
        """A decision is still being written: one at a time, in order."""
        if self.writing:
            self.notify(t("tui.save.pending"), severity="warning")
        return self.writing

    def _write(self, job: Callable[[Store], Any], done: Callable[[Any], None]) -> None:
        self.writing = True

        def finished(result: Any) -> None:
            self.writing = False
            if self.is_attached:
                done(result)

        def failed(error: str) -> None:
            self.writing = False
            self.notify(error, severity="error", timeout=15)

        self.vapp.write(job, finished, failed)

    def _remember(self, kind: str, ref: str, pair: Pair) -> None:
        self.done.append(_Done(kind, ref, pair, list(self.pairs), self.index))

    def _changed(self) -> None:
        self.vapp.data_changed()
        self.show()


def _aliases_of(aliases: list[dict[str, Any]], sides: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The aliases whose alias text is in one side's address or 小区 and whose estate
    is the other's (or the same side's): what made the two read as one place."""
    texts = [
        (
            normalize_address(s.get("address")),
            normalize_address(s.get("estate")),
            s.get("community"),
        )
        for s in sides
    ]
    out = []
    for al in aliases:
        if al["scope"] and not any(c == al["scope"] for _, _, c in texts):
            continue
        uses = [al["alias"] in addr or al["alias"] == est for addr, est, _ in texts]
        names = [al["target"] in addr or al["target"] == est for addr, est, _ in texts]
        if any(uses) and (any(names) or al["kind"] == "short"):
            out.append(al)
    return out


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if field == "tags":
        return "、".join(value) if value else ""
    if field == "occupancy":
        return enum_label(value, Occupancy)
    return str(value)


def _key(field: str, value: Any) -> Any:
    """What two values are compared on (spellings of one address are not a difference)."""
    if field == "address":
        return normalize_address(value)
    if field == "phone":
        if not value:
            return None
        numbers = read_phones(value).numbers
        return tuple(sorted(n.number for n in numbers)) if numbers else value
    if field == "tags":
        return sorted(value or [])
    return value
