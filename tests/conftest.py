"""Shared fixtures: the sample PKI, its scenarios as reports (computed once per session), a fixed local clock."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.catalogue import Catalogue, load_catalogue
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.samplepki.inputs import scenario_inputs
from mtls_doctor.samplepki.manifest import Manifest, load_manifest

# The catalogue cache of the test run lives in its own directory (inherited by the CLI subprocesses tests start).
os.environ.setdefault("MTLS_DOCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="mtls-doctor-test-cache-"))

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_pki"
RULES = REPO / "rules"
LOCAL_NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
"""The local clock of offline tests. Sample certificates are valid 2020-2099, so verdicts do not depend on it."""


@functools.cache
def manifest() -> Manifest:
    """The sample PKI's manifest."""
    return load_manifest(SAMPLE / "MANIFEST.toml")


@functools.cache
def catalogue() -> Catalogue:
    """The rule catalogue of this checkout."""
    return load_catalogue(examples=True)


@functools.cache
def scenario_report(name: str) -> Report:
    """The diagnosis of one scenario, as `mtls-doctor check` computes it."""
    inputs = scenario_inputs(SAMPLE, manifest().scenarios[name])
    return diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())


def require_nginx() -> str:
    """The nginx binary; skip outside CI when it is missing, fail under CI=true (CI must install it)."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed, and CI=true requires the real-nginx tests to run")
        pytest.skip("nginx is not installed (apt-get install nginx-light); real-nginx tests need it")
    return binary


STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
"""Debian builds stream {} as a dynamic module (package libnginx-mod-stream)."""


def require_stream_module() -> Path:
    """nginx's stream module; skip outside CI when it is missing, fail under CI=true (CI must install it)."""
    require_nginx()
    if not STREAM_MODULE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{STREAM_MODULE} is missing, and CI=true requires the stream tests to run")
        pytest.skip("nginx's stream module is not installed (apt-get install libnginx-mod-stream)")
    return STREAM_MODULE


APACHE_MODULES = Path("/usr/lib/apache2/modules")
"""Debian's apache2 package: mod_ssl, the MPMs and the rest are loadable modules here."""


def _require_tool(binary: str, package: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is not installed, and CI=true requires the real-{binary} tests to run")
        pytest.skip(f"{binary} is not installed (apt-get install --no-install-recommends {package}); tests need it")
    return path


def require_apache() -> str:
    """The apache2 binary with mod_ssl (Debian's apache2); skip outside CI when missing, fail under CI=true (.ci/run
    installs it)."""
    binary = _require_tool("apache2", "apache2")
    if not (APACHE_MODULES / "mod_ssl.so").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{APACHE_MODULES / 'mod_ssl.so'} is missing, and CI=true requires the Apache tests to run")
        pytest.skip(f"{APACHE_MODULES / 'mod_ssl.so'} is missing (apt-get install apache2)")
    return binary


def require_haproxy() -> str:
    """The haproxy binary; skip outside CI when missing, fail under CI=true (.ci/run installs it)."""
    return _require_tool("haproxy", "haproxy")
