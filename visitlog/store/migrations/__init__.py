"""Numbered schema migrations, recorded in the database.

Never edit a migration that has been released: add a new one.  Each migration
runs in its own transaction together with the record that it was applied
(sqlite-utils' ``Migrations``), and bumps ``schema_version`` in ``settings``
so that an older visitlog can refuse a database it does not understand.

Synced tables (households, visits, items) carry ``id`` (UUIDv7 made on the
device), ``hlc`` and ``device`` (stamp and author of the row's last change),
``deleted`` (tombstone) and ``stamps``: the per-field stamps of fields changed
after the row was made, as JSON ``{"*": [hlc, device], field: [hlc, device]}``
(``NULL`` while every field still carries the row's creation stamp).  With
``changes`` (one row per change, the fields it touched and the stamps they
overwrote) this is what per-field last-writer-wins merging needs.

The migrations live in ``schema`` (m001–m007: tables, sync columns, indexes),
``backfills`` (m008–m011: derived columns and the rows they fill in) and
``features`` (m012 on: tables and indexes of later features), registered in that order
with ``registry``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visitlog.store.migrations.backfills import (
    m008_household_phones,
    m009_merge_clusters,
    m010_address_aliases,
    m011_sync_life,
)
from visitlog.store.migrations.features import (
    m012_plan_rules,
    m013_open_items_index,
    m014_dedup_indexes,
    m015_inserts_kept_by_row,
    m016_search_keys,
    m017_summary_totals,
)
from visitlog.store.migrations.registry import (
    LATEST,
    SCHEMA_RELEASES,
    migrations,
    pending_names,
)
from visitlog.store.migrations.schema import (
    m001_initial,
    m002_review_tables,
    m003_sync,
    m004_dedup,
    m006_summary_indexes,
    m007_tui_indexes,
)

if TYPE_CHECKING:
    from sqlite_utils import Database


def apply(db: Database) -> None:
    """Bring the database to the latest schema."""
    migrations.apply(db)


__all__ = [
    "LATEST",
    "SCHEMA_RELEASES",
    "apply",
    "m001_initial",
    "m002_review_tables",
    "m003_sync",
    "m004_dedup",
    "m006_summary_indexes",
    "m007_tui_indexes",
    "m008_household_phones",
    "m009_merge_clusters",
    "m010_address_aliases",
    "m011_sync_life",
    "m012_plan_rules",
    "m013_open_items_index",
    "m014_dedup_indexes",
    "m015_inserts_kept_by_row",
    "m016_search_keys",
    "m017_summary_totals",
    "migrations",
    "pending_names",
]
