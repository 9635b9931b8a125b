"""Several targets at once (mtls_doctor/probe/many.py): results in order, waits overlapping in every worker, and a
job that fails in a worker fails as it would without workers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from mtls_doctor.probe.many import concurrently


def _pid_after(delay: float) -> Callable[[], tuple[float, int]]:
    def job() -> tuple[float, int]:
        time.sleep(delay)
        return delay, os.getpid()

    return job


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_back_in_the_order_of_the_jobs(workers: int) -> None:
    delays = [0.05 * (i % 4) for i in range(9)]
    results = concurrently([_pid_after(d) for d in delays], workers=workers)
    assert [d for d, _ in results] == delays
    processes = {pid for _, pid in results}
    assert (os.getpid() in processes) is (workers == 1)  # forked workers do the work, or this process alone
    assert 1 <= len(processes) <= workers  # a fast worker may take two shares


@pytest.mark.parametrize("workers", [1, 2])
def test_the_waits_of_a_worker_overlap(workers: int) -> None:
    """Sixteen targets that each wait half a second (a slow or dead server) cost about one wait, not sixteen."""
    start = time.monotonic()
    concurrently([_pid_after(0.5) for _ in range(16)], workers=workers)
    assert time.monotonic() - start < 2.5


def test_a_job_that_fails_in_a_worker_raises_here_as_it_would_without_workers() -> None:
    def fails() -> int:
        raise ValueError("the target's file cannot be used")

    with pytest.raises(ValueError, match="cannot be used"):
        concurrently([lambda: 1, fails, lambda: 3], workers=2)
