"""Options that several commands share, each declared once.

Help texts are i18n keys (``help.*``): the root group translates them when
help is shown, in the language chosen by ``--lang`` or ``VISITLOG_LANG``.
"""

from __future__ import annotations

from typing import Annotated

import typer

#: ``--json``: machine-readable output on stdout.
JsonOpt = Annotated[bool, typer.Option("--json", help="help.opt.json")]

#: ``--jsonl``: one JSON object a line on stdout (listings).
JsonlOpt = Annotated[bool, typer.Option("--jsonl", help="help.opt.jsonl")]

#: ``--reveal``: full names, phones and tags instead of masked ones (audited).
RevealOpt = Annotated[bool, typer.Option("--reveal", help="help.opt.reveal")]

#: ``--grid``: one micro-grid.
GridOpt = Annotated[str | None, typer.Option("--grid", "-g", help="help.opt.grid")]
