"""The command palette (ctrl+p), saying "no matches" in the chosen language."""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

from visitlog.i18n import t
from visitlog.tui.common import Localized


class Palette(Localized, CommandPalette):
    """Textual's command palette, its keys and its "No matches found" line translated."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own countdown, with the line in the worker's language.
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(t("tui.palette.no_matches"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
