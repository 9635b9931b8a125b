"""What a person at a terminal sees: the hidden password prompt, and the choice of server block (issues 2 and 3).

Each test runs mtls-doctor on a real pseudo-terminal (tests/support/terminal.py) and types as a person would.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import REPO, SAMPLE
from tests.support.terminal import Terminal
from tests.test_server_choice import CONFIG

GOOD = SAMPLE / "scenarios" / "good-chain"
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test key's password, made here


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MTLS_DOCTOR_PASSWORD"}
    return {**env, "NO_COLOR": "1"}


def _mtls_doctor(*args: str) -> list[str]:
    return [sys.executable, "-m", "mtls_doctor", *args]


@pytest.fixture
def encrypted_key(tmp_path: Path) -> Path:
    """The good-chain client's key, as encrypted PKCS#8."""
    key = serialization.load_pem_private_key((GOOD / "client.key").read_bytes(), None)
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    path = tmp_path / "client-encrypted.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


def _check_with(key: Path) -> Terminal:
    argv = _mtls_doctor("check", "--cert", str(GOOD / "client.pem"), "--key", str(key), "--ca", str(GOOD / "ca.pem"))
    return Terminal(argv, cwd=REPO, env=_env())


def test_an_encrypted_key_asks_for_its_password_and_does_not_echo_it(encrypted_key: Path) -> None:
    term = _check_with(encrypted_key)
    term.expect(f"Password for {encrypted_key}:")
    term.send(PASSWORD + "\r")
    assert term.finish() == 0, term.text
    assert "nginx will accept this client" in term.text
    assert PASSWORD not in term.text, "the password was echoed"


def test_a_wrong_password_typed_is_one_clear_line(encrypted_key: Path) -> None:
    term = _check_with(encrypted_key)
    term.expect("Password for ")
    term.send("not the password\r")
    assert term.finish() == 2, term.text
    assert f"{encrypted_key}: the password typed does not decrypt" in term.text
    assert "Traceback" not in term.text
    assert "not the password" not in term.text


def test_several_verifying_server_blocks_are_offered_to_choose_from(tmp_path: Path) -> None:
    config = tmp_path / "nginx.conf"
    config.write_text(CONFIG)
    argv = _mtls_doctor("check", "--nginx", str(config), "--prefix", str(SAMPLE))
    argv += ["--cert", str(GOOD / "client.pem"), "--key", str(GOOD / "client.key")]
    term = Terminal(argv, cwd=REPO, env=_env())
    term.expect("Which server block should the client be checked against?")
    for candidate in ("api.example", "admin.example", "partners.example"):
        term.expect(f"server {candidate} at ")
    assert "www.example" not in term.text, "a block that does not verify clients is not offered"
    term.send("\x1b[B")  # down: the second candidate, admin.example (verifies against another CA)
    term.send("\r")
    assert term.finish() == 1, term.text
    assert "judged against server admin.example at " in term.text
    assert "nginx will answer 400" in term.text
