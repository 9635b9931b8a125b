"""Reading certificates, keys and CRLs from the files people actually have (PEM, DER, PKCS#7, PKCS#12)."""
