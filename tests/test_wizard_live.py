"""The wizard against a live server: a real nginx on 127.0.0.1 (the sample's seed scenario) that the wizard probes
as ``check --connect`` does, with the nginx configuration given as a path, pasted, or not at all; within the
five-question budget, and with nothing secret in the transcript."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtls_doctor.cli.probe import live_check
from mtls_doctor.wizard.asker import MAX_QUESTIONS
from mtls_doctor.wizard.flow import CONFIG_QUESTION
from tests.conftest import SAMPLE, manifest, require_nginx
from tests.support import realnginx
from tests.test_wizard import ENTER, QUIT, SUBMIT, drive, mtls, pick

ROOT = SAMPLE.resolve()
SEED = ROOT / "scenarios" / "seed-missing-intermediate"
LIVE_VERDICT = "answered 400 The SSL certificate error"  # check --connect's verdict: what the server did
CAUSE = "MTLS301 intermediate-not-sent"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # a terminal's bracketed paste, as prompt_toolkit reads it


class Served:
    def __init__(self, port: int, conf: Path) -> None:
        self.port, self.conf = port, conf

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """nginx serving the seed scenario; beside it the block it serves with absolute paths (the configuration a
    person would give the wizard: no conf prefix to guess)."""
    require_nginx()
    work = tmp_path_factory.mktemp("wizard-live")
    sc = manifest().scenarios["seed-missing-intermediate"]
    with realnginx.serve([sc], ROOT, work) as running:
        port = running.ports[sc.name]
        block = realnginx.server_block(sc, ROOT, listen=f"127.0.0.1:{port}")
        absolute = re.sub(r"(ssl_\w+ )(certs|keys|scenarios)/", rf"\1{ROOT}/\2/", block)
        conf = work / "seed.conf"
        conf.write_text(absolute)
        yield Served(port, conf)


def _seed_answers(server: str, config: str | None) -> list[str]:
    """Symptom 400 The SSL certificate error, the seed's client (its key beside it, no chain), the server."""
    answers = [pick(1), f"{SEED / 'client.pem'}{ENTER}", ENTER, f"{server}{SUBMIT}"]
    return answers if config is None else [*answers, config]


def _run(answers: list[str]) -> tuple[int, str, list[str]]:
    code, transcript, asker = drive([*answers, QUIT], live=live_check)
    assert "PRIVATE KEY" not in transcript  # the secret scan: the key is sent in the handshake, never shown
    assert len(asker.asked) <= MAX_QUESTIONS, asker.asked
    assert len(asker.asked) == len(answers), asker.asked
    return code, transcript, asker.asked


def test_a_server_is_probed_live_and_gives_the_live_verdict(served: Served) -> None:
    code, transcript, asked = _run(_seed_answers(served.target, SUBMIT))  # the configuration: skipped
    assert CONFIG_QUESTION in asked
    assert code == 1, transcript
    assert f"✗ {served.target} {LIVE_VERDICT}" in transcript, transcript
    assert CAUSE in transcript
    assert "The same attempt, by hand:" in transcript  # the probe's narration: the handshake really happened
    assert "judging offline" not in transcript


def _verdict_lines(transcript: str) -> list[str]:
    # the server's Date: line is its clock, not a verdict: two runs a second apart differ there
    lines = transcript.splitlines()
    return [line for line in lines if (line.startswith(("✗", "✓")) or "MTLS" in line) and "Date: " not in line]


def test_a_pasted_configuration_reaches_the_same_verdict_as_its_path(served: Served) -> None:
    by_path = _run(_seed_answers(served.target, f"{served.conf}{SUBMIT}"))
    pasted = _run(_seed_answers(served.target, PASTE_START + served.conf.read_text() + PASTE_END + SUBMIT))
    for code, transcript, _ in (by_path, pasted):
        assert code == 1, transcript
        assert f"✗ {served.target} {LIVE_VERDICT}" in transcript
        assert CAUSE in transcript
    # the same findings; only where a setting is found differs (the file's name, or <stdin> as check --nginx - says)
    assert _verdict_lines(by_path[1].replace(str(served.conf), "<stdin>")) == _verdict_lines(pasted[1])
    assert "--nginx - --read-files" in _run_command(served, pasted_config=served.conf.read_text())


def _run_command(served: Served, *, pasted_config: str | None = None) -> str:
    """The transcript of the seed path, printing the equivalent command from the menu."""
    config = f"{served.conf}{SUBMIT}" if pasted_config is None else PASTE_START + pasted_config + PASTE_END + SUBMIT
    _, transcript, _ = drive([*_seed_answers(served.target, config), pick(3), QUIT], live=live_check)
    return transcript


def test_the_equivalent_command_probes_the_same_server(served: Served) -> None:
    transcript = _run_command(served)
    (command,) = [line for line in transcript.splitlines() if line.startswith("mtls-doctor check ")]
    assert command.endswith(f"--connect {served.target} --nginx {served.conf}")
    ran = mtls(*shlex.split(command)[1:], stdin="")
    assert ran.returncode == 1, ran.stderr
    assert f"✗ {served.target} {LIVE_VERDICT}" in ran.stdout
    assert CAUSE in ran.stdout


def test_a_pasted_configuration_offline_is_check_nginx_from_stdin(served: Served) -> None:
    """Without a server the pasted configuration is judged offline, as ``check --nginx -`` judges it."""
    pasted = PASTE_START + served.conf.read_text() + PASTE_END + SUBMIT
    code, transcript, asker = drive([*_seed_answers(pasted, None)[:3], pasted, ENTER, QUIT])
    assert len(asker.asked) <= MAX_QUESTIONS
    assert code == 1, transcript
    assert CAUSE in transcript
    assert "judging offline" in transcript


def test_a_client_that_filters_by_ca_names_is_probed_as_that_client(served: Served) -> None:
    """No certificate arrived, Java connects: the probe emulates Java (it sends nothing for the seed's chain, whose
    issuer is no advertised name), within the budget (no question left for the configuration)."""
    answers = [pick(0), pick(2), f"{SEED / 'client.pem'}{ENTER}", ENTER, f"{served.target}{SUBMIT}"]
    code, transcript, asked = _run(answers)
    assert CONFIG_QUESTION not in asked
    assert len(asked) == MAX_QUESTIONS
    assert code == 1, transcript
    assert f"Probe of {served.target} as java" in transcript
    assert "This is why nothing arrives" in transcript


@pytest.mark.parametrize("target", ["127.0.0.1:99999", "127.0.0.1:0"])
def test_a_server_that_cannot_be_probed_is_one_line(target: str) -> None:
    """A port out of range: one line naming it, no traceback, nothing contacted."""
    answers = [pick(1), f"{SEED / 'client.pem'}{ENTER}", ENTER, f"{target}{SUBMIT}", SUBMIT]
    code, transcript, _ = drive([*answers, QUIT], live=live_check)
    assert code == 2
    (line,) = [x for x in transcript.splitlines() if x.startswith("mtls-doctor: ")]
    assert target in line, transcript
