"""Reports for tickets, browsers and CI: check and lint in markdown and HTML, check in SARIF, --output, the JSON error
document; the same facts as the console; untrusted text escaped; no private key material or password in any format;
the HTML page loads in a real headless Chromium without console errors (a screenshot is kept in test-artefacts/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import REPO, SAMPLE

SEED = SAMPLE / "scenarios" / "seed-missing-intermediate"
GOOD = SAMPLE / "scenarios" / "good-chain"
ARTEFACTS = REPO / "test-artefacts"
PASSWORD = "correct-horse-battery-staple-4711"  # noqa: S105 - the secret the scan looks for


def mtls(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *args],
        capture_output=True, text=True, check=False, cwd=cwd, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


SEED_FILES = {"--cert": "client.pem", "--key": "client.key", "--ca": "ca.pem"}


def seed_args() -> list[str]:
    return ["check", *(arg for flag, name in SEED_FILES.items() for arg in (flag, str(SEED / name)))]


def _fragments(console: str) -> list[str]:
    """The pieces of text a console report shows, without its drawing (box rules, tree branches, alignment)."""
    pieces = []
    for line in console.splitlines():
        for raw in re.split(r"\s{2,}|──|[├└│]", line):
            piece = raw.strip(" ─•")
            if len(piece) > 2:
                pieces.append(piece)
    return pieces


def _normal(text: str) -> str:
    return " ".join(text.replace("\\", "").replace("**", "").split())


@pytest.mark.parametrize("scenario", ["seed-missing-intermediate", "good-chain", "leaf-expired"])
def test_the_markdown_report_renders_the_same_facts_as_the_console(scenario: str) -> None:
    base = SAMPLE / "scenarios" / scenario
    args = [
        "check",
        "--cert",
        str(base / "client.pem"),
        "--key",
        str(base / "client.key"),
        "--ca",
        str(base / "ca.pem"),
    ]
    console = mtls(*args, "--at", "2026-06-01")
    markdown = mtls(*args, "--at", "2026-06-01", "--format", "markdown")
    assert markdown.returncode == console.returncode
    text = _normal(markdown.stdout)
    missing = [f for f in _fragments(console.stdout) if _normal(f) not in text]
    assert missing == []
    first = markdown.stdout.splitlines()[0]
    assert first.startswith("# mtls-doctor check: ")
    assert _normal(console.stdout.splitlines()[0]) in _normal(first)
    for section in ("## Equivalent commands", "## Versions", "OpenSSL (server twin, pyOpenSSL): OpenSSL "):
        assert section in markdown.stdout


def test_lint_markdown_renders_the_same_facts_as_the_console() -> None:
    conf = REPO / "tests" / "lint_fixtures" / "MTLS307-fail.conf"
    console = mtls("lint", str(conf), "--allow-outside")
    markdown = mtls("lint", str(conf), "--allow-outside", "--format", "markdown")
    text = _normal(markdown.stdout)
    assert [f for f in _fragments(console.stdout) if _normal(f) not in text] == []


def test_the_markdown_report_names_the_equivalent_commands() -> None:
    run = mtls(*seed_args(), "--format", "markdown", "--output", "/dev/stdout")
    block = run.stdout.split("## Equivalent commands", 1)[1]
    assert (
        f"mtls-doctor check --cert {SEED / 'client.pem'} --key {SEED / 'client.key'} --ca {SEED / 'ca.pem'}\n" in block
    )
    assert "--format" not in block.split("```")[1]
    assert f"openssl verify -purpose sslclient -CAfile {SEED / 'ca.pem'}" in block
    assert "# SERVER: the server's host:port" in block


def test_lint_markdown_and_html_lead_with_the_verdict() -> None:
    conf = REPO / "tests" / "lint_fixtures" / "MTLS307-fail.conf"
    for fmt in ("markdown", "html"):
        run = mtls("lint", str(conf), "--allow-outside", "--format", fmt)
        assert run.returncode == 1, run.stderr
        assert "4 finding(s) in 1 server block(s), 1 blocking" in run.stdout.split("\n", 12)[
            0 if fmt == "markdown" else 11
        ] or ("4 finding(s) in 1 server block(s), 1 blocking" in run.stdout[:2000])
        assert "MTLS307" in run.stdout


def _hostile_client(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA and a client whose subject holds HTML and Markdown, the key encrypted with PASSWORD."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Evil </h1><script>alert(1)</script> CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '<img src=x onerror="y"> **bold** `x`')]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=10))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "client.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    (tmp_path / "client.key").write_bytes(encrypted)
    (tmp_path / "password").write_text(PASSWORD + "\n")
    return tmp_path / "client.pem", tmp_path / "client.key", tmp_path / "ca.pem"


def test_untrusted_names_are_escaped_in_html_and_markdown(tmp_path: Path) -> None:
    cert, key, ca = _hostile_client(tmp_path)
    args = [
        "check",
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--ca",
        str(ca),
        "--password-file",
        str(tmp_path / "password"),
    ]
    page = mtls(*args, "--format", "html").stdout
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script" in page
    markdown = mtls(*args, "--format", "markdown").stdout
    outside_code = "".join(markdown.split("```")[0::2])
    assert "<script>" not in outside_code
    assert "script" in outside_code
    # every < outside code is escaped: an odd run of backslashes before it (RFC 4514 adds its own backslash)
    for found in re.finditer(r"(\\*)<", outside_code):
        assert len(found.group(1)) % 2 == 1, outside_code[max(0, found.start() - 40) : found.end() + 40]


def test_the_html_report_is_one_self_contained_file() -> None:
    page = mtls(*seed_args(), "--format", "html").stdout
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 2  # the chain and the validity timeline
    assert not re.search(r"""(?:src|href)\s*=|url\(|<script|<link|@import""", page, re.IGNORECASE)
    assert "default-src 'none'" in page
    assert "nginx will answer 400 The SSL certificate error" in page.split("</h1>")[0]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed, and CI=true requires the HTML report to load in it (.ci/run)")
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    return found


def _load(chromium: str, page: Path, profile: Path, screenshot: Path) -> str:
    """Load ``page`` headless, as /work/.library/env/machines/python.md says Chromium runs here; its log (stderr)."""
    run = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--window-size=1200,1800",
            f"--screenshot={screenshot}", page.as_uri(),
        ],
        capture_output=True, text=True, check=False, timeout=90, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert screenshot.is_file(), run.stderr[-2000:]
    return run.stderr


def _console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line or "Refused to" in line or "Uncaught" in line]


def test_the_html_report_loads_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    chromium = _chromium()
    ARTEFACTS.mkdir(exist_ok=True)
    page = tmp_path / "report.html"
    run = mtls(*seed_args(), "--format", "html", "--output", str(page))
    assert run.returncode == 1, run.stderr
    # The detector can fail: a page that logs an error is seen (the control).
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><title>c</title><script>console.error('control-error')</script>")
    assert any(
        "control-error" in e for e in _console_errors(_load(chromium, control, tmp_path / "p1", tmp_path / "c.png"))
    )
    screenshot = ARTEFACTS / "check-report.png"
    log = _load(chromium, page, tmp_path / "p2", screenshot)
    assert _console_errors(log) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000  # a rendered page, not an empty canvas


def test_check_sarif_names_the_failing_rules() -> None:
    run = mtls(*seed_args(), "--format", "sarif")
    assert run.returncode == 1
    sarif = json.loads(run.stdout)
    assert sarif["version"] == "2.1.0"
    (only,) = sarif["runs"]
    ids = [r["ruleId"] for r in only["results"]]
    assert "MTLS301" in ids
    assert [d["id"] for d in only["tool"]["driver"]["rules"]] == sorted(set(ids))
    located = next(r for r in only["results"] if r["ruleId"] == "MTLS301")
    assert located["level"] == "error"
    assert located["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("client.pem")


def test_output_writes_the_report_to_the_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    run = mtls(*seed_args(), "--format", "markdown", "--output", str(target))
    assert run.returncode == 1
    assert run.stdout == ""
    assert target.read_text().startswith("# mtls-doctor check: ")
    plain = tmp_path / "report.txt"
    mtls(*seed_args(), "--output", str(plain))
    assert plain.read_text().startswith("✗ nginx will answer 400")


@pytest.mark.parametrize("command", ["check", "lint"])
def test_an_output_file_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    args = seed_args() if command == "check" else ["lint", str(REPO / "tests" / "lint_fixtures" / "MTLS307-fail.conf")]
    run = mtls(*args, "--output", str(tmp_path / "no" / "such" / "dir" / "r.txt"))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "cannot write the report" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--cert", "/nonexistent/client.pem", "--ca", str(SEED / "ca.pem")],
        ["check", "--cert", str(SEED / "client.pem"), "--no-such-flag"],
        ["lint", "/nonexistent/nginx.conf"],
        ["check", *seed_args()[1:], "--output", "/nonexistent/dir/r.json"],
    ],
    ids=["missing-file", "usage", "lint-missing", "unwritable-output"],
)
def test_json_format_still_yields_a_json_document_on_an_unusable_input(args: list[str]) -> None:
    run = mtls(*args, "--format", "json")
    assert run.returncode == 2
    document = json.loads(run.stdout)
    assert document["schema_version"] == 1
    assert document["error"]["exit_code"] == 2
    assert document["error"]["kind"] in ("input", "usage")
    assert run.stderr.count("\n") == 1
    assert document["error"]["message"] in run.stderr


REPORTS = [
    ("check", "console"), ("check", "json"), ("check", "markdown"), ("check", "html"), ("check", "sarif"),
    ("lint", "console"), ("lint", "json"), ("lint", "sarif"), ("lint", "markdown"), ("lint", "html"),
]  # fmt: skip


def _secret_free(text: str, key_pem: bytes) -> None:
    """No private key in any encoding this project could print, and not the password."""
    assert "PRIVATE KEY" not in text
    assert PASSWORD not in text
    body = b"".join(key_pem.splitlines()[1:-1]).decode()
    for start in range(0, len(body) - 24, 24):  # any 24-character run of the key's base64
        assert body[start : start + 24] not in text


@pytest.mark.parametrize(("command", "fmt"), REPORTS, ids=[f"{c}-{f}" for c, f in REPORTS])
def test_no_report_format_holds_key_material_or_the_password(tmp_path: Path, command: str, fmt: str) -> None:
    cert, key, ca = _hostile_client(tmp_path)
    password = tmp_path / "password"
    if command == "check":
        args = ["check", "--cert", str(cert), "--key", str(key), "--ca", str(ca), "--password-file", str(password)]
    else:
        conf = tmp_path / "site.conf"
        conf.write_text(
            "server {\n listen 443 ssl;\n ssl_certificate client.pem;\n ssl_certificate_key client.key;\n"
            " ssl_client_certificate ca.pem;\n ssl_verify_client on;\n}\n"
        )
        args = ["lint", str(conf)]
    run = mtls(*args, "--format", fmt)
    assert run.returncode in (0, 1, 3), run.stderr
    _secret_free(run.stdout + run.stderr, key.read_bytes())
