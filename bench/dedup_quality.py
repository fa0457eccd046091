"""De-duplication quality and cost on the labelled rosters (tests/dedup_corpus.py, tests/real_roster.py).

``python -m bench.dedup_quality [--seeds 1 2 3] [--buildings 30] [--threshold 0.9]``

``python -m bench.dedup_quality --real [--seeds 1 2 3] [--households 2000] [--show-wrong]``
runs the corpus of rosters written as committees write them
(tests/real_roster.py: two address systems, short names, whole buildings,
look-alikes): both rosters are imported in this process as CSV files, and
precision and recall are printed per variant class — recall over all pairs
and over the pairs a careful person could decide from the rows — with the
look-alikes merged or listed per class.  ``--show-wrong`` lists each wrong
merge and each decidable pair missed, with the reasons dedup gives.

For each seed: generate the corpus, load it into a fresh database (one
transaction, as a roster import would), run ``find_households`` and score its
clusters against the labels.  Prints precision and recall over duplicate
pairs, candidate pairs compared against all pairs, the time of the search and
the peak memory of this process, per seed and in total.  ``--buildings 330``
gives about 50,000 rows (district scale).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from dedup_corpus import cluster_pairs, generate, precision_recall

from visitlog import dedup
from visitlog.store import Store
from visitlog.store import household_row as _household_row


def run(seed: int, buildings: int, threshold: float) -> dict:
    corpus = generate(seed, buildings)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "q.db")
        with store.transaction() as tx:
            tx.insert_many(
                "households", [_household_row(h.validated()) for h in corpus.households()]
            )
        index = {
            r["id"]: corpus.index_of_ref(r["ref"])
            for r in store.query("SELECT id, ref FROM households")
        }
        started = time.perf_counter()
        result = dedup.find_households(store, threshold=threshold)
        seconds = time.perf_counter() - started
        store.close()
    predicted = cluster_pairs([[index[i] for i in c] for c in result.clusters])
    truth = corpus.true_pairs()
    precision, recall = precision_recall(predicted, truth)
    return {
        "seed": seed,
        "rows": len(corpus.rows),
        "true": len(truth),
        "predicted": len(predicted),
        "hit": len(predicted & truth),
        "precision": precision,
        "recall": recall,
        "candidates": result.stats["candidate_pairs"],
        "all": result.stats["all_pairs"],
        "seconds": seconds,
    }


def run_real(
    seed: int, households: int, threshold: float, show_wrong: bool = False
) -> dict[str, Any]:
    """The real-roster corpus through import and dedup in this process; figures per class."""
    import real_roster as rr

    from bench.roster_reality import dedup_figures, map_rows
    from visitlog.roster import import_roster

    corpus = rr.generate(seed, households)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "q.db")
        for name in ("A", "B"):
            path = Path(tmp) / f"{name}.csv"
            corpus.write_csv(path, name)
            import_roster(store, path)
        stored = [dict(r) for r in store.query("SELECT * FROM households WHERE deleted = 0")]
        started = time.perf_counter()
        result = dedup.find_households(store, threshold=threshold)
        seconds = time.perf_counter() - started
        mapped = map_rows(corpus, stored)
        figures = dedup_figures(corpus, mapped, result.to_json())
        if show_wrong:
            _show_wrong(store, corpus, mapped, result)
        store.close()
    figures["seconds"] = seconds
    figures["model"] = result.model
    return figures


def _show_wrong(store: Store, corpus: Any, mapped: dict[int, str], result: Any) -> None:
    from itertools import combinations

    row_of = {hid: i for i, hid in mapped.items()}
    predicted = {
        tuple(sorted((row_of[a], row_of[b])))
        for c in result.clusters
        for a, b in combinations(c, 2)
        if a in row_of and b in row_of
    }
    truth = {(p.a, p.b): p for p in corpus.duplicate_pairs()}
    scored = {
        tuple(sorted((row_of[p.a], row_of[p.b]))): p
        for p in result.pairs
        if p.a in row_of and p.b in row_of
    }

    def show(i: int, j: int, label: str) -> None:
        x, y = corpus.rows[i], corpus.rows[j]
        p = scored.get((i, j))
        if p is None and i in mapped and j in mapped:
            p = dedup.explain_households(store, mapped[i], mapped[j])
        print(f"- {label}")
        for r in (x, y):
            c = r.cells
            print(f"    {c['小区']} | {c['地址']} | {c['户主']} | {c['联系电话']} | {c['人数']}")
        print(f"    {p.score if p else '—'}: {'；'.join(p.reasons) if p else 'not stored'}")

    print("\nwrong merges:")
    for i, j in sorted(predicted - truth.keys()):
        x, y = corpus.rows[i], corpus.rows[j]
        look = [la.cls for la in corpus.lookalikes if {la.a, la.b} == {x.household, y.household}]
        show(i, j, "look-alike " + ",".join(look) if look else "different households")
    print("\ndecidable pairs missed:")
    for (i, j), p in sorted(truth.items()):
        if p.decidable and (i, j) not in predicted:
            show(i, j, ",".join(p.classes))


def main_real(args: argparse.Namespace) -> None:
    totals: dict[str, list[int]] = {}
    looks: dict[str, list[int]] = {}
    overall = [0, 0, 0, 0, 0]  # found, predicted, true, decidable, found decidable
    for seed in args.seeds:
        f = run_real(seed, args.households, args.threshold, args.show_wrong)
        overall[0] += f["found"]
        overall[1] += f["predicted_pairs"]
        overall[2] += f["true_pairs"]
        overall[3] += f["decidable_pairs"]
        overall[4] += f["found_decidable"]
        for c in f["classes"]:
            t = totals.setdefault(c["class"], [0, 0, 0, 0, 0, 0])
            for k, key in enumerate(
                ("pairs", "decidable", "found", "found_decidable", "false_pairs", "listed")
            ):
                t[k] += c[key]
        for la in f["lookalikes"]:
            t = looks.setdefault(la["class"], [0, 0, 0])
            t[0] += la["pairs"]
            t[1] += la["merged"]
            t[2] += la["listed"]
        print(
            f"seed {seed}: {f['true_pairs']} duplicate pairs, precision "
            f"{f['found'] / max(f['predicted_pairs'], 1):.3f}, recall {f['found'] / max(f['true_pairs'], 1):.3f}, "
            f"recall (decidable) {f['found_decidable'] / max(f['decidable_pairs'], 1):.3f}, "
            f"dedup {f['seconds']:.2f} s"
        )
    found, predicted, true, decidable, found_dec = overall
    print(
        f"\nall seeds: precision {found / max(predicted, 1):.4f} ({predicted - found} wrong of "
        f"{predicted}), recall {found / max(true, 1):.4f}, recall over the pairs a person could "
        f"decide {found_dec / max(decidable, 1):.4f} ({found_dec} of {decidable})\n"
    )
    print(
        "| class | pairs | decidable | found | recall | recall (decidable) | listed | wrong pairs | precision |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for cls, (pairs, dec, fnd, fnd_dec, wrong, listed) in totals.items():
        prec = f"{fnd / (fnd + wrong):.3f}" if fnd + wrong else "—"
        print(
            f"| {cls} | {pairs} | {dec} | {fnd} | {fnd / max(pairs, 1):.3f} | "
            f"{(fnd_dec / dec) if dec else float('nan'):.3f} | {listed / max(pairs, 1):.3f} | {wrong} | {prec} |"
        )
    print("\n| look-alike class | pairs | merged | listed for review |")
    print("|---|---|---|---|")
    for cls, (pairs, merged, listed) in looks.items():
        print(f"| {cls} | {pairs} | {merged} | {listed} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--buildings", type=int, default=30)
    parser.add_argument("--threshold", type=float, default=dedup.DEFAULT_THRESHOLD)
    parser.add_argument("--real", action="store_true", help="the real-roster corpus")
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    if args.real:
        args.seeds = args.seeds or [1, 2, 3]
        main_real(args)
        return
    args.seeds = args.seeds or list(range(1, 11))
    print("| seed | rows | dup pairs | precision | recall | pairs compared | all pairs | s |")
    print("|---|---|---|---|---|---|---|---|")
    hit = predicted = true = 0
    for seed in args.seeds:
        r = run(seed, args.buildings, args.threshold)
        hit, predicted, true = hit + r["hit"], predicted + r["predicted"], true + r["true"]
        print(
            f"| {seed} | {r['rows']:,} | {r['true']:,} | {r['precision']:.4f} | "
            f"{r['recall']:.4f} | {r['candidates']:,} | {r['all']:,} | {r['seconds']:.2f} |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\ntotal: precision {hit / max(predicted, 1):.4f}, recall {hit / max(true, 1):.4f} "
        f"over {true:,} duplicate pairs; peak memory {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
