"""The server twin: what THIS nginx would conclude about a client, computed with OpenSSL itself."""
