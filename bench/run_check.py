"""Benchmark: a cold `mtls-doctor check` next to the tools a person would use instead, in one run.

Measures whole-process wall time (bench/timing.py: a new process each run, stdout to /dev/null, stdin closed) of:
  * `mtls-doctor check` on a leaf + intermediate + root (sample_pki good-chain), console and JSON output,
  * `openssl verify -purpose sslclient` on the same files (the C baseline a person would type),
  * the import floor `python -c "import cryptography.x509, OpenSSL.SSL"` (what any pyOpenSSL-based tool pays),
  * the floor plus click and cryptography's serialization package (what this design pays before its own code),
  * `python -c pass` (the interpreter alone).
Runs are interleaved, each round in a rotated order (A B C D E, B C D E A, ...) so machine noise and drift hit every
command alike. Reports the median, min and max wall time of each, the ratio of its median to the floor's, the paired
ratio (the median over rounds of command / floor in the same round), and the same for CPU time (user + system: far
less disturbed by other load on a shared machine). Goal (issue 2): cold check <= 1.5x the floor, in wall time.

    .venv/bin/python bench/run_check.py [--runs 15] [--json bench/results/check-DATE.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

from bench.timing import REPO, Run, compile_package, paired_ratio, ratio, rotated, run_once, summary

SCENARIO = REPO / "sample_pki" / "scenarios" / "good-chain"
GOAL = 1.5
FLOOR = "import floor (cryptography.x509, OpenSSL.SSL)"
DEPS = "floor + click + c.h.p.serialization"
"""Not a goal, a reference: the floor plus what the design's dependencies add before any mtls-doctor code runs
(click parses the command line; pyOpenSSL's use_privatekey imports cryptography's serialization package)."""


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
        FLOOR: [python, "-c", "import cryptography.x509, OpenSSL.SSL"],
        DEPS: [
            python, "-c", "import cryptography.x509, OpenSSL.SSL, click, cryptography.hazmat.primitives.serialization",
        ],
        "python -c pass": [python, "-c", "pass"],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15, at least 10)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    python = sys.executable
    tool = shutil.which("mtls-doctor", path=str(Path(python).parent)) or "mtls-doctor"
    cmds = commands(python, tool)
    compile_package()
    for argv in cmds.values():
        for _ in range(args.warmup):
            run_once(argv, peak_rss=False)
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    runs: dict[str, list[Run]] = {label: [] for label in cmds}
    order = list(cmds)
    for round_ in range(max(args.runs, 10)):
        for label in rotated(order, round_):
            runs[label].append(run_once(cmds[label], peak_rss=False)[0])
    meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    floor = summary(runs[FLOOR])
    rows: list[dict[str, object]] = []
    worst = 0.0
    print(f"{'':48} {'wall time':^44} {'CPU time':^22}")
    print(
        f"{'command':48} {'median':>9} {'min':>8} {'max':>8} {'x floor':>8} {'paired':>7} {'median':>9} {'x floor':>8}"
    )
    for label, series in runs.items():
        stats = summary(series)
        wall = {
            "x_floor_medians": ratio(stats["median_s"], floor["median_s"]),
            "x_floor_paired": paired_ratio(series, runs[FLOOR]) or 0.0,
        }
        cpu = {
            "cpu_x_floor_medians": ratio(stats["cpu_median_s"], floor["cpu_median_s"]),
            "cpu_x_floor_paired": paired_ratio(series, runs[FLOOR], cpu=True) or 0.0,
        }
        rows.append({"command": label, **stats, **wall, **cpu})
        print(
            f"{label:48} {stats['median_s'] * 1000:7.1f}ms {stats['min_s'] * 1000:6.1f}ms "
            f"{stats['max_s'] * 1000:6.1f}ms {wall['x_floor_medians']:7.2f}x {wall['x_floor_paired']:6.2f}x "
            f"{stats['cpu_median_s'] * 1000:7.1f}ms {cpu['cpu_x_floor_medians']:7.2f}x"
        )
        if label.startswith("mtls-doctor"):
            worst = max(worst, *wall.values())
    verdict = "meets" if worst <= GOAL else "MISSES"
    print(f"\ncold check, wall time: at most {worst:.2f}x the import floor ({verdict} the {GOAL}x goal)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "goal": GOAL, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
