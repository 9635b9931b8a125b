"""The live probe as the wizard uses it: ``check --connect`` (cli/probe.py ``live_check``), handed in by the command
line (cli/wizard.py) so the wizard never imports the command-line layer.

When the person names a server (HOST:PORT), the session runs it with the answers, and with the nginx configuration's
pipeline when one was given too (``check --connect --nginx``); without a server it judges offline, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mtls_doctor.diagnosis import Report
    from mtls_doctor.engine.catalogue import Catalogue
    from mtls_doctor.inputs import Inputs
    from mtls_doctor.pki.passwords import Passwords
    from mtls_doctor.probe.handshake import Observation


class LiveCheck(Protocol):
    """Probe ``target`` (and only it), diagnose what it did, print the report on ``out`` and return it; InputError
    (one line) for a target or a file that cannot be used."""

    def __call__(
        self,
        inputs: Inputs,
        target: str,
        *,
        passwords: Passwords,
        catalogue: Catalogue,
        with_config: Callable[[Inputs, Observation], Report] | None,
        out: IO[str],
    ) -> Report: ...
