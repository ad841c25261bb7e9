"""SMTP with STARTTLS and with implicit TLS, against a real aiosmtpd server on loopback."""

import datetime as dt
import ipaddress
import ssl
import time
import uuid

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.booking.catalogue import SEED_SERVICES
from hub.notify.compose import MailFacts, compose
from hub.notify.transport import SmtpTransport
from tests.support.environment import MONDAY_EARLY, free_port


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, standing in for a city's own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Inbox:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def message():
    facts = MailFacts(
        "confirmation",
        "erika@example.org",
        "Erika",
        "de",
        SEED_SERVICES[2],
        uuid.uuid4(),
        MONDAY_EARLY + dt.timedelta(days=1),
        MONDAY_EARLY + dt.timedelta(days=1, minutes=10),
        "http://x/m",
        "http://x/j",
    )
    return compose(facts, "Amt <amt@example.org>", MONDAY_EARLY, "tls-test")


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_out_encrypted_and_the_certificate_is_checked(certificate, security):
    cert_file, key_file = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    inbox, port = Inbox(), free_port()
    if security == "starttls":
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_context,
            require_starttls=True,
        )
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    try:
        SmtpTransport("127.0.0.1", port, security, ca_file=str(cert_file)).send(message())
        deadline = time.monotonic() + 5
        while inbox.count < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert inbox.count == 1
        # Without the city's CA the certificate is not trusted, and nothing is sent.
        with pytest.raises(ssl.SSLError):
            SmtpTransport("127.0.0.1", port, security).send(message())
        assert inbox.count == 1
    finally:
        controller.stop()
