"""``mtls-doctor lint`` on configurations as people have them: a repository's copy whose includes and files are not
on this machine, an ``nginx -T 2>&1`` paste from the real nginx with its warnings and an ``nginx -V`` transcript, a
server body pasted without ``server {}``, and pasted text whose relative paths mean the current directory.

Each is analysed (never exit 2), with notes; ``nginx -t`` on the same files agrees on what stops it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, SAMPLE, require_nginx

CLIENT_ROOT = SAMPLE / "certs" / "client-root.pem"
SERVER_CERT = SAMPLE / "certs" / "localhost.pem"
SERVER_KEY = SAMPLE / "keys" / "localhost.key"


def mtls(*args: str, stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def findings(document: dict[str, Any]) -> dict[str, str]:
    """rule id -> status, over the configuration's findings and every server block's."""
    found = {f["rule"]: f["status"] for f in document["config_findings"]}
    for server in document["servers"]:
        found.update({f["rule"]: f["status"] for f in server["findings"]})
    return found


def _repository_copy(tmp_path: Path) -> Path:
    """A repository's nginx.conf: stock and site includes that live under /etc/nginx on the server, one include and
    the client CA outside the configuration's directory (both present), a server certificate that is not here."""
    conf = tmp_path / "repo" / "nginx"
    conf.mkdir(parents=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "log.conf").write_text("error_log stderr info;\n")
    (conf / "nginx.conf").write_text(
        "events {}\n"
        "http {\n"
        "    include /etc/nginx/mtls-doctor-absent/mime.types;\n"
        f"    include {shared}/log.conf;\n"
        "    server {\n"
        "        listen 443 ssl;\n"
        "        server_name api.example.com;\n"
        "        ssl_certificate /etc/ssl/mtls-doctor-absent/api.pem;\n"
        "        ssl_certificate_key /etc/ssl/mtls-doctor-absent/api.key;\n"
        f"        ssl_client_certificate {CLIENT_ROOT};\n"
        "        ssl_verify_client optional;\n"
        "        location / {\n"
        "            proxy_pass http://127.0.0.1:8080;\n"
        "        }\n"
        "    }\n"
        "    server {\n"
        "        listen 8443 ssl;\n"
        "        server_name admin.example.com;\n"
        f"        ssl_certificate {SERVER_CERT};\n"
        f"        ssl_certificate_key {SERVER_KEY};\n"
        "        include snippets/mtls-doctor-absent.conf;\n"
        "    }\n"
        "}\n"
    )
    return conf / "nginx.conf"


def test_a_config_whose_includes_are_absent_and_outside_the_prefix_is_analysed(tmp_path: Path) -> None:
    main = _repository_copy(tmp_path)
    run = mtls("lint", str(main), "--format", "json")
    assert run.returncode == 1, run.stderr  # blocking: nginx -t here would stop, not a usage error
    document = json.loads(run.stdout)
    [missing] = [f for f in document["config_findings"] if f["rule"] == "MTLS729"]
    assert missing["status"] == "fail"
    for name in (
        "/etc/nginx/mtls-doctor-absent/mime.types",
        "/etc/ssl/mtls-doctor-absent/api.pem",
        "/etc/ssl/mtls-doctor-absent/api.key",
        "snippets/mtls-doctor-absent.conf",
    ):
        assert name in missing["message"], name
    api, admin = document["servers"]
    api_found = {f["rule"]: f["status"] for f in api["findings"]}
    # the include outside the directory was read (its info log), and the CA file outside it too: judged, not skipped
    assert "MTLS714" not in api_found
    assert api_found["MTLS606"] == "fail"  # optional, judged with the CA file read from outside the directory
    # the server whose own include is not here: its verdicts are withdrawn, with the reason
    everything = mtls("lint", str(main), "--format", "json", "--all")
    admin = json.loads(everything.stdout)["servers"][1]
    assert admin["findings"]
    assert all(f["status"] in ("not_evaluated", "not_applicable") for f in admin["findings"])
    assert any("mtls-doctor-absent.conf" in " ".join(f["unknown"]) for f in admin["findings"])
    console = mtls("lint", str(main))
    assert "note: " in console.stdout
    assert "not on this machine (MTLS729 lists them)" in console.stdout

    # nginx -t on the same files stops at the first of them, the include, in the words MTLS729 lists
    result = subprocess.run(
        [require_nginx(), "-t", "-p", f"{tmp_path}/", "-c", str(main), "-e", "stderr", "-g", f"pid {tmp_path}/p;"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 1
    assert 'open() "/etc/nginx/mtls-doctor-absent/mime.types" failed (2: No such file or directory)' in result.stderr
    assert (
        'open() "/etc/nginx/mtls-doctor-absent/mime.types" failed (2: No such file or directory)'
        in (missing["message"])
    )


def _real_dump(tmp_path: Path) -> str:
    """What a person pastes: ``$ nginx -V``, its output, then ``nginx -T 2>&1`` of the real nginx, whose
    deprecated ``ssl on`` makes it print a warning before the dump."""
    binary = require_nginx()
    main = tmp_path / "nginx.conf"
    main.write_text(
        "events {}\n"
        "http {\n"
        "    server {\n"
        "        listen 127.0.0.1:18443;\n"
        "        server_name api.example.com;\n"
        "        ssl on;\n"
        f"        ssl_certificate {SERVER_CERT};\n"
        f"        ssl_certificate_key {SERVER_KEY};\n"
        f"        ssl_client_certificate {CLIENT_ROOT};\n"
        "        ssl_verify_client on;\n"
        "        error_log stderr info;\n"
        "    }\n"
        "}\n"
    )
    flags = ["-p", f"{tmp_path}/", "-c", str(main), "-g", f"pid {tmp_path}/p;"]
    version = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=20, check=True)
    dump = subprocess.run(
        [binary, "-T", *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=20, check=True
    )
    assert "[warn]" in dump.stdout
    return f"$ nginx -V\n{version.stderr}$ nginx -T 2>&1\n{dump.stdout}"


def test_an_nginx_t_paste_with_warnings_and_an_nginx_v_transcript_is_analysed(tmp_path: Path) -> None:
    paste = _real_dump(tmp_path)
    # pasted text keeps to its root (the dump's directory): the CA file elsewhere is not read, and a note says how
    kept = json.loads(mtls("lint", "-", "--read-files", "--format", "json", stdin=paste).stdout)
    assert any("outside the configuration's root were not read" in n and "--allow-outside" in n for n in kept["notes"])
    run = mtls("lint", "-", "--read-files", "--allow-outside", "--format", "json", stdin=paste)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["nginx"]["assumed"] is False  # the version came from the nginx -V transcript
    assert any("[warn]" in note and '"ssl" directive is deprecated' in note for note in document["notes"])
    assert any("test is successful" in note for note in document["notes"])
    found = findings(document)
    assert found["MTLS716"] == "fail"  # the same warning, as a finding at the ssl line
    [server] = document["servers"]
    assert server["origin"]["line"] == 3
    console = mtls("lint", "-", "--read-files", "--allow-outside", stdin=paste)
    assert "note: nginx said: " in console.stdout


def test_a_server_body_without_server_braces_is_linted_as_one_with_a_note() -> None:
    body = (
        "listen 443 ssl;\n"
        f"ssl_certificate {SERVER_CERT};\n"
        f"ssl_certificate_key {SERVER_KEY};\n"
        "ssl_verify_client on;\n"
        "location / {\n"
        "    return 200;\n"
        "}\n"
    )
    run = mtls("lint", "-", "--format", "json", stdin=body)
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert any("body of one server block" in note for note in document["notes"])
    assert findings(document)["MTLS601"] == "fail"  # verify on without ssl_client_certificate: nginx refuses


def test_pasted_text_with_read_files_resolves_against_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(CLIENT_ROOT.read_bytes())
    text = (
        "server {\n    listen 443 ssl;\n"
        f"    ssl_certificate {SERVER_CERT};\n    ssl_certificate_key {SERVER_KEY};\n"
        "    ssl_client_certificate ca.pem;\n    ssl_verify_client on;\n    error_log stderr info;\n}\n"
    )
    run = mtls("lint", "-", "--read-files", "--format", "json", "--all", stdin=text, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert any(f"current directory {tmp_path}" in n and "--prefix" in n for n in document["notes"])
    assert findings(document)["MTLS708"] == "pass"  # ca.pem was read from the current directory


def test_pasted_text_says_in_one_line_how_to_read_its_files() -> None:
    text = "server {\n    listen 443 ssl;\n    ssl_client_certificate ca.pem;\n    ssl_verify_client on;\n}\n"
    run = mtls("lint", "-", stdin=text)
    lines = [line for line in run.stdout.splitlines() if "not evaluated: the files" in line]
    assert len(lines) == 1
    assert "--read-files --prefix DIR" in lines[0]


def test_a_parse_error_is_a_finding_in_json_and_sarif_and_one_line_on_stderr() -> None:
    broken = "server {\n    listen 443 ssl;\n    ssl_verify_client on\n}\n"
    for fmt in ("json", "sarif"):
        run = mtls("lint", "-", "--format", fmt, stdin=broken)
        assert run.returncode == 2
        assert run.stderr == 'mtls-doctor: <stdin>:4: unexpected "}"\n'
        document = json.loads(run.stdout)
        if fmt == "json":
            [found] = document["config_findings"]
            assert (found["rule"], found["status"]) == ("MTLS730", "fail")
        else:
            [result] = document["runs"][0]["results"]
            assert result["ruleId"] == "MTLS730"
            location = result["locations"][0]["physicalLocation"]
            assert (location["artifactLocation"]["uri"], location["region"]["startLine"]) == ("<stdin>", 4)


def test_check_nginx_reads_a_ca_file_outside_the_configuration_directory(tmp_path: Path) -> None:
    """The seed's layout: /etc/nginx/sites-enabled/x naming /root/client_rootca.crt. nginx reads absolute paths
    anywhere, so a configuration read from disk is judged with that file (here: the sample PKI, elsewhere)."""
    good = SAMPLE / "scenarios" / "good-chain"
    conf = tmp_path / "etc" / "nginx" / "site.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "server {\n    listen 443 ssl;\n    server_name localhost;\n"
        f"    ssl_certificate {SERVER_CERT};\n    ssl_certificate_key {SERVER_KEY};\n"
        f"    ssl_client_certificate {good / 'ca.pem'};\n    ssl_verify_client on;\n}}\n"
    )
    run = mtls("check", "--nginx", str(conf), "--cert", str(good / "client.pem"), "--key", str(good / "client.key"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "outside" not in run.stdout + run.stderr
