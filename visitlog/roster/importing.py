"""Importing a roster: rows checked, rejects written, households matched and stored.

All good rows go into the database in one transaction, after the rejects file
is written, so a failure leaves either the whole import or none of it.
``dry_run`` reads, checks and matches everything and reports the same counts
without touching the database; it still writes the rejects file, because that
is what a worker needs to fix the file before the real import.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import platformdirs

from visitlog.address import building_key, household_key
from visitlog.i18n import t
from visitlog.model import SYNCED_FIELDS, Household, ValidationError, VisitlogError
from visitlog.progress import Progress
from visitlog.progress import report as report_progress
from visitlog.roster.columns import (
    HEADERS,
    REJECT_LINE_HEADER,
    REJECT_REASON_HEADER,
    REQUIRED,
    WARNING_ORDER,
    RosterReport,
    RosterRow,
    best_partial_header,
    find_header,
    household_of,
    layout_of,
    read_row,
    rejects_path_for,
    understand,
)
from visitlog.roster.files import HEADER_SCAN_ROWS, RawRow, Table, open_table
from visitlog.roster.spreadsheet import write_csv_file
from visitlog.store import HOUSEHOLD_DERIVED, Row, Store, household_row


class _GridGuess:
    """Suggests the 微网格 of a row that has none: from its building, or its 居民区.

    A building (小区 + 号) whose rows all name one 微网格 gives that one; else a
    居民区 with exactly one 微网格 (in the file and the database) gives that.
    """

    def __init__(self, store: Store):
        self.by_building: dict[str, set[str]] = {}
        self.by_community: dict[str, set[str]] = {}
        for g in store.micro_grids():
            if g.get("community"):
                self.by_community.setdefault(g["community"], set()).add(g["micro_grid"])

    @staticmethod
    def _building(values: dict[str, str]) -> str | None:
        address = values.get("address") or ""
        key = building_key(address)
        if key is None and values.get("estate"):
            key = building_key(values["estate"] + address)
        return key

    def learn(self, values: dict[str, str]) -> None:
        grid = values.get("micro_grid")
        if not grid:
            return
        if key := self._building(values):
            self.by_building.setdefault(key, set()).add(grid)
        if community := values.get("community"):
            self.by_community.setdefault(community, set()).add(grid)

    def guess(self, values: dict[str, str]) -> tuple[str, str] | None:
        """(微网格, basis) or None."""
        key = self._building(values)
        grids = self.by_building.get(key, set()) if key else set()
        if len(grids) == 1:
            return next(iter(grids)), "building"
        grids = self.by_community.get(values.get("community") or "", set())
        if not key and len(grids) == 1:
            return next(iter(grids)), "community"
        if key and not self.by_building.get(key) and len(grids) == 1:
            return next(iter(grids)), "community"
        return None


# -- import --------------------------------------------------------------------------------


def import_roster(
    store: Store,
    path: Path | str,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RosterReport:
    """Import a roster file (CSV or XLSX) into *store*.

    Args:
        store: the database.
        path: the roster file.
        sheet: the worksheet to read (XLSX); default: the first visible one
            with a header row.
        dry_run: read, check and match, report, write the rejects file, but do
            not change the database.
        progress: called as ``progress("rows", rows_done, rows_total)`` while
            rows are read (total None when unknown), from the calling thread.

    Returns:
        The report; ``report.ok`` is False when some rows were rejected.

    Raises:
        VisitlogError: the file cannot be read at all (missing, binary, unknown
            encoding, damaged XLSX, no header row with 地址 and 微网格); nothing
            is imported.
    """
    path = Path(path)
    source = open_table(path, sheet, lambda rows: find_header(rows) is not None)
    try:
        return _import(store, path, source, dry_run, progress)
    finally:
        source.close()


def _import(
    store: Store, path: Path, source: Table, dry_run: bool, progress: Progress | None
) -> RosterReport:
    report = RosterReport(path=path, dry_run=dry_run, source=source.kind, sheet=source.sheet)
    report.warnings += source.warnings

    head: list[RawRow] = []
    for row in source.rows:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not any(not blank for _l, _c, blank in head):
        raise VisitlogError(t("roster.err_empty", path=path.name))
    at = find_header(head)
    if at is None:
        found = best_partial_header(head)
        missing = [HEADERS[f] for f in REQUIRED if f not in found]
        raise VisitlogError(
            t(
                "roster.err_missing_columns",
                path=path.name,
                missing="、".join(missing),
                found="、".join(HEADERS[f] for f in dict.fromkeys(found)) or t("roster.none"),
                rows=HEADER_SCAN_ROWS,
            )
        )
    header_line, header, _ = head[at]
    report.header_line = header_line
    layout, col_warnings = layout_of(header)
    report.warnings += col_warnings
    report.dropped_columns = [header[i].strip() for i in layout.dropped]

    def data_rows() -> Iterator[RawRow]:
        yield from head[at + 1 :]
        yield from source.rows

    rows: list[RosterRow] = []
    unknown_tags: Counter[str] = Counter()
    guess = _GridGuess(store)
    total = (source.total - header_line) if source.total else None
    done = 0
    for line, cells, blank in data_rows():
        done += 1
        if done % 500 == 0:
            report_progress(progress, "rows", done, max(total, done) if total else None)
        if blank:
            continue
        report.rows += 1
        row = read_row(line, cells, layout)
        understand(row, unknown_tags)
        guess.learn(row.values)
        rows.append(row)
    report_progress(progress, "rows", done, done)

    good: list[Household] = []
    rejects: list[tuple[int, str, list[str]]] = []
    warned: list[tuple[int, str, list[str]]] = []
    ref_lines: dict[str, int] = {}
    counts: Counter[str] = Counter()
    for row in rows:
        v = row.values
        if not v.get("micro_grid") and v.get("address"):
            suggestion = guess.guess(v)
            if suggestion is None:
                rejects.append((row.line, t("roster.err_grid_unknown"), row.cells))
                continue
            v["micro_grid"] = suggestion[0]
            basis = t(f"roster.basis.{suggestion[1]}")
            row.warn(
                "grid_suggested", t("roster.row.grid_suggested", value=v["micro_grid"], basis=basis)
            )
        ref = v.get("ref")
        if ref and ref in ref_lines:
            row.warn("ref_duplicate", t("roster.row.ref_duplicate", value=ref, line=ref_lines[ref]))
            row.notes.append(f"{HEADERS['ref']}: {ref}")
            v["ref"] = ""
        try:
            h = household_of(row)
        except ValidationError as exc:
            rejects.append((row.line, str(exc), row.cells))
            continue
        if h.ref:
            ref_lines[h.ref] = row.line
        good.append(h)
        if row.warnings:
            counts.update(row.warnings.keys())
            items = "；".join(row.warnings[k] for k in WARNING_ORDER if k in row.warnings)
            warned.append((row.line, t("roster.row_warned", items=items), row.cells))
    if unknown_tags:
        words = "、".join(f"{w}（{n}）" for w, n in unknown_tags.most_common())
        report.warnings.append(t("roster.warn_unknown_tags", tags=words))
    if report.rows == 0:
        report.warnings.append(t("roster.warn_no_rows"))
    report.warned = len(warned)
    report.warning_counts = {k: counts[k] for k in WARNING_ORDER if counts[k]}

    # The rejects file first: if it cannot be written, nothing is imported.
    report.rejected = len(rejects)
    listed = sorted(rejects + warned, key=lambda r: r[0])
    rejects_file = rejects_path_for(path)
    kept_header = layout.kept(header)
    if listed:
        try:
            _write_rejects(rejects_file, kept_header, listed)
        except VisitlogError:
            # A roster on a write-protected stick or share: keep the list in
            # visitlog's own data folder instead of refusing the import.
            rejects_file = _fallback_rejects_path(path)
            _write_rejects(rejects_file, kept_header, listed)
        report.rejects_path = rejects_file
    elif not dry_run:
        # A stale list from an earlier run would describe rows that are now in.
        with contextlib.suppress(OSError):
            rejects_file.unlink(missing_ok=True)

    if good:
        result = upsert_households(
            store,
            good,
            dry_run=dry_run,
            detail={"file": path.name, "rows": report.rows, "rejected": report.rejected},
        )
        report.imported = result["imported"]
        report.updated = result["updated"]
        report.unchanged = result["unchanged"]
        report.merged = result["merged"]
        report.updated_fields = {f: result["fields"][f] for f in HEADERS if result["fields"].get(f)}
    return report


def _fallback_rejects_path(path: Path) -> Path:
    """``<user data dir>/visitlog/rejects/FILE.rejects.csv`` for read-only roster folders."""
    folder = Path(platformdirs.user_data_dir("visitlog", appauthor=False)) / "rejects"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / (Path(path).name + ".rejects.csv")


def _write_rejects(
    dest: Path, header: list[str], rejects: list[tuple[int, str, list[str]]]
) -> None:
    rows: list[list[str]] = [[REJECT_LINE_HEADER, REJECT_REASON_HEADER, *header]]
    rows += [[str(line), reason, *cells] for line, reason, cells in rejects]
    write_csv_file(dest, rows)


def upsert_households(
    store: Store,
    households: Sequence[Household],
    *,
    dry_run: bool = False,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert or update many households in one transaction (a roster import).

    A household with a 编号 (``ref``) updates the live household with that
    ref; if that one was merged away by de-duplication it is left alone
    (counted as ``merged``) so the merge is not undone.  The rest — no ref,
    or a ref not stored yet — are paired, per (微网格, normalised address),
    with live unmerged households *without* ref: identical ones first, then
    the same 户主, then, when exactly one is left on each side, those two.
    Anything unpaired is inserted.  Only fields that differ are written, so
    a repeated import changes nothing and sync ships only what changed.

    Args:
        store: the database.
        households: validated households; their refs must be unique.
        dry_run: count what would happen, write nothing.
        detail: extra detail for the audit entry (e.g. the file name).

    Returns:
        ``{"imported", "updated", "unchanged", "merged", "fields": {field: n}}``.
    """
    compare = [f for f in SYNCED_FIELDS["households"] if f not in ("merged_into", "deleted")]
    counts: dict[str, Any] = {"imported": 0, "updated": 0, "unchanged": 0, "merged": 0}
    fields: dict[str, int] = {}
    with store.transaction() as tx:
        by_ref: dict[str, Row] = {}
        free: dict[tuple[str, str], list[Row]] = {}
        keys: dict[tuple[str, str], str] = {}  # address → stored key: normalising is the slow part
        for r in tx.households():
            keys[(r["address"], r["estate"])] = r["address_key"]
            if r["ref"]:
                old = by_ref.get(r["ref"])
                if old is None or (old["merged_into"] and not r["merged_into"]):
                    by_ref[r["ref"]] = r
            elif not r["merged_into"]:
                free.setdefault((r["micro_grid"], r["address_key"]), []).append(r)
        pairs: list[tuple[Row, dict[str, Any]]] = []
        inserts: list[dict[str, Any]] = []
        loose: dict[tuple[str, str], list[dict[str, Any]]] = {}
        seen: set[str] = set()
        for h in households:
            key = keys.get((h.address, h.estate))
            row = household_row(h, household_key(h.address, h.estate) if key is None else key)
            if h.ref in seen:
                raise ValueError(f"ref {h.ref!r} given twice")
            if h.ref:
                seen.add(h.ref)
            cur = by_ref.get(h.ref) if h.ref else None
            if cur is not None and cur["merged_into"]:
                counts["merged"] += 1
            elif cur is not None:
                pairs.append((cur, row))
            else:
                loose.setdefault((row["micro_grid"], row["address_key"]), []).append(row)
        for key, rows in loose.items():
            cands = free.get(key)
            if not cands:
                inserts += rows
                continue
            for same in (lambda r: tuple(r[f] for f in compare), lambda r: r["head"]):
                index: dict[Any, list[Row]] = {}
                for c in reversed(cands):
                    index.setdefault(same(c), []).append(c)
                left, used = [], set()
                for r in rows:
                    k = same(r)
                    bucket = index.get(k) if k else None
                    if bucket:
                        c = bucket.pop()
                        used.add(id(c))
                        pairs.append((c, r))
                    else:
                        left.append(r)
                cands, rows = [c for c in cands if id(c) not in used], left
            if len(rows) == 1 and len(cands) == 1:
                pairs.append((cands[0], rows.pop()))
            inserts += rows
        counts["imported"] = len(inserts)
        if inserts and not dry_run:
            tx.insert_many("households", inserts)
        for cur, row in pairs:
            changed = {f: row[f] for f in compare if cur[f] != row[f]}
            if not changed:
                counts["unchanged"] += 1
                continue
            counts["updated"] += 1
            for f in changed:
                fields[f] = fields.get(f, 0) + 1
            if not dry_run:
                derived = {k: row[k] for k in HOUSEHOLD_DERIVED}
                tx.update("households", cur["id"], {**changed, **derived})
        counts["fields"] = fields
        if not dry_run and (inserts or counts["updated"]):
            audit = {k: v for k, v in counts.items() if k != "fields"}
            tx.audit("roster.import", "households", None, {**(detail or {}), **audit})
    return counts
