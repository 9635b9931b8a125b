"""What the server twin's handshake gives: the facts of one in-memory handshake against nginx's OpenSSL setup."""

from __future__ import annotations

from mtls_doctor.record import Record
from mtls_doctor.vocabulary import VerifyError


class TwinFacts(Record):
    """The server twin: an in-memory handshake against an OpenSSL server configured the way nginx does it."""

    cert_requested: bool
    cert_received: bool
    errors_seen: tuple[VerifyError, ...]
    """Every error the verification raised, in order (nginx's callback lets it go on)."""
    last_error: VerifyError | None
    """The one nginx logs: SSL_get_verify_result() returns the last error."""
    logged_codes: frozenset[int]
    errors_seen_codes: frozenset[int]
    acceptable_ca_names: tuple[str, ...]
    protocol: str | None
    handshake_error: str | None
    """The handshake itself failed (a TLS alert rather than an HTTP 400)."""
