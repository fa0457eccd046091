"""The ``visitlog`` command line: thin Typer commands over the core.

Each group of commands lives in its own module of this package and adds
itself to the root app through ``register(app)``.  Options several commands
share are declared once in :mod:`visitlog.cli.options`; every help text is an
i18n key that :mod:`visitlog.cli.localize` translates in the language of the
run; long work shows one rich progress bar (:func:`visitlog.cli.common.progress_bar`).  Errors a user can cause
are :class:`~visitlog.model.VisitlogError`; the root group prints them as one
plain line on stderr and exits 1, so nobody is shown a traceback.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from visitlog.cli.common import State, err_console
from visitlog.cli.localize import choose_language, localize_help
from visitlog.cli.usage import is_help_shown, is_usage_error, usage_line
from visitlog.crashlog import crash_line, crash_log
from visitlog.i18n import set_lang, t
from visitlog.model import VisitlogError
from visitlog.store import cipher, default_db_path
from visitlog.store.files import sweep_leftovers
from visitlog.visible import visible

#: Command modules, each with ``register(app)``, and the names of the
#: commands and groups it adds to the root (in the order of the help).  A run
#: loads only the modules of the commands it names (``visitlog sync`` has no
#: use for the summary's or the dedup's libraries): every command starts a
#: new process on a worker's laptop, and twenty laptops' syncs start at once
#: at a hub.  ``tests/test_cli_lazy.py`` checks these names against what each
#: module registers.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "visitlog.cli.core": (
        "init",
        "demo",
        "check",
        "backup",
        "tui",
        "household",
        "visit",
        "item",
    ),
    "visitlog.cli.summary": ("summary",),
    "visitlog.cli.roster": ("roster",),
    "visitlog.cli.sync": ("sync", "bundle", "conflicts"),
    "visitlog.cli.hub": ("hub",),
    "visitlog.cli.dedup": ("dedup",),
    "visitlog.cli.address": ("address",),
    "visitlog.cli.security": ("key", "audit"),
    "visitlog.cli.plan": ("plan",),
    "visitlog.cli.crypt": ("encrypt", "rekey"),
}


class VisitlogGroup(TyperGroup):
    """Root group: help in the chosen language; user errors as one line and exit code 1."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **options: Any,
    ) -> Any:
        # --help prints before the root callback runs: the language is chosen first.
        choose_language(sys.argv[1:] if args is None else args, self)
        localize_help(self)
        try:
            # Not standalone: a usage error comes back here, to be said in one line.
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **options)
        except Exception as exc:
            if not standalone_mode:
                raise
            if is_help_shown(exc):
                sys.exit(2)  # `visitlog household`: its help was shown
            if is_usage_error(exc):
                _say_error(usage_line(exc))
                sys.exit(2)
            if type(exc).__name__ == "Abort":
                err_console.print(t("usage.aborted"))
                sys.exit(1)
            if "ClickException" in {c.__name__ for c in type(exc).__mro__}:
                _say_error(exc.format_message())  # type: ignore[attr-defined]
                sys.exit(getattr(exc, "exit_code", 1))
            raise
        if not standalone_mode:
            return code
        # Not standalone, a command's end comes back as its exit code (None: 0).
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        tokens = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except VisitlogError as exc:
            _say_error(str(exc))
            if isinstance(ctx.obj, State):
                ctx.obj.failed = True  # the error stays the one line said
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print(t("err.interrupted"))
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit, BrokenPipeError):
            raise
        except Exception as exc:
            if is_usage_error(exc):
                if getattr(exc, "ctx", None) is None:
                    # Where to read the usage (the parser's own errors do not know).
                    exc.command_path = _command_path(self, tokens)  # type: ignore[attr-defined]
                raise  # said in one line by main()
            log = crash_log(exc, _command_path(self, tokens))
            _say_error(crash_line(exc, log))
            raise typer.Exit(1) from None


def _say_error(message: str) -> None:
    """One plain error line on stderr: the data in it shown literally."""
    line = Text(t("err.prefix"), style="bold red")
    line.append(visible(message))
    err_console.print(line, soft_wrap=True)


def _command_path(group: Any, tokens: list[str]) -> str:
    """The command's name (``visitlog household list``), never its arguments: they hold data.

    Only names of known commands are kept, so an address given as an
    argument never reaches the log.
    """
    names = ["visitlog"]
    cmd = group
    for token in tokens:
        sub = getattr(cmd, "commands", {}).get(token)
        if sub is not None:
            names.append(token)
            cmd = sub
    return " ".join(names)


_app = typer.Typer(
    cls=VisitlogGroup,
    name="visitlog",
    help="help.root.app",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@_app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            envvar="VISITLOG_DB",
            help="help.root.root.db",
            show_default=False,
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="help.root.root.lang", show_default=False),
    ] = None,
) -> None:
    """Global options; bare ``visitlog`` opens the TUI."""
    if lang is not None and lang not in ("zh", "en"):
        raise typer.BadParameter(t("usage.want.choice", choices="zh | en"), param_hint="--lang")
    set_lang(lang)
    # Temporary files of an export a kill interrupted hold personal data.
    sweep_leftovers()
    ctx.obj = State(db_path=db)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from visitlog.cli.common import open_tui

        open_tui(ctx.obj)


def _prefetch_key(argv: Sequence[str]) -> None:
    """Derive an encrypted database's key while the commands load (see cipher.prefetch)."""
    db: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            db = argv[i + 1]
        elif arg.startswith("--db="):
            db = arg[len("--db=") :]
    try:
        cipher.prefetch(Path(db).expanduser() if db else default_db_path())
    except (OSError, ValueError):
        pass  # the command itself says what is wrong with the file


_prefetch_key(sys.argv[1:])

_loaded: set[str] = set()


def load_commands(argv: Sequence[str] | None = None) -> typer.Typer:
    """The root app with the command modules *argv* names registered.

    A module is loaded when one of its command names is among the words of
    *argv* (a word that only looks like one, a ``--db`` called ``sync``,
    loads one module more, never one less).  Bare ``visitlog`` (only the
    root's options) opens the TUI and loads none.  Without *argv*, with
    ``--help``, or when the words name no command (a misspelt one), every
    module is loaded, so that the help and the usage errors see them all.
    """
    if argv is None or "--help" in argv or "-h" in argv:
        wanted = list(COMMAND_MODULES)
    else:
        words = set(_past_root_options(argv))
        wanted = [m for m, names in COMMAND_MODULES.items() if words.intersection(names)]
        if words and not wanted:
            wanted = list(COMMAND_MODULES)
    for name in wanted:
        if name not in _loaded:
            _loaded.add(name)
            importlib.import_module(name).register(_app)
    return _app


def _past_root_options(argv: Sequence[str]) -> list[str]:
    """The words of *argv* once the root's own options (``--db F``, ``--lang L``) are taken out."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--db", "--lang"):
            skip = True
        elif not arg.startswith(("--db=", "--lang=")):
            out.append(arg)
    return out


def __getattr__(name: str) -> Any:
    # ``from visitlog.cli import app``: the whole command line, every module loaded.
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console entry point."""
    try:
        load_commands(sys.argv[1:])()
    except BrokenPipeError:
        # `visitlog … | head` closed the pipe: not an error worth a word.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
