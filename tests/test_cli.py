"""The command line: help, version, exit codes, formats, explain, rules, inspect; never a prompt without a TTY."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE

SEED = SAMPLE / "scenarios" / "seed-missing-intermediate"
GOOD = SAMPLE / "scenarios" / "good-chain"


def mtls(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *args],
        input=stdin, capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )  # fmt: skip


def test_help_lists_the_commands_and_exit_codes() -> None:
    run = mtls("--help")
    assert run.returncode == 0
    for command in ("check", "lint", "inspect", "explain", "rules", "sample-pki", "demo"):
        assert command in run.stdout
    assert "Exit codes" in run.stdout


def test_no_command_without_a_terminal_prints_help_and_exits_2() -> None:
    run = mtls()
    assert run.returncode == 2
    assert "Usage" in run.stdout
    assert "no command given" in run.stderr


def test_seed_case_leads_with_the_verdict_and_exits_1() -> None:
    run = mtls(
        "check", "--cert", str(SEED / "client.pem"), "--key", str(SEED / "client.key"), "--ca", str(SEED / "ca.pem")
    )
    assert run.returncode == 1
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    # the verdict is the first line (issue 11), what it was judged with after it
    assert lines[0].startswith("✗ nginx will answer 400 The SSL certificate error")
    assert "(21:unable to verify the first certificate)" in lines[0]
    assert lines[1].startswith("mtls-doctor ")
    assert "MTLS301 intermediate-not-sent" in run.stdout
    assert "\x1b[" not in run.stdout, "no ANSI codes when stdout is not a terminal"


def test_good_client_exits_0_and_json_is_versioned() -> None:
    run = mtls(
        "check",
        "--cert",
        str(GOOD / "client.pem"),
        "--key",
        str(GOOD / "client.key"),
        "--ca",
        str(GOOD / "ca.pem"),
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["schema_version"] == 1
    assert doc["verdict"]["outcome"] == "accept"
    assert doc["verdict"]["http_status"] == 200
    assert doc["verdict"]["verify_error"] is None
    assert doc["exit_code"] == 0


def test_json_verdict_carries_the_logged_error_and_root_cause_first() -> None:
    run = mtls(
        "check",
        "--cert",
        str(SEED / "client.pem"),
        "--key",
        str(SEED / "client.key"),
        "--ca",
        str(SEED / "ca.pem"),
        "--format",
        "json",
    )
    doc = json.loads(run.stdout)
    verdict = doc["verdict"]
    assert verdict["outcome"] == "reject"
    assert verdict["reason"] == "The SSL certificate error"
    assert verdict["verify_error"]["code"] == 21
    assert verdict["verify_error"]["name"] == "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    assert [e["code"] for e in verdict["errors_seen"]] == [20, 21]
    first = doc["findings"][0]
    assert first["rule"] == "MTLS301"
    assert first["logged"] is True
    assert first["explains"][0]["rule"] == "MTLS901"


def test_without_a_key_the_verdict_is_incomplete() -> None:
    run = mtls("check", "--cert", str(GOOD / "client.pem"), "--ca", str(GOOD / "ca.pem"), "--format", "json")
    doc = json.loads(run.stdout)
    assert doc["verdict"]["outcome"] == "unknown"
    assert run.returncode == 3


@pytest.mark.parametrize(
    ("thing", "expected"),
    [
        ("MTLS301", "intermediate-not-sent"),
        ("21", "unable to verify the first certificate"),
        ("X509_V_ERR_INVALID_PURPOSE", "MTLS201"),
        ("client SSL certificate verify error: (26:unsuitable certificate purpose) while reading", "MTLS201"),
        ("unknown ca", "MTLS301"),
        ("curl: (58) unable to set private key file: 'client.key' type PEM", "MTLS001"),
        ("400 No required SSL certificate was sent", "MTLS902"),
        ("client SSL certificate verify error: certificate status request failed while reading", "MTLS507"),
        ('[emerg] "ssl_ocsp" is incompatible with "ssl_verify_client optional_no_ca"', "MTLS607"),
    ],
)
def test_explain_finds_the_rules_behind_what_people_see(thing: str, expected: str) -> None:
    run = mtls("explain", thing)
    assert run.returncode == 0, run.stderr
    assert expected in run.stdout


def test_explain_unknown_thing_is_a_usage_error() -> None:
    run = mtls("explain", "banana")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1


def test_rules_runbook_renders_every_rule() -> None:
    run = mtls("rules", "--format", "markdown")
    assert run.returncode == 0
    listing = json.loads(mtls("rules", "--format", "json").stdout)
    assert len(listing["rules"]) >= 75
    assert run.stdout.count("\n## MTLS") == len(listing["rules"])
    retired = listing["retired"]
    assert retired, "the retired rules are listed"
    for old in retired:
        assert f"| {old['id']} {old['name']} |" in run.stdout, old["id"]


def test_inspect_describes_order_and_purpose() -> None:
    run = mtls("inspect", str(SAMPLE / "scenarios" / "leaf-not-first" / "client.pem"), "--format", "json")
    doc = json.loads(run.stdout)
    (item,) = doc["files"]
    assert item["leaf_first"] is False
    assert item["issued_by_next"] == [False]
    serverauth = json.loads(
        mtls("inspect", str(SAMPLE / "certs" / "leaf-eku-serverauth.pem"), "--format", "json").stdout
    )
    assert serverauth["files"][0]["certificates"][0]["ssl_client_purpose"] is False


def test_heavy_modules_are_not_imported_at_start_up() -> None:
    """--help must not pay for pyOpenSSL, rich, prompt_toolkit or crossplane (perf-anchors: lazy heavy imports)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import mtls_doctor.cli"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    for heavy in ("OpenSSL.SSL", "rich", "prompt_toolkit", "questionary", "crossplane", "cryptography.x509"):
        assert heavy not in imported, f"{heavy} is imported at start-up"


def test_check_does_not_import_rich_crossplane_or_the_nginx_reader_when_not_on_a_terminal() -> None:
    code = (
        "import sys, runpy; sys.argv=['mtls-doctor','check','--cert',{!r},'--key',{!r},'--ca',{!r}];"
        "\ntry: runpy.run_module('mtls_doctor', run_name='__main__')\nexcept SystemExit: pass"
        "\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('rich','crossplane','questionary','tomllib') "
        "or m.startswith('mtls_doctor.nginx')), file=sys.stderr)"
    ).format(str(GOOD / "client.pem"), str(GOOD / "client.key"), str(GOOD / "ca.pem"))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert run.stderr.strip().splitlines()[-1] == "[]", run.stderr


def test_the_readme_transcript_is_what_the_tool_prints(tmp_path: Path) -> None:
    """README's reference-case transcript, replayed: the same commands print the same text (clock aside)."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("$ mtls-doctor sample-pki pki", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    check_line = lines[1]
    assert check_line.startswith("$ mtls-doctor check "), check_line
    expected = "\n".join(lines[2:]).strip()
    argv = shlex.split(check_line[2:])[1:]
    subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "sample-pki", "pki"], cwd=tmp_path, check=True, capture_output=True
    )
    where = tmp_path / "pki" / "scenarios" / "seed-missing-intermediate"
    command = [sys.executable, "-m", "mtls_doctor", *argv]
    run = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 1, run.stderr

    def clockless(text: str) -> str:
        text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<now>", text)
        return re.sub(r"─*●─* 2099-12-31 +\d+ day\(s\) left", "<timeline>", text)

    assert clockless(run.stdout.strip()) == clockless(expected)


def test_every_command_is_reachable_by_its_name_and_only_its_module_is_imported() -> None:
    """The lazy command table names every command each cli module defines, and running one imports no other."""
    import pkgutil  # noqa: PLC0415

    import click  # noqa: PLC0415

    from mtls_doctor import cli  # noqa: PLC0415

    defined = {}
    for info in pkgutil.iter_modules(cli.__path__):
        module = importlib.import_module(f"mtls_doctor.cli.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            defined[command.name] = info.name
    assert defined == cli.COMMANDS
    ctx = click.Context(cli.main)
    for name in defined:
        command = cli.main.get_command(ctx, name)
        assert command is not None
        assert command.name == name
    code = (
        "import sys, mtls_doctor.cli as c; c.main.get_command(None, 'lint'); "
        "print(sorted(m for m in sys.modules if m.startswith('mtls_doctor.cli.')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    # options and output are the helpers every command shares (flags; where a report goes)
    assert run.stdout.strip() == "['mtls_doctor.cli.lint', 'mtls_doctor.cli.options', 'mtls_doctor.cli.output']"
