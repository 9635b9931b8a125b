"""Opening PKCS#12 (PFX) containers: no password, then the empty one, then the user's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm

from mtls_doctor.errors import InputError
from mtls_doctor.pki import der
from mtls_doctor.pki.passwords import Passwords

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.serialization.pkcs12 import PKCS12KeyAndCertificates


def open_pkcs12(path: str, data: bytes, passwords: Passwords) -> tuple[PKCS12KeyAndCertificates, bool] | None:
    """The container and whether it needed a password; None when ``data`` is not PKCS#12 at all.

    Files exported with ``-passout pass:`` open with either None or b"", so both are tried before asking.
    """
    from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: PLC0415 - only for PKCS#12 input

    for attempt in (None, b""):
        try:
            return pkcs12.load_pkcs12(data, attempt), False
        except ValueError as exc:
            # cryptography says "Could not deserialize" for non-PKCS#12 data and "Invalid password" otherwise.
            if "deserialize" in str(exc):
                return None
        except UnsupportedAlgorithm as exc:
            raise _unsupported(path, exc) from None
        except der.READ_ERRORS as exc:  # a certificate inside that cannot be read
            raise _unreadable(path, exc) from None
    password = passwords.get(path)
    if password is None:
        raise passwords.missing(path, "PKCS#12 file")
    try:
        return pkcs12.load_pkcs12(data, password), True
    except ValueError:
        raise passwords.wrong(path, "PKCS#12 file") from None
    except UnsupportedAlgorithm as exc:
        raise _unsupported(path, exc) from None
    except der.READ_ERRORS as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: str, exc: Exception) -> InputError:
    return InputError(path, f"is a PKCS#12 file holding a certificate that cannot be read ({der.reason(exc)})")


def _unsupported(path: str, exc: UnsupportedAlgorithm) -> InputError:
    return InputError(path, f"is a PKCS#12 file protected with an algorithm that cannot be read ({der.reason(exc)})")
