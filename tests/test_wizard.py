"""The wizard, driven through prompt_toolkit pipe input (one input per question) to a verdict on every symptom path,
at most five questions each; in a real terminal (tmux send-keys / capture-pane); never prompting without one; Ctrl-C
exits 130; no password or key material in its transcript."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from mtls_doctor.wizard.asker import MAX_QUESTIONS, Asker
from mtls_doctor.wizard.probe import LiveCheck
from mtls_doctor.wizard.session import run
from tests.conftest import REPO, SAMPLE

SCENARIOS = SAMPLE / "scenarios"
SEED = SCENARIOS / "seed-missing-intermediate"
DOWN, ENTER, UP = "j", "\r", "k"
SUBMIT = "\x1b\r"  # Esc, Enter: ends the answer of a multiline question (the server's, which takes a paste)
QUIT = UP + ENTER  # the menu's last entry, from its first (the list wraps)


def pick(index: int) -> str:
    return DOWN * index + ENTER


def _inputs(answers: list[str]) -> Iterator[Any]:
    for answer in answers:
        with create_pipe_input() as pipe:
            pipe.send_text(answer)
            yield pipe


def drive(answers: list[str], cwd: Path = REPO, live: LiveCheck | None = None) -> tuple[int, str, Asker]:
    """Run a session whose questions get ``answers`` in order (``live``: the probe, as the command line hands it
    in); its exit status, transcript and asker."""
    asker = Asker(inputs=_inputs(answers), output=DummyOutput())
    out = io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        status = run(asker, out, live=live)
    finally:
        os.chdir(previous)
    return status, out.getvalue(), asker


def files(name: str) -> tuple[str, ...]:
    """The answers naming a scenario's client certificate and the server's CA file; a certificate file holding
    only the leaf is asked its chain too (none, here)."""
    cert = SCENARIOS / name / "client.pem"
    chain = (ENTER,) if cert.read_text().count("BEGIN CERTIFICATE") == 1 else ()
    return (f"{cert}{ENTER}", *chain, f"{SCENARIOS / name / 'ca.pem'}{SUBMIT}")


# (case, answers up to the verdict, exit status, words the transcript must hold). Symptom indexes: wizard/symptoms.py.
PATHS = [
    (
        "nginx-400-no-certificate-java",
        [pick(0), pick(2), *files("seed-missing-intermediate")],
        1,
        ["This is why nothing arrives", "MTLS407"],
    ),
    ("nginx-400-certificate-error-seed", [pick(1), *files("seed-missing-intermediate"), ENTER], 1,
     ["✗ nginx will answer 400 The SSL certificate error", "MTLS301 intermediate-not-sent"]),
    ("alert-certificate-required-curl", [pick(2), pick(0), *files("good-chain")], 0,
     ["✓ nginx will accept this client", "whatever CA names the server advertises"]),
    ("alert-unknown-ca-expired", [pick(3), *files("leaf-expired"), ENTER], 1, ["MTLS101"]),
    ("browser-offers-nothing", [pick(4), pick(4), *files("seed-missing-intermediate")], 1,
     ["This is why nothing arrives"]),
    ("curl-58-client-files", [pick(5), *files("key-mismatch")], 1, ["the client cannot present", "MTLS001"]),
    ("paste-alert-48", [pick(6), "SSL alert number 48" + ENTER, *files("seed-missing-intermediate")], 1,
     ["What you pasted means: TLS alert 48 unknown_ca", "MTLS301"]),
    ("paste-certificate-required", [pick(6), "tlsv13 alert certificate required" + ENTER, pick(1),
     *files("good-chain")], 0, ["filters by the advertised CA names; your chain reaches one"]),
    ("paste-key-mismatch", [pick(6), "curl: (58) unable to set private key file: 'c.key' type PEM" + ENTER,
     *files("key-mismatch")], 1, ["MTLS001"]),
    ("check-only-good", [pick(7), *files("good-chain"), ENTER], 0, ["✓ nginx will accept this client"]),
    ("log-line", [pick(7), *files("seed-missing-intermediate"),
     "client SSL certificate verify error: (21:unable to verify the first certificate)" + ENTER], 1,
     ["The log line means: OpenSSL verify error 21"]),
]  # fmt: skip


@pytest.mark.parametrize(("answers", "status", "words"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS])
def test_every_symptom_path_reaches_a_verdict_in_at_most_five_questions(
    answers: list[str], status: int, words: list[str]
) -> None:
    code, transcript, asker = drive([*answers, QUIT])
    assert len(asker.asked) <= MAX_QUESTIONS, asker.asked
    assert len(asker.asked) == len(answers), "every answer was a question before the verdict"
    assert code == status, transcript
    for word in words:
        assert word in transcript, transcript
    # the verdict is the first line of the report
    first = next(line for line in transcript.splitlines() if line.strip())
    assert first[0] in "✓✗!", first


def test_the_seed_case_is_reached_in_at_most_five_answers() -> None:
    answers = [pick(1), *files("seed-missing-intermediate")]
    code, transcript, asker = drive([*answers, ENTER, QUIT])
    assert len(asker.asked) <= MAX_QUESTIONS
    assert "Extra certificates the client sends, a chain file (Enter if none):" in asker.asked
    assert code == 1
    assert "MTLS301 intermediate-not-sent" in transcript
    assert f"using the key next to the certificate: {SEED / 'client.key'}" in transcript


def test_the_server_certificate_is_explained_without_questions() -> None:
    code, transcript, asker = drive(
        [pick(6), "tls: failed to verify certificate: x509: certificate signed by unknown authority" + ENTER]
    )
    assert code == 0
    assert asker.asked == ["What do you see?", "Paste it (the error line, the log line or the page's title):"]
    assert "not a client-certificate problem" in transcript
    assert "mtls-doctor explain" in transcript


def test_the_menu_explains_rechecks_saves_and_prints_the_command(tmp_path: Path) -> None:
    menu = [
        ENTER, ENTER,  # explain a finding: the first (MTLS301)
        pick(3),  # print the equivalent command
        pick(2), f"{tmp_path / 'report.md'}{ENTER}",  # save a report
        pick(1),  # re-check: the same answers, no question asked again
        QUIT,
    ]  # fmt: skip
    code, transcript, _ = drive([pick(1), *files("seed-missing-intermediate"), ENTER, *menu])
    assert code == 1
    assert "### Why it matters" in transcript  # the rule's documentation
    assert f"mtls-doctor check --cert {SEED / 'client.pem'} --key {SEED / 'client.key'} --ca {SEED / 'ca.pem'}" in (
        transcript
    )
    assert (tmp_path / "report.md").read_text().startswith("# mtls-doctor check: ✗ nginx will answer 400")
    assert transcript.count("✗ nginx will answer 400") == 2  # checked, then re-checked


def _encrypted_client(tmp_path: Path, password: str) -> Path:
    """The good-chain client with its key encrypted, in a directory of its own (no key next to it)."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    key = serialization.load_pem_private_key((SCENARIOS / "good-chain" / "client.key").read_bytes(), None)
    (tmp_path / "locked.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    shutil.copy(SCENARIOS / "good-chain" / "client.pem", tmp_path / "alice.pem")
    shutil.copy(SCENARIOS / "good-chain" / "ca.pem", tmp_path / "ca.pem")
    return tmp_path


def test_a_password_is_asked_hidden_only_for_an_encrypted_key_and_never_shown(tmp_path: Path) -> None:
    secret = "s3cret-wizard-password-0815"  # noqa: S105
    d = _encrypted_client(tmp_path, secret)
    answers = [pick(7), f"{d / 'alice.pem'}{ENTER}", f"{d / 'locked.key'}{ENTER}", f"{d / 'ca.pem'}{SUBMIT}"]
    code, transcript, asker = drive([*answers, secret + ENTER, QUIT])
    assert code == 0, transcript
    assert len(asker.asked) == 5  # the log-line question gave way to the password
    assert "✓ nginx will accept this client" in transcript
    assert secret not in transcript
    assert "PRIVATE KEY" not in transcript


def test_when_no_question_is_left_for_the_password_it_says_what_to_run(tmp_path: Path) -> None:
    d = _encrypted_client(tmp_path, "another-secret-4711")
    answers = [pick(6), "SSL alert number 42" + ENTER, f"{d / 'alice.pem'}{ENTER}", f"{d / 'locked.key'}{ENTER}"]
    _, transcript, asker = drive([*answers, f"{d / 'ca.pem'}{SUBMIT}", pick(1), QUIT])  # menu: print the command
    assert len(asker.asked) == MAX_QUESTIONS
    assert "run the equivalent command with --password-file FILE" in transcript
    assert f"--key {d / 'locked.key'}" in transcript


def test_ctrl_c_at_a_question_interrupts(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        drive([pick(1), "\x03"])


def mtls(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *args],
        input=stdin, capture_output=True, text=True, check=False, cwd=REPO, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("args", [["wizard"], []], ids=["wizard", "no-command"])
def test_without_a_terminal_it_never_prompts_and_says_what_to_run(args: list[str]) -> None:
    # piped answers are what questionary would read as answers: they must be ignored
    run_ = mtls(*args, stdin="\r\r\r\r\r")
    assert run_.returncode == 2
    assert "?" not in run_.stdout.replace("[OPTIONS]", "").split("Usage")[0]
    if args:
        assert run_.stdout == ""
        assert run_.stderr.count("\n") == 1
        assert "needs a terminal" in run_.stderr
        assert "mtls-doctor check --cert" in run_.stderr


def _tmux() -> str:
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is not installed, and CI=true requires the real-terminal wizard test")
        pytest.skip("tmux is not installed")
    return found


class _Terminal:
    """mtls-doctor in a real terminal: a tmux session of our own (its own socket), killed at the end."""

    def __init__(self, tmp_path: Path, command: str) -> None:
        self.tmux = [_tmux(), "-S", str(tmp_path / "tmux.sock")]
        self.session = f"mtlsw{os.getpid()}"
        line = f"cd {REPO} && {command}; echo EXIT=$?; sleep 30"
        subprocess.run([*self.tmux, "new-session", "-d", "-s", self.session, "-x", "200", "-y", "60", line], check=True)

    def keys(self, *k: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.session, *k], check=True)

    def type(self, text: str) -> None:
        self.keys("-l", text)
        self.keys("Enter")

    def wait(self, text: str) -> str:
        return _wait_socket(self.tmux, self.session, text)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], check=False, capture_output=True)


EXE_WIZARD = f"{Path(sys.executable).parent / 'mtls-doctor'} wizard"
EXE_ALONE = str(Path(sys.executable).parent / "mtls-doctor")


@pytest.mark.parametrize("command", [EXE_WIZARD, EXE_ALONE], ids=["wizard", "no-command-on-a-terminal"])
def test_the_seed_case_in_a_real_terminal(tmp_path: Path, command: str) -> None:
    term = _Terminal(tmp_path, command)
    try:
        term.wait("What do you see?")
        term.keys("Down", "Enter")
        term.wait("certificate file")
        term.type(str(SEED / "client.pem"))
        term.wait("chain file")
        term.keys("Enter")
        term.wait("The server:")
        term.keys("-l", str(SEED / "ca.pem"))
        term.keys("Escape", "Enter")
        term.wait("error-log line")
        term.keys("Enter")
        screen = term.wait("Next:")
        assert "✗ nginx will answer 400 The SSL certificate error" in screen
        assert "MTLS301" in screen
        term.keys("Up", "Enter")
        assert "EXIT=1" in term.wait("EXIT=")
    finally:
        term.close()


def test_ctrl_c_in_a_real_terminal_exits_130(tmp_path: Path) -> None:
    term = _Terminal(tmp_path, EXE_WIZARD)
    try:
        term.wait("What do you see?")
        term.keys("C-c")
        assert "EXIT=130" in term.wait("EXIT=")
    finally:
        term.close()


def test_a_password_typed_in_a_real_terminal_never_shows(tmp_path: Path) -> None:
    """The secret scan of the wizard's transcript: the screen holds no password and no key material."""
    secret = "typed-in-tmux-secret-0815"  # noqa: S105
    d = _encrypted_client(tmp_path, secret)
    term = _Terminal(tmp_path, EXE_WIZARD)
    try:
        term.wait("What do you see?")
        term.keys("Up", "Enter")  # the last symptom: just check
        term.wait("certificate file")
        term.type(str(d / "alice.pem"))
        term.wait("private key file")
        term.type(str(d / "locked.key"))
        term.wait("The server:")
        term.keys("-l", str(d / "ca.pem"))
        term.keys("Escape", "Enter")
        term.wait("assword")
        term.type(secret)
        screen = term.wait("Next:")
        assert "✓ nginx will accept this client" in screen
        term.keys("Up", "Enter")
        screen = term.wait("EXIT=")
        assert secret not in screen
        assert "PRIVATE KEY" not in screen
    finally:
        term.close()


def _wait_socket(tmux: list[str], session: str, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        capture = [*tmux, "capture-pane", "-p", "-J", "-S", "-200", "-t", session]
        screen = subprocess.run(capture, capture_output=True, text=True, check=False).stdout
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")


def test_the_chain_the_client_sends_fixes_the_seed_case() -> None:
    """Answering the chain question with the intermediate is the seed's fix: the verdict turns to accept, and the
    equivalent command carries --chain."""
    issuing = SAMPLE / "certs" / "client-issuing.pem"
    answers = [pick(1), f"{SEED / 'client.pem'}{ENTER}", f"{issuing}{ENTER}", f"{SEED / 'ca.pem'}{SUBMIT}", ENTER]
    code, transcript, asker = drive([*answers, pick(2), QUIT])  # menu (nothing fails): print the command
    assert len(asker.asked) == MAX_QUESTIONS
    assert code == 0, transcript
    assert "✓ nginx will accept this client" in transcript
    assert f"--chain {issuing}" in transcript


def test_an_nginx_configuration_with_several_verifying_blocks_asks_which(tmp_path: Path) -> None:
    """The server answer may be nginx's configuration; with two blocks that verify clients the person picks one."""
    for sub, name in (("certs", "localhost.pem"), ("keys", "localhost.key")):
        (tmp_path / sub).mkdir(exist_ok=True)
        shutil.copy(SAMPLE / sub / name, tmp_path / sub / name)
    shutil.copy(SCENARIOS / "good-chain" / "ca.pem", tmp_path / "good-ca.pem")
    shutil.copy(SAMPLE / "certs" / "other-root.pem", tmp_path / "other-ca.pem")
    block = (
        "server {{\n    listen {port} ssl;\n    server_name {name};\n    ssl_certificate certs/localhost.pem;\n"
        "    ssl_certificate_key keys/localhost.key;\n    ssl_client_certificate {ca};\n    ssl_verify_client on;\n}}\n"
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        block.format(port=8443, name="api.example", ca="good-ca.pem")
        + block.format(port=9443, name="admin.example", ca="other-ca.pem")
    )
    cert = SCENARIOS / "good-chain" / "client.pem"
    for index, verdict in ((0, "✓ nginx will accept this client"), (1, "✗ nginx will answer 400")):
        # the log-line question comes with the others; the block is asked when the pipeline meets the choice
        code, transcript, asker = drive([pick(7), f"{cert}{ENTER}", f"{conf}{SUBMIT}", ENTER, pick(index), QUIT])
        assert "Which server block will the client reach?" in asker.asked
        assert len(asker.asked) <= MAX_QUESTIONS
        assert verdict in transcript, transcript
        assert code == (0 if index == 0 else 1)
