"""The simulator's TLS certificate and macaroons, written like LND writes its own.

``tls.cert``/``tls.key``: a self-signed ECDSA P-256 certificate for ``localhost`` and
``127.0.0.1`` (LND's default key type and SANs), valid 14 months like LND's. ``admin.macaroon``
and ``readonly.macaroon``: random opaque bytes (the simulator does not implement macaroon
caveats); a client sends one, hex encoded, in the ``macaroon`` call metadata, as it would to
LND. Files already in the state directory are reused, so clients keep working across restarts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_VALIDITY = dt.timedelta(days=425)  # about 14 months, LND's default
ADMIN = "admin"
READONLY = "readonly"


@dataclass(frozen=True)
class Credentials:
    """What the server needs to serve TLS and check macaroons, and where the files are."""

    cert_pem: bytes
    key_pem: bytes
    macaroons: dict[bytes, str]
    """Macaroon bytes -> permission (``admin`` or ``readonly``)."""
    tls_cert_path: Path
    admin_macaroon_path: Path
    readonly_macaroon_path: Path


class CredentialsError(Exception):
    """The state directory holds unusable TLS or macaroon files."""


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _new_certificate() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mcp-optimizer simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def _usable(cert_pem: bytes, key_pem: bytes) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError:
        return False
    if cert.not_valid_after_utc <= dt.datetime.now(dt.UTC):
        return False
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public == cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ensure_credentials(state_dir: Path) -> Credentials:
    """Load the TLS pair and macaroons from ``state_dir``, creating what is missing."""
    try:
        return _ensure_credentials(Path(state_dir))
    except OSError as exc:
        raise CredentialsError(
            f"cannot read or write credentials in {state_dir}: {exc.strerror or exc}"
        ) from None


def _ensure_credentials(state_dir: Path) -> Credentials:
    state_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = state_dir / "tls.cert", state_dir / "tls.key"
    cert_pem = key_pem = b""
    if cert_path.exists() and key_path.exists():
        cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
    if not _usable(cert_pem, key_pem):
        # Missing, unreadable, expired or mismatched: make a fresh pair, as LND does.
        cert_pem, key_pem = _new_certificate()
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)
        cert_path.chmod(0o644)
    macaroons: dict[bytes, str] = {}
    paths = {}
    for perm in (ADMIN, READONLY):
        path = state_dir / f"{perm}.macaroon"
        data = path.read_bytes() if path.exists() else b""
        if len(data) < 16:
            data = secrets.token_bytes(48)
            _write_private(path, data)
        macaroons[data] = perm
        paths[perm] = path
    if len(macaroons) != 2:
        raise CredentialsError(
            f"admin.macaroon and readonly.macaroon in {state_dir} are identical; delete them"
        )
    return Credentials(
        cert_pem=cert_pem,
        key_pem=key_pem,
        macaroons=macaroons,
        tls_cert_path=cert_path,
        admin_macaroon_path=paths[ADMIN],
        readonly_macaroon_path=paths[READONLY],
    )
