"""The command line's own words, in the language of the run.

Click (inside Typer) explains a mistyped command in a box of English lines
("Missing option '--household'", "No such command 'foo'").  Here each usage
error becomes one line in the chosen language that says what to write
instead and where to read the usage; the exit code stays 2.  The frame of
``--help`` (panel titles, ``[default: …]``, the help option's own line, the
value shown beside an option) is translated too, and a switch such as
``--json`` is shown as a switch, without a value.

Exceptions are recognised by their class names, so this works whether Typer
brings Click as a package or inside itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from visitlog.i18n import get_lang, t

_NO_COMMAND = re.compile(r"No such command '(?P<name>.*?)'\.(?: Did you mean (?P<maybe>.*)\?)?")
_EXTRA = re.compile(r"unexpected extra argument(?:s|\(s\))? \((?P<extra>.*)\)", re.DOTALL)


def _kinds(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def is_usage_error(exc: BaseException) -> bool:
    """Whether *exc* is Click's usage error (a mistyped command line: exit 2)."""
    return "UsageError" in _kinds(exc)


def is_help_shown(exc: BaseException) -> bool:
    """Whether *exc* only stands for "no arguments, so the help was shown"."""
    return "NoArgsIsHelpError" in _kinds(exc)


def _opt(param: Any) -> str:
    """The name a worker types for *param*: its long option, else its short one."""
    opts = list(getattr(param, "opts", None) or [])
    longs = [o for o in opts if o.startswith("--")]
    if longs:
        return longs[0]
    if opts and getattr(param, "param_type_name", "") == "option":
        return opts[0]
    return (getattr(param, "name", None) or "").upper()


def _what(param: Any) -> str:
    """What the parameter is, from its (already translated) help, without the full stop."""
    text = (getattr(param, "help", None) or "").strip()
    first = re.split(r"(?<=[。.;；])\s*", text, maxsplit=1)[0]
    return first.rstrip("。.;；") or _opt(param)


def _want(param: Any) -> str | None:
    """What a good value of *param* looks like, or None when its type says nothing."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        choices = getattr(descriptor, "choices", None)
        if choices:
            return t("usage.want.choice", choices=" | ".join(str(c) for c in choices))
        annotation = getattr(descriptor, "annotation", None)
        info = getattr(descriptor, "parameter_info", None)
        low, high = getattr(info, "min", None), getattr(info, "max", None)
        if annotation is int:
            if low is not None and high is not None:
                return t("usage.want.range", low=low, high=high)
            if low is not None:
                return t("usage.want.at_least", low=low)
            if high is not None:
                return t("usage.want.at_most", high=high)
            return t("usage.want.int")
        if annotation is float:
            return t("usage.want.number")
        if getattr(descriptor, "is_path", False) or annotation is Path:
            return t("usage.want.path")
        return None
    # Click as a package: the parameter carries a ParamType.
    name = getattr(getattr(param, "type", None), "name", "")
    return {"integer": t("usage.want.int"), "float": t("usage.want.number")}.get(name)


def usage_line(exc: BaseException) -> str:
    """One line, in the chosen language, for Click's usage error *exc*."""
    kinds = _kinds(exc)
    param = getattr(exc, "param", None)
    message = str(getattr(exc, "message", "") or "")
    if "NoSuchOption" in kinds:
        option = getattr(exc, "option_name", "")
        maybe = sorted(getattr(exc, "possibilities", None) or [])
        if maybe:
            text = t("usage.no_option_maybe", option=option, maybe=" / ".join(maybe))
        else:
            text = t("usage.no_option", option=option)
    elif "MissingParameter" in kinds and param is not None:
        if getattr(param, "param_type_name", "") == "option":
            text = t("usage.missing_option", option=_opt(param), what=_what(param))
        else:
            text = t("usage.missing_argument", what=_what(param))
    elif "BadParameter" in kinds:
        hint = getattr(exc, "param_hint", None)
        option = hint if isinstance(hint, str) else (_opt(param) if param is not None else "")
        why = (_want(param) if param is not None else None) or message
        text = t("usage.bad_value", option=option, why=why)
    elif "BadOptionUsage" in kinds:
        option = getattr(exc, "option_name", "")
        key = "usage.flag_value" if "does not take" in message else "usage.needs_value"
        text = t(key, option=option)
    elif found := _NO_COMMAND.search(message):
        maybe = (found.group("maybe") or "").replace("'", "")
        key = "usage.no_command_maybe" if maybe else "usage.no_command"
        text = t(key, command=found.group("name"), maybe=maybe)
    elif found := _EXTRA.search(message):
        text = t("usage.extra", extra=found.group("extra"))
    else:
        text = t("usage.other")
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or getattr(exc, "command_path", "visitlog")
    return f"{text} {t('usage.see', command=command)}"


# -- the frame of --help ---------------------------------------------------------------

_RICH_TEXTS = {
    "OPTIONS_PANEL_TITLE": "usage.help.options",
    "COMMANDS_PANEL_TITLE": "usage.help.commands",
    "ARGUMENTS_PANEL_TITLE": "usage.help.arguments",
    "DEFAULT_STRING": "usage.help.default",
    "REQUIRED_LONG_STRING": "usage.help.required",
    "ENVVAR_STRING": "usage.help.env",
}

_TYPE_KEYS = {str: "usage.type.str", int: "usage.type.int", float: "usage.type.float"}


def localize_frame() -> None:
    """Translate the fixed words of Typer's rich help (panel titles, defaults)."""
    try:
        from typer import rich_utils
    except ImportError:  # Typer without rich: plain help, nothing to translate
        return
    for name, key in _RICH_TEXTS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, t(key))


def localize_frame_when_shown() -> None:
    """Translate the frame of the help just before a help is formatted.

    Typer's rich help module (and the Markdown and syntax highlighting it
    brings) loads only when a help is shown; importing it on every run to
    translate its titles cost every command about 25 ms.  Its two help
    formatters (of a command and of a group) translate the frame first
    instead, in the language of the run.
    """
    from typer import core

    for cls in (core.TyperCommand, core.TyperGroup):
        shown = cls.format_help
        if getattr(shown, "localizes_frame", False):
            continue

        def format_help(self: Any, ctx: Any, formatter: Any, _shown: Any = shown) -> None:
            localize_frame()
            _shown(self, ctx, formatter)

        format_help.localizes_frame = True  # type: ignore[attr-defined]
        cls.format_help = format_help  # type: ignore[method-assign]


def _metavar(param: Any) -> str | None:
    """What is shown beside an option: nothing for a switch, the kind of value otherwise."""
    if getattr(param, "is_flag", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(descriptor, "choices", None):
        return None
    if getattr(descriptor, "is_list", False):
        return t("usage.type.list")
    if getattr(descriptor, "is_path", False):
        return t("usage.type.path")
    key = _TYPE_KEYS.get(getattr(descriptor, "annotation", None))  # type: ignore[arg-type]
    return t(key) if key else None


_CONTEXTS: dict[type, type] = {}


def _local_context(base: type) -> type:
    """A Context class of *base* whose usage line starts with "用法：" in Chinese."""
    if base in _CONTEXTS.values():
        return base
    if base not in _CONTEXTS:

        class Formatter(base.formatter_class):  # type: ignore[name-defined,misc]
            def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
                super().write_usage(prog, args, t("usage.help.usage") if prefix is None else prefix)

        _CONTEXTS[base] = type(base.__name__, (base,), {"formatter_class": Formatter})
    return _CONTEXTS[base]


def localize_params(command: Any) -> None:
    """Translate the usage line, the help option's line and what is shown beside options."""
    ctx_class = getattr(command, "context_class", None)
    if ctx_class is not None and hasattr(command, "get_help_option"):
        command.context_class = ctx_class = _local_context(ctx_class)
        ctx = ctx_class(command, help_option_names=["-h", "--help"])
        helper = command.get_help_option(ctx)
        if helper is not None:
            helper.help = t("usage.help.help")
            helper.metavar = ""
    for name, key in (
        ("options_metavar", "usage.help.options_metavar"),
        ("subcommand_metavar", "usage.help.commands_metavar"),
    ):
        if isinstance(getattr(command, name, None), str):
            shown = command.__dict__.setdefault(f"_shown_{name}", getattr(command, name))
            setattr(command, name, shown if get_lang() == "en" else t(key))
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") != "option":
            continue
        shown = param.__dict__.setdefault("_shown_metavar", getattr(param, "metavar", None))
        param.metavar = shown if shown is not None else _metavar(param)
