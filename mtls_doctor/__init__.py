"""mtls-doctor: finds why mutual TLS fails, and how to fix it."""

__version__ = "0.1.0"
