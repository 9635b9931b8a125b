"""`check --nginx` picks the server block the way issue 3 asks: by --server (as nginx routes that name), by --listen,
the only client-verifying block, or else a list of the candidates (a prompt on a terminal: tests/test_terminal.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SAMPLE

GOOD = SAMPLE / "scenarios" / "good-chain"


def _server(name: str, port: int, *, ca: str | None = None, verify: str | None = None, default: bool = False) -> str:
    listen = f"{port} ssl default_server" if default else f"{port} ssl"
    lines = [
        f"    listen {listen};",
        f"    server_name {name};",
        "    ssl_certificate certs/localhost.pem;",
        "    ssl_certificate_key keys/localhost.key;",
    ]
    if ca:
        lines.append(f"    ssl_client_certificate {ca};")
    if verify:
        lines.append(f"    ssl_verify_client {verify};")
        lines.append("    location / { if ($ssl_client_verify != SUCCESS) { return 403; } return 200; }")
    return "server {\n" + "\n".join(lines) + "\n}\n"


# On 8443: api (verifies, the client's own CA; the port's default server, being first), admin (verifies against
# another CA), www (no client certificates). On 9443: only partners, which verifies. On 7443: only a block that
# does not verify.
CONFIG = (
    _server("api.example", 8443, ca="scenarios/good-chain/ca.pem", verify="on")
    + _server("admin.example", 8443, ca="certs/other-root.pem", verify="optional")
    + _server("www.example", 8443)
    + _server("partners.example", 9443, ca="scenarios/good-chain/ca.pem", verify="on")
    + _server("static.example", 7443)
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "nginx.conf"
    path.write_text(CONFIG)
    return path


def check(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`check --nginx CONFIG` of the good-chain client, JSON out, no terminal anywhere."""
    argv = [sys.executable, "-m", "mtls_doctor", "check", "--nginx", str(config), "--prefix", str(SAMPLE)]
    argv += ["--cert", str(GOOD / "client.pem"), "--key", str(GOOD / "client.key"), "--format", "json", *extra]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120, check=False, stdin=None)


def judged(run: subprocess.CompletedProcess[str]) -> tuple[str, dict[str, Any]]:
    """The server block the report was judged against, and its verdict."""
    assert run.stdout, run.stderr
    report = json.loads(run.stdout)
    return report["nginx"]["server"], report["verdict"]


@pytest.mark.parametrize(
    ("extra", "server", "outcome"),
    [
        (("--server", "admin.example"), "server admin.example", "reject"),
        (("--server", "api.example"), "server api.example", "accept"),
        (("--server", "partners.example"), "server partners.example", "accept"),
        # nginx routes a name no block lists to the port's default server: the first block on 8443
        (("--server", "unknown.example", "--listen", "8443"), "server api.example", "accept"),
        (("--listen", "9443"), "server partners.example", "accept"),
        (("--server", "admin.example", "--listen", "8443"), "server admin.example", "reject"),
    ],
    ids=["by-name", "by-name-default", "by-name-other-port", "unknown-name-default-server", "by-port", "name-port"],
)
def test_the_block_is_the_one_nginx_would_use(config: Path, extra: tuple[str, ...], server: str, outcome: str) -> None:
    name, verdict = judged(check(config, *extra))
    assert name.startswith(f"{server} at "), name
    assert verdict["outcome"] == outcome


def test_several_verifying_blocks_without_a_terminal_fail_with_the_list(config: Path) -> None:
    run = check(config)
    assert run.returncode == 2
    # --format json: the error as a JSON document on stdout too (issue 11), the same line on stderr
    assert json.loads(run.stdout)["error"]["kind"] == "input"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert "several server blocks verify client certificates: pick one with --server NAME or --listen PORT" in line
    for candidate in ("api.example", "admin.example", "partners.example"):
        assert f"server {candidate} at " in line
    for not_verifying in ("www.example", "static.example"):
        assert not_verifying not in line, "blocks that do not verify clients are not candidates"


def test_the_only_verifying_block_is_taken(tmp_path: Path) -> None:
    config = tmp_path / "one.conf"
    config.write_text(
        _server("www.example", 8443) + _server("api.example", 8443, ca="scenarios/good-chain/ca.pem", verify="on")
    )
    name, verdict = judged(check(config))
    assert name.startswith("server api.example at ")
    assert verdict["outcome"] == "accept"


def test_a_port_nobody_listens_on_is_refused_with_the_blocks(config: Path) -> None:
    run = check(config, "--listen", "6443")
    assert run.returncode == 2
    assert "no server block listens on port 6443" in run.stderr
    assert "server api.example at " in run.stderr, "the list names the blocks that exist"
    assert "(ports 9443)" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_port_whose_blocks_do_not_verify_is_judged_as_it_is(config: Path) -> None:
    """One block on the port, not verifying clients: that block is taken, and the verdict says nginx asks nothing."""
    name, verdict = judged(check(config, "--listen", "7443"))
    assert name.startswith("server static.example at ")
    assert verdict["ssl_client_verify"] == "NONE"


def test_an_unknown_name_without_a_port_lists_each_ports_default_server(config: Path) -> None:
    run = check(config, "--server", "unknown.example")
    assert run.returncode == 2
    line = run.stderr.strip()
    assert "no server block is named 'unknown.example', and each port would serve it from its default server" in line
    for default in ("api.example", "partners.example", "static.example"):
        assert f"server {default} at " in line


def test_a_name_served_on_two_ports_needs_the_port(tmp_path: Path) -> None:
    config = tmp_path / "two-ports.conf"
    ca = "scenarios/good-chain/ca.pem"
    config.write_text(
        _server("api.example", 8443, ca=ca, verify="on")
        + _server("api.example", 9443, ca="certs/other-root.pem", verify="on")
    )
    run = check(config, "--server", "api.example")
    assert run.returncode == 2
    assert "'api.example' is served by several server blocks (one per port)" in run.stderr
    name, verdict = judged(check(config, "--server", "api.example", "--listen", "9443"))
    second = [i for i, line in enumerate(config.read_text().splitlines(), 1) if line.startswith("server {")][1]
    assert name.endswith(f":{second}"), name
    assert verdict["outcome"] == "reject"
