"""Where the live probe (``mtls-doctor probe``, ``check --connect``: built on another branch) plugs into the wizard.

When PROBE is set, the wizard asks for the server to probe (host:port) and passes its result to the same pipeline as
``check --connect``. Until then it is None and the wizard judges offline, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROBE: Callable[[str], Any] | None = None
"""``probe("host:port")`` → the probe's facts; None: no live probe in this version."""
