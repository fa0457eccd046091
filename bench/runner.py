"""Command line of the benchmarks: build or reuse the dataset, run the cases, report."""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import time
from pathlib import Path

import bench.bundles  # noqa: F401  (registers the bundle case)
from bench import district as _district  # noqa: F401  (registers its cases)
from bench import encrypted as _encrypted  # noqa: F401  (registers its case)
from bench.cases import CASES, Ctx, run_cases
from bench.datasets import CACHE, SCALES, dataset
from bench.report import header, table

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def compile_bytecode() -> None:
    """Compile visitlog and the installed packages to bytecode first, as ``pip
    install`` does: a measured process (run with PYTHONDONTWRITEBYTECODE, so
    the tree stays clean) then loads modules as on a worker's laptop, instead
    of compiling every one from source (which a machine with that variable set
    for its installs would otherwise do at every start)."""
    import sysconfig

    import visitlog

    for folder in {sysconfig.get_paths()["purelib"], str(Path(visitlog.__file__).parent)}:
        compileall.compile_dir(folder, quiet=2, workers=0)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time visitlog operations at street or district scale against same-run baselines.",
    )
    p.add_argument("--scale", choices=sorted(SCALES), default="street")
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per case (default 3; 1 at region scale, where one run of the heavy cases "
        "takes minutes)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=sorted(CASES),
        help="run only these cases: " + ", ".join(CASES),
    )
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached dataset")
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the Markdown report (default bench/RESULTS.md on a full run, "
        "nowhere with --only)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.repeat is None:
        args.repeat = 1 if args.scale == "region" else 3
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    # One scratch folder per run, so two runs at once never delete each other's files.
    work = CACHE / f"work-{args.scale}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "xdg").mkdir(parents=True)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        compile_bytecode()
        log(f"dataset: {args.scale} ({SCALES[args.scale]:,} households)")
        data = dataset(args.scale, work, rebuild=args.rebuild)
        if data.built:
            log(f"   built in {data.built.seconds:.1f} s → {data.path.name}")
        ctx = Ctx(scale=args.scale, repeat=args.repeat, work=work, data=data, only=args.only or ())
        rows = run_cases(ctx, args.only, log=log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    desc = f"`visitlog demo --households {data.households} --seed 1`, {data.size_mb:,.0f} MB"
    report = "\n\n".join(
        [
            header(
                args.scale,
                data.households,
                args.repeat,
                desc,
                load=f"{load_start:.2f} → {os.getloadavg()[0]:.2f} "
                f"(other work on the machine inflates the timings)",
            ),
            table(rows),
            f"Whole benchmark run: {elapsed / 60:.1f} min "
            f"(`python -m bench --scale {args.scale} --repeat {args.repeat}"
            + (f" --only {' '.join(args.only)}" if args.only else "")
            + "`).",
        ]
    )
    print(report)
    results = RESULTS if args.scale != "region" else RESULTS.with_name("RESULTS-region.md")
    out = args.output or (None if args.only else results)
    if out:
        out.write_text(report + "\n", encoding="utf-8")
        log(f"written to {out}")
