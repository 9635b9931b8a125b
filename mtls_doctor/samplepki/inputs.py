"""A scenario of the sample PKI as the Inputs of a diagnosis (and as the equivalent command line)."""

from __future__ import annotations

import shlex
from pathlib import Path

from mtls_doctor.inputs import DEBIAN_DEFAULT_SECLEVEL, NGINX_DEFAULT_VERIFY_DEPTH, Inputs
from mtls_doctor.samplepki.manifest import Scenario
from mtls_doctor.samplepki.write import scenario_files
from mtls_doctor.vocabulary import ClientModel, OcspMode


def scenario_inputs(sample_dir: Path, sc: Scenario) -> Inputs:
    """What `mtls-doctor check` is given for ``sc`` in a sample PKI written to ``sample_dir``."""
    files = scenario_files(sc)
    where = sample_dir / "scenarios" / sc.name

    def path(name: str | None) -> str | None:
        return str(where / name) if name else None

    return Inputs(
        cert=path(files.cert),
        key=path(files.key),
        chain=path(files.chain),
        ca=path(files.ca),
        trusted=path(files.trusted),
        crls=(str(where / files.crl),) if files.crl else (),
        verify_client=sc.verify_client,
        depth=sc.depth if sc.depth is not None else NGINX_DEFAULT_VERIFY_DEPTH,
        seclevel=sc.seclevel if sc.seclevel is not None else DEBIAN_DEFAULT_SECLEVEL,
        at=sc.server_time,
        ocsp=sc.ocsp,
        max_tls=f"TLSv{sc.tls}",
        client=ClientModel(sc.client_tool),
        issuers=tuple(str(sample_dir / place) for place in sc.issuers),
    )


def check_command(inputs: Inputs, *, relative_to: Path | None = None) -> str:
    """The `mtls-doctor check` command line for ``inputs``, runnable as written."""

    def rel(path: str) -> str:
        p = Path(path)
        if relative_to is not None and p.is_relative_to(relative_to):
            return str(p.relative_to(relative_to))
        return path

    argv = ["mtls-doctor", "check"]
    for flag, value in (
        ("--cert", inputs.cert),
        ("--key", inputs.key),
        ("--chain", inputs.chain),
        ("--ca", inputs.ca),
        ("--trusted", inputs.trusted),
    ):
        if value:
            argv += [flag, rel(value)]
    for crl in inputs.crls:
        argv += ["--crl", rel(crl)]
    for place in inputs.issuers:
        argv += ["--issuers", rel(place)]
    if inputs.verify_client.value != "on":
        argv += ["--verify-client", inputs.verify_client.value]
    if inputs.depth != NGINX_DEFAULT_VERIFY_DEPTH:
        argv += ["--depth", str(inputs.depth)]
    if inputs.seclevel != DEBIAN_DEFAULT_SECLEVEL:
        argv += ["--seclevel", str(inputs.seclevel)]
    if inputs.ocsp is not OcspMode.OFF:
        argv += ["--ocsp", inputs.ocsp.value]
    if inputs.ocsp_responder:
        argv += ["--ocsp-responder", inputs.ocsp_responder]
    if inputs.max_tls != "TLSv1.3":
        argv += ["--tls", inputs.max_tls.removeprefix("TLSv")]
    if inputs.client is not ClientModel.CURL:
        argv += ["--client", inputs.client.value]
    if inputs.at is not None:
        argv += ["--at", inputs.at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    return shlex.join(argv)
