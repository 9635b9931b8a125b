"""`python -m mtls_doctor` runs the command line."""

from mtls_doctor.cli import main

main()
