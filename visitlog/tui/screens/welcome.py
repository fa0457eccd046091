"""An empty database opens here: import a roster, add a household, or load the demo."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header

from visitlog.i18n import t
from visitlog.tui.common import Localized, Plain


class WelcomeScreen(Localized, Screen[None]):
    """Three ways to start; the app dismisses this screen once households exist."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "app.import_roster", "tui.key.import"),
        Binding("a", "app.add_household", "tui.key.add_household"),
        Binding("d", "app.load_demo", "tui.key.demo"),
        Binding("down", "app.focus_next", show=False),
        Binding("up", "app.focus_previous", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="welcome"):
            yield Plain(t("tui.welcome.title"), classes="dialog-title")
            yield Plain(t("tui.welcome.body"), classes="dialog-body")
            yield Button(t("tui.welcome.import"), id="import", variant="primary")
            yield Button(t("tui.welcome.add"), id="add")
            yield Button(t("tui.welcome.demo"), id="demo")
            yield Plain(t("tui.welcome.hint"), classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#import", Button).focus()

    def on_screen_resume(self) -> None:
        # Households may have arrived while a dialog covered this screen
        # (the import report): then there is nothing left to welcome.
        # The app may have closed it already (a saved household): only once.
        home = getattr(self.app, "home", None)
        if home is not None and home.grids and self.app.screen is self:
            self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action = {"import": "import_roster", "add": "add_household", "demo": "load_demo"}
        self.app.run_action(action[event.button.id or ""])
