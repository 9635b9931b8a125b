"""Probing several targets at once: every target in its own thread, the targets shared among forked workers.

A probe waits on the network, so the targets of a worker run in threads, each under its own deadline (a dead
target costs its timeout once, not once per target before it). But a probe is also CPU work under the GIL (the
handshake's crypto and parsing, then the diagnosis: facts, the twin, some 90 rules), so on a machine with several
cores the targets are shared among forked worker processes, one per core; the workers inherit the jobs
(certificates and keys never cross a pipe) and send back only each target's plain summary. Where fork is not
available, or on one core, everything runs in threads here.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

MAX_THREADS = 32
"""Targets probed at once by one process."""

_JOBS: list[Callable[[], Any]] = []
"""The jobs the forked workers run, by index (set before the fork, so the workers inherit them)."""


def concurrently(jobs: Sequence[Callable[[], T]], *, workers: int | None = None) -> list[T]:
    """Each job's result, in order. ``workers``: processes to fork (default: one per core, at most one per job);
    1, or no fork on this platform, runs every job in threads here. A job whose worker could not give its result
    (it raised, or the worker died) is run again here, so that its error surfaces as it would without workers.
    Results must pickle: plain data."""
    count = min(len(jobs), workers if workers is not None else os.cpu_count() or 1)
    if count <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _threads(jobs)
    _JOBS[:] = jobs
    chunks = [list(range(first, len(jobs), count)) for first in range(count)]
    outcomes: list[tuple[bool, Any]] = [(False, None)] * len(jobs)
    try:
        with ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork")) as pool:
            for chunk, results in zip(chunks, pool.map(_run_chunk, chunks), strict=True):
                for index, outcome in zip(chunk, results, strict=True):
                    outcomes[index] = outcome
    except BrokenProcessPool:  # a worker died (killed, out of memory): what it did not give back is done here
        pass
    finally:
        _JOBS.clear()
    return [result if done else job() for (done, result), job in zip(outcomes, jobs, strict=True)]


def _threads(jobs: Sequence[Callable[[], T]]) -> list[T]:
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(jobs))) as pool:
        return list(pool.map(lambda job: job(), jobs))


def _run_chunk(indices: list[int]) -> list[tuple[bool, Any]]:
    """In a worker: for each job, (True, its result), or (False, None) when it raised (run again in the parent)."""

    def attempt(index: int) -> tuple[bool, Any]:
        try:
            return True, _JOBS[index]()
        except Exception:  # noqa: BLE001 - re-run in the parent, where the error is reported as usual
            return False, None

    return _threads([partial(attempt, i) for i in indices])
