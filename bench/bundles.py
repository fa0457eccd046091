"""The bundle case: export and import of an encrypted bundle against the plain path.

Registered with :func:`bench.cases.case` when this module is imported (the
runner does).  The baseline is the path bundles took before they were
encrypted: the same export with the cipher replaced by a pass-through (so the
file is the earlier, plain format), and the import of that file through the
reader visitlog keeps for plain bundles.  Both sides run as
``python -m bench.child`` processes, in the same run.
"""

from __future__ import annotations

from bench.cases import CHILD, Ctx, _cpu_ratio, case, measure, row_from, verdict
from bench.proc import run
from bench.report import Row


def _file_mb(path) -> float:
    return path.stat().st_size / 1e6


@case("bundle", "bundle export and import, encrypted vs the plain format of earlier versions")
def bundle(ctx: Ctx) -> list[Row]:
    if not ctx.whole("bundle"):
        # A bundle of every change of the district (4.3 million) is a new hub
        # or laptop taken from a stick: about 10 minutes of exports and imports.
        return [
            ctx.skipped("bundle", f"bundle {what}, encrypted, every change ({ctx.scale})",
                        "≤ 1.2× plain", "about 10 minutes")
            for what in ("export", "import")
        ]  # fmt: skip
    key_file = ctx.path("station.key")
    src = ctx.copy("bundle-src.db")
    run([*CHILD, "hold_key", str(key_file), str(src)], ctx.work)
    runs = ctx.times(cap=2 if ctx.scale == "district" else None)
    files = {kind: ctx.path(f"{kind}.vlb") for kind in ("plain", "encrypted")}

    def export(kind: str):
        return measure(
            ctx,
            lambda _i: [*CHILD, "bundle_export", str(src), str(files[kind]), kind],
            runs=runs,
        )

    def receive(kind: str):
        def prepare(_i: int) -> None:
            run([*CHILD, "hold_key", str(key_file), str(ctx.fresh("bundle-dst.db"))], ctx.work)

        return measure(
            ctx,
            lambda _i: [*CHILD, "bundle_import", str(ctx.path("bundle-dst.db")), str(files[kind])],
            runs=runs,
            prepare=prepare,
        )

    base_out, base_runs = export("plain")
    enc_out, enc_runs = export("encrypted")
    base_in, base_in_runs = receive("plain")
    enc_in, enc_in_runs = receive("encrypted")
    changes = enc_runs[-1].json()["changes"]
    rows = []
    for what, sample, base, done in (
        ("export", enc_out, base_out, enc_runs[-1].json()),
        ("import", enc_in, base_in, enc_in_runs[-1].json()),
    ):
        row = row_from(
            sample, f"bundle {what}, encrypted, {changes:,} changes ({ctx.scale})", "≤ 1.2× plain"
        )
        row.baseline, row.baseline_unit = base.median, "s"
        row.baseline_name = f"plain bundle {what}"
        row.ratio = sample.median / base.median
        row.status = verdict(row.ratio <= 1.2)
        row.notes.append(
            f"plain {base.median:.2f} s ({base.low:.2f}–{base.high:.2f}), peak {base.peak_mb:.0f} MB"
            + _cpu_ratio(sample, base)
        )
        if what == "export":
            row.notes.append(
                f"files: encrypted {_file_mb(files['encrypted']):.2f} MB ({done['format']}), "
                f"plain {_file_mb(files['plain']):.2f} MB ({base_runs[-1].json()['format']})"
            )
        else:
            row.notes.append(
                f"received {done['received']:,} changes; plain import received "
                f"{base_in_runs[-1].json()['received']:,} (read as plain: "
                f"{base_in_runs[-1].json()['plain']})"
            )
        rows.append(row)
    return rows
