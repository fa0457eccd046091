"""How visitlog copes with rosters as committees really write them: a measured baseline.

``python -m bench.roster_reality [--seed 1] [--households 2000] [--duplicate-rate 0.25]
[--json FILE] [--keep DIR] [--time-district]``

The labelled corpus of ``tests/real_roster.py`` is written as two files: the
committee's roster ``A`` as an office XLSX (title rows, merged cells, an
unknown remarks column, a 身份证号 column, a hidden older sheet placed first)
and a second roster ``B`` as a GBK CSV from another source.  Then, through the
real CLI in a child process, as a worker would:

1. ``roster import A.xlsx --dry-run --json`` shows which sheet the importer
   picks; if it is the hidden old one, the real import names the right sheet;
2. ``roster import A.xlsx --json``, then ``roster import B.csv --json``;
3. ``household list --json``: which rows became households (by 编号; rows
   whose 编号 the importer changed are found by 微网格 + 地址 + 户主 as written);
4. ``dedup households --json``.

It reports rows rejected by reason (from the rejects files) and, per form
class, how many rows carrying it were lost; ID-number-shaped strings stored
anywhere; and for de-duplication, per variant class, recall over all pairs
and over the pairs a careful person could decide, precision (a wrong pair
counts against a class when one of its rows carries that class), false merges
per look-alike class, and totals.  Figures are measured, not asserted: the
script exits 0 whatever they are, and 1 only when a step cannot run at all.
Nothing here depends on the importer's or dedup's internals, only on the CLI
contract, so it keeps working as those change.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import real_roster as rr
from real_roster_files import SHEET

from bench.proc import BenchError, run

#: 18 characters shaped like an ID number, and an ID number masked as offices mask them.
ID_SHAPED = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
ID_MASKED = re.compile(r"(?<!\d)\d{3,6}\*{6,12}\d{3}[\dXx](?!\d)")


# -- running the CLI ---------------------------------------------------------------------------


def cli(db: Path, workdir: Path, *args: str, ok: tuple[int, ...] = (0,)) -> tuple[int, Any]:
    """Run ``visitlog --db DB ARGS`` and parse its JSON stdout (None when there is none)."""
    result = run(["python", "-m", "visitlog", "--db", str(db), *args], workdir, ok_codes=ok)
    text = result.stdout.strip()
    return result.code, (json.loads(text) if text else None)


def read_rejects(path: str | None) -> dict[int, str]:
    """Line → reason from a rejects file (UTF-8 with BOM, columns 原行号 and 拒收原因 first)."""
    if not path or not Path(path).exists():
        return {}
    text = Path(path).read_bytes().decode("utf-8-sig")
    out: dict[int, str] = {}
    for record in list(csv.reader(io.StringIO(text, newline="")))[1:]:
        if len(record) >= 2 and record[0].strip().isdigit():
            out[int(record[0])] = record[1]
    return out


def reason_kind(reason: str) -> str:
    """A reason without the value it quotes, so equal reasons count together."""
    text = re.sub(r"“[^”]*”|'[^']*'|\"[^\"]*\"", "“…”", reason)
    text = re.split(r"可用的|Accepted|Known", text)[0]
    return re.sub(r"\d+", "N", text).strip(" 。.：:")


# -- rows → households ---------------------------------------------------------------------


def map_rows(corpus: rr.Corpus, stored: list[dict[str, Any]]) -> dict[int, str]:
    """Row index → stored household id, for every row that became a household of its own."""
    by_ref: dict[str, list[str]] = defaultdict(list)
    by_text: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for h in stored:
        by_ref[str(h.get("ref") or "")].append(h["id"])
        key = (
            h.get("micro_grid") or "",
            (h.get("address") or "").strip(),
            (h.get("head") or "").strip(),
        )
        by_text[key].append(h["id"])
    refs = Counter(str(r.cells["编号"]).strip() for r in corpus.rows)
    out: dict[int, str] = {}
    claimed: set[str] = set()
    for row in corpus.rows:
        ref = str(row.cells["编号"]).strip()
        ids = by_ref.get(ref, [])
        if refs[ref] == 1 and len(ids) == 1 and ids[0] not in claimed:
            out[row.index] = ids[0]
            claimed.add(ids[0])
    for row in corpus.rows:
        if row.index in out:
            continue
        key = (
            str(row.cells["微网格"]),
            str(row.cells["地址"]).strip(),
            str(row.cells["户主"]).strip(),
        )
        ids = [i for i in by_text.get(key, []) if i not in claimed]
        if len(ids) == 1:
            out[row.index] = ids[0]
            claimed.add(ids[0])
    return out


# -- measuring ----------------------------------------------------------------------------


def import_figures(
    corpus: rr.Corpus,
    mapped: dict[int, str],
    lines: dict[int, tuple[str, int]],
    rejects: dict[str, dict[int, str]],
) -> dict[str, Any]:
    """Rows lost by reason and by form class."""
    lost = [r for r in corpus.rows if r.index not in mapped]
    reasons: Counter[str] = Counter()
    for row in lost:
        roster, line = lines[row.index]
        reason = rejects.get(roster, {}).get(line)
        reasons[reason_kind(reason) if reason else "(not stored, no reason given)"] += 1
    warned = sum(
        1
        for r in corpus.rows
        if r.index in mapped and lines[r.index][1] in rejects.get(lines[r.index][0], {})
    )
    carrying: Counter[tuple[str, str]] = Counter()
    lost_with: Counter[tuple[str, str]] = Counter()
    for row in corpus.rows:
        for field, forms in row.forms.items():
            for form in set(forms):
                carrying[(field, form)] += 1
                if row.index not in mapped:
                    lost_with[(field, form)] += 1
    by_form = [
        {"field": f, "form": c, "rows": carrying[(f, c)], "lost": lost_with[(f, c)]}
        for f, cs in rr.FORM_CLASSES.items()
        for c in cs
    ]
    households_lost = {r.household for r in lost} - {
        r.household for r in corpus.rows if r.index in mapped
    }
    return {
        "rows": len(corpus.rows),
        "stored": len(mapped),
        "lost": len(lost),
        "households_lost": len(households_lost),
        "listed_but_stored": warned,
        "reasons": dict(reasons.most_common()),
        "by_form": by_form,
    }


def _readings(number: str) -> set[str]:
    """The digit strings that are this number: with or without 021 / 86 in front."""
    return {number, "021" + number, "21" + number} if len(number) == 8 else {number, "86" + number}


def altered_phones(
    corpus: rr.Corpus, mapped: dict[int, str], stored: list[dict[str, Any]]
) -> dict[str, int]:
    """Stored rows whose phone became a number that was not written, by phone form class.

    A phone kept exactly as written is never counted; one stored as 11 digits
    that are no reading of any number in the cell is (``62345678转123``
    turned into ``62345678123``).
    """
    phone_of = {h["id"]: h.get("phone") for h in stored}
    out: Counter[str] = Counter()
    for row in corpus.rows:
        value = phone_of.get(mapped.get(row.index, ""))
        if not value or str(value).strip() == str(row.cells["联系电话"]).strip():
            continue
        digits = re.sub(r"\D", "", str(value))
        readings = set().union(*(_readings(n) for n, _ in row.evidence.phones))
        if len(digits) == 11 and digits not in readings:
            for form in row.forms["phone"]:
                out[form] += 1
    return dict(out.most_common())


def dedup_figures(
    corpus: rr.Corpus, mapped: dict[int, str], result: dict[str, Any]
) -> dict[str, Any]:
    """Precision and recall over pairs of rows, per variant class; false merges per look-alike class."""
    row_of = {hid: i for i, hid in mapped.items()}
    predicted: set[tuple[int, int]] = set()
    for cluster in result.get("clusters", []):
        rows = sorted(row_of[h] for h in cluster if h in row_of)
        predicted.update(combinations(rows, 2))
    listed = {
        tuple(sorted((row_of[p["a"]], row_of[p["b"]])))
        for p in result.get("pairs", [])
        if p.get("a") in row_of and p.get("b") in row_of
    }
    truth = corpus.duplicate_pairs()
    true_set = {(p.a, p.b) for p in truth}
    false = predicted - true_set
    rows_of_class: dict[str, set[int]] = defaultdict(set)
    for p in truth:
        for c in p.classes:
            rows_of_class[c].update((p.a, p.b))
    classes = []
    for c in rr.VARIANT_CLASSES:
        ps = [p for p in truth if c in p.classes]
        found = [p for p in ps if (p.a, p.b) in predicted]
        decidable = [p for p in ps if p.decidable]
        stored = [p for p in ps if p.a in mapped and p.b in mapped]
        wrong = sum(1 for a, b in false if a in rows_of_class[c] or b in rows_of_class[c])
        classes.append(
            {
                "class": c,
                "pairs": len(ps),
                "decidable": len(decidable),
                "both_stored": len(stored),
                "found": len(found),
                "found_decidable": sum(1 for p in decidable if (p.a, p.b) in predicted),
                "listed": sum(1 for p in ps if (p.a, p.b) in listed),
                "false_pairs": wrong,
            }
        )
    rows_of = corpus.rows_by_household
    looks = []
    for cls in rr.LOOKALIKE_CLASSES:
        labels = [la for la in corpus.lookalikes if la.cls == cls]
        merged = reviewed = stored = 0
        for la in labels:
            cross = {tuple(sorted((i, j))) for i in rows_of[la.a] for j in rows_of[la.b]}
            stored += any(i in mapped for i in rows_of[la.a]) and any(
                j in mapped for j in rows_of[la.b]
            )
            merged += bool(cross & predicted)
            reviewed += bool(cross & listed)
        looks.append(
            {
                "class": cls,
                "pairs": len(labels),
                "both_stored": stored,
                "merged": merged,
                "listed": reviewed,
            }
        )
    decidable = [p for p in truth if p.decidable]
    hit = predicted & true_set
    return {
        "threshold": result.get("threshold"),
        "clusters": len(result.get("clusters", [])),
        "predicted_pairs": len(predicted),
        "true_pairs": len(truth),
        "decidable_pairs": len(decidable),
        "found": len(hit),
        "found_decidable": sum(1 for p in decidable if (p.a, p.b) in predicted),
        "both_stored": sum(1 for p in truth if p.a in mapped and p.b in mapped),
        "false_pairs": len(false),
        "listed": len(listed & true_set),
        "classes": classes,
        "lookalikes": looks,
    }


def _valid_id(text: str) -> bool:
    """A real 身份证号: ISO 7064 MOD 11-2 check digit and a possible birth date."""
    text = text.upper()
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(text[:17]))
    check = (12 - total % 11) % 11
    if text[17] != ("X" if check == 10 else str(check)):
        return False
    year, month, day = int(text[6:10]), int(text[10:12]), int(text[12:14])
    return 1900 <= year <= 2030 and 1 <= month <= 12 and 1 <= day <= 31


def id_leaks(stored: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Stored households holding ID numbers (valid, masked) or other 18-character digit strings, by field."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for h in stored:
        for key, value in h.items():
            if not isinstance(value, str):
                continue
            shaped = ID_SHAPED.findall(value)
            if any(_valid_id(s) for s in shaped):
                out["valid"][key] += 1
            elif shaped:
                out["shaped"][key] += 1
            if ID_MASKED.search(value):
                out["masked"][key] += 1
    return {kind: dict(c) for kind, c in out.items()}


# -- the run ----------------------------------------------------------------------------------


def measure(seed: int, households: int, rate: float, keep: Path | None) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = rr.generate(seed, households, rate)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="roster-reality-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        a_path, b_path, db = work / "名册A.xlsx", work / "名册B.csv", work / "visitlog.db"
        db.unlink(missing_ok=True)
        lines_a = corpus.write_xlsx(a_path, "A", stale_sheet=True)
        lines_b = corpus.write_csv(b_path, "B", encoding="gbk")
        lines = {i: ("A", n) for i, n in lines_a.items()} | {
            i: ("B", n) for i, n in lines_b.items()
        }

        _, probe = cli(
            work / "probe.db",
            work,
            "roster",
            "import",
            str(a_path),
            "--dry-run",
            "--json",
            ok=(0, 1),
        )
        picked = probe.get("sheet") if probe else None
        sheet_args = [] if picked == SHEET else ["--sheet", SHEET]
        code_a, report_a = cli(
            db, work, "roster", "import", str(a_path), *sheet_args, "--json", ok=(0, 1)
        )
        code_b, report_b = cli(db, work, "roster", "import", str(b_path), "--json", ok=(0, 1))
        rejects = {
            "A": read_rejects((report_a or {}).get("rejects_path")),
            "B": read_rejects((report_b or {}).get("rejects_path")),
        }
        _, stored = cli(db, work, "household", "list", "--json")
        mapped = map_rows(corpus, stored)
        started = time.perf_counter()
        try:
            _, result = cli(db, work, "dedup", "households", "--json")
            dedup_error = None
        except BenchError as exc:
            # the import figures still stand; say why the dedup ones are missing
            result, dedup_error = None, str(exc)
        dedup_seconds = time.perf_counter() - started
    return {
        "seed": seed,
        "households": len(corpus.households),
        "rows": {"A": len(lines_a), "B": len(lines_b)},
        "generation_seconds": generated,
        "hidden_sheet_read_first": picked != SHEET,
        "sheet_picked": picked,
        "import": {
            "A": {
                "exit": code_a,
                **{
                    k: (report_a or {}).get(k)
                    for k in ("imported", "updated", "unchanged", "rejected", "warnings")
                },
            },
            "B": {
                "exit": code_b,
                **{
                    k: (report_b or {}).get(k)
                    for k in ("imported", "updated", "unchanged", "rejected", "warnings")
                },
            },
        },
        "stored_households": len(stored),
        "rows_lost": import_figures(corpus, mapped, lines, rejects),
        "id_shaped_strings_stored": id_leaks(stored),
        "phones_altered": altered_phones(corpus, mapped, stored),
        "dedup": dedup_figures(corpus, mapped, result) if result is not None else None,
        "dedup_error": dedup_error,
        "dedup_seconds": dedup_seconds,
    }


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "—"


def report(m: dict[str, Any]) -> str:
    """The figures as Markdown."""
    out = [
        f"# Roster reality baseline (seed {m['seed']}, {m['households']:,} households, "
        f"rows: A {m['rows']['A']:,}, B {m['rows']['B']:,})",
        "",
        f"Corpus generated in {m['generation_seconds']:.2f} s"
        + (
            f" (the district corpus, 50,000 households with 10% duplicate rows, in "
            f"{m['district_seconds']:.2f} s). "
            if "district_seconds" in m
            else ". "
        )
        + f"Importer read sheet “{m['sheet_picked']}” of the XLSX first"
        + (
            " (the hidden older sheet: the real import names the sheet)."
            if m["hidden_sheet_read_first"]
            else "."
        ),
        "",
        "## Import",
        "",
        "| file | exit | imported | updated | unchanged | rejected |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in m["import"].items():
        out.append(
            f"| {name} | {r['exit']} | {r['imported']} | {r['updated']} | {r['unchanged']} | {r['rejected']} |"
        )
    lost = m["rows_lost"]
    out += [
        "",
        f"Rows not stored: **{lost['lost']:,} of {lost['rows']:,}** "
        f"({lost['lost'] / lost['rows']:.1%}); households with no row stored: {lost['households_lost']:,}; "
        f"rows listed in a rejects file but stored anyway (warnings): {lost['listed_but_stored']}.",
        "",
        "| reason | rows |",
        "|---|---|",
        *(f"| {reason} | {n:,} |" for reason, n in lost["reasons"].items()),
        "",
        "Rows lost by form class (classes with no loss left out):",
        "",
        "| field | form class | rows | lost | share lost |",
        "|---|---|---|---|---|",
    ]
    for f in sorted(lost["by_form"], key=lambda f: (-f["lost"] / max(f["rows"], 1), -f["lost"])):
        if f["lost"]:
            out.append(
                f"| {f['field']} | {f['form']} | {f['rows']:,} | {f['lost']:,} | {f['lost'] / f['rows']:.0%} |"
            )
    altered = m["phones_altered"]
    out += [
        "",
        "Rows stored with a phone number that was not written: "
        + (", ".join(f"{form} {n:,}" for form, n in altered.items()) if altered else "none")
        + ".",
    ]
    leaks = m["id_shaped_strings_stored"]
    names = {
        "valid": "ID numbers (valid check digit)",
        "masked": "masked ID numbers",
        "shaped": "other 18-character digit strings",
    }
    out += ["", "Stored in the database, households by field:"]
    out += [
        f"- {names[kind]}: " + ", ".join(f"{k} {v:,}" for k, v in fields.items())
        for kind, fields in leaks.items()
    ] or ["- no ID number, masked or whole"]
    out.append("")
    d = m["dedup"]
    if d is None:
        out += ["## Dedup", "", f"`dedup households --json` did not run: {m['dedup_error']}"]
        return "\n".join(out) + "\n"
    out += [
        f"## Dedup (`dedup households --json`, threshold {d['threshold']}, {m['dedup_seconds']:.1f} s)",
        "",
        f"Clusters {d['clusters']:,}; predicted pairs {d['predicted_pairs']:,}, of which wrong {d['false_pairs']:,}: "
        f"precision **{_ratio(d['found'], d['predicted_pairs'])}**. "
        f"True pairs {d['true_pairs']:,}: recall **{_ratio(d['found'], d['true_pairs'])}**; "
        f"over the {d['decidable_pairs']:,} a person could decide: **{_ratio(d['found_decidable'], d['decidable_pairs'])}**; "
        f"over the {d['both_stored']:,} whose two rows were both stored: {_ratio(d['found'], d['both_stored'])}; "
        f"listed for review at all: {_ratio(d['listed'], d['true_pairs'])}.",
        "",
        "Per variant class (a pair counts in every class it has). Precision: found ÷ (found + wrong pairs "
        "with a row carrying the class).",
        "",
        "| class | pairs | decidable | both stored | found | recall | recall (decidable) | recall (both stored) | listed | wrong pairs | precision |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in d["classes"]:
        out.append(
            f"| {c['class']} | {c['pairs']} | {c['decidable']} | {c['both_stored']} | {c['found']} | "
            f"{_ratio(c['found'], c['pairs'])} | {_ratio(c['found_decidable'], c['decidable'])} | "
            f"{_ratio(c['found'], c['both_stored'])} | {_ratio(c['listed'], c['pairs'])} | {c['false_pairs']} | "
            f"{_ratio(c['found'], c['found'] + c['false_pairs'])} |"
        )
    out += [
        "",
        "Look-alikes that must not merge:",
        "",
        "| class | pairs | both stored | merged | listed for review |",
        "|---|---|---|---|---|",
        *(
            f"| {la['class']} | {la['pairs']} | {la['both_stored']} | {la['merged']} | {la['listed']} |"
            for la in d["lookalikes"]
        ),
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--duplicate-rate", type=float, default=0.25)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--keep", type=Path, help="keep the roster files and database in this folder"
    )
    parser.add_argument(
        "--time-district",
        action="store_true",
        help="also time generating the 50,000-household corpus",
    )
    args = parser.parse_args(argv)
    try:
        m = measure(args.seed, args.households, args.duplicate_rate, args.keep)
    except BenchError as exc:
        print(f"a step could not run: {exc}", file=sys.stderr)
        return 1
    if args.time_district:
        started = time.perf_counter()
        rr.district(args.seed)
        m["district_seconds"] = time.perf_counter() - started
    text = report(m)
    print(text, end="")
    if args.json:
        args.json.write_text(json.dumps(m, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
