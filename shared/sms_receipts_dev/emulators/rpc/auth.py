"""Alibaba Cloud RPC request authentication, both schemes `alibabacloud_tea_openapi` 0.4 can send.

- ACS3 (the default since tea-openapi 0.3: `Config.signature_algorithm` unset): headers
  `Authorization: ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=<a;b>,Signature=<hex>`, `x-acs-date`,
  `x-acs-signature-nonce`, `x-acs-content-sha256`; temporary credentials add `x-acs-security-token`::

      CanonicalRequest = METHOD \\n path \\n sorted query (k=quote(v, safe="~") joined by &) \\n
                         signed headers ("name:value\\n" each) \\n SignedHeaders \\n hex(sha256(body))
      Signature        = hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex(sha256(CanonicalRequest))))

- V1 RPC (`signature_algorithm="v2"`): parameters `AccessKeyId`, `SignatureMethod=HMAC-SHA1`,
  `SignatureVersion=1.0`, `SignatureNonce`, `Timestamp`, `Signature` (and `SecurityToken`)::

      StringToSign = METHOD & %2F & percent(sorted "k=v" pairs joined by &)
      Signature    = base64(HMAC-SHA1(secret + "&", StringToSign))

Both check the timestamp (15 minutes) and refuse a nonce seen within that window. The caller's
AccessKey comes from the shared `CredentialStore`. Shared by the RPC emulators (dybaseapi,
dysmsapi).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from datetime import datetime, timezone
from urllib.parse import quote

from ..credentials import (
    Credential,
    CredentialStore,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    UnknownAccessKey,
    same_text,
)
from .exceptions import (
    IncompleteSignature,
    InvalidAccessKeyIdNotFound,
    InvalidSecurityTokenExpired,
    InvalidSecurityTokenMalformed,
    InvalidTimeStampExpired,
    InvalidTimeStampFormat,
    MissingParameter,
    SignatureDoesNotMatch,
    SignatureNonceUsed,
)

ACS3 = "ACS3-HMAC-SHA256"
MAX_CLOCK_SKEW_SECONDS = 15 * 60
_REQUIRED_SIGNED_HEADERS = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
_CREDENTIAL_ERRORS = {
    UnknownAccessKey: InvalidAccessKeyIdNotFound,
    InvalidSecurityToken: InvalidSecurityTokenMalformed,
    ExpiredSecurityToken: InvalidSecurityTokenExpired,
}


def percent(text: str) -> str:
    return quote(text, safe="~", encoding="utf-8")


class NonceCache:
    """Nonces seen within the clock-skew window; a repeat is a replay."""

    def __init__(self, window: float = MAX_CLOCK_SKEW_SECONDS):
        self.window = window
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_and_add(self, nonce: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {key: seen for key, seen in self._seen.items() if now - seen < self.window}
            seen = self._seen.get(nonce)
            if seen is not None and now - seen < self.window:
                raise SignatureNonceUsed()
            self._seen[nonce] = now


def _check_timestamp(value: str) -> None:
    try:
        sent = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise InvalidTimeStampFormat() from None
    if abs(time.time() - sent.timestamp()) > MAX_CLOCK_SKEW_SECONDS:
        raise InvalidTimeStampExpired()


def _resolve(
    credentials: CredentialStore, access_key_id: str, security_token: str, verify_signatures: bool
) -> Credential:
    return credentials.resolve_request(
        access_key_id, security_token, verify_signatures=verify_signatures, errors=_CREDENTIAL_ERRORS
    )


def acs3_canonical_request(
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, list[str]],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    canonical_query = "&".join(f"{key}={percent(query[key])}" for key in sorted(query))
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(value.strip() for value in headers.get(name, [])))}\n" for name in signed_headers
    )
    signed = ";".join(signed_headers)
    return f"{method}\n{path or '/'}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload_hash}"


def acs3_signature(secret: str, canonical_request: str) -> str:
    text = f"{ACS3}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def v1_signature(secret: str, method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent(key)}={percent(params[key])}" for key in sorted(params) if key != "Signature")
    text = f"{method}&{percent('/')}&{percent(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), text.encode("utf-8"), hashlib.sha1).digest()).decode()


def authenticate(
    credentials: CredentialStore,
    nonces: NonceCache,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, list[str]],
    body: bytes,
    params: dict[str, str],
    *,
    verify_signatures: bool = True,
) -> Credential:
    """The caller's credential; `headers` maps lower-cased names to values, `params` is query + form body."""
    authorization = (headers.get("authorization") or [""])[0]
    if authorization:
        return _authenticate_acs3(
            credentials, nonces, method, path, query, headers, body, authorization, verify_signatures
        )
    if "Signature" in params or "AccessKeyId" in params:
        return _authenticate_v1(credentials, nonces, method, params, verify_signatures)
    raise MissingParameter("AccessKeyId")


def _authenticate_acs3(
    credentials: CredentialStore,
    nonces: NonceCache,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, list[str]],
    body: bytes,
    authorization: str,
    verify_signatures: bool,
) -> Credential:
    algorithm, _, rest = authorization.partition(" ")
    fields = dict(item.strip().partition("=")[::2] for item in rest.split(",") if "=" in item)
    if algorithm != ACS3 or not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        raise IncompleteSignature(
            f"{IncompleteSignature.default_message} The emulator takes {ACS3} Authorization "
            f"headers with Credential, SignedHeaders and Signature."
        )
    signed_headers = fields["SignedHeaders"].split(";")
    first = {name: values[0] for name, values in headers.items() if values}
    missing = [name for name in _REQUIRED_SIGNED_HEADERS if name not in signed_headers or name not in first]
    if missing:
        raise IncompleteSignature(f"{IncompleteSignature.default_message} Unsigned or missing: {', '.join(missing)}.")
    credential = _resolve(credentials, fields["Credential"], first.get("x-acs-security-token", ""), verify_signatures)
    if not verify_signatures:
        return credential
    _check_timestamp(first["x-acs-date"])
    payload_hash = hashlib.sha256(body).hexdigest()
    if first["x-acs-content-sha256"] != payload_hash:
        raise SignatureDoesNotMatch("The x-acs-content-sha256 header does not match the request body.")
    canonical = acs3_canonical_request(method, path, query, headers, signed_headers, payload_hash)
    if not same_text(acs3_signature(credential.access_key_secret, canonical), fields["Signature"]):
        raise SignatureDoesNotMatch(
            f"{SignatureDoesNotMatch.default_message} server string to sign is:{ACS3}\n"
            f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        )
    nonces.check_and_add(first["x-acs-signature-nonce"])
    return credential


def _authenticate_v1(
    credentials: CredentialStore, nonces: NonceCache, method: str, params: dict[str, str], verify_signatures: bool
) -> Credential:
    for name in ("AccessKeyId", "Signature", "SignatureMethod", "SignatureNonce", "Timestamp"):
        if not params.get(name):
            raise MissingParameter(name)
    if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion", "1.0") != "1.0":
        raise IncompleteSignature(
            f"{IncompleteSignature.default_message} The emulator takes SignatureMethod HMAC-SHA1, SignatureVersion 1.0."
        )
    credential = _resolve(credentials, params["AccessKeyId"], params.get("SecurityToken", ""), verify_signatures)
    if not verify_signatures:
        return credential
    _check_timestamp(params["Timestamp"])
    if not same_text(v1_signature(credential.access_key_secret, method, params), params["Signature"]):
        raise SignatureDoesNotMatch()
    nonces.check_and_add(params["SignatureNonce"])
    return credential
