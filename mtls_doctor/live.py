"""`check --connect` and `probe`: read the client's files, probe the target, and diagnose what was seen through
the one server model (from the configuration given, or from what the handshake revealed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.facts.loading import Loader
from mtls_doctor.inputs import Inputs
from mtls_doctor.pki.certs import load_cert_file, load_key_from_bundle
from mtls_doctor.pki.keys import SigningKey, load_key_file
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.probe.handshake import Observation, Request, run
from mtls_doctor.probe.observed import SKEW_TOLERANCE, handshake_settings
from mtls_doctor.record import replace

MAX_NEARBY_FILES = 200
MAX_NEARBY_BYTES = 1024 * 1024


def client_credentials(inputs: Inputs, passwords: Passwords) -> tuple[tuple[x509.Certificate, ...], SigningKey | None]:
    """What curl sends: every certificate of --cert in file order, then --chain; and the key (InputError: exit 2)."""
    if not inputs.cert:
        return (), None
    bundle = load_cert_file(inputs.cert, what="client certificate", passwords=passwords)
    chain = [c.cert for c in bundle.certs]
    if inputs.chain:
        chain += [c.cert for c in load_cert_file(inputs.chain, what="chain", passwords=passwords).certs]
    loaded = load_key_file(inputs.key, passwords) if inputs.key else load_key_from_bundle(bundle, passwords)
    return tuple(chain), loaded.key if loaded is not None else None


def connect_report(
    inputs: Inputs,
    request: Request,
    *,
    now: Callable[[], datetime],
    passwords: Passwords,
    catalogue: Catalogue,
    with_config: Callable[[Inputs, Observation], Report] | None = None,
    loader: Loader | None = None,
) -> Report:
    """Probe, then diagnose. ``with_config``: the --nginx pipeline (the configuration's prediction, compared with
    the observation); without it the server's settings are what the handshake revealed. ``loader``: the reader of
    the certificate files, shared by the probes of one run (each file read once for all the targets)."""
    observation = run(request)
    local = now()
    answer = observation.answer
    date = answer.date if answer is not None else None
    if inputs.at is None and date is not None and abs(date - local) > SKEW_TOLERANCE:
        inputs = replace(inputs, at=date)  # judge at the server's clock, as its Date header shows it
    if with_config is not None:
        return with_config(inputs, observation)
    found = _inferred_store(observation, request, inputs)
    if not isinstance(found, bytes):
        return _diagnose_handshake(
            inputs, observation, found, local=local, passwords=passwords, catalogue=catalogue, loader=loader
        )
    import tempfile  # noqa: PLC0415 - rarely needed, and tempfile (with shutil and random) is ~2 ms of start-up

    with tempfile.TemporaryDirectory(prefix="mtls-doctor-") as work:  # only for a store gathered from several files
        store = Path(work) / "advertised-names.pem"
        store.write_bytes(found)
        return _diagnose_handshake(
            inputs, observation, store, local=local, passwords=passwords, catalogue=catalogue, loader=loader
        )


def _diagnose_handshake(
    inputs: Inputs,
    observation: Observation,
    store: Path | None,
    *,
    local: datetime,
    passwords: Passwords,
    catalogue: Catalogue,
    loader: Loader | None,
) -> Report:
    server = handshake_settings(observation, str(store) if store else None)
    notes = server.inference.notes if server.inference is not None else ()
    return diagnose(
        replace(inputs, server=server),
        now=local,
        passwords=passwords,
        catalogue=catalogue,
        observation=observation,
        assumptions=notes,
        loader=loader,
    )


def _inferred_store(obs: Observation, request: Request, inputs: Inputs) -> Path | bytes | None:
    """The certificates at hand (the client's files, --issuers, PEM files next to --cert) whose subject is a name the
    server advertised: the best guess of its ssl_client_certificate. A file that holds exactly them is named as it
    is; otherwise their PEM. None when there is none."""
    names = set(obs.ca_names)
    if not names:
        return None
    found: dict[bytes, x509.Certificate] = {}
    whole_files: list[Path] = []
    """Files every certificate of which has an advertised name: named as they are, rather than a copy."""
    for cert in request.chain:
        if cert.subject.rfc4514_string() in names:
            found[cert.fingerprint(_sha256())] = cert
    places = [Path(p) for p in inputs.issuers]
    if inputs.cert:
        places.append(Path(inputs.cert).parent)
    files: list[Path] = []
    for place in places:
        if place.is_dir():
            files += sorted(p for p in place.iterdir() if p.suffix in (".pem", ".crt", ".cer"))[:MAX_NEARBY_FILES]
        elif place.is_file():
            files.append(place)
    for path in files[:MAX_NEARBY_FILES]:
        try:
            if path.stat().st_size > MAX_NEARBY_BYTES:
                continue
            certs = x509.load_pem_x509_certificates(path.read_bytes())
            for cert in certs:
                if cert.subject.rfc4514_string() in names:
                    found[cert.fingerprint(_sha256())] = cert
            if all(c.subject.rfc4514_string() in names for c in certs):
                whole_files.append(path)
        except (OSError, ValueError):
            continue  # not a certificate file: nothing to infer from it
    if not found:
        return None
    for path in whole_files:
        if {c.fingerprint(_sha256()) for c in x509.load_pem_x509_certificates(path.read_bytes())} == set(found):
            return path  # exactly the certificates found: the fix can name the file itself
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in found.values())


def _sha256() -> hashes.HashAlgorithm:
    return hashes.SHA256()
