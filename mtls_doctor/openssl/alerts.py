"""Which TLS alert an OpenSSL peer sends for each verify error (servers that fail the handshake, unlike nginx).

ssl/statem/statem_lib.c, x509table / ssl_x509err2alert (OpenSSL 3.x); codes from RFC 8446 §6 and RFC 5246 §7.2.
Unlisted verify errors give certificate_unknown (46).
"""

from __future__ import annotations

from typing import Final

ALERTS: Final[dict[int, str]] = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}

_BAD, _UNKNOWN_CA = 42, 48
VERIFY_ERROR_ALERT: Final[dict[int, int]] = {
    2: _UNKNOWN_CA, 3: _UNKNOWN_CA, 4: _BAD, 5: _BAD, 6: _BAD, 7: 51, 8: 51, 9: _BAD, 10: 45, 11: _BAD, 12: 45,
    13: _BAD, 14: _BAD, 15: _BAD, 16: _BAD, 17: 80, 18: _UNKNOWN_CA, 19: _UNKNOWN_CA, 20: _UNKNOWN_CA,
    21: _UNKNOWN_CA, 22: _UNKNOWN_CA, 23: 44, 24: _UNKNOWN_CA, 25: _UNKNOWN_CA, 26: 43, 27: _BAD, 28: _BAD,
    33: _UNKNOWN_CA, 50: 40, 62: _BAD, 63: _BAD, 64: _BAD, 65: _BAD, 66: _BAD, 67: _BAD, 68: _BAD, 69: 80,
    70: 80, 79: _UNKNOWN_CA, 94: _BAD,
}  # fmt: skip
"""X509_V_ERR_* code -> alert code, as OpenSSL's server sends it when it aborts the handshake."""


def codes_for_alert(alert: int) -> list[int]:
    """The verify errors an OpenSSL peer reports with ``alert`` (46 also covers every unlisted code)."""
    return sorted(code for code, a in VERIFY_ERROR_ALERT.items() if a == alert)
