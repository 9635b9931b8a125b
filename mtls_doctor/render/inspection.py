"""`mtls-doctor inspect` output: what is in each file, console or JSON. Keys are described, never shown."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from mtls_doctor.engine.display import display, shell
from mtls_doctor.facts.chain import leaf_purpose_ok
from mtls_doctor.facts.files import Inspected, InspectedCerts, KeyFile
from mtls_doctor.facts.model import Cert, CertFile, CrlFile
from mtls_doctor.render.document import Blank, Document, Rows, Span, para
from mtls_doctor.render.json_report import SCHEMA_VERSION, cert_document, origin_document
from mtls_doctor.vocabulary import Origin


def inspection_document(items: list[Inspected], *, now: datetime) -> dict[str, Any]:
    """The inspected files as plain data."""
    files: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, InspectedCerts):
            files.append(
                {
                    "path": item.file.path,
                    "kind": "certificates",
                    "format": item.file.format.value,
                    "certificates": [{**cert_document(c), **_judgement(c, now)} for c in item.file.certs],
                    "issued_by_next": list(item.order.issued_by_next),
                    "leaf_first": item.order.leaf_first,
                    "private_keys_inside": item.file.private_keys_inside,
                    "stray": [
                        {"kind": s.kind, "lines": s.lines, "origin": origin_document(s.origin)} for s in item.file.stray
                    ],
                }
            )
        elif isinstance(item, KeyFile):
            files.append(
                {"path": item.path, "kind": "private key", "key": str(item.public), "encrypted": item.encrypted}
            )
        else:
            files.append(
                {
                    "path": item.path,
                    "kind": "crl",
                    "format": item.format.value,
                    "crls": [
                        {
                            "issuer": c.issuer,
                            "this_update": c.this_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "next_update": c.next_update.strftime("%Y-%m-%dT%H:%M:%SZ") if c.next_update else None,
                            "revoked": c.revoked_count,
                        }
                        for c in item.crls
                    ],
                }
            )
    return {"schema_version": SCHEMA_VERSION, "observed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "files": files}


def _judgement(c: Cert, now: datetime) -> dict[str, Any]:
    return {
        "valid_now": c.not_before <= now <= c.not_after,
        "ssl_client_purpose": leaf_purpose_ok(c) if not c.is_ca else None,
        "self_signed": c.self_signed,
    }


SUMMARY_OVER = 40
"""A file with more entries (certificates, CRLs) than this, about a screenful of them, is summarised first."""
FIRST_SHOWN = 10
"""How many entries of a summarised file are shown in full (``--all``: every one)."""
EXPIRING_DAYS = 30


def inspection_text(items: list[Inspected], *, now: datetime, show_all: bool = False) -> Document:
    """What each file holds, as a document; a file of more than SUMMARY_OVER entries gets a summary and its first
    FIRST_SHOWN entries, unless ``show_all``."""
    doc = Document()
    for item in items:
        if isinstance(item, InspectedCerts):
            _certs(item, doc, now, show_all=show_all)
        elif isinstance(item, KeyFile):
            doc.add(
                para(
                    Span(f"{item.path}: private key, {item.public} ({item.public.security_bits} security bits)", "bold")
                )
            )
            doc.add(Rows((("encrypted", display(item.encrypted)), ("content", "never shown"))))
        else:
            _crls(item, doc, now, show_all=show_all)
        doc.add(Blank())
    return doc


def _summarised(count: int, show_all: bool) -> bool:
    return count > SUMMARY_OVER and not show_all


def _more(doc: Document, path: str, hidden: int, what: str) -> None:
    doc.add(
        para(Span(f"  … {hidden} more {what} not shown: mtls-doctor inspect --all {shell(path)} shows them", "dim"))
    )


def _summary(f: CertFile, now: datetime) -> Rows:
    """Counts by kind, the expiry range and how many are expired or expiring, duplicate certificates."""
    soon = now + timedelta(days=EXPIRING_DAYS)
    roles = Counter("CA" if c.is_ca else "end entity" if c.is_ca is False else "no basicConstraints" for c in f.certs)
    blocks: dict[str, list[Origin]] = {}
    for c in f.certs:
        blocks.setdefault(c.sha256, []).append(c.origin)
    repeated = [origins for origins in blocks.values() if len(origins) > 1]
    rows = [
        ("certificates", f"{len(f.certs)}: " + ", ".join(f"{n} {role}" for role, n in roles.most_common())),
        ("private keys", f"{f.private_keys_inside} (content never shown)"),
        ("stray text", f"{len(f.stray)} block(s) that are not certificates (content not shown)"),
        (
            "expiry",
            f"{display(min(c.not_after for c in f.certs))} … {display(max(c.not_after for c in f.certs))}: "
            f"{sum(c.not_after < now for c in f.certs)} expired, "
            f"{sum(now <= c.not_after <= soon for c in f.certs)} expiring within {EXPIRING_DAYS} days, "
            f"{sum(c.not_before > now for c in f.certs)} not valid yet",
        ),
        (
            "duplicates",
            f"{sum(len(o) - 1 for o in repeated)} (same SHA-256"
            + (f"; e.g. {', '.join(str(o) for o in repeated[0][:3])})" if repeated else ")"),
        ),
    ]
    return Rows(tuple(rows))


def _certs(item: InspectedCerts, doc: Document, now: datetime, *, show_all: bool) -> None:
    f = item.file
    doc.add(para(Span(f"{f.path}: {len(f.certs)} certificate(s), {f.format.value.upper()}", "bold")))
    summarised = _summarised(len(f.certs) + len(f.stray), show_all)
    if summarised:
        doc.add(_summary(f, now))
    shown = f.certs[:FIRST_SHOWN] if summarised else f.certs
    for i, c in enumerate(shown):
        state = (
            "valid now" if c.not_before <= now <= c.not_after else ("EXPIRED" if now > c.not_after else "NOT VALID YET")
        )
        if c.is_ca is None:
            role = "no basicConstraints"
        elif c.is_ca:
            role = "CA" + (f", pathlen {c.path_length}" if c.path_length is not None else "")
        else:
            role = "end entity"
        rows = [
            ("subject", c.subject),
            ("issuer", c.issuer + ("  (self-signed)" if c.self_signed else "")),
            ("serial", c.serial),
            ("validity", f"{display(c.not_before)} → {display(c.not_after)}  ({state})"),
            ("key", f"{c.key} ({c.key.security_bits} security bits)"),
            ("signature", c.signature_algorithm),
            ("role", role),
            ("keyUsage", display(c.key_usage)),
            ("extKeyUsage", display(c.eku) if c.eku is not None else "none (no purpose restriction)"),
        ]
        if c.ns_cert_type is not None:
            rows.append(("nsCertType", display(c.ns_cert_type)))
        if c.san:
            rows.append(("subjectAltName", display(c.san)))
        if c.name_constraints:
            nc = c.name_constraints
            rows.append(("nameConstraints", f"permitted {display(nc.permitted)}; excluded {display(nc.excluded)}"))
        if c.unknown_critical_extensions:
            rows.append(("unknown critical", display(c.unknown_critical_extensions)))
        rows.append(("SKI / AKI", f"{c.subject_key_id or '-'} / {c.authority_key_id or '-'}"))
        rows.append(("SHA-256", c.sha256))
        if not c.is_ca:
            ok = leaf_purpose_ok(c)
            rows.append(("SSL client", "yes" if ok else "NO: OpenSSL's sslclient purpose fails (verify error 26)"))
        doc.add(para(Span(f" [{i + 1}] {c.origin}", "cyan")), Rows(tuple(rows), indent=4))
        if i < len(item.order.issued_by_next):
            linked = item.order.issued_by_next[i]
            text = "↑ issued by the next certificate" if linked else "✗ NOT issued by the next certificate"
            doc.add(para(Span(f"     {text}", "green" if linked else "yellow")))
    if len(shown) < len(f.certs):
        _more(doc, f.path, len(f.certs) - len(shown), "certificate(s)")
    if not item.order.leaf_first:
        doc.add(
            para(
                Span("  ! the first certificate is a CA: curl takes the FIRST one as the client certificate", "yellow")
            )
        )
    strays = f.stray[:FIRST_SHOWN] if summarised else f.stray
    for s in strays:
        doc.add(para(Span(f"  · {s}: {s.lines} line(s), not a certificate (content not shown)", "yellow")))
    if len(strays) < len(f.stray):
        _more(doc, f.path, len(f.stray) - len(strays), "stray block(s)")
    if f.private_keys_inside:
        doc.add(
            para(Span(f"  · {f.private_keys_inside} private key(s) inside this file (content never shown)", "yellow"))
        )


def _crls(item: CrlFile, doc: Document, now: datetime, *, show_all: bool) -> None:
    doc.add(para(Span(f"{item.path}: {len(item.crls)} CRL(s), {item.format.value.upper()}", "bold")))
    shown = item.crls[:FIRST_SHOWN] if _summarised(len(item.crls), show_all) else item.crls
    for c in shown:
        current = c.this_update <= now and (c.next_update is None or now <= c.next_update)
        doc.add(
            Rows(
                (
                    ("issuer", c.issuer),
                    ("this update", display(c.this_update)),
                    ("next update", display(c.next_update)),
                    ("revoked", str(c.revoked_count)),
                    ("state", "current" if current else "NOT CURRENT"),
                )
            ),
            Blank(),
        )
    if len(shown) < len(item.crls):
        _more(doc, item.path, len(item.crls) - len(shown), "CRL(s)")
