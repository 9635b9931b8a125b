"""Laying the sample PKI out as files: shared certs/keys/crls, and one ready-to-use directory per scenario."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtls_doctor.record import Record
from mtls_doctor.samplepki.issue import Issued, filler_cas, issue_all, issue_crl, key_pkcs8
from mtls_doctor.samplepki.manifest import Manifest, Scenario
from mtls_doctor.vocabulary import OcspMode

_PEM = serialization.Encoding.PEM
_DER = serialization.Encoding.DER

SERVER_CONF = "server.conf"
"""Each scenario directory's nginx server block (paths relative to the sample PKI's root)."""
SERVER_LISTEN = "    listen 8443 ssl;"
"""The listen line of every server.conf: the one line a harness serving them rewrites (to an ephemeral port)."""


class ScenarioFiles(Record):
    """The file names (relative to the scenario directory) a scenario provides; None when it has no such file."""

    cert: str | None
    key: str | None
    chain: str | None
    ca: str | None
    trusted: str | None
    crl: str | None


def scenario_files(sc: Scenario) -> ScenarioFiles:
    """Which files the directory of ``sc`` holds."""
    cert = None
    if sc.client:
        cert = "client.der" if sc.cert_format == "der" else "client.pem"
    return ScenarioFiles(
        cert=cert,
        key="client.key" if sc.client else None,
        chain="chain.pem" if sc.chain else None,
        ca=("ca.der" if sc.ca_format == "der" else "ca.pem") if sc.ca else None,
        trusted="trusted.pem" if sc.trusted else None,
        crl=("crl.der" if sc.crl_format == "der" else "crl.pem") if sc.crl else None,
    )


def render(manifest: Manifest, manifest_text: bytes) -> dict[str, bytes]:
    """Every file of the sample PKI, by relative path. Pure: the same manifest gives the same bytes."""
    issued = issue_all(manifest)
    files: dict[str, bytes] = {"MANIFEST.toml": manifest_text}
    for name, item in issued.items():
        files[f"certs/{name}.pem"] = item.cert.public_bytes(_PEM)
        files[f"keys/{name}.key"] = _key_pem(item)
    crls = {name: issue_crl(spec, issued, manifest).public_bytes(_PEM) for name, spec in manifest.crls.items()}
    for name, data in crls.items():
        files[f"crls/{name}.pem"] = data
    for sc in manifest.scenarios.values():
        where = f"scenarios/{sc.name}"
        names = scenario_files(sc)
        if names.cert:
            files[f"{where}/{names.cert}"] = _client_file(sc, issued)
            files[f"{where}/{names.key}"] = _key_pem(issued[sc.key or sc.client[0]])
        if names.chain:
            files[f"{where}/{names.chain}"] = _bundle(sc.chain, issued)
        if names.ca:
            fillers = b"".join(c.public_bytes(_PEM) for c in filler_cas(sc.ca_fillers)) if sc.ca_fillers else b""
            ca = _bundle(sc.ca, issued) + fillers + b"".join(crls[n] for n in sc.ca_crls)
            files[f"{where}/{names.ca}"] = issued[sc.ca[0]].cert.public_bytes(_DER) if sc.ca_format == "der" else ca
        if names.trusted:
            files[f"{where}/{names.trusted}"] = _bundle(sc.trusted, issued)
        if names.crl:
            pem = b"".join(crls[n] for n in sc.crl) + _bundle(sc.crl_certs, issued)
            files[f"{where}/{names.crl}"] = (
                x509.load_pem_x509_crl(pem).public_bytes(_DER) if sc.crl_format == "der" else pem
            )
        files[f"{where}/{SERVER_CONF}"] = server_conf(sc, manifest.server_cert).encode()
    return files


def server_conf(sc: Scenario, server_cert: str) -> str:
    """The nginx ``server { }`` block of ``sc``, as scenarios/<name>/server.conf holds it.

    Every path is relative to the sample PKI's root, so nginx resolves them against its conf prefix when its main
    configuration file sits in that root, and `mtls-doctor check --nginx scenarios/<name>/server.conf --prefix ROOT`
    resolves them the same way. tests/support/realnginx.py serves exactly this text, with only the listen line
    changed (an ephemeral port on 127.0.0.1, and an info-level error_log on the same line).
    """
    files = scenario_files(sc)
    where = f"scenarios/{sc.name}"
    lines = [
        f"# sample PKI scenario {sc.name}: paths are relative to the sample PKI's root (nginx's conf prefix), e.g.",
        f"#   mtls-doctor check --nginx {where}/{SERVER_CONF} --prefix . --cert ... --key ...",
        "server {",
        SERVER_LISTEN,
        "    server_name localhost;",
        f"    ssl_certificate certs/{server_cert}.pem;",
        f"    ssl_certificate_key keys/{server_cert}.key;",
        "    ssl_protocols TLSv1.2 TLSv1.3;" if sc.tls == "1.3" else "    ssl_protocols TLSv1.2;",
    ]
    if files.ca:
        lines.append(f"    ssl_client_certificate {where}/{files.ca};")
    if files.trusted:
        lines.append(f"    ssl_trusted_certificate {where}/{files.trusted};")
    if files.crl:
        lines.append(f"    ssl_crl {where}/{files.crl};")
    lines.append(f"    ssl_verify_client {sc.verify_client.value};")
    if sc.ocsp is not OcspMode.OFF:
        lines.append(f"    ssl_ocsp {sc.ocsp.value};")
    if sc.depth is not None:
        lines.append(f"    ssl_verify_depth {sc.depth};")
    if sc.seclevel is not None:
        lines.append(f"    ssl_ciphers DEFAULT:@SECLEVEL={sc.seclevel};")
    lines += ['    location / { return 200 "verify=$ssl_client_verify\\n"; }', "}"]
    return "\n".join(lines) + "\n"


def write(dest: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` under ``dest`` (directories created as needed)."""
    for rel, data in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def differences(dest: Path, files: dict[str, bytes]) -> list[str]:
    """Relative paths under ``dest`` that differ from ``files``: missing, changed, or not produced any more."""
    diff = [rel for rel, data in files.items() if not (dest / rel).is_file() or (dest / rel).read_bytes() != data]
    for sub in ("certs", "keys", "crls", "scenarios"):
        for path in sorted((dest / sub).rglob("*")) if (dest / sub).is_dir() else ():
            rel = path.relative_to(dest).as_posix()
            if path.is_file() and rel not in files:
                diff.append(rel)
    return diff


def _bundle(names: tuple[str, ...], issued: dict[str, Issued]) -> bytes:
    return b"".join(issued[n].cert.public_bytes(_PEM) for n in names)


def _client_file(sc: Scenario, issued: dict[str, Issued]) -> bytes:
    if sc.cert_format == "der":
        # DER holds exactly one certificate: the client can send nothing else from it.
        return issued[sc.client[0]].cert.public_bytes(_DER)
    if sc.cert_format == "pem-with-text":
        # What `openssl s_client -showcerts` or `openssl x509 -text` leave around blocks, as people paste it.
        return b"".join(
            f"subject={issued[n].cert.subject.rfc4514_string()}\nissuer={issued[n].cert.issuer.rfc4514_string()}\n".encode()
            + issued[n].cert.public_bytes(_PEM)
            + b"\n"
            for n in sc.client
        )
    return _bundle(sc.client, issued)


def _key_pem(item: Issued) -> bytes:
    b64 = base64.encodebytes(key_pkcs8(item)).replace(b"\n", b"")
    lines = b"".join(b64[i : i + 64] + b"\n" for i in range(0, len(b64), 64))
    return b"-----BEGIN PRIVATE KEY-----\n" + lines + b"-----END PRIVATE KEY-----\n"
