"""The proxy's TLS: the operator's certificate, or a self-signed one made once in the data dir and reused.

An ACME certificate (see renewal.py) replaces the self-signed one on the live
context: `swap_certificate` loads it into the same `SSLContext`, so new
handshakes get it while open connections keep the certificate they began with.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ocisd.config.schema import ConfigError
from ocisd.logs import Logger

from .certstore import write_private

CERT_FILE = "server.crt"
KEY_FILE = "server.key"
LOCK_FILE = "server.lock"  # proxies sharing a data dir make the self-signed pair once, not each its own half
VALIDITY_DAYS = 825  # the longest lifetime browsers accept for a server certificate


def names_for(url: str) -> list[str]:
    """The names the self-signed certificate covers: the OCIS_URL host plus loopback."""
    host = urlsplit(url).hostname or "localhost"
    return list(dict.fromkeys([host, "localhost", "127.0.0.1", "::1"]))


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def create_self_signed(cert_path: Path, key_path: Path, names: list[str]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_path, key_pem)
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _usable(cert_path: Path, key_path: Path) -> bool:
    """An existing self-signed pair is reused while it parses and has not expired."""
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC)


def served_path(cert: str, data_dir: Path) -> Path:
    """The certificate file the listener serves when no ACME certificate replaced it."""
    return Path(cert).expanduser() if cert else data_dir / CERT_FILE


def server_context(cert: str, key: str, data_dir: Path, url: str, log: Logger) -> ssl.SSLContext:
    """An SSL context for the listener; makes the self-signed pair when no certificate is configured."""
    if bool(cert) != bool(key):
        raise ConfigError("proxy: transport_tls_cert and transport_tls_key must be set together")
    if cert:
        cert_path, key_path = Path(cert).expanduser(), Path(key).expanduser()
        return _context(cert_path, key_path)
    cert_path, key_path = data_dir / CERT_FILE, data_dir / KEY_FILE
    lock = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another proxy starting on this data dir makes or reads it meanwhile
        if not _usable(cert_path, key_path):
            names = names_for(url)
            create_self_signed(cert_path, key_path, names)
            log.info("self-signed certificate created", cert=str(cert_path), names=",".join(names))
        return _context(cert_path, key_path)
    finally:
        os.close(lock)


def _context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert_path, key_path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"proxy: cannot load TLS certificate {cert_path} / key {key_path}: {exc}") from None
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@dataclass(frozen=True)
class CertInfo:
    """What `ocis proxy certificate` and the metrics say about a certificate."""

    domains: list[str]
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    serial: str

    def covers(self, domains: list[str]) -> bool:
        return all(d in self.domains for d in domains)

    def as_json(self) -> dict[str, object]:
        return {
            "domains": self.domains,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "expiry": self.not_after.isoformat(),  # the name for it; not_after as X.509 says
            "serial": self.serial,
        }


def describe(pem: bytes) -> CertInfo:
    """The first (leaf) certificate in `pem`; ValueError when there is none."""
    cert = x509.load_pem_x509_certificates(pem)[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]
    except x509.ExtensionNotFound:
        names = []
    return CertInfo(
        names,
        cert.issuer.rfc4514_string(),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
        f"{cert.serial_number:x}",
    )


def swap_certificate(ctx: ssl.SSLContext, pem: bytes, scratch: Path) -> None:
    """Serve `pem` (private key and chain) from now on; ssl.SSLError/ValueError leave `ctx` untouched.

    The ssl module loads only from files: `pem` goes to a private temporary
    file, is tried on a scratch context first (so a key that does not match
    never half-replaces the live pair), then loaded into the live one.
    """
    fd, name = tempfile.mkstemp(dir=scratch, prefix=".swap-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(name)
        ctx.load_cert_chain(name)
    finally:
        os.unlink(name)
