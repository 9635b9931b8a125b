"""The wheel: it ships the rule catalogue and the sample manifest, every module, an entry point, and no key material.

The wheel is built once per session from this checkout with the venv's hatchling (the ``test`` extra installs it),
offline: ``pip wheel --no-deps --no-build-isolation --no-index`` (a few seconds).
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, RULES, SAMPLE

PACKAGE = REPO / "mtls_doctor"
KEY_SUFFIXES = (".key", ".p12", ".pfx")
KEY_BLOCK = re.compile(
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:,\-\s]+?-----END [A-Z ]*PRIVATE KEY-----"
)
"""A PEM private key with its body (the reader's error messages name the bare header, which is not a key)."""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    run = subprocess.run([*argv, "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    (built,) = out.glob("mtls_doctor-*.whl")
    return built


def test_the_key_detector_finds_a_sample_key() -> None:
    assert KEY_BLOCK.search((SAMPLE / "keys" / "alice.key").read_bytes())


@pytest.fixture(scope="module")
def contents(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def test_the_wheel_ships_every_rule_file(contents: dict[str, bytes]) -> None:
    shipped = {name.removeprefix("mtls_doctor/_rules/"): data for name, data in contents.items() if "/_rules/" in name}
    in_checkout = {str(p.relative_to(RULES)): p.read_bytes() for p in RULES.rglob("*") if p.is_file()}
    assert shipped == in_checkout


def test_the_wheel_ships_the_sample_manifest(contents: dict[str, bytes]) -> None:
    assert contents["mtls_doctor/_sample_pki/MANIFEST.toml"] == (SAMPLE / "MANIFEST.toml").read_bytes()
    assert [n for n in contents if n.startswith("mtls_doctor/_sample_pki/")] == [
        "mtls_doctor/_sample_pki/MANIFEST.toml"
    ]


def test_the_wheel_ships_every_module(contents: dict[str, bytes]) -> None:
    modules = {p.relative_to(REPO).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert modules, PACKAGE
    missing = sorted(modules - set(contents))
    assert not missing


def test_the_wheel_declares_the_command(contents: dict[str, bytes]) -> None:
    (entry_points,) = [d for n, d in contents.items() if n.endswith(".dist-info/entry_points.txt")]
    assert "mtls-doctor = mtls_doctor.cli:main" in entry_points.decode()


def test_the_wheel_holds_no_private_key_material(contents: dict[str, bytes]) -> None:
    assert not [n for n in contents if n.lower().endswith(KEY_SUFFIXES)]
    assert not [n for n, data in contents.items() if KEY_BLOCK.search(data)]
    assert not [n for n in contents if "/scenarios/" in n or n.startswith("sample_pki/")]


def test_the_unpacked_wheel_loads_its_shipped_catalogue(wheel: Path, tmp_path: Path) -> None:
    """Installed, the package finds the rules it ships (mtls_doctor/_rules), not a checkout's rules/."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path)
    probe = (
        "from mtls_doctor.engine.catalogue import default_rules_dir, load_catalogue;"
        "print(default_rules_dir()); c = load_catalogue(); print(len(c.rules) + len(c.retired))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "MTLS_DOCTOR_CACHE_DIR": str(tmp_path / "cache"), "PATH": ""},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    where, count = run.stdout.split()
    assert Path(where) == tmp_path / "mtls_doctor" / "_rules"
    assert int(count) == len(list(RULES.glob("*.toml")))
