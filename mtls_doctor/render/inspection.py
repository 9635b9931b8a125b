"""`mtls-doctor inspect` output: what is in each file, console or JSON. Keys are described, never shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mtls_doctor.engine.display import display
from mtls_doctor.facts.chain import leaf_purpose_ok
from mtls_doctor.facts.files import Inspected, InspectedCerts, KeyFile
from mtls_doctor.facts.model import Cert, CrlFile
from mtls_doctor.render.document import Blank, Document, Rows, Span, para
from mtls_doctor.render.json_report import SCHEMA_VERSION, cert_document, origin_document


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


def inspection_text(items: list[Inspected], *, now: datetime) -> Document:
    """What each file holds, as a document."""
    doc = Document()
    for item in items:
        if isinstance(item, InspectedCerts):
            _certs(item, doc, now)
        elif isinstance(item, KeyFile):
            doc.add(para(Span(f"{item.path}: private key, {item.public}", "bold")))
            doc.add(Rows((("encrypted", display(item.encrypted)), ("content", "never shown"))))
        else:
            _crls(item, doc, now)
        doc.add(Blank())
    return doc


def _certs(item: InspectedCerts, doc: Document, now: datetime) -> None:
    f = item.file
    doc.add(para(Span(f"{f.path}: {len(f.certs)} certificate(s), {f.format.value.upper()}", "bold")))
    for i, c in enumerate(f.certs):
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
    if not item.order.leaf_first:
        doc.add(
            para(
                Span("  ! the first certificate is a CA: curl takes the FIRST one as the client certificate", "yellow")
            )
        )
    for s in f.stray:
        doc.add(para(Span(f"  · {s}: {s.lines} line(s), not a certificate (content not shown)", "yellow")))
    if f.private_keys_inside:
        doc.add(
            para(Span(f"  · {f.private_keys_inside} private key(s) inside this file (content never shown)", "yellow"))
        )


def _crls(item: CrlFile, doc: Document, now: datetime) -> None:
    doc.add(para(Span(f"{item.path}: {len(item.crls)} CRL(s), {item.format.value.upper()}", "bold")))
    for c in item.crls:
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
