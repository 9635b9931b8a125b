"""Bad input gets one clear line naming the input and the problem, and exit code 2: never a traceback, never a hang.

Every case runs the real command line as a subprocess, with no terminal (stdin is /dev/null) and no password in the
environment. The subprocesses of the whole table run once, concurrently, when the first test asks for them; each
case stays its own test.
"""

from __future__ import annotations

import base64
import os
import random
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import REPO, SAMPLE
from tests.inputs import material as m
from tests.inputs.cli import Invocation, Result, run_all
from tests.inputs.material import GOOD, PASSWORD, write
from tests.test_server_choice import CONFIG as SERVER_CHOICE_CONFIG


@dataclass(frozen=True)
class Run:
    """One invocation of the command line."""

    args: list[str]
    names: str
    """What the error line must contain: the offending file's path, or the option's name."""
    says: str
    """A phrase of the problem the line must state (case-insensitive)."""
    env: dict[str, str] = field(default_factory=dict)
    skip: str | None = None
    """Why this case cannot be run here (it is then skipped, not passed)."""


Build = Callable[[Path], Run]
CASES: dict[str, Build] = {}
XFAIL: dict[str, str] = {}
START_UP: set[str] = set()
"""Cases that are not unusable input but a server file nginx cannot load: nginx's refusal to start (exit 1), in
flags mode as with --nginx (the one server model reads --ca, --trusted and --crl as nginx's loaders do)."""


def case(name: str, *, xfail: str | None = None, start_up: bool = False) -> Callable[[Build], Build]:
    """Register a bad-input case: a function that writes its files under a fresh directory and says how to run."""

    def register(build: Build) -> Build:
        assert name not in CASES, name
        CASES[name] = build
        if xfail:
            XFAIL[name] = xfail
        if start_up:
            START_UP.add(name)
        return build

    return register


def check(*args: str) -> list[str]:
    """``mtls-doctor check`` arguments, with the server's CA unless a case gives its own."""
    return ["check", *args] if "--ca" in args else ["check", *args, "--ca", str(GOOD / "ca.pem")]


def good_cert() -> str:
    return str(GOOD / "client.pem")


def good_key() -> str:
    return str(GOOD / "client.key")


def random_bytes(size: int, seed: int) -> bytes:
    """Reproducible noise."""
    return random.Random(seed).randbytes(size)  # noqa: S311 - test noise, reproducible on purpose


# --- the client certificate file -----------------------------------------------------------------------------


@case("cert-missing-file")
def _(d: Path) -> Run:
    path = str(d / "nowhere.pem")
    return Run(check("--cert", path, "--key", good_key()), path, "no such file")


@case("cert-path-with-newline")
def _(d: Path) -> Run:
    path = str(d / "two\nlines.pem")
    return Run(check("--cert", path), path.replace("\n", "\\n"), "no such file")


@case("cert-is-directory")
def _(d: Path) -> Run:
    (d / "certs").mkdir()
    path = str(d / "certs")
    return Run(check("--cert", path), path, "is a directory")


@case("cert-unreadable")
def _(d: Path) -> Run:
    path = write(d / "locked.pem", (GOOD / "client.pem").read_bytes())
    os.chmod(path, 0)
    skip = "running as root: a chmod 000 file is still readable" if os.access(path, os.R_OK) else None
    return Run(check("--cert", path), path, "permission denied", skip=skip)


@case("cert-empty-file")
def _(d: Path) -> Run:
    path = write(d / "empty.pem", b"")
    return Run(check("--cert", path), path, "is empty")


@case("cert-whitespace-only")
def _(d: Path) -> Run:
    path = write(d / "blank.pem", b"  \n\t\r\n\n   \n")
    return Run(check("--cert", path), path, "is empty")


@case("cert-random-binary")
def _(d: Path) -> Run:
    path = write(d / "noise.pem", b"\x00" + random_bytes(4096, seed=1))
    return Run(check("--cert", path), path, "not a certificate")


@case("cert-random-binary-starting-like-der")
def _(d: Path) -> Run:
    path = write(d / "noise.der", b"\x30\x82" + random_bytes(4096, seed=2))
    return Run(check("--cert", path), path, "not a certificate")


@case("cert-text-without-pem")
def _(d: Path) -> Run:
    path = write(d / "notes.pem", "subject=CN = alice\nissuer=CN = Client Issuing CA\nplease find the cert attached\n")
    return Run(check("--cert", path), path, "no PEM block")


@case("cert-truncated-pem")
def _(d: Path) -> Run:
    text = (GOOD / "client.pem").read_bytes()
    path = write(d / "truncated.pem", text[: text.index(b"-----END")])
    return Run(check("--cert", path), path, "no END line")


@case("cert-mismatched-begin-end-labels")
def _(d: Path) -> Run:
    text = m.pem_of(m.leaf()).replace(b"-----END CERTIFICATE-----", b"-----END X509 CRL-----")
    path = write(d / "mismatched.pem", text)
    return Run(check("--cert", path), path, "is closed by 'END X509 CRL'")


@case("cert-corrupt-base64")
def _(d: Path) -> Run:
    lines = m.pem_of(m.leaf()).splitlines(keepends=True)
    lines[3] = b"!!!!" + lines[3][4:]
    path = write(d / "corrupt.pem", b"".join(lines))
    return Run(check("--cert", path), path, "base64 is corrupt")


@case("cert-block-holding-garbage-der")
def _(d: Path) -> Run:
    body = base64.encodebytes(random_bytes(300, seed=3))
    path = write(d / "garbage-in-block.pem", b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n")
    return Run(check("--cert", path), path, "not a valid certificate")


@case("cert-block-holding-truncated-der")
def _(d: Path) -> Run:
    body = base64.encodebytes(m.leaf().public_bytes(m.DER)[:200])
    path = write(d / "short-block.pem", b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n")
    return Run(check("--cert", path), path, "not a valid certificate")


@case("cert-is-private-key")
def _(d: Path) -> Run:
    return Run(check("--cert", good_key()), good_key(), "holds a private key, not a certificate")


@case("cert-is-der-private-key")
def _(d: Path) -> Run:
    path = write(d / "client.der", m.pkcs8_der())
    return Run(check("--cert", path), path, "private key")


@case("cert-is-csr")
def _(d: Path) -> Run:
    path = write(d / "client.csr", m.csr_pem())
    return Run(check("--cert", path), path, "certificate request, not a certificate")


@case("cert-is-crl")
def _(d: Path) -> Run:
    path = write(d / "revoked.pem", m.crl_pem())
    return Run(check("--cert", path), path, "CRL, not a certificate")


@case("cert-truncated-der")
def _(d: Path) -> Run:
    path = write(d / "client.der", m.leaf().public_bytes(m.DER)[:-40])
    return Run(check("--cert", path), path, "corrupt or truncated")


@case("cert-over-10-mb")
def _(d: Path) -> Run:
    path = d / "huge.pem"
    with path.open("wb") as f:
        f.truncate(11 * 1024 * 1024)  # sparse: costs no disk
    return Run(check("--cert", str(path)), str(path), "limit 10 MB")


@case("cert-endless-device")
def _(d: Path) -> Run:
    return Run(check("--cert", "/dev/zero"), "/dev/zero", "is not a regular file")


@case("cert-fifo-without-writer")
def _(d: Path) -> Run:
    path = d / "pipe.pem"
    os.mkfifo(path)
    return Run(check("--cert", str(path)), str(path), "is not a regular file")


@case("cert-utf16-pem")
def _(d: Path) -> Run:
    path = write(d / "windows.pem", m.pem_of(m.leaf()).decode().encode("utf-16"))
    return Run(check("--cert", path), path, "UTF-16")


@case("cert-with-malformed-extension")
def _(d: Path) -> Run:
    path = write(d / "bad-ext.pem", m.cert_with_malformed_extension())
    return Run(check("--cert", path), path, "extensions cannot be read")


@case("cert-with-duplicate-extension")
def _(d: Path) -> Run:
    path = write(d / "dup-ext.pem", m.cert_with_duplicate_extension())
    return Run(check("--cert", path), path, "extensions cannot be read")


@case("cert-with-unknown-key-type")
def _(d: Path) -> Run:
    path = write(d / "odd-key.pem", m.cert_with_unknown_key_type())
    return Run(check("--cert", path), path, "public key cannot be read")


@case("cert-with-non-utf8-subject")
def _(d: Path) -> Run:
    path = write(d / "bad-name.pem", m.cert_with_bad_utf8_subject())
    return Run(check("--cert", path), path, "subject cannot be read")


@case("cert-pkcs7-holding-a-malformed-certificate")
def _(d: Path) -> Run:
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import pkcs7  # noqa: PLC0415

    broken = x509.load_pem_x509_certificate(m.cert_with_bad_utf8_subject())
    path = write(d / "bundle.p7b", pkcs7.serialize_certificates([m.root(), broken], m.DER))
    return Run(check("--cert", path), path, "is a PKCS#7 bundle that cannot be read")


@case("cert-der-with-invalid-version")
def _(d: Path) -> Run:
    path = write(d / "client.der", m.cert_with_invalid_version())
    return Run(check("--cert", path), path, "not a valid X509 version")


@case("cert-pem-with-invalid-version")
def _(d: Path) -> Run:
    body = base64.encodebytes(m.cert_with_invalid_version())
    path = write(d / "client.pem", b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n")
    return Run(check("--cert", path), path, "not a valid X509 version")


@case("cert-holding-encrypted-key-no-password")
def _(d: Path) -> Run:
    path = write(d / "cert-and-key.pem", m.pem_of(*m.chain()) + m.pkcs8_pem(PASSWORD))
    return Run(check("--cert", path), path, "no password was given")


# --- the private key file ------------------------------------------------------------------------------------


@case("key-is-certificate")
def _(d: Path) -> Run:
    return Run(
        check("--cert", good_cert(), "--key", good_cert()), good_cert(), "holds a certificate, not a private key"
    )


@case("key-is-der-certificate")
def _(d: Path) -> Run:
    path = write(d / "client.der", m.leaf().public_bytes(m.DER))
    return Run(check("--cert", good_cert(), "--key", path), path, "holds a certificate (DER), not a private key")


@case("key-is-garbage-text")
def _(d: Path) -> Run:
    path = write(d / "client.key", "this is where the key should be\n")
    return Run(check("--cert", good_cert(), "--key", path), path, "no PEM block")


@case("key-is-random-binary")
def _(d: Path) -> Run:
    path = write(d / "client.key", b"\x01" + random_bytes(2048, seed=4))
    return Run(check("--cert", good_cert(), "--key", path), path, "not a private key")


@case("key-empty-file")
def _(d: Path) -> Run:
    path = write(d / "client.key", b"")
    return Run(check("--cert", good_cert(), "--key", path), path, "is empty")


@case("key-corrupt-base64")
def _(d: Path) -> Run:
    lines = m.pkcs8_pem().splitlines(keepends=True)
    lines[1] = b"%%%%" + lines[1][4:]
    path = write(d / "client.key", b"".join(lines))
    return Run(check("--cert", good_cert(), "--key", path), path, "corrupt")


@case("key-public-key-only")
def _(d: Path) -> Run:
    public = m.key().public_key().public_bytes(m.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = write(d / "client.pub", public)
    return Run(check("--cert", good_cert(), "--key", path), path, "holds a public key, not a private key")


@case("key-openssh-format")
def _(d: Path) -> Run:
    openssh = m.key().private_bytes(m.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    path = write(d / "id_ecdsa", openssh)
    return Run(check("--cert", good_cert(), "--key", path), path, "OpenSSH private key")


@case("key-on-unknown-curve")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.key_on_unknown_curve())
    return Run(check("--cert", good_cert(), "--key", path), path, "unsupported algorithm")


@case("key-x25519-cannot-sign")
def _(d: Path) -> Run:
    from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: PLC0415

    raw = x25519.X25519PrivateKey.from_private_bytes(bytes(range(32)))
    text = raw.private_bytes(m.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = write(d / "client.key", text)
    return Run(check("--cert", good_cert(), "--key", path), path, "cannot sign")


@case("key-garbage-after-a-pkcs7-read-as-ber")
def _(d: Path) -> Run:
    cert = write(d / "c.p7b", m.pkcs7_read_only_as_ber())
    path = write(d / "client.key", "not a key\n")
    return Run(check("--cert", cert, "--key", path), path, "no PEM block")


@case("key-pkcs12-without-key")
def _(d: Path) -> Run:
    path = write(d / "client.p12", m.p12(None, with_key=False))
    return Run(check("--cert", good_cert(), "--key", path), path, "without a private key")


# --- passwords -----------------------------------------------------------------------------------------------


@case("key-encrypted-pkcs8-no-password")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    return Run(check("--cert", good_cert(), "--key", path), path, "encrypted and no password was given")


@case("key-encrypted-der-no-password")
def _(d: Path) -> Run:
    path = write(d / "client.key.der", m.pkcs8_der(PASSWORD))
    return Run(check("--cert", good_cert(), "--key", path), path, "encrypted and no password was given")


@case("key-encrypted-pkcs8-wrong-password-file")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    pw = write(d / "pw.txt", "not-the-password\n")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), path, "does not decrypt")


@case("key-legacy-pem-wrong-password-file")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.legacy_pem(PASSWORD))
    pw = write(d / "pw.txt", "not-the-password\n")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), path, "does not decrypt")


@case("key-encrypted-wrong-password-env")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    env = {"MTLS_DOCTOR_PASSWORD": "not-the-password"}
    return Run(check("--cert", good_cert(), "--key", path), path, "$MTLS_DOCTOR_PASSWORD does not decrypt", env=env)


@case("key-encrypted-empty-password-file")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    pw = write(d / "pw.txt", b"")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), path, "is empty")


@case("key-encrypted-der-empty-password-file")
def _(d: Path) -> Run:
    path = write(d / "client.key.der", m.pkcs8_der(PASSWORD))
    pw = write(d / "pw.txt", b"\n")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), path, "is empty")


@case("key-legacy-pem-corrupt-dek-info")
def _(d: Path) -> Run:
    text = m.legacy_pem(PASSWORD).replace(b"DEK-Info: AES-256-CBC,", b"DEK-Info: AES-256-CBC,ZZ")
    path = write(d / "client.key", text)
    pw = write(d / "pw.txt", PASSWORD)
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), path, "corrupt")


@case("password-file-not-utf8")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    pw = write(d / "pw.bin", b"\xff\xfe\xfa\xc3\x28\n")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), pw, "not a UTF-8 text file")


@case("password-file-missing")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    pw = str(d / "no-such-pw.txt")
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", pw), pw, "no such file")


@case("password-file-is-directory")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.pkcs8_pem(PASSWORD))
    return Run(check("--cert", good_cert(), "--key", path, "--password-file", str(d)), str(d), "is a directory")


@case("pkcs12-wrong-password")
def _(d: Path) -> Run:
    path = write(d / "client.p12", m.p12(PASSWORD))
    pw = write(d / "pw.txt", "not-the-password\n")
    return Run(check("--cert", path, "--password-file", pw), path, "does not decrypt this PKCS#12 file")


@case("pkcs12-no-password")
def _(d: Path) -> Run:
    path = write(d / "client.p12", m.p12(PASSWORD))
    return Run(check("--cert", path), path, "PKCS#12 file is encrypted and no password was given")


@case("pkcs12-truncated")
def _(d: Path) -> Run:
    path = write(d / "client.p12", m.p12(PASSWORD)[:700])
    return Run(check("--cert", path), path, "corrupt or truncated")


# --- the server's CA, chain and CRL files --------------------------------------------------------------------


@case("ca-garbage", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "ca.pem", random_bytes(1000, seed=5).hex())
    return Run(check("--cert", good_cert(), "--ca", path), path, "no certificate or crl found")


@case("ca-only-private-key", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "ca.pem", m.pkcs8_pem())
    return Run(check("--cert", good_cert(), "--ca", path), path, "no certificate or crl found")


@case("ca-empty", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "ca.pem", b"\n")
    return Run(check("--cert", good_cert(), "--ca", path), path, "no certificate or crl found")


@case("chain-is-private-key")
def _(d: Path) -> Run:
    path = write(d / "chain.pem", m.pkcs8_pem())
    return Run(check("--cert", good_cert(), "--chain", path), path, "private key, not a certificate")


@case("crl-garbage", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "crl.pem", "revoked: alice, bob\n")
    return Run(check("--cert", good_cert(), "--crl", path), path, "no certificate or crl found")


@case("crl-random-binary", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "crl.der", b"\x00" + random_bytes(1000, seed=6))
    return Run(check("--cert", good_cert(), "--crl", path), path, "no certificate or crl found")


@case("crl-der-certificate", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "crl.der", m.leaf().public_bytes(m.DER))
    return Run(check("--cert", good_cert(), "--crl", path), path, "no certificate or crl found")


@case("crl-corrupt-block", start_up=True)
def _(d: Path) -> Run:
    body = base64.encodebytes(random_bytes(200, seed=7))
    path = write(d / "crl.pem", b"-----BEGIN X509 CRL-----\n" + body + b"-----END X509 CRL-----\n")
    return Run(check("--cert", good_cert(), "--crl", path), path, "not a valid CRL")


@case("crl-with-invalid-version", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "crl.der", m.crl_with_invalid_version())
    return Run(check("--cert", good_cert(), "--crl", path), path, "no certificate or crl found")


@case("inspect-crl-with-invalid-version")
def _(d: Path) -> Run:
    path = write(d / "crl.der", m.crl_with_invalid_version())
    return Run(["inspect", path], path, "not a valid CRL version")


@case("crl-empty", start_up=True)
def _(d: Path) -> Run:
    path = write(d / "crl.pem", b"")
    return Run(check("--cert", good_cert(), "--crl", path), path, "no certificate or crl found")


# --- options -------------------------------------------------------------------------------------------------


@case("option-at-not-a-date")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--at", "not-a-date"), "--at", "not a time")


@case("option-depth-negative")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--depth", "-1"), "--depth", "range")


@case("option-verify-client-unknown")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--verify-client", "sometimes"), "--verify-client", "sometimes")


@case("option-at-100-kb")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--at", "x" * 100_000), "--at", "(100000 characters)")


@case("option-verify-client-100-kb")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--verify-client", "x" * 100_000), "--verify-client", "(100000 characters)")


@case("option-depth-100-kb")
def _(d: Path) -> Run:
    return Run(check("--cert", good_cert(), "--depth", "9" * 100_000), "--depth", "(100000 characters)")


@case("check-without-any-input")
def _(d: Path) -> Run:
    return Run(["check"], "--cert", "give the client's --cert")


# --- inspect -------------------------------------------------------------------------------------------------


@case("inspect-garbage")
def _(d: Path) -> Run:
    path = write(d / "garbage.bin", b"\x00" + random_bytes(512, seed=8))
    return Run(["inspect", path], path, "not a certificate")


@case("inspect-missing-file")
def _(d: Path) -> Run:
    path = str(d / "nowhere.pem")
    return Run(["inspect", path], path, "no such file")


@case("inspect-empty-file")
def _(d: Path) -> Run:
    path = write(d / "empty.pem", b"")
    return Run(["inspect", path], path, "is empty")


@case("inspect-truncated-pem")
def _(d: Path) -> Run:
    text = m.pkcs8_pem()
    path = write(d / "client.key", text[: len(text) // 2])
    return Run(["inspect", path], path, "no END line")


@case("inspect-encrypted-key-wrong-password")
def _(d: Path) -> Run:
    path = write(d / "client.key", m.legacy_pem(PASSWORD))
    pw = write(d / "pw.txt", "not-the-password\n")
    return Run(["inspect", "--password-file", pw, path], path, "does not decrypt")


@case("inspect-second-file-bad")
def _(d: Path) -> Run:
    path = write(d / "csr.pem", m.csr_pem())
    return Run(["inspect", good_cert(), path], path, "certificate request, not a certificate")


# --- odd files: a FIFO, a socket or a device is refused by every command with the same line, without blocking ---


def _fifo(d: Path) -> str:
    path = d / "fifo"
    os.mkfifo(path)  # nobody writes to it: opening it for reading would block
    return str(path)


def _socket(d: Path) -> str:
    path = d / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))  # the file stays when the socket is closed
    server.close()
    return str(path)


def _device(d: Path) -> str:
    return "/dev/null"


ODD_FILES: dict[str, Callable[[Path], str]] = {"fifo": _fifo, "socket": _socket, "device": _device}
ODD_FILE_USES: dict[str, Callable[[str], list[str]]] = {
    "cert": lambda odd: check("--cert", odd),
    "key": lambda odd: check("--cert", good_cert(), "--key", odd),
    "chain": lambda odd: check("--cert", good_cert(), "--chain", odd),
    "ca": lambda odd: check("--cert", good_cert(), "--ca", odd),
    "trusted": lambda odd: check("--cert", good_cert(), "--trusted", odd),
    "crl": lambda odd: check("--cert", good_cert(), "--crl", odd),
    # Refused even though the key is not encrypted: the file is checked before anything needs it.
    "password-file": lambda odd: check("--cert", good_cert(), "--key", good_key(), "--password-file", odd),
    "inspect": lambda odd: ["inspect", good_cert(), odd],
    "lint": lambda odd: ["lint", odd],
    "check-nginx": lambda odd: ["check", "--nginx", odd, "--cert", good_cert(), "--key", good_key()],
    "nginx-v": lambda odd: ["lint", str(REPO / "tests" / "lint_fixtures" / "MTLS701-pass.conf"), "--nginx-v", odd],
}


def _odd_file_case(use: str, kind: str) -> None:
    @case(f"{use}-is-a-{kind}")
    def _(d: Path) -> Run:
        odd = ODD_FILES[kind](d)
        return Run(ODD_FILE_USES[use](odd), odd, "is not a regular file")


for _use in ODD_FILE_USES:
    for _kind in ODD_FILES:
        _odd_file_case(_use, _kind)


# --- missing files that nothing needs yet, directories that cannot be made, long and empty echoes ---------------


@case("password-file-missing-for-an-unencrypted-key")
def _(d: Path) -> Run:
    pw = str(d / "no-such-pw.txt")
    return Run(check("--cert", good_cert(), "--key", good_key(), "--password-file", pw), pw, "no such file")


@case("inspect-password-file-missing-for-a-certificate")
def _(d: Path) -> Run:
    pw = str(d / "no-such-pw.txt")
    return Run(["inspect", "--password-file", pw, good_cert()], pw, "no such file")


@case("sample-pki-into-a-directory-under-a-file")
def _(d: Path) -> Run:
    target = str(d / "file" / "sub")
    write(d / "file", "a regular file\n")
    return Run(["sample-pki", target], target, "cannot be created")


@case("explain-a-100-kb-argument")
def _(d: Path) -> Run:
    return Run(["explain", "x" * 100_000], "nothing known about 'xxx", "(100000 characters)")


@case("check-nginx-listen-on-a-port-nobody-listens-on")
def _(d: Path) -> Run:
    conf = write(d / "nginx.conf", SERVER_CHOICE_CONFIG)
    args = ["check", "--nginx", conf, "--prefix", str(SAMPLE), "--listen", "1"]
    return Run([*args, "--cert", good_cert(), "--key", good_key()], conf, "(ports 8443)")


# --- positive controls: the right password, and files that are fine, are not bad input -------------------------

WITH_PASSWORD = {"MTLS_DOCTOR_PASSWORD": PASSWORD}


def control(args: list[str], env: dict[str, str] | None = None) -> Run:
    """A positive control: nothing to name, nothing to say."""
    return Run(args, "", "", env=env or {})


GOOD_RUNS: dict[str, Callable[[Path], Run]] = {
    # nginx loads a CRL-only file as ssl_trusted_certificate (SSL_CTX_load_verify_locations takes CRLs too) and a
    # certificates-only file as ssl_crl (X509_LOOKUP_load_file takes certificates too): they are no bad input.
    "trusted-is-crl": lambda d: control(
        check("--cert", good_cert(), "--key", good_key(), "--trusted", write(d / "trusted.pem", m.crl_pem()))
    ),
    "crl-holding-certificates-only": lambda d: control(
        check("--cert", good_cert(), "--key", good_key(), "--crl", good_cert())
    ),
    "encrypted-pkcs8-with-password-file": lambda d: control(
        check("--cert", good_cert(), "--key", write(d / "k.pem", m.pkcs8_pem(PASSWORD)), "--password-file", pw(d)),
    ),
    "encrypted-der-pkcs8-with-password-file": lambda d: control(
        check("--cert", good_cert(), "--key", write(d / "k.der", m.pkcs8_der(PASSWORD)), "--password-file", pw(d)),
    ),
    "legacy-encrypted-pem-with-password-file": lambda d: control(
        check("--cert", good_cert(), "--key", write(d / "k.pem", m.legacy_pem(PASSWORD)), "--password-file", pw(d)),
    ),
    "pkcs12-with-key-inside-and-password-file": lambda d: control(
        check("--cert", write(d / "c.p12", m.p12(PASSWORD)), "--password-file", pw(d))
    ),
    "pkcs12-without-password": lambda d: control(check("--cert", write(d / "c.p12", m.p12(None)))),
    "encrypted-pkcs8-with-env-password": lambda d: control(
        check("--cert", good_cert(), "--key", write(d / "k.pem", m.pkcs8_pem(PASSWORD))),
        env=WITH_PASSWORD,
    ),
    "pkcs12-with-env-password": lambda d: control(
        check("--cert", write(d / "c.p12", m.p12(PASSWORD))), env=WITH_PASSWORD
    ),
    "password-file-with-bom-and-crlf": lambda d: control(
        check(
            "--cert",
            good_cert(),
            "--key",
            write(d / "k.pem", m.pkcs8_pem(PASSWORD)),
            "--password-file",
            write(d / "pw.txt", ("\ufeff" + PASSWORD + "\r\nsecond line\r\n").encode()),
        ),
    ),
    "inspect-encrypted-key-with-password-file": lambda d: control(
        ["inspect", "--password-file", pw(d), write(d / "k.pem", m.legacy_pem(PASSWORD))]
    ),
    "inspect-pkcs12-with-env-password": lambda d: control(
        ["inspect", write(d / "c.p12", m.p12(PASSWORD))], env=WITH_PASSWORD
    ),
    "pkcs7-read-only-as-ber": lambda d: control(
        check("--cert", write(d / "c.p7b", m.pkcs7_read_only_as_ber()), "--key", good_key())
    ),
    "certificate-with-negative-serial": lambda d: control(
        ["inspect", write(d / "neg.pem", m.cert_with_negative_serial())]
    ),
    "lint-1000-nested-locations": lambda d: control(["lint", nested_locations(d, 1000), "--allow-outside"]),
    "check-nginx-1000-nested-locations": lambda d: control(
        ["check", "--nginx", nested_locations(d, 1000), "--allow-outside", "--cert", good_cert(), "--key", good_key()]
    ),
    "inspect-pkcs7-crl-and-der": lambda d: control(
        [
            "inspect",
            write(d / "b.p7b", m.pkcs7_bundle(m.DER)),
            str(SAMPLE / "crls" / "issuing.pem"),
            write(d / "c.der", m.leaf().public_bytes(m.DER)),
        ],
    ),
}


def pw(d: Path) -> str:
    """A password file holding the right password."""
    return write(d / "pw.txt", PASSWORD + "\n")


def nested_locations(d: Path, depth: int) -> str:
    """A verifying server whose innermost of ``depth`` nested locations checks $ssl_client_verify (nginx -t accepts
    10,000 levels: it has no limit of its own, only its C stack)."""
    body = "if ($ssl_client_verify != SUCCESS) { return 403; } return 200;"
    server = (
        "server {\n  listen 8443 ssl;\n"
        f"  ssl_certificate {SAMPLE / 'certs' / 'localhost.pem'};\n"
        f"  ssl_certificate_key {SAMPLE / 'keys' / 'localhost.key'};\n"
        f"  ssl_client_certificate {GOOD / 'ca.pem'};\n  ssl_verify_client on;\n"
        + "location / {\n" * depth
        + body
        + "}\n" * depth
        + "}\n"
    )
    return write(d / "nested.conf", server)


# --- running -------------------------------------------------------------------------------------------------


def _selected(session: pytest.Session) -> set[str]:
    """The cases of this module that the session will run (all of them, unless -k or node ids narrow it)."""
    names: set[str] = set()
    for item in session.items:
        if isinstance(item, pytest.Function) and item.module is sys.modules[__name__] and hasattr(item, "callspec"):
            name = str(item.callspec.params["name"])
            names.add(name if not item.originalname.startswith("test_right_password") else f"good:{name}")
    return names


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Run, Result | None]]:
    """Every selected case and positive control, built in its own directory and run concurrently, once."""
    selected = _selected(request.session)
    planned: dict[str, Run] = {}
    for name, build in [*CASES.items(), *((f"good:{k}", v) for k, v in GOOD_RUNS.items())]:
        if name in selected:
            planned[name] = build(tmp_path_factory.mktemp(name.replace(":", "-")))
    todo = {name: Invocation(run.args, run.env) for name, run in planned.items() if run.skip is None}
    done = run_all(todo, tmp_path_factory.mktemp("pycache"))
    return {name: (run, done.get(name)) for name, run in planned.items()}


def _params() -> list[object]:
    return [
        pytest.param(name, id=name, marks=[pytest.mark.xfail(reason=XFAIL[name], strict=True)] if name in XFAIL else [])
        for name in CASES
        if name not in START_UP
    ]


def test_the_table_covers_at_least_thirty_bad_inputs() -> None:
    """The brief of this table: at least 30 distinct malformed inputs."""
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", _params())
def test_bad_input_gives_one_line_naming_it_and_exit_2(name: str, runs: dict[str, tuple[Run, Result | None]]) -> None:
    """Exit 2; stderr is one line, ``mtls-doctor: `` first, naming the input and the problem; no traceback."""
    run, result = runs[name]
    if result is None:
        pytest.skip(run.skip or "not run")
    assert result.returncode is not None, f"hung: {result.stderr}"
    output = result.output
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    line = result.stderr.strip()
    assert line, "nothing on stderr"
    assert "\n" not in line, f"more than one line:\n{result.stderr}"
    assert line.startswith("mtls-doctor: "), line
    assert run.names in line, f"{run.names!r} not named in: {line}"
    assert run.says.lower() in line.lower(), f"{run.says!r} not said in: {line}"
    assert "internal error" not in line, line
    assert len(line) < 1000, f"an unbounded echo: {len(line)} characters"


@pytest.mark.parametrize("name", sorted(START_UP))
def test_a_server_file_nginx_cannot_load_is_its_refusal_to_start(
    name: str, runs: dict[str, tuple[Run, Result | None]]
) -> None:
    """A --ca or --crl file nginx's loaders cannot load is what nginx refuses to start with, as with --nginx:
    exit 1, the verdict first, the file and nginx's own words named, nothing on stderr, no traceback."""
    run, result = runs[name]
    assert result is not None
    output = result.output
    assert "Traceback" not in output, output
    assert result.returncode == 1, output
    assert not result.stderr.strip(), result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("✗ nginx will refuse to start"), first
    assert run.names in result.stdout, output
    assert run.says.lower() in result.stdout.lower(), output


@pytest.mark.parametrize("name", list(GOOD_RUNS))
def test_right_password_and_good_files_are_not_bad_input(name: str, runs: dict[str, tuple[Run, Result | None]]) -> None:
    """The positive controls: the right password (file, environment), PKCS#12 with its key, PKCS#7, DER, files
    cryptography reads with a warning: exit 0 or 1, and nothing on stderr (no library warning either)."""
    _, result = runs[f"good:{name}"]
    assert result is not None
    output = result.output
    assert "Traceback" not in output, output
    assert result.returncode in (0, 1), output
    assert not result.stderr.strip(), result.stderr


def test_closed_stdin_is_not_an_internal_error() -> None:
    """Run with stdin closed (``0<&-``, as some schedulers start jobs): the check still runs."""
    args = ["check", "--cert", good_cert(), "--key", good_key(), "--ca", str(GOOD / "ca.pem")]
    done = subprocess.run(
        ["sh", "-c", 'exec "$@" 0<&-', "sh", sys.executable, "-m", "mtls_doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode in (0, 1), done.stderr


def test_pipes_are_read_once_and_understood() -> None:
    """`inspect <(cat a.pem)` and `check --cert <(...) --key <(...) --password-file <(...)`: a pipe can be read only
    once, yet inspect looks at each file twice; both commands see the whole content."""
    cert, key = good_cert(), str(GOOD / "client.key")
    script = (
        'py="$1"; shift; "$py" -m mtls_doctor inspect <(cat "$1") <(cat "$2") && '
        '"$py" -m mtls_doctor check --cert <(cat "$1") --key <(cat "$2") --ca "$3" --password-file <(echo unused)'
    )
    done = subprocess.run(
        ["bash", "-c", script, "bash", sys.executable, cert, key, str(GOOD / "ca.pem")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2 certificate(s)" in done.stdout
    assert "private key, EC" in done.stdout
