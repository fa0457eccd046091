"""The unlock screen: the passphrase of an encrypted database, asked once at start;
and the screen that makes a new database encrypted (its passphrase, its recovery key).

Shown before the app itself when the database is encrypted and neither
``VISITLOG_PASSPHRASE`` nor the system keyring gives its passphrase.  The
recovery key is accepted in the same box.  The key derivation (a fifth of a
second) runs in a worker, so the screen never freezes; three wrong tries
end it, and are noted in the private log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from visitlog.crashlog import note_event
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.store import WrongKeyError, cipher, recovery

#: Wrong tries before the screen gives up (the last one is logged).
MAX_TRIES = 3


class Checked(Message):
    """The outcome of one try: None when it opened the database, else why not."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class UnlockApp(App[bool]):
    """Asks for the passphrase of the database at *path*; returns True once it opens."""

    CSS = """
    Screen { align: center middle; }
    #unlock { width: 64; height: auto; border: round $accent; padding: 1 2; }
    #unlock-title { text-style: bold; }
    #unlock-message { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "give_up", show=False),
        Binding("ctrl+q", "give_up", show=False),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.tries = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock"):
            yield Label(t("enc.unlock.title"), id="unlock-title")
            yield Static(str(self.path), markup=False)
            yield Label(t("enc.unlock.label"))
            yield Input(password=True, id="unlock-input")
            yield Static("", id="unlock-message", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.disabled = True
        self.query_one("#unlock-message", Static).update(t("enc.unlock.checking"))
        self._check(text)

    @work(thread=True)
    def _check(self, text: str) -> None:
        try:
            recovery.unlock(self.path, text)
        except WrongKeyError as exc:
            self.post_message(Checked(str(exc)))
            return
        self.post_message(Checked(None))

    def on_checked(self, message: Checked) -> None:
        if message.error is None:
            self.exit(True)
            return
        self.tries += 1
        if self.tries >= MAX_TRIES:
            note_event(t("enc.log_too_many", path=self.path))
            self.exit(False)
            return
        box = self.query_one("#unlock-input", Input)
        box.value = ""
        box.disabled = False
        box.focus()
        self.query_one("#unlock-message", Static).update(
            t("enc.unlock.wrong", n=self.tries, max=MAX_TRIES)
        )

    def action_give_up(self) -> None:
        self.exit(False)


def unlock(path: Path) -> None:
    """Run the unlock screen until the database's key is known to this process.

    Raises:
        VisitlogError: three wrong tries, or the person gave up (escape).
    """
    app = UnlockApp(path)
    if app.run():
        return
    if app.tries >= MAX_TRIES:
        raise VisitlogError(t("enc.err.too_many", path=path))
    raise VisitlogError(t("enc.err.locked", path=path, env=cipher.PASSPHRASE_ENV))


class Made(Message):
    """The new database was made: its recovery key, or why it could not be."""

    def __init__(self, recovery_key: str | None, error: str | None = None) -> None:
        super().__init__()
        self.recovery_key = recovery_key
        self.error = error


class NewDatabaseApp(App[bool]):
    """Asks twice for the passphrase of a new database, has ``make`` create it
    encrypted, and shows its recovery key once; returns True when it was made."""

    CSS = (
        UnlockApp.CSS.replace("#unlock-message", "#unlock-message, #recovery-key")
        + """
    #unlock { width: 76; }
    #recovery-key { color: $text; text-style: bold; height: auto; }
    #new-explain { height: auto; margin-bottom: 1; }
    #unlock Button { margin-top: 1; }
    """
    )
    BINDINGS = UnlockApp.BINDINGS

    def __init__(self, path: Path, make: Callable[[str], str]) -> None:
        super().__init__()
        self.path = path
        self.make = make
        self.first: str | None = None
        self.made = False

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock"):
            yield Label(t("enc.new.title"), id="unlock-title")
            yield Static(str(self.path), markup=False)
            yield Static(t("enc.new.explain"), id="new-explain", markup=False)
            yield Label(t("enc.prompt.new", n=cipher.MIN_PASSPHRASE), id="unlock-label")
            yield Input(password=True, id="unlock-input")
            yield Static("", id="unlock-message", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        message = self.query_one("#unlock-message", Static)
        box = event.input
        box.value = ""
        if self.first is None:
            try:
                cipher.check_new_passphrase(text)
            except VisitlogError as exc:
                message.update(str(exc))
                return
            self.first = text
            self.query_one("#unlock-label", Label).update(t("enc.prompt.confirm"))
            message.update("")
            return
        if text != self.first:
            self.first = None
            self.query_one("#unlock-label", Label).update(
                t("enc.prompt.new", n=cipher.MIN_PASSPHRASE)
            )
            message.update(t("enc.new.mismatch"))
            return
        box.disabled = True
        message.update(t("enc.new.making"))
        self._make(text)

    @work(thread=True)
    def _make(self, passphrase: str) -> None:
        try:
            self.post_message(Made(self.make(passphrase)))
        except VisitlogError as exc:
            self.post_message(Made(None, str(exc)))

    def on_made(self, message: Made) -> None:
        if message.recovery_key is None:
            self.query_one("#unlock-message", Static).update(message.error or "")
            return
        self.made = True
        self.query_one("#unlock-input", Input).remove()
        self.query_one("#new-explain", Static).update(t("enc.recovery_hint"))
        self.query_one("#unlock-label", Label).update(t("enc.new.key_label"))
        self.query_one("#unlock-message", Static).remove()
        box = self.query_one("#unlock", Vertical)
        box.mount(Static(message.recovery_key, id="recovery-key", markup=False))
        box.mount(Button(t("enc.new.done"), id="recovery-done", variant="primary"))
        self.query_one("#recovery-done", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.exit(True)

    def action_give_up(self) -> None:
        # Once made, the database is there: leaving is going on to the app.
        self.exit(self.made)


def make_new(path: Path, make: Callable[[str], str]) -> None:
    """Run :class:`NewDatabaseApp` until the new database at *path* is made.

    Raises:
        VisitlogError: the person left before choosing a passphrase (nothing made).
    """
    if not NewDatabaseApp(path, make).run():
        raise VisitlogError(t("enc.err.not_made", path=path, env=cipher.PASSPHRASE_ENV))
