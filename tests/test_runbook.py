"""The support runbook: docs/RULES.md is exactly `mtls-doctor rules --format markdown`, and every rule's fix
gives commands that fix the problem, not only commands that show it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, catalogue

RUNBOOK = REPO / "docs" / "RULES.md"

# A command that only shows something (a fix section made only of these leaves the reader where they were).
_INSPECTION = re.compile(
    r"""^(openssl\s+(x509|crl|pkey|pkcs12|asn1parse|storeutl)\b.*(-noout|-text|-pubout|-info|-purpose)
        |openssl\s+(verify|s_client)\b|grep\b|nginx\s+-T\b|echo\b|\#|ls\b|cat\s[^>]*$|.*\|\s*openssl\s+sha256|sed\s+-n)""",
    re.VERBOSE,
)


def test_docs_rules_md_is_the_runbook_the_tool_prints() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "rules", "--format", "markdown"],
        capture_output=True, text=True, check=True, cwd=REPO, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert RUNBOOK.read_text(encoding="utf-8") == run.stdout, (
        "docs/RULES.md is stale: mtls-doctor rules --format markdown > docs/RULES.md"
    )


@pytest.mark.parametrize("rule", catalogue().rules, ids=lambda r: r.id)
def test_every_fix_has_a_command_that_fixes(rule: object) -> None:
    fix = getattr(rule, "doc").fix  # noqa: B009 - parametrized over Rule records
    commands = [line.strip() for line in re.sub(r"\\\n\s*", " ", fix).splitlines() if line.startswith("    ")]
    commands = [c for c in commands if c]
    assert commands, "the fix shows no command or configuration"
    assert not all(_INSPECTION.match(c) for c in commands), f"only inspection commands: {commands}"


# A check that needs the fix applied (the reloaded server's CertificateRequest, its log) can only come last.
_LIVE_CHECK = re.compile(r"^openssl\s+s_client\s+-connect\b|^grep\b.*\.log$")


def _blocks(fix: str) -> list[list[str]]:
    """The fix's command blocks (indented runs), continuation lines joined."""
    blocks: list[list[str]] = [[]]
    for line in re.sub(r"\\\n\s*", " ", fix).splitlines():
        if line.startswith("    ") and line.strip():
            blocks[-1].append(line.strip())
        elif line.strip() and blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


@pytest.mark.parametrize("rule", catalogue().rules, ids=lambda r: r.id)
def test_every_fix_ends_in_commands_that_fix(rule: object) -> None:
    """The last commands of a fix change something (re-issue, rebuild, reload), unless they watch the fixed server."""
    last = _blocks(getattr(rule, "doc").fix)[-1]  # noqa: B009
    if all(_INSPECTION.match(c) for c in last):
        assert all(_LIVE_CHECK.match(c) or c.startswith("|") for c in last), f"ends in inspection only: {last}"


def test_the_inspection_pattern_tells_showing_from_fixing() -> None:
    for showing in ("openssl x509 -in c.pem -noout -purpose", "openssl verify -CAfile a b", "grep x log"):
        assert _INSPECTION.match(showing)
    for fixing in ("openssl x509 -req -in c.csr -out c.pem", "cat a.pem b.pem > c.pem", "nginx -t && nginx -s reload"):
        assert not _INSPECTION.match(fixing)
