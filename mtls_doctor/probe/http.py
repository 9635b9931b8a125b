"""The one HTTP request of a probe, and what its answer says: status, the Date header, the page.

The request is HTTP/1.1 with ``Connection: close``, so the server ends the answer by closing; the probe reads at
most MAX_BODY bytes of it. Everything here parses what a server sent: it never raises on it.
"""

from __future__ import annotations

import re
from datetime import datetime

from mtls_doctor.record import Record

MAX_BODY = 64 * 1024
"""Bytes of the answer kept (head and body): nginx's error pages are a few hundred bytes."""

# Patterns, not compiled objects: re compiles and caches them on first use, not at every start-up.
_STATUS = rb"^HTTP/(\d\.\d) (\d{3})(?: ([^\r\n]*))?"
_TITLE = rb"<title>\s*([^<]{0,300}?)\s*</title>"


class HttpAnswer(Record):
    """The server's answer, as far as it came."""

    status: int | None
    """None: what came back is not HTTP."""
    status_line: str
    headers: tuple[tuple[str, str], ...]
    date: datetime | None
    """The ``Date:`` header: the server's clock (RFC 9110 §6.6.1)."""
    title: str | None
    """The HTML title of the body (nginx's own pages: ``400 The SSL certificate error``)."""
    body: bytes


def request(host: str, path: str) -> bytes:
    """The request: GET ``path`` with ``Host: host``."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "User-Agent: mtls-doctor", "Accept: */*", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def parse(raw: bytes) -> HttpAnswer:
    """What ``raw`` (the first bytes of the answer) says."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    match = re.match(_STATUS, lines[0]) if lines else None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        raw_name, sep, raw_value = line.partition(b":")
        if sep:
            headers.append((raw_name.decode("latin-1").strip(), raw_value.decode("latin-1").strip()))
    date = None
    for name, value in headers:
        if name.lower() == "date":
            from email.utils import parsedate_to_datetime  # noqa: PLC0415 - 15 ms of start-up: only with a Date

            try:
                date = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                date = None
            if date is not None and date.tzinfo is None:
                date = None  # RFC 9110 dates are GMT; a date without a zone says nothing comparable
    title = re.search(_TITLE, body, re.IGNORECASE)
    return HttpAnswer(
        status=int(match.group(2)) if match else None,
        status_line=lines[0].decode("latin-1")[:200] if lines else "",
        headers=tuple(headers),
        date=date,
        title=title.group(1).decode("utf-8", "replace") if title else None,
        body=body,
    )
