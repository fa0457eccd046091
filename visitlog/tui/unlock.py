"""The unlock screen: the passphrase of an encrypted database, asked once at start.

Shown before the app itself when the database is encrypted and neither
``VISITLOG_PASSPHRASE`` nor the system keyring gives its passphrase.  The
recovery key is accepted in the same box.  The key derivation (a fifth of a
second) runs in a worker, so the screen never freezes; three wrong tries
end it, and are noted in the private log.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

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
