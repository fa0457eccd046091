"""What every command shares: the open store, output to the terminal, JSON."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from visitlog.store import Store, default_db_path

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class State:
    """Options of the root command, and the store opened for this command."""

    db_path: Path | None = None
    _store: Store | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.db_path or default_db_path()

    def store(self) -> Store:
        """Open (creating if needed) the database on first use."""
        if self._store is None:
            self._store = Store(self.path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def to_jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def emit_json(obj: Any) -> None:
    """Machine-readable output: JSON on stdout and nothing else there."""
    sys.stdout.write(json.dumps(to_jsonable(obj), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def open_tui(state: State) -> None:
    """Open the terminal app on the chosen database."""
    from visitlog.tui.app import make_app

    make_app(state.store()).run()
