"""Tests of mtls_doctor.nginx: the configuration reader and the effective-settings model."""
