"""Benchmark: `mtls-doctor lint` of big mTLS nginx configs next to crossplane's parse and gixy, in one run.

For each size N (server blocks; default 1,000 and 10,000) it generates, into a temporary directory, an
ingress-style config whose certificate, CA and CRL files exist (bench/lint_fixtures.py), then times, whole-process
(a new process per run, stdin closed, stdout to /dev/null, cwd the config's directory), interleaved round-robin:

  * `mtls-doctor lint nginx-N.conf --format json` (exit 1 when it finds problems: 0 and 1 are accepted),
  * `crossplane parse nginx-N.conf` (the crossplane CLI of this venv: the parse a Python tool builds on),
  * `gixy nginx-N.conf` (the nginx linter a user would run instead; in its own venv, bench/.venvs/gixy, which this
    script creates and fills from PyPI on first use: gixy pins pyparsing 2).

gixy is slow (about 6.5 minutes at 10,000 blocks on the anchors' machine), so it runs in the first --gixy-runs
rounds only. Reports median/min/max, n and the median peak RSS of each, the ratios lint/crossplane (goal <= 0.8,
issue 12: reading and linting costs less than crossplane's parse alone) and gixy/lint (goal >= 20), and writes them
as JSON.

    .venv/bin/python bench/run_lint.py [--sizes 1000,10000] [--runs 5,2] [--gixy-runs 2,1] [--json FILE]

--runs and --gixy-runs take one number for every size or one per size. Before timing, one check run of lint per
size (not timed) records its exit code and finding counts, and an in-process look at the smallest config confirms
that lint read the CA and CRL files (no fact left unknown).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

from bench.lint_fixtures import write_fixtures
from bench.timing import REPO, Run, Summary, compile_package, paired_ratio, ratio, rotated, run_once, summary

GIXY_VERSION = "0.1.21"
GIXY_VENV = REPO / "bench" / ".venvs" / "gixy"
GOAL_VS_CROSSPLANE = 0.8
"""lint / crossplane parse, at most (issue 12; issue 3 asked for 1.2)."""
GOAL_VS_GIXY = 20.0
"""gixy / lint, at least."""
LINT, CROSSPLANE, GIXY = "mtls-doctor lint --format json", "crossplane parse", "gixy"
PROBE = 20
"""Server blocks of the config linted in-process to confirm that lint reads the files."""


def per_size(text: str | None, sizes: list[int], default: dict[int, int]) -> dict[int, int]:
    """``"5"`` for every size or ``"5,2"`` one per size; ``default`` when not given."""
    if text is None:
        return default
    values = [int(v) for v in text.split(",")]
    if len(values) == 1:
        values *= len(sizes)
    if len(values) != len(sizes):
        msg = f"{text!r}: give one value, or one per size ({len(sizes)})"
        raise SystemExit(msg)
    return dict(zip(sizes, values, strict=True))


def ensure_gixy() -> tuple[Path | None, str]:
    """gixy's executable in its own venv (created on first use), or None and why not; and its version."""
    exe = GIXY_VENV / "bin" / "gixy"
    if not exe.exists():
        print(f"creating {GIXY_VENV.relative_to(REPO)} with gixy {GIXY_VERSION} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(GIXY_VENV)], check=True, capture_output=True)
            subprocess.run(
                [str(GIXY_VENV / "bin" / "python"), "-m", "pip", "install", "-q", f"gixy=={GIXY_VERSION}"],
                check=True,
                capture_output=True,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            why = (exc.stderr or exc.stdout or str(exc)).strip().splitlines()
            return None, f"gixy could not be installed: {why[-1] if why else exc}"
    try:
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"gixy does not run: {exc}"
    return exe, out.removeprefix("Gixy v")


def tool_version(argv: list[str]) -> str:
    """The first line of ``argv``'s output, or why there is none."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"unavailable: {exc}"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"


def files_really_read(conf: Path) -> dict[str, object]:
    """Lint ``conf`` in-process and say what its facts hold: CA and CRL files parsed, no fact unknown."""
    from mtls_doctor.facts.model import CertFile, Facts  # noqa: PLC0415
    from mtls_doctor.linting import lint_config  # noqa: PLC0415

    report = lint_config(conf, now=dt.datetime.now(dt.UTC))
    servers = report.servers
    return {
        "servers": len(servers),
        "client_ca_files_parsed": sum(
            isinstance(s.trust, Facts)
            and isinstance(s.trust.server.ca_file, CertFile)
            and bool(s.trust.server.ca_file.certs)
            for s in servers
        ),
        "crl_files_parsed": sum(
            isinstance(s.trust, Facts)
            and isinstance(s.trust.server.crl_files, tuple)
            and any(f.crls for f in s.trust.server.crl_files)
            for s in servers
        ),
        "blocks_with_unknown_facts": sum(bool(s.reasons) for s in servers),
    }


def check_run(lint: list[str], cwd: Path) -> dict[str, object]:
    """One untimed lint: exit code and what it found."""
    run, out = run_once(lint, cwd=cwd, ok=(0, 1), stdout=subprocess.PIPE)
    doc = json.loads(out)
    failing: dict[str, int] = {}
    for server in doc["servers"]:
        for finding in server["findings"]:
            if finding.get("status") == "fail":
                failing[finding["rule"]] = failing.get(finding["rule"], 0) + 1
    return {"exit_code": run.returncode, "counts": doc["counts"], "failing_by_rule": dict(sorted(failing.items()))}


class SizeResult(TypedDict, total=False):
    """The results of one config size, as the results JSON gives them (gixy's only when gixy ran)."""

    servers: int
    config_bytes: int
    config_lines: int
    commands: dict[str, Summary]
    lint_over_crossplane: float
    lint_over_crossplane_paired: float | None
    gixy_over_lint: float
    gixy_over_lint_paired: float | None
    lint_check_run: dict[str, object]


def bench_size(
    n: int, conf: Path, commands: dict[str, list[str]], *, runs: int, gixy_runs: int, warmup: int
) -> SizeResult:
    """Time the commands on one config, interleaved; the size's results."""
    cwd = conf.parent
    ok = {LINT: (0, 1), CROSSPLANE: (0,), GIXY: (0, 1)}
    for label in (LINT, CROSSPLANE):
        for _ in range(warmup):
            run_once(commands[label], cwd=cwd, ok=ok[label])
    samples: dict[str, list[Run]] = {label: [] for label in commands}
    for round_ in range(max(runs, gixy_runs if GIXY in commands else 0)):
        for label in rotated(list(commands), round_):
            limit = gixy_runs if label == GIXY else runs
            if round_ >= limit:
                continue
            run, _ = run_once(commands[label], cwd=cwd, ok=ok[label])
            samples[label].append(run)
            print(f"  N={n:>6} round {round_ + 1}: {label:32} {run.seconds:8.2f} s  rc={run.returncode}", flush=True)
    stats = {label: summary(values) for label, values in samples.items() if values}
    lint, xp = stats[LINT], stats[CROSSPLANE]
    result: SizeResult = {
        "servers": n,
        "config_bytes": conf.stat().st_size,
        "config_lines": sum(1 for _ in conf.open("rb")),
        "commands": stats,
        "lint_over_crossplane": ratio(lint["median_s"], xp["median_s"]),
        "lint_over_crossplane_paired": paired_ratio(samples[LINT], samples[CROSSPLANE]),
    }
    if GIXY in stats:
        result["gixy_over_lint"] = ratio(stats[GIXY]["median_s"], lint["median_s"])
        result["gixy_over_lint_paired"] = paired_ratio(samples[GIXY], samples[LINT])
    return result


def print_table(results: list[SizeResult]) -> None:
    print(f"\n{'N':>6} {'command':32} {'median':>9} {'min':>9} {'max':>9} {'n':>3} {'peak RSS':>9} {'exit':>5}")
    for r in results:
        for label, s in r["commands"].items():
            codes = "/".join(map(str, s["exit_codes"]))
            print(
                f"{r['servers']:>6} {label:32} {s['median_s']:8.2f}s {s['min_s']:8.2f}s {s['max_s']:8.2f}s "
                f"{s['n']:>3} {s['peak_rss_mb']:7.0f}MB {codes:>5}"
            )
    print()
    for r in results:
        xp = r["lint_over_crossplane"]
        line = (
            f"N={r['servers']}: lint/crossplane {xp:.2f}x (paired {r['lint_over_crossplane_paired'] or 0:.2f}x; "
            f"goal <= {GOAL_VS_CROSSPLANE}x: {'met' if xp <= GOAL_VS_CROSSPLANE else 'MISSED'})"
        )
        if "gixy_over_lint" in r:
            g = r["gixy_over_lint"]
            line += f"; gixy/lint {g:.1f}x (goal >= {GOAL_VS_GIXY:.0f}x: {'met' if g >= GOAL_VS_GIXY else 'MISSED'})"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="server blocks per config (default 1000,10000)")
    parser.add_argument("--runs", help="timed runs of lint and crossplane (default 5 below 5,000 blocks, else 2)")
    parser.add_argument("--gixy-runs", help="timed runs of gixy (default 2 below 5,000 blocks, else 1; 0: skip)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of lint and crossplane per size")
    parser.add_argument("--no-gixy", action="store_true", help="do not run gixy at all")
    parser.add_argument("--keep", type=Path, help="write the fixtures here and keep them (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = per_size(args.runs, sizes, {n: 5 if n < 5000 else 2 for n in sizes})
    gixy_runs = per_size(args.gixy_runs, sizes, {n: 2 if n < 5000 else 1 for n in sizes})

    bindir = Path(sys.executable).parent
    tool = shutil.which("mtls-doctor", path=str(bindir)) or "mtls-doctor"
    crossplane = shutil.which("crossplane", path=str(bindir)) or "crossplane"
    compile_package()
    gixy, gixy_version = (None, "not run (--no-gixy)") if args.no_gixy else ensure_gixy()
    if gixy is None:
        print(gixy_version, flush=True)

    meta: dict[str, object] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "mtls_doctor": tool_version([tool, "--version"]),
        "crossplane": tool_version([crossplane, "--version"]),
        "gixy": gixy_version,
        "lint_rules": None,
    }
    results: list[SizeResult] = []
    with tempfile.TemporaryDirectory(prefix="mtls-bench-lint-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        print(f"generating fixtures in {directory} ...", flush=True)
        confs = write_fixtures(directory, sorted({PROBE, *sizes}))
        meta["files_really_read"] = files_really_read(confs[PROBE])
        print(f"lint facts of the smallest config: {meta['files_really_read']}", flush=True)
        for n in sizes:
            conf = confs[n]
            commands = {
                LINT: [tool, "lint", conf.name, "--format", "json"],
                CROSSPLANE: [crossplane, "parse", conf.name],
            }
            if gixy is not None and gixy_runs[n] > 0:
                commands[GIXY] = [str(gixy), conf.name]
            checked = check_run(commands[LINT], conf.parent)
            counts = checked["counts"]
            assert isinstance(counts, dict)
            meta["lint_rules"] = sum(counts.values()) // n
            print(f"N={n}: lint check run: {checked}", flush=True)
            result = bench_size(n, conf, commands, runs=runs[n], gixy_runs=gixy_runs[n], warmup=args.warmup)
            result["lint_check_run"] = checked
            results.append(result)
    meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if len(results) > 1:
        small, big = results[0], results[-1]
        scaling: dict[str, float] = {
            f"{label} {big['servers']}/{small['servers']}": round(
                big["commands"][label]["median_s"] / small["commands"][label]["median_s"], 2
            )
            for label in big["commands"]
            if label in small["commands"]
        }
        scaling["blocks"] = big["servers"] / small["servers"]
        meta["scaling"] = scaling
    print_table(results)
    if "scaling" in meta:
        print(f"scaling (median time, big / small): {meta['scaling']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        goals = {"lint_over_crossplane_max": GOAL_VS_CROSSPLANE, "gixy_over_lint_min": GOAL_VS_GIXY}
        args.json.write_text(json.dumps({"meta": meta, "goals": goals, "results": results}, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
