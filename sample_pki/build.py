"""Regenerate the sample PKI from MANIFEST.toml: `python sample_pki/build.py` writes, `--check` compares.

The same manifest always gives the same bytes (keys are derived from names, signatures are deterministic), so
`--check` failing means the committed files and the manifest disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mtls_doctor.samplepki.manifest import load_manifest
from mtls_doctor.samplepki.write import differences, render, write

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    manifest_path = HERE / "MANIFEST.toml"
    files = render(load_manifest(manifest_path), manifest_path.read_bytes())
    if "--check" in argv:
        diff = differences(HERE, files)
        for rel in diff:
            print(f"differs: sample_pki/{rel}")  # noqa: T201 - a build script's report
        return 1 if diff else 0
    write(HERE, files)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
