"""OpenSSL vocabulary: verify error codes, and what differs between OpenSSL generations."""
