"""A local certificate authority and a server certificate signed by it, for trying the
service on a LAN over https (browsers give camera and microphone to secure contexts only).

The CA is made once into `var/tls/` and reused, so a device that trusts it keeps trusting
each new server certificate. Private keys are written owner-only (0600) before any byte of
them is. Not for a real clinic: there the certificate comes from the clinic's own or a
public CA.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
# Browsers cap server certificates at 398 days; a short life makes a copied key expire soon.
SERVER_LIFETIME = timedelta(days=90)
CA_LIFETIME = timedelta(days=5 * 365)
# Tolerates a device whose clock is slightly behind the server's.
BACKDATE = timedelta(minutes=5)
MAX_HOSTS = 20
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class DevCertError(ValueError):
    """A host name is not valid, or the CA in the directory cannot be used."""


@dataclass(frozen=True, slots=True)
class DevCertificate:
    """What `make_dev_certificate` wrote, and whether the CA is new (so must be trusted)."""

    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path
    hosts: tuple[str, ...]
    not_after: datetime
    ca_created: bool


def parse_host(text: str) -> x509.GeneralName:
    """An IP address or a DNS name as a subjectAltName entry."""
    value = text.strip().lower()
    try:
        return x509.IPAddress(ipaddress.ip_address(value.strip("[]")))
    except ValueError:
        pass
    name = value.rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise DevCertError(f"{text!r} is neither an IP address nor a DNS host name")
    return x509.DNSName(name)


def make_dev_certificate(tls_dir: Path, hosts: Sequence[str], *, now: datetime) -> DevCertificate:
    """Write (or reuse) the CA in `tls_dir` and a new server certificate for `hosts`."""
    if not hosts:
        raise DevCertError("name at least one host (--host NAME_OR_IP)")
    if len(hosts) > MAX_HOSTS:
        raise DevCertError(f"at most {MAX_HOSTS} hosts in one certificate")
    names = list(dict.fromkeys(parse_host(host) for host in hosts))
    tls_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = tls_dir / CA_CERT, tls_dir / CA_KEY
    ca_created = not ca_cert_path.exists() and not ca_key_path.exists()
    if ca_created:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write_private(ca_key_path, _pem_key(ca_key))
        _write_public(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM))
    else:
        ca_cert, ca_key = _existing_ca(ca_cert_path, ca_key_path, now)
    server_key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + SERVER_LIFETIME, ca_cert.not_valid_after_utc)
    server_cert = _server_certificate(server_key, names, ca_cert, ca_key, now, not_after)
    cert_path, key_path = tls_dir / SERVER_CERT, tls_dir / SERVER_KEY
    _write_private(key_path, _pem_key(server_key))
    _write_public(cert_path, server_cert.public_bytes(serialization.Encoding.PEM))
    return DevCertificate(
        ca_cert=ca_cert_path,
        ca_key=ca_key_path,
        cert=cert_path,
        key=key_path,
        hosts=tuple(_shown(name) for name in names),
        not_after=not_after,
        ca_created=ca_created,
    )


def _shown(name: x509.GeneralName) -> str:
    return str(name.value)


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Telehealth (development only)"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"Telehealth development CA ({socket.gethostname()[:30]})"
            ),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        # It signs server certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    not_after: datetime,
) -> x509.Certificate:
    public = key.public_key()
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _shown(names[0]))]))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _existing_ca(
    cert_path: Path, key_path: Path, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    start_over = f"delete {cert_path} and {key_path} to make a new CA (and trust that one)"
    if not cert_path.is_file() or not key_path.is_file():
        raise DevCertError(f"half of the development CA is missing; {start_over}")
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise DevCertError(f"the development CA cannot be read ({error}); {start_over}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise DevCertError(f"the development CA's key does not match it; {start_over}")
    if cert.not_valid_after_utc <= now + timedelta(days=1):
        raise DevCertError(f"the development CA has expired; {start_over}")
    return cert, key


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    _write(path, data, 0o600)


def _write_public(path: Path, data: bytes) -> None:
    _write(path, data, 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    # A new file with its mode set before the data goes in, then renamed over the old one,
    # so a reader never sees half a file and a key is never readable by others.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(descriptor, mode)  # the umask may have narrowed a certificate's mode
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
