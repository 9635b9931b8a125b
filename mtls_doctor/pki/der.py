"""Minimal DER reading: the length of the first TLV, enough to pull a certificate out of OpenSSL's aux formats."""

from __future__ import annotations


def first_tlv_length(data: bytes) -> int | None:
    """Total length (header + content) of the first DER element of ``data``; None when it does not fit."""
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        total = 2 + first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        total = 2 + count + int.from_bytes(data[2 : 2 + count], "big")
    return total if total <= len(data) else None
