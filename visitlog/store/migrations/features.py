"""Migrations m012 and on: the tables of later features (the planning rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from visitlog.store.migrations.registry import SYNC_COLUMNS, migrations, set_version

if TYPE_CHECKING:
    from sqlite_utils import Database


@migrations(name="m012_plan_rules")
def m012_plan_rules(db: Database) -> None:
    """``plan_rules``: the street's visit planning rules, synced.

    Each row overrides one built-in rule of :mod:`visitlog.plan` (the interval
    of every household, of a key-group tag, the deadline an open item of a
    category or a visit's outcome sets): ``days`` is the new interval or
    deadline, NULL turns the rule off.  The id is derived from kind and key,
    so two replicas setting the same rule make the same row and the later
    setting wins everywhere.
    """
    db.execute(
        f"""CREATE TABLE IF NOT EXISTS plan_rules (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            key TEXT NOT NULL DEFAULT '',
            days INTEGER,
            worker TEXT,
            note TEXT,
            {SYNC_COLUMNS}
        )"""
    )
    set_version(db, 12)
