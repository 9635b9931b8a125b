"""The readers of mtls_doctor/pki, in-process: what they keep (order, origins, stray content), what they never keep
(key material, passwords, the text between blocks), and every container format people hand over."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtls_doctor.errors import InputError, PasswordError
from mtls_doctor.pki import der
from mtls_doctor.pki.certs import CertBundle, chain_order, load_cert_file, load_key_from_bundle
from mtls_doctor.pki.crls import load_crl_file
from mtls_doctor.pki.files import Content, Encoding, content_of, read_input, sniff
from mtls_doctor.pki.keys import LoadedKey, load_key_file
from mtls_doctor.pki.passwords import PASSWORD_ENV, Passwords
from mtls_doctor.pki.pem import split_pem
from mtls_doctor.vocabulary import FileFormat, Origin, Stray
from tests.conftest import SAMPLE
from tests.inputs import material as m
from tests.inputs.material import GOOD, PASSWORD, write

NO_PASSWORD = Passwords()


def _subjects(bundle: CertBundle) -> list[x509.Name]:
    return [c.cert.subject for c in bundle.certs]


def _spki(key: LoadedKey) -> bytes:
    return key.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


ALICE_SPKI = (
    m.key().public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
)


@pytest.fixture(autouse=True)
def _no_password_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


# --- PEM bundles -----------------------------------------------------------------------------------------------


def test_pem_bundle_in_any_order_keeps_file_order_and_origins(tmp_path: Path) -> None:
    """Root, leaf, issuing CA stay in that order; each has its block number and the line of its BEGIN."""
    root, leaf, issuing = m.root(), m.leaf(), m.chain()[1]
    path = write(tmp_path / "bundle.pem", m.pem_of(root, leaf, issuing))
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert bundle.format is FileFormat.PEM
    assert _subjects(bundle) == [root.subject, leaf.subject, issuing.subject]
    lines = [1]
    for cert in (root, leaf):
        lines.append(lines[-1] + cert.public_bytes(m.PEM).count(b"\n"))
    assert [c.origin for c in bundle.certs] == [Origin(source=path, block=i + 1, line=n) for i, n in enumerate(lines)]
    assert bundle.stray == ()
    assert bundle.key_blocks == ()


def test_crlf_line_endings_read_like_lf_with_the_same_line_numbers(tmp_path: Path) -> None:
    """A bundle saved with Windows line endings gives the same certificates at the same lines."""
    text = m.pem_of(m.leaf(), m.chain()[1])
    lf = load_cert_file(write(tmp_path / "lf.pem", text), what="CA", passwords=NO_PASSWORD)
    crlf = load_cert_file(write(tmp_path / "crlf.pem", text.replace(b"\n", b"\r\n")), what="CA", passwords=NO_PASSWORD)
    assert _subjects(crlf) == _subjects(lf)
    assert [c.origin.line for c in crlf.certs] == [c.origin.line for c in lf.certs]
    assert crlf.stray == ()


def test_utf8_byte_order_mark_is_not_stray_content(tmp_path: Path) -> None:
    """A file starting with a UTF-8 BOM (Notepad) reads as if it had none."""
    path = write(tmp_path / "bom.pem", b"\xef\xbb\xbf" + m.pem_of(m.leaf()))
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert _subjects(bundle) == [m.leaf().subject]
    assert bundle.stray == ()


def test_indented_blocks_are_read(tmp_path: Path) -> None:
    """Blocks indented by spaces (pasted from YAML or an e-mail) are read, as OpenSSL does."""
    text = b"".join(b"    " + line for line in m.pem_of(m.leaf(), m.root()).splitlines(keepends=True))
    bundle = load_cert_file(write(tmp_path / "indented.pem", text), what="CA", passwords=NO_PASSWORD)
    assert _subjects(bundle) == [m.leaf().subject, m.root().subject]


def test_text_between_blocks_becomes_stray_with_line_numbers_and_no_content(tmp_path: Path) -> None:
    """`openssl x509 -text` output around and between blocks is kept as Stray(kind="text") with its first line and
    line count; the text itself is stored nowhere in the bundle."""
    leaf, issuing = m.leaf().public_bytes(m.PEM), m.chain()[1].public_bytes(m.PEM)
    before = b"subject=CN = alice\nissuer=CN = Client Issuing CA\n"
    between = b"\nBag Attributes zebra-marker-7731\n    friendlyName: alice\n\n"
    path = write(tmp_path / "annotated.pem", before + leaf + between + issuing)
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert _subjects(bundle) == [m.leaf().subject, m.chain()[1].subject]
    second_gap = 3 + leaf.count(b"\n") + 1  # the blank line after END is not content
    assert bundle.stray == (
        Stray(origin=Origin(source=path, line=1), kind="text", lines=2),
        Stray(origin=Origin(source=path, line=second_gap), kind="text", lines=2),
    )
    assert "zebra-marker-7731" not in repr(bundle)
    assert [c.origin.line for c in bundle.certs] == [3, 3 + leaf.count(b"\n") + 4]


def test_key_block_inside_cert_file_is_counted_as_stray_private_key_and_usable(tmp_path: Path) -> None:
    """A cert+key PEM (what curl takes as --cert alone): the key block is a Stray of kind "private key", kept for
    the key reader, which loads it as the client's key."""
    leaf_text = m.pem_of(*m.chain())
    path = write(tmp_path / "cert-and-key.pem", leaf_text + m.pkcs8_pem())
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert len(bundle.certs) == 2
    assert len(bundle.key_blocks) == 1
    key_line = leaf_text.count(b"\n") + 1
    assert bundle.stray == (Stray(origin=Origin(source=path, block=3, line=key_line), kind="private key", lines=5),)
    key = load_key_from_bundle(bundle, NO_PASSWORD)
    assert key is not None
    assert _spki(key) == ALICE_SPKI
    assert key.origin == Origin(source=path, block=3, line=key_line)


def test_file_of_keys_only_is_not_a_certificate_file(tmp_path: Path) -> None:
    """A key given where certificates belong is an InputError saying what the file holds."""
    path = write(tmp_path / "key.pem", m.pkcs8_pem())
    with pytest.raises(InputError, match=r"holds a private key, not a certificate \(expected the CA\)"):
        load_cert_file(path, what="CA", passwords=NO_PASSWORD)


# --- DER, PKCS#7, PKCS#12 --------------------------------------------------------------------------------------


def test_der_certificate_is_one_certificate_of_format_der(tmp_path: Path) -> None:
    """A DER file holds exactly one certificate."""
    path = write(tmp_path / "client.der", m.leaf().public_bytes(m.DER))
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert bundle.format is FileFormat.DER
    assert _subjects(bundle) == [m.leaf().subject]
    assert bundle.certs[0].origin == Origin(source=path, block=1)


@pytest.mark.parametrize("encoding", [m.PEM, m.DER], ids=["pem", "der"])
def test_pkcs7_comes_back_leaf_first(tmp_path: Path, encoding: serialization.Encoding) -> None:
    """PKCS#7 does not keep the order written (root, leaf, issuing here): the reader puts the leaf first, then each
    certificate's issuer."""
    path = write(tmp_path / "bundle.p7b", m.pkcs7_bundle(encoding))
    bundle = load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)
    assert _subjects(bundle) == [m.leaf().subject, m.chain()[1].subject, m.root().subject]
    assert bundle.format is (FileFormat.PKCS7 if encoding is m.DER else FileFormat.PEM)


def test_chain_order_puts_unlinked_certificates_after_the_chain() -> None:
    """A certificate unrelated to the chain keeps its place after it; one certificate is returned as is."""
    other = x509.load_pem_x509_certificate((SAMPLE / "certs" / "other-root.pem").read_bytes())
    ordered = chain_order([m.root(), other, m.chain()[1], m.leaf()])
    assert [c.subject for c in ordered] == [m.leaf().subject, m.chain()[1].subject, m.root().subject, other.subject]
    assert chain_order([other]) == [other]
    assert chain_order([]) == []


def test_pkcs12_with_password_gives_certificates_leaf_first_and_the_key(tmp_path: Path) -> None:
    """An encrypted PKCS#12 opens with the password; its key is marked encrypted."""
    path = write(tmp_path / "client.p12", m.p12(PASSWORD))
    pw = write(tmp_path / "pw.txt", PASSWORD + "\n")
    bundle = load_cert_file(path, what="client certificate", passwords=Passwords(password_file=pw))
    assert bundle.format is FileFormat.PKCS12
    assert _subjects(bundle) == [m.leaf().subject, m.chain()[1].subject]
    assert bundle.pkcs12_key is not None
    assert bundle.pkcs12_key.encrypted
    assert _spki(bundle.pkcs12_key) == ALICE_SPKI
    assert load_key_from_bundle(bundle, NO_PASSWORD) is bundle.pkcs12_key
    assert load_key_file(path, Passwords(password_file=pw)).encrypted


def test_pkcs12_without_password_opens_without_asking(tmp_path: Path) -> None:
    """An unencrypted PKCS#12 opens with no password, and the prompt is never called."""
    path = write(tmp_path / "client.p12", m.p12(None))
    asked: list[str] = []
    bundle = load_cert_file(path, what="client certificate", passwords=Passwords(prompt=asked.append))
    assert bundle.pkcs12_key is not None
    assert not bundle.pkcs12_key.encrypted
    assert asked == []


def test_pkcs12_with_the_empty_password_opens_without_asking(tmp_path: Path) -> None:
    """`openssl pkcs12 -export -passout pass:` files open with the empty password, without a prompt."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to write a PKCS#12 with an empty password (cryptography refuses to)")
    key = write(tmp_path / "client.key", m.pkcs8_pem())
    cert = write(tmp_path / "client.pem", m.pem_of(*m.chain()))
    path = tmp_path / "empty-pass.p12"
    args = [openssl, "pkcs12", "-export", "-inkey", key, "-in", cert, "-out", str(path), "-passout", "pass:"]
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    asked: list[str] = []
    bundle = load_cert_file(str(path), what="client certificate", passwords=Passwords(prompt=asked.append))
    assert bundle.pkcs12_key is not None
    assert _subjects(bundle)[0] == m.leaf().subject
    assert asked == []


def test_pkcs12_wrong_and_missing_password_are_password_errors(tmp_path: Path) -> None:
    """A wrong password names the file and where the password came from; none at all says how to give one."""
    path = write(tmp_path / "client.p12", m.p12(PASSWORD))
    wrong = write(tmp_path / "wrong.txt", "hunter2-nope\n")
    with pytest.raises(PasswordError, match=r"the password in .*wrong.txt does not decrypt this PKCS#12 file") as exc:
        load_cert_file(path, what="client certificate", passwords=Passwords(password_file=wrong))
    assert "hunter2-nope" not in str(exc.value)
    with pytest.raises(PasswordError, match="encrypted and no password was given"):
        load_cert_file(path, what="client certificate", passwords=NO_PASSWORD)


# --- keys ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["pkcs8", "legacy", "pkcs8-der"])
def test_encrypted_keys_open_with_the_password(tmp_path: Path, form: str) -> None:
    """Encrypted PKCS#8 (PEM or DER) and legacy `Proc-Type: 4,ENCRYPTED` PEM open with the password file's first
    line, and are marked encrypted."""
    data = {"pkcs8": m.pkcs8_pem, "legacy": m.legacy_pem, "pkcs8-der": m.pkcs8_der}[form](PASSWORD)
    path = write(tmp_path / "client.key", data)
    pw = write(tmp_path / "pw.txt", PASSWORD + "\nnot this line\n")
    key = load_key_file(path, Passwords(password_file=pw))
    assert key.encrypted
    assert _spki(key) == ALICE_SPKI


def test_plain_key_is_not_encrypted_and_ignores_a_given_password(tmp_path: Path) -> None:
    """A password given for an unencrypted key does no harm (cryptography would refuse it: the reader retries)."""
    path = write(tmp_path / "client.key", m.legacy_pem())
    key = load_key_file(path, Passwords(password_file=write(tmp_path / "pw.txt", PASSWORD)))
    assert not key.encrypted
    assert _spki(key) == ALICE_SPKI


@pytest.mark.parametrize("form", ["pkcs8", "legacy", "pkcs8-der"])
def test_empty_password_for_encrypted_key_says_it_is_empty(tmp_path: Path, form: str) -> None:
    """An empty --password-file is named as empty, not as a crash or an unreadable key."""
    data = {"pkcs8": m.pkcs8_pem, "legacy": m.legacy_pem, "pkcs8-der": m.pkcs8_der}[form](PASSWORD)
    path = write(tmp_path / "client.key", data)
    pw = write(tmp_path / "pw.txt", b"\n")
    with pytest.raises(PasswordError, match=r"private key is encrypted and the password in .*pw.txt is empty"):
        load_key_file(path, Passwords(password_file=pw))


def test_encrypted_key_is_recognised_whatever_its_header_spacing(tmp_path: Path) -> None:
    """`Proc-Type:4,ENCRYPTED` (no space, as some tools write it) still leads to the password, not to an error."""
    text = m.legacy_pem(PASSWORD).replace(b"Proc-Type: 4,ENCRYPTED", b"Proc-Type:4,ENCRYPTED")
    path = write(tmp_path / "client.key", text)
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return PASSWORD

    key = load_key_file(path, Passwords(prompt=prompt))
    assert key.encrypted
    assert len(asked) == 1


def test_loaded_key_repr_shows_no_key_material() -> None:
    """repr(LoadedKey) (what a debugger or a log would show) holds the origin only."""
    key = load_key_file(str(GOOD / "client.key"), NO_PASSWORD)
    text = repr(key)
    scalar = m.key().private_numbers().private_value
    assert str(scalar) not in text
    assert f"{scalar:x}" not in text
    assert "client.key" in text
    der_hex = m.pkcs8_der().hex()
    assert all(der_hex[i : i + 16] not in text for i in range(0, len(der_hex) - 16, 2))


# --- passwords -------------------------------------------------------------------------------------------------


def test_passwords_asks_once_and_caches(tmp_path: Path) -> None:
    """Two encrypted files, one prompt: the answer is reused."""
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return PASSWORD

    passwords = Passwords(prompt=prompt)
    first = load_key_file(write(tmp_path / "a.key", m.pkcs8_pem(PASSWORD)), passwords)
    second = load_key_file(write(tmp_path / "b.key", m.legacy_pem(PASSWORD)), passwords)
    assert first.encrypted
    assert second.encrypted
    assert len(asked) == 1
    assert "a.key" in asked[0]
    assert passwords.get("anything") == PASSWORD.encode()
    assert len(asked) == 1


def test_password_file_is_read_once(tmp_path: Path) -> None:
    """The password file is read at the first need; later changes to it are not seen (one password per run)."""
    pw = tmp_path / "pw.txt"
    pw.write_text(PASSWORD)
    passwords = Passwords(password_file=str(pw))
    assert passwords.get("a") == PASSWORD.encode()
    pw.write_text("changed")
    assert passwords.get("b") == PASSWORD.encode()


def test_password_file_first_line_without_bom_or_cr(tmp_path: Path) -> None:
    """Like openssl's -passin file:, the first line is the password; a BOM and a CRLF ending are not part of it."""
    pw = write(tmp_path / "pw.txt", ("\ufeff" + PASSWORD + "\r\nline two\r\n").encode())
    assert Passwords(password_file=pw).get("x") == PASSWORD.encode()


def test_password_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$MTLS_DOCTOR_PASSWORD is used when there is no --password-file; a wrong one is named by its variable."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    path = write(tmp_path / "client.key", m.pkcs8_pem(PASSWORD))
    assert load_key_file(path, Passwords()).encrypted
    monkeypatch.setenv(PASSWORD_ENV, "nope-nope")
    with pytest.raises(PasswordError, match=r"\$MTLS_DOCTOR_PASSWORD does not decrypt this private key") as exc:
        load_key_file(path, Passwords())
    assert "nope-nope" not in str(exc.value)


def test_no_prompt_means_no_password() -> None:
    """Without a terminal nobody is asked: get() is None and the error says how to give a password."""
    passwords = Passwords()
    assert passwords.get("client.key") is None
    error = passwords.missing("client.key", "private key")
    assert str(error).startswith("client.key: private key is encrypted and no password was given: use --password-file")


def test_missing_password_message_survives_a_closed_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """With stdin closed (``sys.stdin`` is None) the message still says there is no terminal to ask on."""
    monkeypatch.setattr("sys.stdin", None)
    assert str(Passwords().missing("k.pem", "private key")).endswith("(no terminal to ask on)")


def test_password_file_that_is_not_utf8_names_the_password_file(tmp_path: Path) -> None:
    """A binary password file is an InputError about the password file, not about the key."""
    pw = write(tmp_path / "pw.bin", b"\xff\xfe\x00\xc3(")
    with pytest.raises(InputError, match=r"pw.bin: is not a UTF-8 text file holding a password"):
        Passwords(password_file=pw).get("client.key")


# --- sniffing and classifying ----------------------------------------------------------------------------------


def test_content_of_classifies_pem_and_der_certificates_keys_and_crls() -> None:
    """PEM and DER certificates, keys (plain or encrypted) and CRLs are told apart; a cert+key file is certificates;
    PKCS#12 and PKCS#7 count as certificates; anything else is unknown."""
    crl = x509.load_pem_x509_crl(m.crl_pem())
    cases = {
        "pem cert": (m.pem_of(m.leaf()), Content.CERTIFICATES),
        "der cert": (m.leaf().public_bytes(m.DER), Content.CERTIFICATES),
        "pem key": (m.pkcs8_pem(), Content.PRIVATE_KEY),
        "pem encrypted key": (m.pkcs8_pem(PASSWORD), Content.PRIVATE_KEY),
        "pem legacy key": (m.legacy_pem(PASSWORD), Content.PRIVATE_KEY),
        "der key": (m.pkcs8_der(), Content.PRIVATE_KEY),
        "der encrypted key": (m.pkcs8_der(PASSWORD), Content.PRIVATE_KEY),
        "pem crl": (m.crl_pem(), Content.CRL),
        "der crl": (crl.public_bytes(m.DER), Content.CRL),
        "cert and key": (m.pem_of(m.leaf()) + m.pkcs8_pem(), Content.CERTIFICATES),
        "pkcs12": (m.p12(PASSWORD), Content.CERTIFICATES),
        "pkcs7 pem": (m.pkcs7_bundle(m.PEM), Content.CERTIFICATES),
        "csr": (m.csr_pem(), Content.UNKNOWN),
        "text": (b"hello\n", Content.UNKNOWN),
        "empty": (b"", Content.UNKNOWN),
    }
    assert {name: content_of(data) for name, (data, _) in cases.items()} == {
        name: expected for name, (_, expected) in cases.items()
    }


def test_sniff_tells_pem_der_empty_text_and_binary() -> None:
    """The first look at a file's bytes."""
    assert sniff(b"  \r\n\t") is Encoding.EMPTY
    assert sniff(b"junk\n-----BEGIN CERTIFICATE-----\n") is Encoding.PEM
    assert sniff(m.leaf().public_bytes(m.DER)) is Encoding.DER
    assert sniff("subject=CN = élodie\n".encode()) is Encoding.TEXT
    assert sniff(b"\x00\x01\x02garbage") is Encoding.BINARY


def test_read_input_refuses_directories_and_huge_files_naming_them(tmp_path: Path) -> None:
    """One clear error per unusable file; a sparse 11 MB file is refused before it is read."""
    with pytest.raises(InputError, match=r"is a directory, not a CA file"):
        read_input(str(tmp_path), what="CA")
    huge = tmp_path / "huge.pem"
    with huge.open("wb") as f:
        f.truncate(11 * 1024 * 1024)
    with pytest.raises(InputError, match=r"huge.pem: is 11.0 MB; a CRL file is never that large"):
        read_input(str(huge), what="CRL")
    with pytest.raises(InputError, match=r"no such file \(expected a private key file\)"):
        read_input(str(tmp_path / "missing"), what="private key")


def test_read_input_refuses_a_named_fifo_at_once(tmp_path: Path) -> None:
    """A named pipe is refused before it is opened (opening one nobody writes to blocks forever)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"pipe: is not a regular file"):
        read_input(str(fifo), what="client certificate")


def test_read_input_of_a_pipe_twice_gives_the_same_bytes() -> None:
    """A pipe (`<(cat cert.pem)`) empties as it is read; a second read of the same path returns the first's bytes."""
    reader, writer = os.pipe()
    try:
        os.write(writer, b"pipe content\n")
        os.close(writer)
        path = f"/dev/fd/{reader}"
        assert read_input(path, what="CA") == b"pipe content\n"
        assert read_input(path, what="CA") == b"pipe content\n"
    finally:
        os.close(reader)


def test_split_pem_reports_a_truncated_block_at_its_begin_line() -> None:
    """A BEGIN without END is an error naming the BEGIN line (OpenSSL refuses the whole file)."""
    text = m.pem_of(m.leaf()) + b"\n-----BEGIN CERTIFICATE-----\nMIIB\n"
    with pytest.raises(InputError, match=r"^f.pem:\d+: PEM block 'CERTIFICATE' starting here has no END line") as exc:
        split_pem(text, source="f.pem")
    assert exc.value.line == m.pem_of(m.leaf()).count(b"\n") + 2


def test_crl_file_keeps_every_crl_and_its_origin(tmp_path: Path) -> None:
    """A PEM file of two CRLs gives both, with block numbers and lines."""
    first, second = (SAMPLE / "crls" / "issuing.pem").read_bytes(), (SAMPLE / "crls" / "root.pem").read_bytes()
    path = write(tmp_path / "crls.pem", first + second)
    bundle = load_crl_file(path)
    assert [c.origin for c in bundle.crls] == [
        Origin(source=path, block=1, line=1),
        Origin(source=path, block=2, line=first.count(b"\n") + 1),
    ]


def test_crl_file_certificates_are_kept_for_the_trust_store(tmp_path: Path) -> None:
    """Certificates in a CRL file are not stray content: nginx's ssl_crl loads them into the trust store."""
    crl = (SAMPLE / "crls" / "issuing.pem").read_bytes()
    cert = (SAMPLE / "certs" / "client-issuing.pem").read_bytes()
    path = write(tmp_path / "crl-and-ca.pem", crl + cert)
    bundle = load_crl_file(path)
    assert len(bundle.crls) == 1
    assert [c.cert for c in bundle.certs] == [x509.load_pem_x509_certificate(cert)]
    assert bundle.certs[0].origin == Origin(source=path, block=2, line=crl.count(b"\n") + 1)
    assert bundle.stray == ()


def test_a_crl_file_with_certificates_only_is_not_a_crl_file(tmp_path: Path) -> None:
    path = write(tmp_path / "certs.pem", (SAMPLE / "certs" / "client-issuing.pem").read_bytes())
    with pytest.raises(InputError, match="holds certificates, not a CRL"):
        load_crl_file(path)


# --- messages --------------------------------------------------------------------------------------------------


def test_input_error_is_always_one_line() -> None:
    """A newline or an escape sequence in a file name or a problem cannot break the one-line contract."""
    error = InputError("two\nlines\x1b[31m.pem", "first\nsecond\tthird", line=4)
    assert str(error) == "two\\nlines\\x1b[31m.pem:4: first second third"
    assert error.source == "two\nlines\x1b[31m.pem"


def test_input_error_shows_the_bytes_of_a_non_utf8_file_name() -> None:
    """A file name that is not UTF-8 reaches Python as lone surrogates; the message shows its bytes as escapes."""
    name = os.fsdecode(b"/certs/caf\xe9.pem")
    assert str(InputError(name, "no such file")) == "/certs/caf\\xe9.pem: no such file"


def test_der_reason_shortens_cryptography_errors() -> None:
    """Rust parse errors become a few words; other messages keep their first sentence without the FAQ link."""
    parse = ValueError('error parsing asn1 value: ParseError { kind: InvalidValue, location: ["subject"] }')
    assert der.reason(parse) == "malformed DER: InvalidValue in subject"
    pem = ValueError("Unable to load PEM file. See https://cryptography.io/en/latest/faq/ for more details.")
    assert der.reason(pem) == "Unable to load PEM file"
