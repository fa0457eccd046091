"""A run of ``visitlog`` loads only the command modules it names.

Every command is a new process on a worker's laptop (and twenty laptops'
syncs start at once at a hub), so ``visitlog sync`` must not pay for the
libraries of the summary, the dedup or the roster.  These tests check the
table of command names against what the modules really register, and which
modules a run loads, in a fresh interpreter each.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer

from visitlog.cli import COMMAND_MODULES


def _registered(module: str) -> list[str]:
    fresh = typer.Typer()
    importlib.import_module(module).register(fresh)
    names = [c.name for c in fresh.registered_commands]
    names += [g.name for g in fresh.registered_groups]
    return names


@pytest.mark.parametrize("module", list(COMMAND_MODULES))
def test_the_table_names_exactly_what_each_module_registers(module):
    assert sorted(_registered(module)) == sorted(COMMAND_MODULES[module])


def test_no_two_modules_claim_one_name():
    names = [n for names in COMMAND_MODULES.values() for n in names]
    assert len(names) == len(set(names))


def _loaded_by(argv: list[str]) -> tuple[list[str], list[str]]:
    """The command modules and the heavy libraries in memory after loading for *argv*."""
    code = (
        "import json, sys\n"
        "from visitlog.cli import COMMAND_MODULES, load_commands\n"
        "app = load_commands(json.loads(sys.argv[1]))\n"
        "mods = [m for m in COMMAND_MODULES if m in sys.modules]\n"
        "heavy = [m for m in ('openpyxl', 'visitlog.dedup', "
        "'visitlog.summary', 'visitlog.roster', 'visitlog.plan', 'typer.rich_utils') "
        "if m in sys.modules]\n"
        "print(json.dumps([mods, heavy]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    mods, heavy = json.loads(out.stdout)
    return mods, heavy


def test_a_sync_loads_the_sync_commands_only():
    mods, heavy = _loaded_by(["--db", "laptop.db", "--lang", "en", "sync", "hub.db", "--json"])
    assert mods == ["visitlog.cli.sync"]
    assert heavy == []


def test_a_word_that_looks_like_a_command_loads_one_module_more_never_one_less():
    # --db named "summary": the household commands are loaded all the same.
    mods, _ = _loaded_by(["--db", "summary", "household", "list"])
    assert mods == ["visitlog.cli.core"]
    mods, _ = _loaded_by(["household", "add", "--name", "summary"])
    assert mods == ["visitlog.cli.core", "visitlog.cli.summary"]


def test_bare_visitlog_opens_the_tui_with_no_command_module():
    assert _loaded_by(["--db", "laptop.db"])[0] == []


@pytest.mark.parametrize("argv", [["--help"], ["sync", "-h"], ["sycn"]])
def test_help_and_unknown_words_load_every_module(argv):
    assert _loaded_by(argv)[0] == list(COMMAND_MODULES)


def test_a_misspelt_command_is_still_said_in_one_line(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(tmp_path / "v.db"), "--lang", "en", "sycn"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "sycn" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_of_a_group_shown_without_a_help_flag_is_in_chinese(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "visitlog", "--db", str(tmp_path / "v.db"), "household"],
        capture_output=True,
        text=True,
    )
    assert "用法" in out.stdout
    assert "命令" in out.stdout  # the panel title, translated just before it was drawn
    assert "Commands" not in out.stdout
