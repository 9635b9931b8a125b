"""Untrusted text never drives the terminal (issue 8): control sequences, bidi overrides and rich markup in a
certificate, a file name, a configuration value or an argument are shown escaped, in every command and format.

A hostile CA and client certificate (subject, issuer, SAN), stored under a hostile file name, named by an nginx
configuration whose server_name is hostile too, go through inspect, check, check --nginx, lint, explain and the
error lines: piped (the plain printer) and on a pseudo-terminal with colour forced (rich). Nothing may reach the
output raw except the colour sequences (SGR) rich itself writes.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mtls_doctor.untrusted import bounded, json_text, quoted, shown, shown_lines
from tests.conftest import REPO, SAMPLE
from tests.inputs.cli import Invocation, Result, run_all
from tests.support.terminal import Terminal

ESCAPES = "\x1b[2J\x1b]0;title\x07\x1b]52;c;ZXZpbA==\x07"
HOSTILE = f"{ESCAPES}\u202e\x9b\x7f[bold red]markup[/]"
"""Clear the screen, set the window title, write the clipboard; a right-to-left override, an 8-bit CSI, DEL, and
rich markup that must be printed as it is."""
MARKUP = "[bold red]markup[/]"
ASCII_HOSTILE = "\x1b[2J\x1b]52;c;ZXZpbA==\x07[bold]x[/]"
"""What an ASCII-only field (a DNS name in a SAN) can hold."""

_SGR = re.compile(r"\x1b\[[0-9;]*m")
_RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def assert_clean(output: str, *, coloured: bool = False) -> None:
    """No control character but newline and tab, no bidi control; on a terminal, rich's own SGR sequences (and the
    terminal's CR LF) aside."""
    if coloured:
        output = _SGR.sub("", output).replace("\r\n", "\n")
    raw = sorted({repr(c) for c in _RAW.findall(output)})
    assert not raw, f"raw {', '.join(raw)} in:\n{output}"


# --- the sanitiser itself ------------------------------------------------------------------------------------


def test_shown_escapes_every_control_and_bidi_character_and_nothing_else() -> None:
    assert shown(HOSTILE) == ("\\x1b[2J\\x1b]0;title\\x07\\x1b]52;c;ZXZpbA==\\x07\\u202e\\x9b\\x7f[bold red]markup[/]")
    assert shown("a\nb\tc\rd\u2028e\u2066f") == "a\\nb\\tc\\rd\\u2028e\\u2066f"
    assert shown("Zürich, CN=ålice — ☃") == "Zürich, CN=ålice — ☃"
    assert shown("bad-\udcff-name.pem") == "bad-\\xff-name.pem"


def test_shown_lines_keeps_only_the_line_breaks() -> None:
    assert shown_lines("one\ntwo\x1b[2J\r\n") == "one\ntwo\\x1b[2J\\r\n"


def test_quoted_cuts_long_values_and_says_how_long_they_were() -> None:
    assert quoted("abc") == "'abc'"
    assert quoted("a" * 100_000) == f"'{'a' * 200}…' (100000 characters)"
    assert quoted("\x1b" * 300, limit=2) == "'\\x1b\\x1b…' (300 characters)"


def test_bounded_cuts_every_long_word_of_a_line() -> None:
    line = f"--at: {'1' * 1000!r} is not a time, nor {'y' * 10}"
    assert bounded(line) == f"--at: '{'1' * 200}…' (1000 characters) is not a time, nor {'y' * 10}"
    assert bounded("z" * 300) == f"{'z' * 200}… (300 characters)"


def test_json_text_escapes_what_json_leaves_raw_and_parses_to_the_same_values() -> None:
    value = {"subject": HOSTILE + "\u2028\u2069\udc80"}
    document = json.dumps(value, ensure_ascii=False)
    safe = json_text(document)
    assert_clean(safe)
    assert json.loads(safe) == value


# --- hostile inputs ------------------------------------------------------------------------------------------


def _name(text: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, text), x509.NameAttribute(NameOID.ORGANIZATION_NAME, text)]
    )


def _hostile_pki(d: Path) -> dict[str, str]:
    """A hostile root CA and a client certificate it issued (clientAuth, hostile SANs), their files hostile-named."""
    key = ec.derive_private_key(8, ec.SECP256R1())  # a throwaway test key, derived so the test is reproducible
    now = datetime.datetime.now(datetime.UTC)
    root_name = _name("root " + HOSTILE)
    leaf_name = _name("leaf " + HOSTILE)

    def issue(subject: x509.Name, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(2 if ca else 3)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            sans = [x509.DNSName(ASCII_HOSTILE + ".example"), x509.DirectoryName(_name(HOSTILE))]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        return builder.sign(key, hashes.SHA256())

    pem = serialization.Encoding.PEM
    paths = {
        "root": d / f"root-{ESCAPES}\u202e[bold]x.pem",
        "leaf": d / f"leaf-{ESCAPES}\u202e.pem",
        "key": d / f"leaf-{ESCAPES}.key",
        "conf": d / f"nginx-{ESCAPES}.conf",
    }
    paths["root"].write_bytes(issue(root_name, ca=True).public_bytes(pem))
    paths["leaf"].write_bytes(issue(leaf_name, ca=False).public_bytes(pem))
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    # The leaf in ssl_client_certificate is an end entity in a CA file: lint names its subject and the file.
    nginx_value = HOSTILE.replace('"', "")
    paths["conf"].write_text(
        "http {\n  server {\n    listen 8443 ssl;\n"
        f'    server_name "{nginx_value}";\n'
        f"    ssl_certificate {SAMPLE / 'certs' / 'localhost.pem'};\n"
        f"    ssl_certificate_key {SAMPLE / 'keys' / 'localhost.key'};\n"
        f'    ssl_client_certificate "{paths["leaf"]}";\n'
        f'    ssl_trusted_certificate "{paths["root"]}";\n'
        "    ssl_verify_client on;\n  }\n}\n"
    )
    return {k: str(v) for k, v in paths.items()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _hostile_pki(tmp_path_factory.mktemp("hostile"))


def _invocations(p: dict[str, str]) -> dict[str, list[str]]:
    check = ["check", "--cert", p["leaf"], "--key", p["key"]]
    nginx = [*check[:1], "--nginx", p["conf"], "--allow-outside", *check[1:]]
    lint = ["lint", p["conf"], "--allow-outside", "--all"]
    return {
        "inspect": ["inspect", p["root"], p["leaf"], p["key"]],
        "inspect-json": ["inspect", "--format", "json", p["root"], p["leaf"]],
        "check-accepted": [*check, "--ca", p["root"], "--all"],
        "check-accepted-json": [*check, "--ca", p["root"], "--format", "json", "--all"],
        "check-rejected": [*check, "--ca", str(SAMPLE / "scenarios" / "good-chain" / "ca.pem"), "--all"],
        "check-trusting-a-leaf": [*check, "--ca", p["leaf"], "--all"],
        "check-nginx": nginx,
        "check-nginx-json": [*nginx, "--format", "json"],
        "lint": lint,
        "lint-json": [*lint, "--format", "json"],
        "lint-sarif": [*lint, "--format", "sarif"],
        "lint-markdown": [*lint, "--format", "markdown"],
        "lint-html": [*lint, "--format", "html"],
        "check-rejected-markdown": [
            *check,
            "--ca",
            str(SAMPLE / "scenarios" / "good-chain" / "ca.pem"),
            "--format",
            "markdown",
        ],
        "check-accepted-html": [*check, "--ca", p["root"], "--format", "html", "--all"],
        "check-nginx-markdown": [*nginx, "--format", "markdown"],
        "check-rejected-sarif": [
            *check,
            "--ca",
            str(SAMPLE / "scenarios" / "good-chain" / "ca.pem"),
            "--format",
            "sarif",
        ],
        "explain-no-match": ["explain", HOSTILE],
        "explain-a-match": ["explain", f"unknown ca {HOSTILE}"],
        "rules-markdown": ["rules", "--format", "markdown"],
        "error-missing-file": ["check", "--cert", p["leaf"] + HOSTILE, "--ca", p["root"]],
        "error-bad-option-value": ["check", "--cert", p["leaf"], "--verify-client", HOSTILE],
        "error-lint-missing-file": ["lint", p["conf"] + HOSTILE],
    }


@pytest.fixture(scope="module")
def piped(hostile: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    todo = {name: Invocation(args) for name, args in _invocations(hostile).items()}
    return run_all(todo, tmp_path_factory.mktemp("pycache"))


@pytest.mark.parametrize("name", list(_invocations(dict.fromkeys(("root", "leaf", "key", "conf"), "x"))))
def test_piped_output_shows_hostile_text_escaped(name: str, piped: dict[str, Result]) -> None:
    result = piped[name]
    assert result.returncode is not None, f"hung: {result.stderr}"
    assert "Traceback" not in result.output, result.output
    assert result.returncode != 4, result.output
    assert_clean(result.stdout)
    assert_clean(result.stderr)
    if name.startswith("error") or name == "explain-no-match":
        assert result.returncode == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "\\x1b" in result.stderr, result.stderr
    elif name.endswith(("json", "sarif")):
        json.loads(result.stdout)
        assert "\\u001b[2J" in result.stdout, "the hostile text is missing: the test tests nothing"
    elif name.endswith(("markdown", "html")) and name != "rules-markdown":
        # Markdown escapes the brackets of markup as its own syntax (\[bold\]); the escapes are there either way.
        assert "\\x1b" in result.stdout, "the hostile text is missing: the test tests nothing"
    elif name not in ("rules-markdown", "explain-a-match"):
        assert "\\x1b[2J" in result.stdout, "the hostile text is missing: the test tests nothing"
        assert MARKUP in result.stdout or "[bold]x[/]" in result.stdout


@pytest.mark.parametrize("name", ["inspect", "check-accepted", "check-rejected", "check-nginx", "lint"])
def test_a_terminal_with_colour_gets_no_raw_control_sequence_and_no_markup_interpreted(
    name: str, hostile: dict[str, str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MTLS_DOCTOR_PASSWORD")}
    argv = [sys.executable, "-m", "mtls_doctor", *_invocations(hostile)[name]]
    term = Terminal(argv, cwd=REPO, env={**env, "FORCE_COLOR": "1"}, cols=200)
    code = term.finish()
    assert code in (0, 1, 3), term.text
    output = term.raw.decode("utf-8", "backslashreplace")
    assert _SGR.search(output), "no colour: this is not the rich printer"
    assert_clean(output, coloured=True)
    plain = _SGR.sub("", output)
    assert "\\x1b[2J" in plain
    assert MARKUP in plain or "[bold]x[/]" in plain, "markup was interpreted (or the hostile text is missing)"
