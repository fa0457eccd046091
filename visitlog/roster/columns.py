"""What the columns of a roster mean: headers, aliases, and rows read into households.

Reading is forgiving about the *file* and strict about the *values*:

* **Encodings** (CSV): UTF-8, UTF-8 with BOM and GBK/GB18030 (what Excel writes
  on Chinese Windows) are told apart without asking: the bytes are decoded as
  UTF-8 strictly, then as GB18030 strictly.  Excel's "Unicode text" (UTF-16 with
  a BOM, tab-separated) is read too.  Anything else, and binary files, are
  refused with a message saying how to save the file from Excel.
* **Layout**: the header row is the row among the first
  :data:`HEADER_SCAN_ROWS` with the most known headers that names both 地址 and
  微网格, so title rows above it ("曹杨新村街道花溪园居民区住户名册") are skipped.
  Headers are matched after NFKC (full-width → half-width), without spaces, a
  trailing ``*`` or a bracketed remark, and English aliases are accepted.
  In an XLSX, a merged cell written once for a block of rows (a 居民区 or
  微网格) is filled down into every row of the block; numbers Excel stored as
  floats (人数 ``3.0``, phone ``13812345678.0``) read back as intended; empty
  rows and columns are ignored.
* **Unknown columns** are never dropped: their values go into 备注 as
  ``列名: 值`` and the report names them.  ``序号`` (a running number) and the
  two columns a rejects file adds (原行号, 拒收原因) are ignored and reported,
  so a corrected rejects file can be imported as it is.
* **Values** are checked row by row with :meth:`Household.validated`; a row that
  fails is not imported but written, with its line number (as Excel numbers
  rows) and the reason, to ``FILE.rejects.csv`` (UTF-8 with BOM).  Merged cells
  appear there filled in, so each rejected row stands on its own.
* **Matching** (upsert, :func:`visitlog.roster.importing.upsert_households`):
  by 编号 when the row has one; otherwise (or for a 编号 the database does not
  know yet) with a live household without 编号 in the same 微网格 at the same
  normalised address — identical rows first, then the same 户主, then the one
  remaining household when exactly one remains on each side; every other row
  is a new household.  Only fields that differ are written, so importing a
  file twice changes nothing and sync ships only what changed.

Turning bytes into rows of text is :mod:`visitlog.roster.files`' job; the
import itself (matching, rejects, one transaction) is
:mod:`visitlog.roster.importing`'s.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visitlog.i18n import get_lang, t
from visitlog.model import Household, Occupancy, Tag, ValidationError
from visitlog.residents import (
    is_id_header,
    read_name,
    read_phones,
    split_address_remarks,
    strip_ids,
)
from visitlog.roster.files import RawRow, cell_text, col_letter

HEADERS: dict[str, str] = {
    "ref": "编号",
    "community": "居民区",
    "micro_grid": "微网格",
    "estate": "小区",
    "address": "地址",
    "head": "户主",
    "phone": "联系电话",
    "members": "人数",
    "occupancy": "居住状态",
    "tags": "标签",
    "note": "备注",
}
#: Columns a file must have.
REQUIRED = ("address", "micro_grid")
#: Extra columns of a rejects file (ignored on import, so a fixed file re-imports).
REJECT_LINE_HEADER = "原行号"
REJECT_REASON_HEADER = "拒收原因"
#: Tags in an exported file are joined with this; on import 、,，;； all separate.
TAG_SEPARATOR = "、"
#: Unknown columns' values are appended to 备注 with this separator.
NOTE_SEPARATOR = "；"

#: Header spellings (after :func:`normalize_header`) → field.
_ALIASES: dict[str, str] = {
    **{zh: f for f, zh in HEADERS.items()},
    "ref": "ref",
    "id": "ref",
    "外部编号": "ref",
    "户编号": "ref",
    "住户编号": "ref",
    "community": "community",
    "居委": "community",
    "居委会": "community",
    "社区": "community",
    "microgrid": "micro_grid",
    "grid": "micro_grid",
    "网格": "micro_grid",
    "estate": "estate",
    "小区名称": "estate",
    "address": "address",
    "住址": "address",
    "家庭住址": "address",
    "门牌地址": "address",
    "head": "head",
    "户主姓名": "head",
    "姓名": "head",
    "phone": "phone",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "联系方式": "phone",
    "members": "members",
    "家庭人数": "members",
    "人口数": "members",
    "居住人数": "members",
    "occupancy": "occupancy",
    "居住情况": "occupancy",
    "tags": "tags",
    "tag": "tags",
    "重点人群": "tags",
    "人群标签": "tags",
    "note": "note",
    "notes": "note",
    "remark": "note",
    "remarks": "note",
    "说明": "note",
}
#: Columns that carry nothing about a household: ignored, and reported.
_IGNORED = {"序号", "no", REJECT_LINE_HEADER, REJECT_REASON_HEADER}

_BRACKETED_TAIL = re.compile(r"\([^()]*\)$")
_FLOAT_INT = re.compile(r"^\s*([+-]?\d+)\.0*\s*$")
#: A 编号 written the way a spreadsheet shows a number with lost digits.
_FLOAT_SHAPED = re.compile(r"^\s*[+-]?\d+(\.\d*)?[eE][+-]?\d+\s*$")
_SCIENTIFIC = re.compile(r"^\s*([+-]?\d(?:\.(\d+))?)[eE]\+?(\d+)\s*$")
_TAG_SPLIT = re.compile(r"[、,，;；]")


def normalize_header(text: Any) -> str:
    """The matching form of a header cell: NFKC, no spaces, no ``*`` or ``(…)`` tail, lower case.

    ``" 联系电话（手机）"``, ``"地址*"``, ``"Micro Grid"`` and ``"micro_grid"`` become
    ``联系电话``, ``地址``, ``microgrid`` and ``microgrid``.
    """
    raw = unicodedata.normalize("NFKC", cell_text(text)).lower()
    raw = re.sub(r"[\s_\-]+", "", raw).strip("*※:")
    return _BRACKETED_TAIL.sub("", raw).strip("*※:")


def header_field(text: Any) -> str | None:
    """The roster field a header names, or None when it names none."""
    return _ALIASES.get(normalize_header(text))


@dataclass
class RosterReport:
    """What an import did (or, with ``dry_run``, would do).

    Attributes:
        path: the file read.
        imported: new households.
        updated: existing households with at least one field changed.
        unchanged: rows identical to the household already stored.
        rejected: rows not imported (see ``rejects_path``).
        merged: rows whose 编号 belongs to a household that de-duplication merged
            into another; left alone so the merge is not undone.
        rows: household rows read (blank rows and title rows not counted).
        rejects_path: the rejects file written, or None when nothing was rejected.
        warnings: unknown, ignored or dropped columns, hidden sheets and the like.
        updated_fields: how many households had each field changed.
        dry_run: nothing was written to the database.
        source: "UTF-8", "UTF-8 BOM", "GBK/GB18030", "UTF-16" or "XLSX".
        sheet: the worksheet read (XLSX).
        header_line: the line of the header row.
        warned: rows imported with something for the worker to check (listed,
            with what, in the rejects file).
        warning_counts: rows per warning kind (``phone_unreadable``,
            ``phone_masked``, ``name_partial``, ``address_remark``,
            ``id_removed``, ``tag_unknown``…), in :data:`WARNING_ORDER`.
        dropped_columns: ID-number columns left out of the import.
    """

    path: Path
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged: int = 0
    rows: int = 0
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    updated_fields: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    source: str = ""
    sheet: str | None = None
    header_line: int = 0
    warned: int = 0
    warning_counts: dict[str, int] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row was rejected (the command's exit code is 0)."""
        return self.rejected == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (keys are English, like every ``--json`` output)."""
        return {
            "path": str(self.path),
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "merged": self.merged,
            "rows": self.rows,
            "rejects_path": str(self.rejects_path) if self.rejects_path else None,
            "warnings": list(self.warnings),
            "updated_fields": dict(self.updated_fields),
            "dry_run": self.dry_run,
            "source": self.source,
            "sheet": self.sheet,
            "header_line": self.header_line,
            "warned": self.warned,
            "warning_counts": dict(self.warning_counts),
            "dropped_columns": list(self.dropped_columns),
        }

    def lines(self) -> list[str]:
        """The report as plain lines in the current language, for the CLI and the TUI."""
        where = self.sheet if self.sheet else self.source
        out = [
            t(
                "roster.read",
                path=self.path.name,
                source=where,
                line=self.header_line,
                rows=self.rows,
            ),
            t(
                "roster.counts",
                imported=self.imported,
                updated=self.updated,
                unchanged=self.unchanged,
                rejected=self.rejected,
            ),
        ]
        if self.updated_fields:
            names = "、".join(f"{field_label(f)} {n}" for f, n in self.updated_fields.items())
            out.append(t("roster.updated_fields", fields=names))
        if self.merged:
            out.append(t("roster.merged", count=self.merged))
        if self.rejects_path and self.rejected:
            out.append(t("roster.rejects_written", path=self.rejects_path))
        out += [t("roster.warning", text=w) for w in self.warnings]
        if self.warned:
            kinds = "、".join(
                t("roster.kind.count", kind=t(f"roster.kind.{k}"), n=n)
                for k, n in self.warning_counts.items()
            )
            key = "roster.warn_counts" if self.rejects_path else "roster.warn_counts_nofile"
            out.append(
                t(
                    "roster.warning",
                    text=t(key, rows=self.warned, path=self.rejects_path, kinds=kinds),
                )
            )
        if self.dry_run:
            out.append(t("roster.dry_run"))
        return out


def field_label(name: str) -> str:
    """A roster field as the worker reads it: the Chinese header, or the English alias."""
    return HEADERS.get(name, name) if get_lang() == "zh" else name


def rejects_path_for(path: Path | str) -> Path:
    """Where the rejected rows of *path* go: ``FILE.rejects.csv`` next to it."""
    path = Path(path)
    return path.with_name(path.name + ".rejects.csv")


# -- header ------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where each field sits in a row, and which columns go into 备注 or are dropped."""

    fields: list[tuple[int, str]]  # (column, field)
    extras: list[tuple[int, str]]  # (column, label) of unknown columns, kept in 备注
    width: int  # cells right of this have no header at all
    dropped: list[int] = field(default_factory=list)  # ID-number columns: never read

    @property
    def ref(self) -> int:
        """The 编号 column (-1 when there is none)."""
        return next((i for i, f in self.fields if f == "ref"), -1)

    def kept(self, cells: list[str]) -> list[str]:
        """*cells* without the dropped columns (what the rejects file may show)."""
        if not self.dropped:
            return cells
        gone = set(self.dropped)
        return [c for i, c in enumerate(cells) if i not in gone]


def find_header(rows: list[RawRow]) -> int | None:
    """Index (in *rows*) of the header row: most known headers, 地址 and 微网格 among them."""
    best, best_score = None, 0
    for i, (_line, cells, blank) in enumerate(rows):
        if blank:
            continue
        fields = {header_field(c) for c in cells} - {None}
        if not all(f in fields for f in REQUIRED):
            continue
        if len(fields) > best_score:
            best, best_score = i, len(fields)
    return best


def best_partial_header(rows: list[RawRow]) -> list[str]:
    """The known headers of the row that looks most like a header (for the error)."""
    best: list[str] = []
    for _line, cells, _blank in rows:
        fields = [f for f in (header_field(c) for c in cells) if f]
        if len(fields) > len(best):
            best = fields
    return best


def layout_of(header: list[str]) -> tuple[Layout, list[str]]:
    """Map the header row's columns to fields; name the unknown, ignored and dropped ones."""
    layout = Layout(fields=[], extras=[], width=len(header))
    seen: set[str] = set()
    unknown: list[str] = []
    ignored: list[str] = []
    dropped: list[str] = []
    for i, cell in enumerate(header):
        label = cell.strip()
        f = header_field(cell)
        if f and f not in seen:
            seen.add(f)
            layout.fields.append((i, f))
        elif is_id_header(cell):
            # visitlog does not collect ID numbers: the column is never read.
            layout.dropped.append(i)
            dropped.append(label)
        elif normalize_header(cell) in _IGNORED:
            ignored.append(label)
        elif label:
            # An unknown header, or a second column with a known one: kept in 备注.
            layout.extras.append((i, label))
            unknown.append(label)
        else:
            layout.extras.append((i, t("roster.col_unnamed", col=col_letter(i))))
    warnings: list[str] = []
    if dropped:
        warnings.append(t("roster.warn_id_columns", columns="、".join(dropped)))
    if unknown:
        warnings.append(t("roster.warn_unknown_columns", columns="、".join(unknown)))
    if ignored:
        warnings.append(t("roster.warn_ignored_columns", columns="、".join(ignored)))
    return layout, warnings


# -- rows → households ---------------------------------------------------------------------

#: Warning kinds in the order the report lists them.
WARNING_ORDER = (
    "phone_unreadable",
    "phone_shortened",
    "phone_masked",
    "name_partial",
    "address_remark",
    "id_removed",
    "tag_unknown",
    "members_unreadable",
    "occupancy_unknown",
    "ref_duplicate",
    "ref_damaged",
    "grid_suggested",
)


@dataclass
class RosterRow:
    """One roster row on its way in: its values, what was learned, and what to tell."""

    line: int
    cells: list[str]  # as written, ID columns left out and ID numbers cut
    values: dict[str, str]
    notes: list[str] = field(default_factory=list)
    warnings: dict[str, str] = field(default_factory=dict)  # kind → message for this row

    def warn(self, kind: str, message: str) -> None:
        if kind in self.warnings:
            self.warnings[kind] += "；" + message
        else:
            self.warnings[kind] = message


def _members_text(text: str) -> str:
    if text.isascii() and text.isdigit():
        return text
    m = _FLOAT_INT.match(unicodedata.normalize("NFKC", text))
    return m.group(1) if m else text


@functools.lru_cache(maxsize=4096)
def _check_tags(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(known tags, unknown words) of a tag cell (the model would refuse the unknown ones).

    Cached: a roster repeats a handful of tag combinations thousands of times.
    """
    known: list[str] = []
    unknown: list[str] = []
    for word in _TAG_SPLIT.split(text):
        word = word.strip()
        if not word:
            continue
        try:
            known.append(Tag.parse(word).value)
        except ValidationError:
            unknown.append(word)
    return tuple(known), tuple(unknown)


def read_row(line: int, cells: list[str], layout: Layout) -> RosterRow:
    """The row's values, with ID numbers cut from every cell (and counted)."""
    ids = 0
    clean: list[str] = []
    ref_col = layout.ref
    for i, cell in enumerate(cells):
        if i in layout.dropped:
            clean.append("")
            continue
        text, n = strip_ids(cell, i != ref_col) if len(cell) >= 15 else (cell, 0)
        ids += n
        clean.append(text)
    n = len(clean)
    values = {f: clean[i].strip() for i, f in layout.fields if i < n}
    row = RosterRow(line=line, cells=layout.kept(clean), values=values)
    extra = [f"{label}: {v}" for i, label in layout.extras if i < n and (v := clean[i].strip())]
    for i in range(layout.width, n):
        # a cell right of the last header: a column without a name
        if v := clean[i].strip():
            extra.append(f"{t('roster.col_unnamed', col=col_letter(i))}: {v}")
    row.notes = extra
    if ids:
        row.warn("id_removed", t("roster.row.id_removed", n=ids))
    return row


def understand(row: RosterRow, unknown_tags: Counter[str]) -> None:
    """Read phones, names, address remarks, members, occupancy and tags; note what to tell.

    Nothing here rejects the row: a value that cannot be used goes into 备注
    (or stays as written) with a warning.
    """
    v = row.values
    if address := v.get("address"):
        bare, remarks = split_address_remarks(address)
        if remarks:
            v["address"] = bare
            row.notes.insert(0, f"{HEADERS['address']}: {'、'.join(remarks)}")
            row.warn("address_remark", t("roster.row.address_remark", value="、".join(remarks)))
    if phone := v.get("phone"):
        reading = read_phones(phone)
        for kind in reading.warnings:
            part = "、".join(reading.unread)
            row.warn(kind, t(f"roster.row.{kind}", value=phone, part=part))
    if head := v.get("head"):
        name = read_name(head)
        if name.warnings:
            row.warn("name_partial", t("roster.row.name_partial", value=head))
    if members := v.get("members"):
        text = _members_text(members)
        if text.isascii() and text.isdigit() and int(text) <= 99:
            v["members"] = text
        else:
            del v["members"]
            row.notes.append(f"{HEADERS['members']}: {members}")
            row.warn("members_unreadable", t("roster.row.members_unreadable", value=members))
    if occupancy := v.get("occupancy"):
        try:
            Occupancy.parse(occupancy)
        except ValidationError:
            del v["occupancy"]
            row.notes.append(f"{HEADERS['occupancy']}: {occupancy}")
            row.warn("occupancy_unknown", t("roster.row.occupancy_unknown", value=occupancy))
    if tags := v.get("tags"):
        known, bad = _check_tags(tags)
        if bad:
            unknown_tags.update(bad)
            v["tags"] = TAG_SEPARATOR.join(known)
            row.notes.append(f"{HEADERS['tags']}: {'、'.join(bad)}")
            row.warn("tag_unknown", t("roster.row.tag_unknown", value="、".join(bad)))
    if v.get("ref"):
        m = _FLOAT_INT.match(v["ref"])
        if m:
            v["ref"] = m.group(1)
        if _FLOAT_SHAPED.match(unicodedata.normalize("NFKC", v["ref"])):
            # A 编号 a spreadsheet kept as a number lost its last digits: two
            # households could share what is left, and one 编号 is one
            # household.  The household is imported without it, the damaged
            # text kept in 备注 and the row listed with a warning.
            row.warn("ref_damaged", t("roster.row.ref_damaged", value=v["ref"]))
            row.notes.append(f"{HEADERS['ref']}: {v['ref']}")
            v["ref"] = ""


def household_of(row: RosterRow) -> Household:
    """The row as a validated Household.

    Raises:
        ValidationError: only for what cannot be a household (no address, an
            address or 微网格 too long to be one).
    """
    v = row.values
    if row.notes:
        v["note"] = NOTE_SEPARATOR.join(([v["note"]] if v.get("note") else []) + row.notes)
    return Household(
        address=v.get("address", ""),
        micro_grid=v.get("micro_grid", ""),
        community=v.get("community") or None,
        estate=v.get("estate") or None,
        ref=v.get("ref") or None,
        head=v.get("head") or None,
        phone=v.get("phone") or None,
        members=v.get("members") or None,  # type: ignore[arg-type]  # validated() parses it
        occupancy=v.get("occupancy") or "",
        tags=v.get("tags") or [],  # type: ignore[arg-type]
        note=v.get("note") or None,
    ).validated()
