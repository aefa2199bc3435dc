"""MNS request authentication (`Authorization: MNS <AccessKeyId>:<Signature>` scheme) and authorization.

As `aliyun-mns-sdk` (`MNSClient.get_signature`) and the MNS "请求签名机制" page define it::

    StringToSign = VERB + "\\n" + Content-MD5 + "\\n" + Content-Type + "\\n" + Date + "\\n"
                   + CanonicalizedMNSHeaders + CanonicalizedResource
    Signature    = base64(HMAC-SHA1(AccessKeySecret, StringToSign))

CanonicalizedMNSHeaders are the `x-mns-*` headers, lower-cased, sorted, each `name:value\\n`;
CanonicalizedResource is the request target as sent (path and query). Temporary credentials add a
`security-token` header, which is not signed. The SDK's Content-MD5 is base64 of the *hex* digest;
the emulator accepts that and the standard base64 of the raw digest.

Checks, in the order the errors are reported: Authorization present and well-formed, Date present,
parseable and within 15 minutes, Content-MD5 (when sent) matches the body, the AccessKey id is known
(or its security token resolves), the token belongs to the key and is unexpired, the signature matches.
With `verify_signatures=False` only the clock skew, the unknown-key and the signature checks are
skipped; expired and foreign tokens are still refused.

Authorization then applies `Denial` rules (queue, AccessKey id, API; unset fields match anything) and
the scope of temporary credentials: a dybaseapi token opens only its own queue. Either refusal is
403 `AccessDeniedByRamPolicy`, naming the RAM action (`mns:<API>`) and resource
(`acs:mns:<region>:<account>:/queues/<queue>[/messages]`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from ..credentials import (
    Credential,
    CredentialStore,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    UnknownAccessKey,
    same_text,
)
from .exceptions import (
    AccessDeniedByRamPolicy,
    InvalidAccessKeyId,
    InvalidAuthorizationHeader,
    InvalidDateHeader,
    InvalidDigest,
    MissingAuthorizationHeader,
    MissingDateHeader,
    SecurityTokenExpired,
    SignatureDoesNotMatch,
    TimeExpired,
)
from .exceptions import InvalidSecurityToken as InvalidSecurityTokenError

MAX_CLOCK_SKEW_SECONDS = 15 * 60
_CREDENTIAL_ERRORS = {
    UnknownAccessKey: InvalidAccessKeyId,
    InvalidSecurityToken: InvalidSecurityTokenError,
    ExpiredSecurityToken: SecurityTokenExpired,
}


def string_to_sign(method: str, headers: dict[str, str], target: str) -> str:
    """`headers` with lower-cased names; `target` the raw request path and query."""
    mns_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers) if name.startswith("x-mns-"))
    return (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{headers.get('date', '')}\n{mns_headers}{target}"
    )


def signature(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()).decode()


def authorization(access_key_id: str, secret: str, method: str, headers: dict[str, str], target: str) -> str:
    """The Authorization header value a client would send (for tools and raw-HTTP tests)."""
    return f"MNS {access_key_id}:{signature(secret, string_to_sign(method, headers, target))}"


def _content_md5_ok(sent: str, body: bytes) -> bool:
    digest = hashlib.md5(body)
    accepted = (
        base64.b64encode(digest.hexdigest().encode("ascii")).decode("ascii"),
        base64.b64encode(digest.digest()).decode("ascii"),
    )
    return sent in accepted


def authenticate(
    credentials: CredentialStore,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes,
    *,
    verify_signatures: bool = True,
) -> Credential:
    """The credential a request is signed with, or the MNS error that rejects it."""
    header = headers.get("authorization")
    if not header:
        raise MissingAuthorizationHeader()
    scheme, _, rest = header.partition(" ")
    access_key_id, colon, sent_signature = rest.strip().rpartition(":")
    if scheme != "MNS" or not colon or not access_key_id or not sent_signature:
        raise InvalidAuthorizationHeader()
    date = headers.get("date")
    if not date:
        raise MissingDateHeader()
    try:
        sent_at = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        raise InvalidDateHeader() from None
    if verify_signatures and abs(time.time() - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        raise TimeExpired()
    if "content-md5" in headers and not _content_md5_ok(headers["content-md5"], body):
        raise InvalidDigest()
    credential = credentials.resolve_request(
        access_key_id, headers.get("security-token", ""), verify_signatures=verify_signatures, errors=_CREDENTIAL_ERRORS
    )
    if verify_signatures:
        expected = signature(credential.access_key_secret, string_to_sign(method, headers, target))
        if not same_text(expected, sent_signature):
            raise SignatureDoesNotMatch()
    return credential


# ---- authorization ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denial:
    """A RAM-style deny: every field that is set must match (None matches anything)."""

    queue: str | None = None
    access_key_id: str | None = None
    api: str | None = None

    def matches(self, queue: str, access_key_id: str, api: str) -> bool:
        return (
            (self.queue is None or self.queue == queue)
            and (self.access_key_id is None or self.access_key_id == access_key_id)
            and (self.api is None or self.api == api)
        )


def ram_resource(region: str, account_id: str, api: str, queue: str) -> str:
    base = f"acs:mns:{region}:{account_id}:/queues"
    if not queue:
        return base
    return f"{base}/{queue}/messages" if api.endswith("Message") else f"{base}/{queue}"


def authorize(
    credential: Credential, api: str, queue: str, denials: Iterable[Denial], *, region: str, account_id: str
) -> None:
    """Refuse a request a denial matches, or that a scoped (STS) credential does not cover."""
    denied = not credential.allows(queue) or any(
        denial.matches(queue, credential.access_key_id, api) for denial in denials
    )
    if denied:
        raise AccessDeniedByRamPolicy.for_action(
            f"mns:{api}", ram_resource(region, account_id, api, queue), credential.access_key_id
        )
