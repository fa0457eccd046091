"""--help speaks one language at a time: Chinese by default, English with --lang en."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from visitlog.cli import app
from visitlog.cli.localize import HELP_PREFIX
from visitlog.cli.security import DEFAULT_LIMIT
from visitlog.i18n import catalogs

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _walk(group, path=()):
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):
            yield from _walk(cmd, (*path, name))


PATHS = [p for p, _ in sorted(_walk(typer.main.get_command(app)), key=lambda x: x[0])]


def _help(*args: str, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", [(), *PATHS], ids=lambda p: " ".join(p) or "visitlog")
def test_english_help_has_no_chinese(path):
    text = _help("--lang", "en", *path)
    assert not CJK.search(text), text


@pytest.mark.parametrize(
    "path", [("summary",), ("sync",), ("household", "add"), ("visit", "add"), ("dedup",)]
)
def test_default_help_is_chinese(path):
    text = _help(*path)
    assert CJK.search(text)
    english = _help("--lang", "en", *path)
    # the option descriptions differ, not just the usage line
    assert text != english


def test_help_language_from_the_environment():
    text = _help("summary", env={"VISITLOG_LANG": "en"})
    assert "grid summary" in text
    assert not CJK.search(text)
    # --lang beats the environment
    assert CJK.search(_help("--lang", "zh", "summary", env={"VISITLOG_LANG": "en"}))


def test_lang_given_with_equals_and_after_help():
    assert not CJK.search(_help("--lang=en", "visit", "add"))
    result = CliRunner().invoke(app, ["--help", "--lang", "en"])
    assert result.exit_code == 0
    assert not CJK.search(result.output)


def test_enumeration_defaults_shown_by_their_alias_in_english():
    assert "(home)" in _help("--lang", "en", "visit", "add")
    assert "入户" in _help("visit", "add")


def test_every_help_key_is_translated():
    zh, en = catalogs()["zh"], catalogs()["en"]
    zh_keys = {k for k in zh if k.startswith(HELP_PREFIX)}
    en_keys = {k for k in en if k.startswith(HELP_PREFIX)}
    assert zh_keys == en_keys
    for key in en_keys:
        assert not CJK.search(en[key]), key
        assert CJK.search(zh[key]), key


def test_every_declared_help_is_a_known_key():
    root = typer.main.get_command(app)
    declared = [root.help, *(p.help for p in root.params)]
    for _path, cmd in _walk(root):
        declared += [cmd.help, *(getattr(p, "help", None) for p in cmd.params)]
    zh = catalogs()["zh"]
    for text in filter(None, declared):
        assert text in zh, f"help {text!r} does not go through t()"


def test_audit_list_limit_help_names_the_default():
    from visitlog.i18n import t

    assert str(DEFAULT_LIMIT) in t("help.security.audit_list.limit")
