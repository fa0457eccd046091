"""Household rosters (住户名册) in and out: CSV and XLSX files as offices have them.

Reading is forgiving about the *file* and strict about the *values*: CSV in
UTF-8, UTF-8 with BOM, GBK/GB18030 or Excel's "Unicode text", and XLSX, are
read by :mod:`~visitlog.roster.files`; :mod:`~visitlog.roster.columns` gives
the columns their meaning (headers, aliases, each row checked into a
household); :mod:`~visitlog.roster.importing` writes the rejects file and
matches and stores the households in one transaction;
:mod:`~visitlog.roster.exporting` writes them back out in the roster's own
headers.  :mod:`~visitlog.roster.spreadsheet` holds the rules every CSV and
XLSX file visitlog writes follows (cells that never run as formulas, sheets
that print).
"""

from visitlog.roster.columns import (
    HEADERS,
    REQUIRED,
    RosterReport,
    field_label,
    header_field,
    normalize_header,
    rejects_path_for,
)
from visitlog.roster.exporting import export_roster
from visitlog.roster.files import Table, open_table
from visitlog.roster.importing import import_roster, upsert_households

__all__ = [
    "HEADERS",
    "REQUIRED",
    "RosterReport",
    "Table",
    "export_roster",
    "field_label",
    "header_field",
    "import_roster",
    "normalize_header",
    "open_table",
    "rejects_path_for",
    "upsert_households",
]
