"""Certificates for TLS tests, made on the spot with `cryptography` (EC P-256, valid one day)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_NAME = "jepa.test"


@dataclass(frozen=True)
class Pki:
    ca: bytes
    server_chain: bytes
    server_key: bytes
    client_chain: bytes
    client_key: bytes
    stranger_ca: bytes  # a CA that signed nothing here
    server_name: str = SERVER_NAME


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _certificate(subject: str, key: Any, issuer: x509.Name | None, issuer_key: Any, *, ca: bool, names: list[str]) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _new_ca(subject: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    return _certificate(subject, key, None, key, ca=True, names=[]), key


def make_pki() -> Pki:
    """A CA, a server certificate for SERVER_NAME and a client certificate it signed, and a CA that signed nothing."""
    ca, ca_key = _new_ca("jepa test CA")
    stranger_ca, _ = _new_ca("stranger CA")
    pem = serialization.Encoding.PEM
    leaves = []
    for subject, names in (("server", [SERVER_NAME]), ("client", [])):
        key = ec.generate_private_key(ec.SECP256R1())
        leaves.append((_certificate(subject, key, ca.subject, ca_key, ca=False, names=names).public_bytes(pem), _pem_key(key)))
    (server_chain, server_key), (client_chain, client_key) = leaves
    return Pki(ca.public_bytes(pem), server_chain, server_key, client_chain, client_key, stranger_ca.public_bytes(pem))
