"""The database: one SQLite file per replica, opened through sqlite-utils.

This package owns storage and nothing else: opening a file (pragmas, WAL,
the schema guard, plain error messages), the numbered migrations, one
transaction per operation that stamps, logs and audits each write (``Tx``),
the records (settings, households, visits, items), the hash-chained audit
table and the consistency check, backup, row mapping, the merge clusters
every replica derives, the files kept beside a database (identity record,
station key, drafts) and the file rules every writer follows.  Business rules
(roster matching, grid suggestions) live in the engines above it.

The store reaches one engine function in the ordinary course,
:func:`visitlog.address.household_key` (``rowmap.address_key_of``):
``address_key`` is a derived column of every household row, so a household
written through ``Store.add_household`` / ``update_household`` gets it here.
Engines that build rows themselves (roster import, sync, merges, the demo
street) compute it and hand it in.  Migration m008 also reads phone numbers
(:func:`visitlog.residents.phone_numbers`) once, to fill the column it adds.

Modules: ``database`` (opening, transactions, queries), ``transaction``
(``Tx``), ``settings``, ``households``, ``visits`` (visits and items),
``audit`` and ``audit_chain``, ``backup``, ``rowmap``, ``clusters``, ``bulk``,
``migrations``, ``identity``, ``keys``, ``drafts``, ``files``; ``cipher``
(SQLCipher connections and keys), ``recovery`` (the recovery key) and ``convert`` (``encrypt``
and ``rekey``: the file re-written whole); ``core`` puts the ``Store`` together.
"""

from visitlog.store import cipher, convert, files, identity, migrations, recovery
from visitlog.store.audit_chain import GENESIS_HASH, audit_hash
from visitlog.store.bulk import bulk_load
from visitlog.store.cipher import DB_ERRORS, DbKey, LockedError, WrongKeyError
from visitlog.store.clusters import conflict_id, relink, write_conflict
from visitlog.store.core import Store
from visitlog.store.database import (
    APP_VERSION,
    BUSY_TIMEOUT_MS,
    WRITE_WAIT_S,
    StoreBase,
    default_db_path,
    explain_os_error,
    explain_sqlite_error,
    sqlite_errors,
)
from visitlog.store.drafts import Draft, DraftBox
from visitlog.store.keys import (
    MAX_KEY_FILE,
    KeyFileError,
    StationKey,
    key_path,
    load_key,
    save_key,
)
from visitlog.store.rowmap import (
    HOUSEHOLD_DERIVED,
    LIVE_COLUMNS,
    LIVE_SOURCE,
    Row,
    household_from_row,
    household_row,
    item_from_row,
    item_row,
    phones_column,
    visit_from_row,
    visit_row,
)
from visitlog.store.transaction import Tx

__all__ = [
    "APP_VERSION",
    "BUSY_TIMEOUT_MS",
    "DB_ERRORS",
    "GENESIS_HASH",
    "HOUSEHOLD_DERIVED",
    "LIVE_COLUMNS",
    "LIVE_SOURCE",
    "MAX_KEY_FILE",
    "WRITE_WAIT_S",
    "DbKey",
    "Draft",
    "DraftBox",
    "KeyFileError",
    "LockedError",
    "Row",
    "StationKey",
    "Store",
    "StoreBase",
    "Tx",
    "WrongKeyError",
    "audit_hash",
    "bulk_load",
    "cipher",
    "conflict_id",
    "convert",
    "default_db_path",
    "explain_os_error",
    "explain_sqlite_error",
    "files",
    "household_from_row",
    "household_row",
    "identity",
    "item_from_row",
    "item_row",
    "key_path",
    "load_key",
    "migrations",
    "phones_column",
    "recovery",
    "relink",
    "save_key",
    "sqlite_errors",
    "visit_from_row",
    "visit_row",
    "write_conflict",
]
