"""Opening PKCS#12 (PFX) containers: no password, then the empty one, then the user's."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import pkcs12

from mtls_doctor.pki.passwords import Passwords


def open_pkcs12(path: str, data: bytes, passwords: Passwords) -> tuple[pkcs12.PKCS12KeyAndCertificates, bool] | None:
    """The container and whether it needed a password; None when ``data`` is not PKCS#12 at all.

    Files exported with ``-passout pass:`` open with either None or b"", so both are tried before asking.
    """
    for attempt in (None, b""):
        try:
            return pkcs12.load_pkcs12(data, attempt), False
        except ValueError as exc:
            # cryptography says "Could not deserialize" for non-PKCS#12 data and "Invalid password" otherwise.
            if "deserialize" in str(exc):
                return None
    password = passwords.get(path)
    if password is None:
        raise passwords.missing(path, "PKCS#12 file")
    try:
        return pkcs12.load_pkcs12(data, password), True
    except ValueError:
        raise passwords.wrong(path, "PKCS#12 file") from None
