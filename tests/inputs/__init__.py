"""Tests of how mtls-doctor reads the files people hand it: bad input, secrets, and the readers themselves."""
