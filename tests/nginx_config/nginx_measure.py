"""Times read_config + effective_settings against crossplane.parse on generated configs (not a test).

    .venv/bin/python -m tests.nginx_config.nginx_measure 1000 10000 --runs 3

CPU time (time.process_time) is used because the machine is shared: wall-clock medians moved by +-30 % between
runs while CPU time stayed within a few percent. Each run alternates the two, so drift hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mtls_doctor.nginx import effective_settings, read_config
from tests.nginx_config.nginx_genconf import write_config


def _cpu(action: Callable[[], object]) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def _ours(main: Path) -> tuple[float, float]:
    start = time.process_time()
    config = read_config(main)
    read = time.process_time() - start
    return read, _cpu(lambda: effective_settings(config))


def measure(servers: int, runs: int) -> str:
    """One line of results for a config of ``servers`` server blocks."""
    import crossplane  # noqa: PLC0415 - only this script needs it directly

    with tempfile.TemporaryDirectory() as directory:
        main = write_config(Path(directory), servers)
        size = main.stat().st_size
        baseline, reading, modelling = [], [], []
        for _ in range(runs):
            baseline.append(_cpu(lambda: crossplane.parse(str(main))))
            read, model = _ours(main)
            reading.append(read)
            modelling.append(model)
    ours = [r + m for r, m in zip(reading, modelling, strict=True)]
    median = statistics.median
    return (
        f"{servers:>6} servers {size / 1e6:5.1f} MB | crossplane.parse {median(baseline):6.2f} s | "
        f"read_config {median(reading):6.2f} s + effective_settings {median(modelling):5.2f} s | "
        f"ratio {median(ours) / median(baseline):.2f} (best {min(ours) / min(baseline):.2f}), CPU s, {runs} runs\n"
    )


def main() -> None:
    """Command line: the server-block counts to measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", type=int)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    for servers in arguments.servers:
        sys.stdout.write(measure(servers, arguments.runs))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
