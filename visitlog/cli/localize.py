"""Help texts in the language of this run.

Typer builds the commands, with their help texts, before ``--lang`` is
parsed, and ``--help`` prints before the root callback runs.  So commands
declare i18n keys (``help.*``, :mod:`visitlog.i18n.help`) as their help, and
the root group, before it parses anything, reads the language from the
arguments (``--lang``) or ``VISITLOG_LANG`` and translates every key of the
command tree with :func:`visitlog.i18n.t`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from visitlog.cli.usage import localize_frame_when_shown, localize_params
from visitlog.i18n import get_lang, has, set_lang, t
from visitlog.model import ChoiceEnum

#: Prefix of the i18n keys that commands give as help.
HELP_PREFIX = "help."


def lang_in(args: Sequence[str], root: Any) -> str | None:
    """The value of the root's ``--lang`` in *args*, or None.

    Only the root's options are read: scanning stops at the first command name
    (a ``--lang`` after it would be some command's data).
    """
    tokens = list(args)
    for i, token in enumerate(tokens):
        if token == "--":
            break
        if token == "--lang" and i + 1 < len(tokens):
            return tokens[i + 1]
        if token.startswith("--lang="):
            return token.split("=", 1)[1]
        if token in getattr(root, "commands", {}):
            break
    return None


def choose_language(args: Sequence[str], root: Any) -> str:
    """Set the language of this run from *args* (else ``VISITLOG_LANG``, else Chinese)."""
    return set_lang(lang_in(args, root))


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _translate(obj: Any) -> None:
    # The key is kept, so the same command tree can be shown again in another language.
    key = obj.__dict__.setdefault("_help_key", getattr(obj, "help", None))
    if isinstance(key, str) and key.startswith(HELP_PREFIX) and has(key):
        obj.help = t(key)


def _english_default(param: Any) -> None:
    """An enumeration's default (入户) is shown by its English alias (home) in English."""
    shown = param.__dict__.setdefault("_shown_default", getattr(param, "show_default", None))
    param.show_default = shown
    if get_lang() != "en" or shown is False or not isinstance(param.default, str):
        return
    for enum_cls in ChoiceEnum.__subclasses__():
        if param.default in enum_cls.choices():
            param.show_default = enum_cls.parse(param.default).alias
            return


def localize_help(root: Any) -> None:
    """Translate the help of *root*, its commands and their parameters, in place."""
    localize_frame_when_shown()
    for command in _commands(root):
        _translate(command)
        localize_params(command)
        for param in command.params:
            _translate(param)
            _english_default(param)
