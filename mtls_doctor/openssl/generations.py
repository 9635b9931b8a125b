"""What differs between the OpenSSL the twin runs (the one bundled with cryptography, 4.x) and the one nginx links.

Each difference here was observed: the same scenario served by nginx 1.22.1 on OpenSSL 3.0.19 and run through the
twin. Everything not listed was observed to be identical (sample_pki/MANIFEST.toml, 97 scenarios).
"""

from __future__ import annotations

import enum

from mtls_doctor.facts.model import VerifyError
from mtls_doctor.openssl.verify_codes import verify_name, verify_text

_SELF_SIGNED_LEAF = 18
_NO_CRL = 3


class OpenSSLGeneration(enum.Enum):
    """The OpenSSL line nginx is linked with."""

    V3 = "3"
    """OpenSSL 3.0-3.x (Debian 12, Ubuntu 22.04/24.04, RHEL 9): the twin's results are adjusted."""
    V4 = "4"
    """OpenSSL 4.x: the twin's own generation, nothing to adjust."""


def adjust_errors(
    errors: tuple[VerifyError, ...], *, generation: OpenSSLGeneration, crl_check: bool, leaf_subject: str | None
) -> tuple[VerifyError, ...]:
    """The errors nginx's OpenSSL would raise, given those the twin's OpenSSL raised.

    Self-signed leaf with ssl_crl: OpenSSL 3.0 goes on to check_revocation for the lone certificate, finds no CRL
    issued by it and raises 3 after 18 (nginx logs 3); OpenSSL 4.0 stops at 18. Observed: scenario
    self-signed-client-with-crl.
    """
    if generation is OpenSSLGeneration.V3 and crl_check and errors and errors[-1].code == _SELF_SIGNED_LEAF:
        last = errors[-1]
        if last.depth == 0 and leaf_subject is not None:
            extra = VerifyError(
                code=_NO_CRL, name=verify_name(_NO_CRL), text=verify_text(_NO_CRL), depth=0, subject=leaf_subject
            )
            return (*errors, extra)
    return errors
