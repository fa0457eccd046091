"""What every command shares: the open store, output to the terminal, JSON, progress."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.table import Table
from rich.text import Text

from visitlog.crashlog import note_event
from visitlog.i18n import t
from visitlog.model import VisitlogError
from visitlog.progress import Progress
from visitlog.store import LockedError, Store, WrongKeyError, cipher, default_db_path, recovery
from visitlog.visible import json_layout, json_visible, visible


class DataConsole(Console):
    """A console for text that holds data: never markup, never a raw control character.

    Markup and ``:emoji:`` codes are off, so a ``[/]`` or ``[link=…]`` in a
    grid name prints as it is written; every string printed (table cells and
    titles included) has its control characters made visible
    (:func:`visitlog.visible.visible`).  Styled text is built as
    :class:`rich.text.Text` with :func:`cell`.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("highlight", False)
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:  # type: ignore[override]
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(visible(text), **kwargs)


def cell(value: Any, style: str = "") -> Text:
    """Data as a Rich :class:`Text`: shown literally, control characters made visible."""
    return Text(visible(value), style=style)


console = DataConsole()
err_console = DataConsole(stderr=True)


@dataclass
class State:
    """Options of the root command, and the store opened for this command."""

    db_path: Path | None = None
    _store: Store | None = field(default=None, repr=False)
    #: The command failed: its one error line is all it says.
    failed: bool = False

    @property
    def path(self) -> Path:
        return self.db_path or default_db_path()

    def store(self, ask: Callable[[Path], None] | None = None) -> Store:
        """Open (creating if needed) the database on first use.

        An encrypted database with no passphrase at hand (``VISITLOG_PASSPHRASE``,
        the keyring) asks for it: *ask*, else on a terminal (:func:`ask_passphrase`).
        """
        if self._store is None and self.will_make_plain():
            self._make_new()
        if self._store is None:
            try:
                self._store = Store(self.path)
            except LockedError:
                (ask or ask_passphrase)(self.path)
                self._store = Store(self.path)
        return self._store

    def will_make_plain(self) -> bool:
        """Would opening make a new plain database, no passphrase being at hand
        (and none refused with ``init --plain`` or ``VISITLOG_PLAIN``)?"""
        path = self.path
        fresh = not path.exists() or path.stat().st_size == 0
        return fresh and cipher.new_key() is None and not cipher.plain_requested()

    def _make_new(self) -> None:
        """A command run before any database exists makes it encrypted, as ``init``
        does: the new passphrase typed twice on a terminal (or from
        ``VISITLOG_PASSPHRASE``), the recovery key shown once on stderr, where
        the person is (stdout may be a pipe).  Elsewhere, one line saying what to
        do, and nothing is made."""
        if not on_terminal():
            raise VisitlogError(
                t(
                    "enc.err.first_use",
                    path=self.path,
                    env=cipher.PASSPHRASE_ENV,
                    plain=cipher.PLAIN_ENV,
                )
            )
        err_console.print(t("enc.first_use", path=self.path))
        shown = self.make_encrypted(new_passphrase())
        if shown:
            err_console.print(t("enc.created", path=self.path))
            show_recovery(shown, to=err_console)

    def make_encrypted(self, passphrase: str) -> str:
        """Make the new database encrypted with *passphrase*; its recovery key."""
        cipher.use_passphrase(passphrase)
        store = self.store()
        if store.key is None:  # made meanwhile by another program, plain
            return ""
        return recovery.new_recovery(self.path, store.key)

    def close(self) -> None:
        if self._store is not None:
            change = self._store.identity_change
            self._store.close()
            self._store = None
            if change is not None and not self.failed:
                # A restored or copied database renumbered its changes on its
                # first write: say so (sync reports say it themselves).
                from visitlog.sync import identity_note

                err_console.print(identity_note(change), highlight=False, soft_wrap=True)


#: Wrong passphrases allowed before a command gives up (the third is logged).
MAX_TRIES = 3


def on_terminal() -> bool:
    """May the command ask the person at the keyboard (stdin and stderr a terminal)?"""
    return sys.stdin.isatty() and err_console.is_terminal


def ask_secret(prompt: str) -> str:
    """One hidden line typed at the terminal."""
    return typer.prompt(prompt, hide_input=True, err=True, show_default=False)


def ask_passphrase(path: Path) -> None:
    """Ask for the passphrase (or recovery key) of the encrypted database at *path*.

    Up to :data:`MAX_TRIES` tries on a terminal; the key is then kept for
    the rest of the command.  Elsewhere, or after the last wrong try (logged
    in the private log), one plain line.
    """
    if not on_terminal():
        raise VisitlogError(t("enc.err.locked", path=path, env=cipher.PASSPHRASE_ENV))
    for attempt in range(1, MAX_TRIES + 1):
        text = ask_secret(t("enc.prompt.passphrase", path=path))
        try:
            recovery.unlock(path, text.strip())
            return
        except WrongKeyError:
            if attempt < MAX_TRIES:
                err_console.print(t("enc.wrong_try", n=attempt, max=MAX_TRIES))
    note_event(t("enc.log_too_many", path=path))
    raise VisitlogError(t("enc.err.too_many", path=path))


def new_passphrase(env: str = cipher.PASSPHRASE_ENV) -> str:
    """A new passphrase: from *env*, else typed twice on a terminal."""
    given = os.environ.get(env)
    if given:
        cipher.check_new_passphrase(given)
        return given
    if not on_terminal():
        raise VisitlogError(t("enc.err.no_new", env=env))
    first = ask_secret(t("enc.prompt.new", n=cipher.MIN_PASSPHRASE))
    cipher.check_new_passphrase(first)
    if ask_secret(t("enc.prompt.confirm")) != first:
        raise VisitlogError(t("enc.err.mismatch"))
    return first


def show_recovery(key: str, to: Console = console) -> None:
    """The recovery key, shown this once (on stdout, where it is the command's result)."""
    to.print(t("enc.recovery", recovery=key), soft_wrap=True)
    to.print(t("enc.recovery_hint"))


#: Values JSON writes as they are (exactly these types: a str enum goes the long way).
_PLAIN = frozenset({str, int, float, bool, type(None)})
#: The field names of each record class met, in order.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def record_jsonable(obj: Any) -> Any:
    """A record (dataclass), or lists and dicts of them, as JSON values: what
    ``asdict`` makes, without its deep copy (a listing turns millions)."""
    cls = type(obj)
    if cls in _PLAIN:
        return obj
    names = _FIELD_NAMES.get(cls)
    if names is None and is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    if names is not None:
        out = {}
        for name in names:
            value = getattr(obj, name)
            out[name] = value if type(value) in _PLAIN else record_jsonable(value)
        return out
    if isinstance(obj, list | tuple):
        return [v if type(v) in _PLAIN else record_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {k: v if type(v) in _PLAIN else record_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


#: One JSON encoder for every record written (``json.dumps`` with an option
#: makes a new encoder at each call: a listing writes millions of records).
_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False)


def emit_records(records: Iterable[Any], *, lines: bool = False) -> int:
    """Write records to stdout as they come: one JSON array (``--json``), one
    record a line inside it, or one object a line with no array (``--jsonl``).

    Memory does not grow with the number of records, and the first is written
    before the last is read.

    Returns:
        How many records were written.
    """
    out = sys.stdout
    encode = _RECORD_ENCODER.encode
    n = 0
    try:
        for record in records:
            text = json_visible(encode(record_jsonable(record)))
            if lines:
                out.write(text + "\n")
            else:
                out.write(("[\n" if n == 0 else ",\n") + text)
            n += 1
        if not lines:
            out.write("[]\n" if n == 0 else "\n]\n")
        out.flush()
    except BrokenPipeError:
        # `visitlog … --jsonl | head` has read what it wanted: not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    return n


def json_text(obj: Any) -> str:
    """*obj* as JSON whose text a terminal shows as it is (:func:`json_visible`),
    laid out a key or a listed object a line (:func:`json_layout`)."""
    return json_visible(json_layout(record_jsonable(obj)))


def emit_json(obj: Any) -> None:
    """Machine-readable output: JSON on stdout and nothing else there."""
    sys.stdout.write(json_text(obj) + "\n")
    sys.stdout.flush()


def open_tui(state: State) -> None:
    """Open the terminal app on the chosen database."""
    from visitlog.tui.app import make_app, make_new, unlock

    if state.will_make_plain():
        # A new install: its database is made encrypted, as `init` makes it.
        make_new(state.path, state.make_encrypted)
    app = make_app(state.store(ask=unlock))
    app.run()
    if app.return_code:
        # A crash: the app printed its one line (no traceback, no data) on exit.
        raise SystemExit(app.return_code)


@contextmanager
def progress_bar(
    describe: Callable[[str, int, int | None], str | None], *, show_from: int = 0
) -> Iterator[Progress | None]:
    """A transient rich progress bar on stderr for long work, only on a terminal.

    Yields the one progress callback ``progress(phase, done, total)``
    (:mod:`visitlog.progress`), or None when stderr is not a terminal.

    Args:
        describe: the line shown for ``(phase, done, total)``; None leaves that
            report out (a step too short to be worth a bar).
        show_from: the bar appears only once ``done`` or ``total`` reaches this
            (small files finish before a bar is worth drawing).
    """
    if not err_console.is_terminal:
        yield None
        return
    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    tasks: dict[str, Any] = {}
    started = False

    def update(phase: str, done: int, total: int | None) -> None:
        nonlocal started
        description = describe(phase, done, total)
        if description is None:
            return
        if not started:
            if max(done, total or 0) < max(show_from, 1):
                return
            bar.start()
            started = True
        if phase not in tasks:
            tasks[phase] = bar.add_task(description, total=total)
        bar.update(tasks[phase], completed=done, total=total, description=description)

    try:
        yield update
    finally:
        if started:
            bar.stop()


def fitted_table(
    title: str,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    *,
    drop: Sequence[str] = (),
    squeeze: str | None = None,
    squeeze_to: int = 16,
    width: int | None = None,
) -> Table:
    """A table that prints one line per row in the terminal's width.

    Widths are counted in terminal cells (a Chinese character is two).  When
    the rows do not fit, the columns named in *drop* are left out, in that
    order, until they do, counting the *squeeze* column as at most
    *squeeze_to* cells wide; that column then takes the width left, cut
    with "…" when it needs more (the others keep their width).

    Args:
        columns: ``(name, header)`` pairs, in display order.
        rows: the cells of each row, in the order of *columns*.
        width: the width to fit (default: the console's).
    """
    width = console.width if width is None else width
    natural = {
        name: max([cell_len(header)] + [cell_len(Text(visible(r[i])).plain) for r in rows])
        for i, (name, header) in enumerate(columns)
    }

    def needed(names: list[str], squeezed: bool = False) -> int:
        # A cell of padding either side of each column, a divider between
        # columns and the table's two edges.
        cells = [
            min(natural[n], squeeze_to) if squeezed and n == squeeze else natural[n] for n in names
        ]
        return sum(cells) + 3 * len(names) + 1

    kept = [name for name, _ in columns]
    for name in drop:
        if needed(kept, squeezed=True) <= width:
            break
        if name in kept and len(kept) > 1:
            kept.remove(name)
    if squeeze in kept and needed(kept) > width:
        others = [n for n in kept if n != squeeze]
        natural[squeeze] = max(cell_len(dict(columns)[squeeze]), width - needed(others) - 3)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=True)
    for name, header in columns:
        if name in kept:
            table.add_column(header, no_wrap=True, overflow="ellipsis", width=natural[name])
    index = [i for i, (name, _) in enumerate(columns) if name in kept]
    for r in rows:
        table.add_row(*(r[i] if isinstance(r[i], Text) else cell(r[i]) for i in index))
    return table
