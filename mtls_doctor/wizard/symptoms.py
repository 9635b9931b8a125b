"""What a person sees, and which questions it makes worth asking (knowledge/probe-and-wizard.md §D2).

Every symptom leads to one branch. A pasted text is classified by `explain` (the catalogue's match table): the rule
it names first decides the branch, so the wizard and `explain` can never disagree about what a text means.
"""

from __future__ import annotations

import enum

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.engine.vocabulary import Stage


class Branch(enum.Enum):
    """The kind of failure, which decides the questions."""

    SENT_NOTHING = "sent-nothing"
    """The server got no certificate: the handshake worked. Which client connects decides whether CA names filter."""
    VERIFY = "verify"
    """A certificate arrived and was rejected (or the person just wants a check): client files and the server."""
    CLIENT_FILES = "client-files"
    """The client cannot even load its certificate or key: only the client's files."""
    EXPLAINED = "explained"
    """No client-certificate question arises (the server's own certificate, an RBAC filter): the explanation is the
    answer."""
    PASTE = "paste"
    """Not a branch: the person pastes the text, which is classified into one."""


SYMPTOMS: tuple[tuple[str, Branch], ...] = (
    ('nginx answers 400 "No required SSL certificate was sent"', Branch.SENT_NOTHING),
    ('nginx answers 400 "The SSL certificate error"', Branch.VERIFY),
    ("A TLS alert: certificate required, or handshake failure (TLS 1.2)", Branch.SENT_NOTHING),
    ("A TLS alert: unknown ca, bad certificate, certificate expired or revoked", Branch.VERIFY),
    ("The browser (or Java, Go) offers no certificate", Branch.SENT_NOTHING),
    ("curl exits 58 / the client cannot load its certificate or key", Branch.CLIENT_FILES),
    ("Paste what you see (an error line, a log line, a page)", Branch.PASTE),
    ("Nothing yet: check a client certificate against a server", Branch.VERIFY),
)
"""The first question's choices, symptom first."""

_SENT_NOTHING = frozenset({"MTLS006", "MTLS902", "MTLS407", "MTLS702", "MTLS605", "MTLS606"})


def classify(text: str, catalogue: Catalogue) -> tuple[Branch, str | None]:
    """The branch a pasted text leads to, and what it means (None when nothing in the catalogue knows it)."""
    from mtls_doctor.explain import explain  # noqa: PLC0415

    found = explain(text, catalogue)
    if found is None:
        return Branch.VERIFY, None
    if not found.rules:
        return Branch.EXPLAINED, found.summary
    first = found.rules[0]
    if first.id in _SENT_NOTHING:
        return Branch.SENT_NOTHING, found.summary
    if first.stage is Stage.INPUTS:
        return Branch.CLIENT_FILES, found.summary
    return Branch.VERIFY, found.summary


CLIENTS: tuple[tuple[str, str], ...] = (
    ("curl or openssl s_client", "curl"),
    ("Go (crypto/tls)", "go"),
    ("Java", "java"),
    (".NET", "dotnet"),
    ("A browser", "browser"),
    ("Python or Node", "python"),
)
"""Which client will really connect: it decides whether the CA names the server advertises filter the certificate."""

FILTERS_BY_CA_NAMES = frozenset({"go", "java", "browser", "dotnet"})
"""Clients that choose (or withhold) their certificate by the advertised CA names (knowledge §B2: J1, J4, G3, BR3;
.NET/Schannel filters by the server's trusted issuers list)."""
