"""Whole-process benchmarks (bench/README.md): run as scripts, ``python bench/run_check.py``; a package so that the
scripts, the tests and the type checker name their shared modules alike (bench.timing, bench.lint_fixtures)."""
