"""The sample PKI: reproducible certificates, keys, CRLs and one-defect scenarios for tests and experiments."""
