"""The ``visitlog`` command line: thin Typer commands over the core.

Each group of commands lives in its own module of this package and adds
itself to the root app through ``register(app)``.  Errors a user can cause
are :class:`~visitlog.model.VisitlogError`; the root group prints them as one
plain line on stderr and exits 1, so nobody is shown a traceback.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from visitlog.cli.common import State, err_console
from visitlog.i18n import set_lang, t
from visitlog.model import VisitlogError

#: Command modules, each with ``register(app)``.
COMMAND_MODULES = [
    "visitlog.cli.core",
    "visitlog.cli.summary",
    "visitlog.cli.roster",
    "visitlog.cli.sync",
    "visitlog.cli.dedup",
    "visitlog.cli.security",
]


class VisitlogGroup(TyperGroup):
    """Root group: turns user errors into one line and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except VisitlogError as exc:
            err_console.print(
                f"[bold red]{t('err.prefix')}[/]{escape(str(exc))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print(t("err.interrupted"))
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit, BrokenPipeError):
            raise
        except Exception as exc:
            if getattr(exc, "exit_code", None) is not None and type(exc).__name__.endswith(
                ("UsageError", "BadParameter", "NoSuchOption", "MissingParameter")
            ):
                raise
            _log_internal_error(exc)
            err_console.print(
                f"[bold red]{t('err.prefix')}[/]"
                + escape(t("err.internal", detail=f"{type(exc).__name__}: {exc}")),
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None


def _log_internal_error(exc: BaseException) -> None:
    """Keep the traceback for the maintainers, out of the worker's sight."""
    try:
        import platformdirs

        log = Path(platformdirs.user_log_dir("visitlog", appauthor=False)) / "errors.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"--- {dt.datetime.now().isoformat()} {' '.join(sys.argv)}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass


app = typer.Typer(
    cls=VisitlogGroup,
    name="visitlog",
    help="四百大走访：离线记录走访、同步、去重、按微网格汇总。"
    " (Household visits of 四百大走访: record offline, sync, de-duplicate, summarise per micro-grid.)"
    " 不带命令运行时打开终端界面 (without a command, opens the terminal app).",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            envvar="VISITLOG_DB",
            help="数据库文件 (database file); 默认在用户数据目录 (default: the user data dir).",
            show_default=False,
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="界面语言 zh|en (language); 默认中文。", show_default=False),
    ] = None,
) -> None:
    """Global options; bare ``visitlog`` opens the TUI."""
    if lang is not None and lang not in ("zh", "en"):
        raise typer.BadParameter("zh | en", param_hint="--lang")
    set_lang(lang)
    ctx.obj = State(db_path=db)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is None:
        from visitlog.cli.common import open_tui

        open_tui(ctx.obj)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:
        # `visitlog … | head` closed the pipe: not an error worth a word.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
