"""Which page the server answered with: nginx's own client-certificate pages are told by their title (observed
with nginx 1.22.1: ngx_http_special_response.c's ngx_http_error_495_page, _496_page, _421_page)."""

from __future__ import annotations

import enum

from mtls_doctor.facts.verdict import CERT_ERROR_PAGE, NO_CERT_PAGE
from mtls_doctor.probe.http import HttpAnswer

MISDIRECTED = "Misdirected Request"


class Page(enum.Enum):
    """The kind of answer."""

    SERVED = "served"
    """2xx/3xx: the request was served."""
    CERT_ERROR = "cert_error"
    """nginx's 400 "The SSL certificate error" (internally 495)."""
    NO_CERT = "no_cert"
    """nginx's 400 "No required SSL certificate was sent" (internally 496)."""
    MISDIRECTED = "misdirected"
    """421: the Host header names another server than the SNI chose (nginx 1.22: ngx_http_validate_host)."""
    CUSTOM_495_496 = "custom_495_496"
    """A 495 or 496 status itself: an ``error_page 495 =495 ...`` or another server's own status."""
    OTHER_ERROR = "other_error"
    NOT_HTTP = "not_http"


def classify(answer: HttpAnswer) -> tuple[Page, str | None]:
    """The kind of page, and its name (the nginx page text, or the status line)."""
    status, title = answer.status, answer.title or ""
    if status is None:
        return Page.NOT_HTTP, None
    if status == 400 and title.endswith(CERT_ERROR_PAGE):
        return Page.CERT_ERROR, CERT_ERROR_PAGE
    if status == 400 and title.endswith(NO_CERT_PAGE):
        return Page.NO_CERT, NO_CERT_PAGE
    if status == 421:
        return Page.MISDIRECTED, MISDIRECTED
    if status in (495, 496):
        return Page.CUSTOM_495_496, answer.status_line
    if status < 400:
        return Page.SERVED, None
    return Page.OTHER_ERROR, title or answer.status_line
