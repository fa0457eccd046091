"""De-duplication quality and cost on the labelled messy roster (tests/dedup_corpus.py).

``python -m bench.dedup_quality [--seeds 1 2 3] [--buildings 30] [--threshold 0.9]``

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from dedup_corpus import cluster_pairs, generate, precision_recall

from visitlog import dedup
from visitlog.store import Store, _household_row


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--buildings", type=int, default=30)
    parser.add_argument("--threshold", type=float, default=dedup.DEFAULT_THRESHOLD)
    args = parser.parse_args()
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
