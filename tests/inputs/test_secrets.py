"""No output ever holds private key material or a password: not in the console report, the JSON report, `inspect`
in either format, nor in an error line, whether the diagnosis passes, fails, or stops at a wrong password.

Key material is looked for in every form it could leak in: each base64 line of the key's PEM files (as given and
as cryptography would write them), its DER in hex and base64, and its private numbers (the EC scalar, the RSA
private exponent and primes) in decimal, hex (with or without colons, as openssl prints them), and as fragments.
"""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import SAMPLE
from tests.inputs import material as m
from tests.inputs.cli import Invocation, Result, run_all
from tests.inputs.material import GOOD, PASSWORD, RSA, write

WRONG_PASSWORD = "Wr0ng-Pa55-QX17"  # noqa: S105 - distinctive too: a wrong password must not be echoed either


@dataclass(frozen=True)
class Setup:
    """The arguments of one input set, and the exit code that shows it was exercised as intended."""

    args: list[str]
    exit: int
    env: dict[str, str]


FILES = ("pw.txt", "wrong.txt", "enc.key", "legacy.key", "client.p12", "cert-and-key.pem", "rsa-cert-and-key.pem")
"""The files the input sets use besides the sample PKI's (written in the test's directory by ``_contents``)."""


def _contents() -> dict[str, bytes]:
    contents = {
        "pw.txt": f"{PASSWORD}\n".encode(),
        "wrong.txt": f"{WRONG_PASSWORD}\n".encode(),
        "enc.key": m.pkcs8_pem(PASSWORD),
        "legacy.key": m.legacy_pem(PASSWORD),
        "client.p12": m.p12(PASSWORD),
        "cert-and-key.pem": (GOOD / "client.pem").read_bytes() + (GOOD / "client.key").read_bytes(),
        "rsa-cert-and-key.pem": (RSA / "client.pem").read_bytes() + m.pkcs8_pem(None, m.rsa_key()),
    }
    assert tuple(contents) == FILES
    return contents


def _setups(d: Path) -> dict[str, Setup]:
    """The input sets: (a) plain key, (b) encrypted key + --password-file, (c) PKCS#12 + password, (d) key inside the
    certificate file; each with a passing and a failing variant. Paths only: the fixture writes ``FILES`` in ``d``."""
    pw, wrong, enc_key, legacy_key, p12, combined, rsa_combined = (str(d / name) for name in FILES)
    ca, rsa_ca, other_ca = str(GOOD / "ca.pem"), str(RSA / "ca.pem"), str(SAMPLE / "certs" / "other-root.pem")
    cert, key, rsa_cert, rsa_key = (
        str(GOOD / "client.pem"),
        str(GOOD / "client.key"),
        str(RSA / "client.pem"),
        str(RSA / "client.key"),
    )
    return {
        "a-plain-key-accepted": Setup(["--cert", cert, "--key", key, "--ca", ca], 0, {}),
        "a-plain-rsa-key-refused": Setup(["--cert", rsa_cert, "--key", rsa_key, "--ca", rsa_ca], 1, {}),
        "a-key-of-another-certificate": Setup(["--cert", cert, "--key", rsa_key, "--ca", ca], 1, {}),
        "b-encrypted-key-password-file": Setup(
            ["--cert", cert, "--key", enc_key, "--password-file", pw, "--ca", ca], 0, {}
        ),
        "b-legacy-key-password-file-untrusted": Setup(
            ["--cert", cert, "--key", legacy_key, "--password-file", pw, "--ca", other_ca], 1, {}
        ),
        "b-encrypted-key-wrong-password-file": Setup(
            ["--cert", cert, "--key", enc_key, "--password-file", wrong, "--ca", ca], 2, {}
        ),
        "b-encrypted-key-wrong-password-env": Setup(
            ["--cert", cert, "--key", enc_key, "--ca", ca], 2, {"MTLS_DOCTOR_PASSWORD": WRONG_PASSWORD}
        ),
        "c-pkcs12-password-file": Setup(["--cert", p12, "--password-file", pw, "--ca", ca], 0, {}),
        "c-pkcs12-env-password-untrusted": Setup(
            ["--cert", p12, "--ca", other_ca], 1, {"MTLS_DOCTOR_PASSWORD": PASSWORD}
        ),
        "c-pkcs12-wrong-password": Setup(["--cert", p12, "--password-file", wrong, "--ca", ca], 2, {}),
        "d-key-inside-cert-file": Setup(["--cert", combined, "--ca", ca], 0, {}),
        "d-key-inside-cert-file-untrusted": Setup(["--cert", combined, "--ca", other_ca], 1, {}),
        "d-rsa-key-inside-cert-file-refused": Setup(["--cert", rsa_combined, "--ca", rsa_ca], 1, {}),
        # inspect: every file holding a key, in one run (the key file itself, decrypted, PKCS#12, cert+key).
        "inspect-key-files": Setup(
            [key, rsa_key, enc_key, legacy_key, p12, combined, rsa_combined, "--password-file", pw], 0, {}
        ),
        "inspect-wrong-password": Setup([legacy_key, "--password-file", wrong], 2, {}),
    }


FORMATS = {"console": ["--format", "console", "--all"], "json": ["--format", "json", "--all"]}


def _invocations(d: Path) -> dict[str, tuple[Invocation, int]]:
    runs: dict[str, tuple[Invocation, int]] = {}
    for name, setup in _setups(d).items():
        command = "inspect" if name.startswith("inspect") else "check"
        for fmt, options in FORMATS.items():
            extra = options if command == "check" else options[:2]
            runs[f"{name}-{fmt}"] = (Invocation([command, *setup.args, *extra], setup.env), setup.exit)
    return runs


IDS = list(_invocations(Path("ids-only")))


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Result]]:
    """Every selected input set in every command and format, run once, concurrently."""
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.module is sys.modules[__name__] and hasattr(item, "callspec")
    }
    d = tmp_path_factory.mktemp("secrets")
    for name, content in _contents().items():
        write(d / name, content)
    planned = {k: v for k, v in _invocations(d).items() if k in selected}
    done = run_all({k: inv for k, (inv, _) in planned.items()}, tmp_path_factory.mktemp("pycache"))
    return {k: (expected, done[k]) for k, (_, expected) in planned.items()}


# --- what must never appear ----------------------------------------------------------------------------------


def _hex_forms(value: int, width: int) -> list[str]:
    """``value`` in decimal and hex: minimal and padded to ``width`` bytes (a scalar may start with zero bytes), lower
    and upper case, 0x-prefixed, colon-separated bytes as openssl prints them; and 8-byte fragments of the hex."""
    forms = [str(value), f"0x{value:x}"]
    for size in {(value.bit_length() + 7) // 8, width}:
        raw = value.to_bytes(size, "big")
        colons = ":".join(f"{b:02x}" for b in raw)
        forms += [raw.hex(), raw.hex().upper(), colons, colons.upper()]
    # Fragments: 16 hex digits at every byte offset catch a partial or wrapped dump.
    digits = value.to_bytes(width, "big").hex()
    forms += [digits[i : i + 16] for i in range(0, len(digits) - 15, 2)]
    return forms


def _pem_lines(pem: bytes) -> list[str]:
    """The base64 lines of a PEM text (long enough not to match by chance), without headers and BEGIN/END."""
    lines = [line.strip() for line in pem.decode().splitlines()]
    return [line for line in lines if len(line) >= 16 and not line.startswith("-----") and ":" not in line]


def _key_forms(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, *files: bytes) -> list[str]:
    forms: list[str] = []
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        der = key.private_bytes(serialization.Encoding.DER, fmt, serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        forms += [der.hex(), der.hex().upper(), base64.b64encode(der).decode(), *_pem_lines(pem)]
    for text in files:
        forms += _pem_lines(text)
    size = (key.key_size + 7) // 8
    if isinstance(key, ec.EllipticCurvePrivateKey):
        forms += _hex_forms(key.private_numbers().private_value, size)
    else:
        numbers = key.private_numbers()
        forms += _hex_forms(numbers.d, size)
        for secret in (numbers.p, numbers.q, numbers.dmp1, numbers.dmq1, numbers.iqmp):
            forms += _hex_forms(secret, size // 2)
    return forms


def _forbidden() -> list[str]:
    """Everything secret in the inputs above. The encrypted files are random each run; their lines are checked in
    the test through the files themselves."""
    return [
        *_key_forms(m.key(), (GOOD / "client.key").read_bytes()),
        *_key_forms(m.rsa_key(), (RSA / "client.key").read_bytes()),
        PASSWORD,
        WRONG_PASSWORD,
    ]


FORBIDDEN = _forbidden()


def test_the_secret_list_is_meaningful() -> None:
    """The list holds each kind of form (so that an empty list cannot pass the tests vacuously)."""
    scalar = m.key().private_numbers().private_value
    assert str(scalar) in FORBIDDEN
    assert f"{scalar:x}".zfill(64) in FORBIDDEN
    assert str(m.rsa_key().private_numbers().d) in FORBIDDEN
    assert PASSWORD in FORBIDDEN
    assert len(_pem_lines((GOOD / "client.key").read_bytes())) >= 2


@pytest.mark.parametrize("name", IDS)
def test_no_key_material_or_password_in_output(name: str, results: dict[str, tuple[int, Result]]) -> None:
    """stdout and stderr hold no form of the private keys and no password, whatever the outcome."""
    expected, result = results[name]
    assert result.returncode == expected, result.output
    assert "Traceback" not in result.output
    leaked = [form for form in FORBIDDEN if form in result.output]
    assert not leaked, f"secret material in the output: {[f[:12] + '...' for f in leaked]}"
    if expected != 2 and name.endswith("-json"):
        json.loads(result.stdout)  # the report is a real report, not an error


def test_encrypted_key_files_are_not_echoed(tmp_path: Path) -> None:
    """The ciphertext of an encrypted key is not printed either (its base64 lines), by check or inspect."""
    from tests.inputs.cli import run_cli  # noqa: PLC0415

    enc = m.pkcs8_pem(PASSWORD)
    key = write(tmp_path / "enc.key", enc)
    pw = write(tmp_path / "pw.txt", PASSWORD)
    lines = _pem_lines(enc)
    for args in (
        ["check", "--cert", str(GOOD / "client.pem"), "--key", key, "--password-file", pw, "--all"],
        ["inspect", key, "--password-file", pw, "--format", "json"],
    ):
        output = run_cli(Invocation(args)).output
        assert not [line for line in lines if line in output]
