"""Which questions a symptom needs, in order, within the budget (at most five from the symptom to the verdict).

Skipped when the symptom or the files already answer them: "which client" only when no certificate arrived (it
decides whether advertised CA names filter the certificate); the key when it sits next to the certificate
(``client.pem`` → ``client.key``) or inside it (PKCS#12); the chain unless the certificate file holds the leaf
alone; the error-log line when a text was pasted already, or when the last question must stay free for a
password.
"""

from __future__ import annotations

import re
from pathlib import Path

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.record import Record
from mtls_doctor.wizard.asker import Asker
from mtls_doctor.wizard.symptoms import CLIENTS, SYMPTOMS, Branch, classify

_KEY_NEIGHBOURS = (".key", "-key.pem", ".key.pem")
_CONTAINERS = (".p12", ".pfx")
_TARGET = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}")
"""A server to probe, as the person types it: HOST:PORT or [IPv6]:PORT, the port explicit (a bare word is more
likely a mistyped file name than a server on 443)."""
SERVER_QUESTION = (
    "The server: HOST:PORT to probe it live, a path to its nginx configuration or ssl_client_certificate file, "
    "or paste its configuration:"
)
CONFIG_QUESTION = "Its nginx configuration, if you have it: a path, or paste it:"


class Plan(Record):
    """The answers, and what the wizard inferred instead of asking."""

    branch: Branch
    pasted: str | None = None
    meaning: str | None = None
    """What the pasted text means (explain's summary)."""
    client: str | None = None
    cert: str | None = None
    key: str | None = None
    chain: str | None = None
    """Extra certificates the client sends after its certificate file (``check --chain``)."""
    server: str | None = None
    """An nginx configuration or a CA file (``server_is_nginx`` says which)."""
    server_is_nginx: bool = False
    server_text: str | None = None
    """A pasted nginx configuration (``check --nginx -``)."""
    connect: str | None = None
    """The server to probe live, HOST:PORT (``check --connect``): the only host the wizard contacts."""
    log_line: str | None = None
    notes: tuple[str, ...] = ()


def gather(asker: Asker, catalogue: Catalogue) -> Plan:
    """Ask what the symptom needs; never more than the asker's budget."""
    notes: list[str] = []
    branch: Branch = asker.select("What do you see?", SYMPTOMS)
    pasted = meaning = None
    if branch is Branch.PASTE:
        pasted = asker.text("Paste it (the error line, the log line or the page's title):")
        branch, meaning = classify(pasted, catalogue)
    if branch is Branch.EXPLAINED:
        return Plan(branch=branch, pasted=pasted, meaning=meaning)
    client = None
    if branch is Branch.SENT_NOTHING:
        client = asker.select("Which client will really connect?", CLIENTS)
    cert = asker.path("The client's certificate file (PEM, DER or PKCS#12; Tab completes):") or None
    key = None
    if cert and not cert.lower().endswith(_CONTAINERS):
        key = neighbour_key(cert)
        if key:
            notes.append(f"using the key next to the certificate: {key}")
        else:
            key = asker.path("Its private key file (Enter if it is inside the certificate file):") or None
    chain = None
    # A certificate file holding only the leaf: the intermediate is the seed case's missing piece (knowledge
    # seed-case.md). Asked only while a question stays free for the server (and for a password).
    if cert and _certificates_in(cert) == 1 and asker.left > 1 + (1 if may_need_password(cert, key) else 0):
        chain = asker.path("Extra certificates the client sends, a chain file (Enter if none):") or None
    # Every branch is judged against the server: without one, check's verdict is that nginx cannot start.
    answer = _server_answer(asker.paste(SERVER_QUESTION))
    server, server_text, connect = answer.path, answer.text, answer.target
    reserve = 1 if may_need_password(cert, key) else 0
    if connect is not None and asker.left > reserve:
        config = _server_answer(asker.paste(CONFIG_QUESTION))
        server, server_text = config.path, config.text
        if config.target is not None:
            notes.append(f"{config.target} is not a configuration: only {connect} is probed")
    is_nginx = server_text is not None or (server is not None and not _is_pem(server))
    if connect is not None and server is not None and not is_nginx:
        notes.append(f"{server} is a CA file: with a live server its trust settings are what the server shows")
        server = None
    if server_text is not None:
        notes.append("the pasted configuration's files were read on this machine (check --read-files)")
    if connect is None:
        notes.append("judging offline: no server to probe was given (answer HOST:PORT to probe one)")
    log_line = None
    if branch is Branch.VERIFY and pasted is None and asker.left > reserve:
        log_line = asker.text("The server's error-log line about it, if you have one (Enter to skip):") or None
    return Plan(
        branch=branch,
        pasted=pasted,
        meaning=meaning,
        client=client,
        cert=cert,
        key=key,
        chain=chain,
        server=server,
        server_is_nginx=is_nginx,
        server_text=server_text,
        connect=connect,
        log_line=log_line,
        notes=tuple(notes),
    )


class _Answer(Record):
    """What the server question's answer names: a file, a pasted configuration or a server to probe."""

    path: str | None = None
    text: str | None = None
    target: str | None = None


def _server_answer(answer: str) -> _Answer:
    """An existing file is a path; HOST:PORT a server; several lines, or one with nginx's ``{`` or ``;``, a pasted
    configuration; any other line a path (the pipeline says in one line why it cannot be read)."""
    if not answer:
        return _Answer()
    if "\n" not in answer and Path(answer).is_file():
        return _Answer(path=answer)
    if _TARGET.fullmatch(answer):
        return _Answer(target=answer)
    if "\n" in answer or "{" in answer or ";" in answer:
        return _Answer(text=answer + "\n")
    return _Answer(path=answer)


def neighbour_key(cert: str) -> str | None:
    """A key file named after the certificate, in its directory (``client.pem`` → ``client.key``)."""
    path = Path(cert)
    for suffix in _KEY_NEIGHBOURS:
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file() and candidate != path:
            return str(candidate)
    return None


def may_need_password(cert: str | None, key: str | None) -> bool:
    """A PKCS#12 file or an encrypted PEM key: loading it may ask for a password."""
    if cert and cert.lower().endswith(_CONTAINERS):
        return True
    return _head(key) is not None and "ENCRYPTED" in (_head(key) or "")


def _certificates_in(path: str) -> int:
    """PEM certificates at the start of a file (0 for DER, PKCS#12 or an unreadable file)."""
    return (_head(path) or "").count("-----BEGIN CERTIFICATE-----")


def _is_pem(path: str) -> bool:
    return "-----BEGIN" in (_head(path) or "")


def _head(path: str | None) -> str | None:
    """The first 64 KiB of a file as text (None when it cannot be read: the pipeline will say why, in one line)."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return None
