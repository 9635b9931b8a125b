"""Benchmark: a cold `mtls-doctor probe` (an mTLS handshake and one GET, narrated and diagnosed) next to
`openssl s_client` and `curl` doing the same, and 16 targets probed concurrently, in one run.

A throw-away nginx (sample_pki good-chain's server block, 16 copies on 16 ephemeral ports of 127.0.0.1, its own
prefix under a temporary directory, stopped by its PID at the end) serves every command. Method: bench/timing.py
(a new process per run, interleaved rotated rounds, median/min/max, paired ratios, CPU time).

Goals (issue 10): one probe <= the import floor + 1.5x s_client's time; 16 targets <= 2x the time of one.

    .venv/bin/python bench/run_probe.py [--runs 15] [--json bench/results/probe-DATE.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

from bench.timing import REPO, Run, compile_package, paired_ratio, ratio, rotated, run_once, summary

SAMPLE = REPO / "sample_pki"
SCENARIO = SAMPLE / "scenarios" / "good-chain"
TARGETS = 16
FLOOR = "import floor (cryptography.x509, OpenSSL.SSL)"
ONE = "mtls-doctor probe (1 target, json)"
MANY = f"mtls-doctor probe ({TARGETS} targets, json)"
S_CLIENT = "openssl s_client + GET"


def _ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start_nginx(work: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """nginx serving good-chain's block on TARGETS ports (paths relative to the staged sample PKI, its prefix)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for sub in ("certs", "keys"):
        shutil.copytree(SAMPLE / sub, work / sub)
    shutil.copytree(SCENARIO, work / "scenarios" / "good-chain")
    temp = work / "tmp"
    temp.mkdir()
    block = (SCENARIO / "server.conf").read_text()
    ports = _ports(TARGETS)
    servers = "".join(block.replace("listen 8443 ssl;", f"listen 127.0.0.1:{p} ssl;") for p in ports)
    conf = work / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\ndaemon off;\nmaster_process off;\npid {work}/nginx.pid;\n"
        f"error_log {work}/error.log;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n access_log off;\n client_body_temp_path {temp};\n{servers}}}\n"
    )
    proc = subprocess.Popen([nginx, "-p", str(work), "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", ports[-1])) == 0:
                return proc, ports
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("nginx did not start")


def commands(python: str, tool: str, ports: list[int]) -> dict[str, list[str]]:
    cert, key = str(SCENARIO / "client.pem"), str(SCENARIO / "client.key")
    server_ca = str(SAMPLE / "certs" / "server-root.pem")
    probe = [tool, "probe", "--sni", "localhost", "--ca", server_ca, "--cert", cert, "--key", key, "--format", "json"]
    request = "GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n"
    s_client = (
        f"printf '{request}' | openssl s_client -quiet -connect 127.0.0.1:{ports[0]} -servername localhost "
        f"-cert {cert} -key {key} -cert_chain {cert} -CAfile {server_ca}"
    )
    return {
        ONE: [*probe, f"127.0.0.1:{ports[0]}"],
        MANY: [*probe, *(f"127.0.0.1:{p}" for p in ports)],
        S_CLIENT: ["sh", "-c", s_client],
        "curl + GET": [
            "curl", "-sS", "-o", "/dev/null", "--cert", cert, "--key", key, "--cacert", server_ca,
            "--resolve", f"localhost:{ports[0]}:127.0.0.1", f"https://localhost:{ports[0]}/",
        ],
        FLOOR: [python, "-c", "import cryptography.x509, OpenSSL.SSL"],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15, at least 5)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    python = sys.executable
    tool = shutil.which("mtls-doctor", path=str(Path(python).parent)) or "mtls-doctor"
    compile_package()
    with tempfile.TemporaryDirectory(prefix="mtls-bench-probe-") as work:
        proc, ports = start_nginx(Path(work))
        try:
            cmds = commands(python, tool, ports)
            for argv in cmds.values():
                for _ in range(args.warmup):
                    run_once(argv, peak_rss=False)
            meta = {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            }
            runs: dict[str, list[Run]] = {label: [] for label in cmds}
            for round_ in range(max(args.runs, 5)):
                for label in rotated(list(cmds), round_):
                    runs[label].append(run_once(cmds[label], peak_rss=False)[0])
            meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    stats = {label: summary(series) for label, series in runs.items()}
    print(f"{'command':44} {'median':>9} {'min':>8} {'max':>8} {'CPU':>8}")
    for label, s in stats.items():
        print(
            f"{label:44} {s['median_s'] * 1000:7.1f}ms {s['min_s'] * 1000:6.1f}ms {s['max_s'] * 1000:6.1f}ms "
            f"{s['cpu_median_s'] * 1000:6.1f}ms"
        )
    budget = stats[FLOOR]["median_s"] + 1.5 * stats[S_CLIENT]["median_s"]
    one = stats[ONE]["median_s"]
    many = ratio(stats[MANY]["median_s"], one)
    many_paired = paired_ratio(runs[MANY], runs[ONE]) or 0.0
    print(
        f"\none probe: {one * 1000:.1f} ms, budget floor + 1.5x s_client = {budget * 1000:.1f} ms "
        f"({'meets' if one <= budget else 'MISSES'} the goal)"
    )
    print(
        f"{TARGETS} targets: {many:.2f}x one (paired {many_paired:.2f}x) "
        f"({'meets' if max(many, many_paired) <= 2 else 'MISSES'} the 2x goal)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        results = {
            "meta": meta,
            "stats": stats,
            "budget_s": budget,
            "many_x_one": many,
            "many_x_one_paired": many_paired,
        }
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
