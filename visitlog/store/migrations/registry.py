"""The registry of migrations, the schema version they record, and what is pending."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

#: The visitlog release that introduced each schema version, for the message
#: shown when a database is newer than the running program.
SCHEMA_RELEASES = {
    1: "0.1.0",
    2: "0.1.0",
    3: "0.1.0",
    4: "0.1.0",
    6: "0.1.0",
    7: "0.1.0",
    8: "0.1.0",
    9: "0.1.0",
    10: "0.1.0",
    11: "0.1.0",
    12: "0.1.0",
    13: "0.2.0",
    14: "0.3.0",
    15: "0.3.0",
}


class _MigrationSet:
    """sqlite-utils' ``Migrations``, built only when first used.

    Importing sqlite-utils costs about a tenth of a second; opening an
    up-to-date database (every start of the app) only needs the migration
    names (:func:`pending_names`), so the registry keeps them itself and the
    real ``Migrations`` is made, with every migration, when applying or
    inspecting them.
    """

    def __init__(self, name: str):
        self.name = name
        self._defs: list[tuple[str, Callable[..., Any], bool]] = []
        self._real: Migrations | None = None

    def __call__(
        self, *, name: str | None = None, transactional: bool = True
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def inner(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._defs.append((name or fn.__name__, fn, transactional))
            # Applied in name order (m001, m002, …), whichever module
            # defining them was imported first.
            self._defs.sort(key=lambda d: d[0])
            self._real = None
            return fn

        return inner

    def names(self) -> list[str]:
        """The registered migration names, in order."""
        return [n for n, _, _ in self._defs]

    def __getattr__(self, attr: str) -> Any:
        # Everything else (apply, pending, applied, _migrations) is the real set's.
        if attr.startswith("__"):
            raise AttributeError(attr)
        if self._real is None:
            from sqlite_utils.migrations import Migrations

            real = Migrations(self.name)
            for n, fn, transactional in self._defs:
                real(name=n, transactional=transactional)(fn)
            self._real = real
        return getattr(self._real, attr)


migrations = _MigrationSet("visitlog")


def pending_names(conn: sqlite3.Connection) -> list[str]:
    """Names of the migrations not yet applied, read with plain sqlite3 (cheap)."""
    known = migrations.names()
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not has_table:
        return known
    done = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]
        )
    }
    return [n for n in known if n not in done]


SYNC_COLUMNS = """
    created_at TEXT NOT NULL,
    hlc TEXT NOT NULL,
    device TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    stamps TEXT
"""


def set_version(db: Database, version: int) -> None:
    """Record the schema version (never lowering it) and the release that made it."""
    row = db.execute("SELECT value FROM settings WHERE key = 'schema_version'").fetchone()
    if row and str(row[0]).isdigit() and int(row[0]) > version:
        return
    # schema_release lets an older visitlog say which release a newer
    # database (or sync target) needs, instead of just "a newer one".
    for key, value in (
        ("schema_version", str(version)),
        ("schema_release", SCHEMA_RELEASES.get(version)),
    ):
        if value is None:
            continue
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


#: The newest schema version this visitlog writes.
LATEST = max(SCHEMA_RELEASES)
