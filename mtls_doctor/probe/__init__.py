"""The live probe: a pyOpenSSL client on memory BIOs over one real socket, under one deadline, that observes a
server's handshake and its HTTP answer and explains them (knowledge: probe-and-wizard.md §A)."""
