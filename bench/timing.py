"""Shared helpers of the whole-process benchmarks: the environment of the timed processes, bytecode, one timed run
(wall time, exit code, peak RSS) and the summary of a series.

The method of bench/run_check.py and bench/run_lint.py: a new process per run, stdin closed, output discarded, the
commands interleaved in rotated rounds so machine noise and drift hit them alike, and PYTHONDONTWRITEBYTECODE removed
(installed packages run from byte-compiled modules; an environment that forbids bytecode would time the compiler).
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import NamedTuple, TypedDict, TypeVar

_T = TypeVar("_T")

REPO = Path(__file__).resolve().parents[1]

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The timed processes' environment: this one without PYTHONDONTWRITEBYTECODE."""


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")
"""GNU time (not the shell keyword): measures a child's peak RSS without counting this process's memory."""


def compile_package() -> None:
    """Byte-compile mtls_doctor as pip would at install time (this checkout is an editable install)."""
    compileall.compile_dir(REPO / "mtls_doctor", quiet=1)


class Run(NamedTuple):
    """One timed process."""

    seconds: float
    """Wall time from spawn to exit."""
    cpu_seconds: float
    """User + system CPU time of the command (its children included): what it costs when it has a core to itself,
    far less disturbed than wall time by other load on a shared machine."""
    returncode: int
    peak_rss_kb: int
    """The command's peak resident set size in KiB (see run_once)."""


def run_once(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    ok: Collection[int] = (0,),
    stdout: int | None = subprocess.DEVNULL,
    peak_rss: bool = True,
) -> tuple[Run, bytes]:
    """Run ``argv`` once, stdin closed, stderr discarded; RuntimeError if its exit code is not in ``ok``.

    ``stdout`` is discarded by default; pass ``subprocess.PIPE`` for a check run (its output is then returned,
    read after the process exits, so keep it for runs that are not timed: a full pipe would stall the child).

    Peak RSS: the kernel counts the memory a child had before its exec (a copy of, or with vfork the very,
    address space of this process) in its ru_maxrss, so a small command would show this benchmark's own RSS.
    With ``peak_rss`` the command is therefore started by GNU time (about 2 MB, 1 ms), which reports the
    command's own peak; without GNU time, or with ``peak_rss=False``, ru_maxrss of the child is kept as it is.
    """
    rss_file = None
    if peak_rss and GNU_TIME:
        handle, rss_file = tempfile.mkstemp(prefix="bench-rss-")
        os.close(handle)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
    start = time.perf_counter()
    with subprocess.Popen(
        argv, cwd=cwd, env=ENV, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.DEVNULL
    ) as proc:
        out = b""
        if stdout == subprocess.PIPE:
            assert proc.stdout is not None
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    if rss_file is not None:
        report = Path(rss_file)
        lines = report.read_text().split()  # "Command exited with non-zero status 1" precedes the figure
        report.unlink()
        peak = int(lines[-1]) if lines and lines[-1].isdigit() else peak
    if proc.returncode not in ok:
        msg = f"{' '.join(map(str, argv))}: exit {proc.returncode} (accepted: {sorted(ok)})"
        raise RuntimeError(msg)
    return Run(elapsed, cpu, proc.returncode, peak), out


class Summary(TypedDict):
    """A series of runs of one command, as the results JSON gives it."""

    median_s: float
    min_s: float
    max_s: float
    cpu_median_s: float
    """Median user + system CPU time."""
    n: int
    peak_rss_mb: float
    exit_codes: list[int]


def summary(runs: Sequence[Run]) -> Summary:
    """Median, min and max wall time (s), median CPU time (s), n, median peak RSS (MB), and the exit codes seen."""
    times = [r.seconds for r in runs]
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "cpu_median_s": round(statistics.median(r.cpu_seconds for r in runs), 4),
        "n": len(times),
        "peak_rss_mb": round(statistics.median(r.peak_rss_kb for r in runs) / 1024, 1),
        "exit_codes": sorted({r.returncode for r in runs}),
    }


def paired_ratio(a: Sequence[Run], b: Sequence[Run], *, cpu: bool = False) -> float | None:
    """Median of a[i] / b[i] over the rounds both ran in (neighbours in time, so drift cancels); wall time, or
    CPU time with ``cpu``."""
    pairs = [x.cpu_seconds / y.cpu_seconds if cpu else x.seconds / y.seconds for x, y in zip(a, b, strict=False)]
    return round(statistics.median(pairs), 3) if pairs else None


def ratio(a: float, b: float) -> float:
    """a / b, to three decimals."""
    return round(a / b, 3)


def rotated(labels: Sequence[_T], round_: int) -> list[_T]:
    """The order of round ``round_``: A B C, then B C A, then C A B, ... (nobody always goes first)."""
    shift = round_ % len(labels)
    return [*labels[shift:], *labels[:shift]]
