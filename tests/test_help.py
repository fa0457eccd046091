"""Every command and group explains itself with --help."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from visitlog.cli import app


def _walk(group, path=()):
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):
            yield from _walk(cmd, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = sorted(_walk(ROOT), key=lambda x: x[0])


def test_core_commands_exist():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {
        "init",
        "demo",
        "household add",
        "household list",
        "visit add",
        "visit list",
        "visit edit",
        "visit delete",
        "item list",
        "item update",
        "check",
        "backup",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_command_has_help(path):
    cmd = dict(COMMANDS)[path]
    assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "用法：visitlog" in result.output
    for param in cmd.params:
        if getattr(param, "help", None) is not None or param.param_type_name != "option":
            continue
        if param.name in ("help",):
            continue
        pytest.fail(f"option {param.name} of {' '.join(path)} has no help")
