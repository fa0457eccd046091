"""Run one measured child process: wall time and that child's own peak memory.

``resource.getrusage(RUSAGE_CHILDREN)`` reports the largest child seen so
far, so a big early run would hide every later one; ``os.wait4`` instead
returns the resource usage of exactly the child it reaped.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The repository root: children run here so ``python -m visitlog`` and
#: ``python -m bench.child`` resolve to this checkout.
ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


class BenchError(RuntimeError):
    """A measured command failed; the message carries its stderr."""


@dataclass
class Run:
    """One finished child process."""

    seconds: float
    peak_mb: float
    stdout: str
    started: float  # time.time() just before the child was started
    code: int = 0
    cpu: float = 0.0  # user + system CPU seconds of the child (its threads included)
    #: A large stdout is left in this file, not read (:data:`BIG_STDOUT`).
    stdout_file: Path | None = None

    def json(self) -> Any:
        """The child's stdout parsed as JSON (its last line when it printed several)."""
        if self.stdout_file is not None:
            with open(self.stdout_file, encoding="utf-8") as f:
                return json.load(f)
        text = self.stdout.strip()
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return json.loads(text.splitlines()[-1])


@dataclass
class Sample:
    """Several runs of one measurement: values in the unit of the case."""

    values: list[float]
    peaks_mb: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    @property
    def peak_mb(self) -> float | None:
        return max(self.peaks_mb) if self.peaks_mb else None


def child_env(workdir: Path) -> dict[str, str]:
    """Environment for children: data, config and logs under the bench workdir.

    So a benchmark never reads or writes the user's real visitlog files.
    """
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(workdir / "xdg" / var.lower())
    env.pop("VISITLOG_DB", None)
    if not env.get("VISITLOG_PASSPHRASE"):
        # The datasets are plain files (a case that measures the encrypted
        # database gives its passphrase); off a terminal visitlog makes no
        # new database without one or the other.
        env["VISITLOG_PLAIN"] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(
    argv: Sequence[str],
    workdir: Path,
    *,
    timeout: float = 600,
    check: bool = True,
    ok_codes: Sequence[int] = (0,),
) -> Run:
    """Run ``argv`` to completion and measure it.

    Args:
        argv: the command; ``python`` as first element means this interpreter.
        workdir: scratch folder (stdout/stderr files, XDG dirs).
        timeout: seconds before the child is killed and BenchError raised.
        check: raise BenchError when the exit code is not in ``ok_codes``.
        ok_codes: exit codes that count as success.
    """
    argv = [PYTHON if a == "python" else a for a in argv]
    out_path, err_path = workdir / "child.stdout", workdir / "child.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.time()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT, env=child_env(workdir)
        )
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"timed out after {timeout:.0f} s: {' '.join(argv)}")
            time.sleep(0.002)
        seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4; keep Popen from waiting again
    stdout, stdout_file = "", None
    if out_path.stat().st_size > BIG_STDOUT:
        # Kept on disk: read into this process, it would stay as large, and
        # every child started after it would report at least that peak
        # (Linux counts the parent's resident size in a forked child's).
        stdout_file = workdir / f"child-{started:.6f}.stdout"
        out_path.rename(stdout_file)
    else:
        stdout = out_path.read_text("utf-8", errors="replace")
    if check and code not in ok_codes:
        stderr = err_path.read_text("utf-8", errors="replace").strip()
        tail = "\n".join(stderr.splitlines()[-15:])
        raise BenchError(f"exit {code}: {' '.join(argv)}\n{tail}")
    # Linux reports ru_maxrss in KiB.
    return Run(
        seconds=seconds,
        peak_mb=usage.ru_maxrss / 1024,
        stdout=stdout,
        stdout_file=stdout_file,
        started=started,
        code=code,
        cpu=usage.ru_utime + usage.ru_stime,
    )


#: Bytes of a child's stdout above which it is left in a file (:attr:`Run.stdout_file`).
BIG_STDOUT = 16 << 20


def command_exists(words: Sequence[str], workdir: Path) -> bool:
    """Whether ``visitlog WORDS --help`` succeeds, i.e. the feature has landed."""
    try:
        result = run(
            ["python", "-m", "visitlog", *words, "--help"], workdir, timeout=60, check=False
        )
    except BenchError:
        return False
    return result.code == 0
