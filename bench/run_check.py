"""Benchmark: a cold `mtls-doctor check` next to the tools a person would use instead, in one run.

Measures whole-process wall time (new process each run, stdout to /dev/null, stdin closed) of:
  * `mtls-doctor check` on a leaf + intermediate + root (sample_pki good-chain), console and JSON output,
  * `openssl verify -purpose sslclient` on the same files (the C baseline a person would type),
  * the import floor `python -c "import cryptography.x509, OpenSSL.SSL"` (what any pyOpenSSL-based tool pays),
  * `python -c pass` (the interpreter alone).
Runs are interleaved round-robin (A B C D, A B C D, ...) so machine noise hits every command alike; reports the
median, min and max of each and the ratio of medians to the import floor. Goal (issue 2): cold check ≤ 1.5x floor.

    .venv/bin/python bench/run_check.py [--runs 15] [--json bench/results/check.json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "sample_pki" / "scenarios" / "good-chain"
GOAL = 1.5


def commands(python: str, tool: str) -> dict[str, list[str]]:
    """The commands compared, by label."""
    cert, key, ca = (str(SCENARIO / n) for n in ("client.pem", "client.key", "ca.pem"))
    check = [tool, "check", "--cert", cert, "--key", key, "--ca", ca]
    return {
        "mtls-doctor check (console)": check,
        "mtls-doctor check --format json": [*check, "--format", "json"],
        "openssl verify -purpose sslclient": [
            "openssl", "verify", "-purpose", "sslclient", "-CAfile", ca, "-untrusted", cert, cert,
        ],
        "import floor (cryptography.x509, OpenSSL.SSL)": [python, "-c", "import cryptography.x509, OpenSSL.SSL"],
        "python -c pass": [python, "-c", "pass"],
    }  # fmt: skip


# Installed packages run from byte-compiled modules (pip compiles them at install time); an environment that
# forbids bytecode (PYTHONDONTWRITEBYTECODE) would measure the compiler instead, so it is removed.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_once(argv: list[str]) -> float:
    """Wall time of one run, in seconds; the command must exit 0."""
    start = time.perf_counter()
    subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15, at least 10)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    python = sys.executable
    tool = shutil.which("mtls-doctor", path=str(Path(python).parent)) or "mtls-doctor"
    cmds = commands(python, tool)
    compileall.compile_dir(REPO / "mtls_doctor", quiet=1)
    for argv in cmds.values():
        for _ in range(args.warmup):
            time_once(argv)
    samples: dict[str, list[float]] = {label: [] for label in cmds}
    for _ in range(max(args.runs, 10)):
        for label, argv in cmds.items():
            samples[label].append(time_once(argv))
    floor = statistics.median(samples["import floor (cryptography.x509, OpenSSL.SSL)"])
    rows = []
    for label, values in samples.items():
        median = statistics.median(values)
        rows.append(
            {
                "command": label,
                "median_ms": round(median * 1000, 1),
                "min_ms": round(min(values) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
                "runs": len(values),
                "ratio_to_import_floor": round(median / floor, 2),
            }
        )
    print(f"{'command':48} {'median':>9} {'min':>8} {'max':>8} {'x floor':>8}")
    for r in rows:
        print(
            f"{r['command']:48} {r['median_ms']:7.1f}ms {r['min_ms']:6.1f}ms {r['max_ms']:6.1f}ms "
            f"{r['ratio_to_import_floor']:7.2f}x"
        )
    worst = max(r["ratio_to_import_floor"] for r in rows if r["command"].startswith("mtls-doctor"))
    verdict = "meets" if worst <= GOAL else "MISSES"
    print(f"\ncold check: {worst:.2f}x the import floor ({verdict} the {GOAL}x goal)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
        args.json.write_text(json.dumps({"meta": meta, "goal": GOAL, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
