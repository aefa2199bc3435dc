"""`sms-receipts push`: an https:// callback URL is pushed over TLS with its certificate verified, and
each attempt is reported as it ends. Against real loopback servers (TLS with a certificate made here)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sms_receipts.settings import ConfigurationError
from sms_receipts_dev.local.push import CertificateRefused, post_once, push, push_attempts

from function_support import ROOT

BODY = (ROOT / "examples" / "http" / "SmsReport.json").read_bytes()
ACCEPTED = json.dumps({"code": 0, "msg": "接收成功"}, ensure_ascii=False).encode("utf-8")


def self_signed(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for `host` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Receiver:
    """A callback endpoint on loopback: records each request (and whether it came over TLS), answers
    with the next of `statuses` (then 200) and the SMS service's accepted body."""

    def __init__(self, context: ssl.SSLContext | None = None, statuses: tuple[int, ...] = ()):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                tls = self.connection.version() if isinstance(self.connection, ssl.SSLSocket) else None
                receiver.requests.append({"path": self.path, "body": body, "tls": tls, "at": time.monotonic()})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(ACCEPTED)))
                self.end_headers()
                self.wfile.write(ACCEPTED)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if context is not None else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/SmsReport?token=secret-token"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def certificate(tmp_path):
    return self_signed(tmp_path)


@pytest.fixture
def tls_receiver(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with Receiver(context) as receiver:
        yield receiver


def test_an_https_url_is_pushed_over_tls_with_the_token_inside_it(tls_receiver, certificate):
    result = push(tls_receiver.url, BODY, delays=(), ca_file=str(certificate[0]))
    assert result.accepted
    (request,) = tls_receiver.requests
    assert request["tls"] in ("TLSv1.2", "TLSv1.3")  # the token in the path travelled encrypted
    assert request["path"] == "/SmsReport?token=secret-token" and request["body"] == BODY


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(tls_receiver):
    started = time.monotonic()
    with pytest.raises(CertificateRefused) as refused:
        push(tls_receiver.url, BODY, time_scale=1.0)  # no re-push in minutes: none could succeed
    assert time.monotonic() - started < 5
    message = str(refused.value)
    assert message.startswith(
        f"the TLS certificate of 127.0.0.1:{tls_receiver.server.server_address[1]} is not trusted"
    )
    assert "self-signed" in message and "--ca-file" in message
    assert isinstance(refused.value, ConfigurationError)  # the CLI prints it as one line, exit 2
    assert tls_receiver.requests == []


def test_a_certificate_for_another_host_is_refused(tmp_path):
    cert_file, key_file = self_signed(tmp_path, host="10.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    with Receiver(context) as receiver, pytest.raises(CertificateRefused, match="mismatch"):
        post_once(receiver.url, BODY, ca_file=str(cert_file))
    assert receiver.requests == []


def test_the_cli_says_an_untrusted_certificate_in_one_line(tls_receiver, tmp_path):
    script = shutil.which("sms-receipts", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "sms_receipts_dev.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_RECEIPTS_", "ALIBABA_CLOUD_"))}
    done = subprocess.run(
        [
            *command,
            "push",
            "--url",
            tls_receiver.url,
            "--data-dir",
            str(tmp_path),
            str(ROOT / "examples/http/SmsReport.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("sms-receipts push: the TLS certificate of 127.0.0.1:") and "not trusted" in line


def test_plain_http_stays_plain_http():
    with Receiver() as receiver:
        assert post_once(receiver.url, BODY).accepted
    assert receiver.requests[0]["tls"] is None


def test_a_url_that_is_not_http_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not an http:// or https:// URL"):
        post_once("ftp://127.0.0.1/SmsReport", BODY)


def test_each_attempt_is_reported_as_it_ends_before_the_next_push():
    reported: list[tuple[int, int | None, float | None, float]] = []
    with Receiver(statuses=(500, 503)) as receiver:
        for number, attempt in enumerate(push_attempts(receiver.url, BODY, delays=(0.3, 0.3, 0.3)), 1):
            reported.append((number, attempt.status, attempt.retry_in, time.monotonic()))
    assert [(n, s, r) for n, s, r, _ in reported] == [(1, 500, 0.3), (2, 503, 0.3), (3, 200, None)]
    arrivals = [request["at"] for request in receiver.requests]
    # Attempt n was reported before the service's next push reached the receiver.
    assert reported[0][3] < arrivals[1] and reported[1][3] < arrivals[2]


def test_the_response_timeout_holds_over_tls(certificate):
    """A TLS endpoint that accepts the connection but never answers: no answer in 700 ms."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/SmsReport?token=t"
        attempt = post_once(url, BODY, ca_file=str(certificate[0]))
    assert attempt.status is None and "timed out" in (attempt.error or "")
    assert 0.6 < attempt.seconds < 2.0
