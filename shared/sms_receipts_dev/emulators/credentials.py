"""Who may call the local emulators: long-term AccessKeys and temporary (STS) credentials.

One `CredentialStore` can be handed to several emulators so that they agree on who is who. The SMS
service's Alicom queues are the case in point: the dybaseapi emulator issues temporary credentials
(`QueryTokenForMnsQueue`) and the MNS emulator must accept them until they expire::

    store = CredentialStore()
    with DybaseapiEmulator(credentials=store) as dybaseapi, MnsEmulator(credentials=store) as mns:
        ...  # a token from dybaseapi opens the Alicom queue on mns until its ExpireTime

Temporary credentials come in two ways:
- registered: `allow(access_key_id, secret, security_token, expires_at)` accepts exactly that triple
  until `expires_at` (seconds since the epoch, on the store's clock);
- minted: `issue(lifetime, scope)` makes a self-contained SecurityToken signed with the store's
  `token_key`, the way real STS tokens carry their own claims and are checked by each service without
  asking STS. Every store with the same `token_key` accepts a minted token, so emulators running in
  separate processes (`sms-receipts emulator dybaseapi` and `... mns`) agree with no shared state.
  The AccessKey secret of a minted credential is derived from its id and the key.

`scope` names the resources (queue names) a temporary credential may touch; empty means no limit.
Resolution failures are `CredentialError`s; each emulator maps them to its service's own error codes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

DEFAULT_ACCESS_KEY_ID = "LTAI-local-emulator"  # every emulator's own AccessKey unless told otherwise
DEFAULT_ACCESS_KEY_SECRET = "local-emulator-secret"
DEFAULT_TOKEN_KEY = "sms-receipts-local-sts-key"
TEMPORARY_KEY_PREFIX = "STS."
TOKEN_PREFIX = "CAIS"  # real Alibaba Cloud STS tokens start with these four characters
_ALPHABET = string.ascii_letters + string.digits


class CredentialError(Exception):
    """A request's credentials are not accepted; subclasses say why."""


class UnknownAccessKey(CredentialError):
    def __init__(self, access_key_id: str):
        super().__init__(f"unknown AccessKey id {access_key_id!r}")
        self.access_key_id = access_key_id


class InvalidSecurityToken(CredentialError):
    """The SecurityToken is missing, malformed, forged, or belongs to another AccessKey id."""


class ExpiredSecurityToken(CredentialError):
    def __init__(self, access_key_id: str, expires_at: float):
        super().__init__(f"the security token of {access_key_id!r} expired at {expires_at:.3f}")
        self.access_key_id = access_key_id
        self.expires_at = expires_at


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    access_key_secret: str
    security_token: str = ""  # "" for a long-term AccessKey
    expires_at: float | None = None  # seconds since the epoch; None never expires
    scope: tuple[str, ...] = ()  # resources a temporary credential may touch; () means no limit

    @property
    def temporary(self) -> bool:
        return self.security_token != ""

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def allows(self, resource: str) -> bool:
        return not self.scope or resource in self.scope


def same_text(a: str, b: str) -> bool:
    """Constant-time comparison that, unlike `hmac.compare_digest` on str, accepts non-ASCII input."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CredentialStore:
    """Thread-safe registry of accepted credentials, plus the key that mints and checks STS tokens."""

    def __init__(
        self,
        access_keys: dict[str, str] | None = None,
        *,
        token_key: str = DEFAULT_TOKEN_KEY,
        clock: Callable[[], float] = time.time,
    ):
        self.token_key = token_key
        self.clock = clock
        self._credentials: dict[str, Credential] = {}
        self._minted: set[str] = set()
        self._lock = threading.Lock()
        for access_key_id, secret in (access_keys or {}).items():
            self.add_access_key(access_key_id, secret)

    def add_access_key(self, access_key_id: str, access_key_secret: str) -> Credential:
        """Accept a long-term AccessKey (replacing any credential with that id)."""
        return self._put(Credential(access_key_id, access_key_secret))

    def allow(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str,
        expires_at: float | None,
        scope: Iterable[str] = (),
    ) -> Credential:
        """Accept one temporary credential until `expires_at` (on this store's clock)."""
        if not security_token:
            raise ValueError("a temporary credential needs a security token")
        return self._put(Credential(access_key_id, access_key_secret, security_token, expires_at, tuple(scope)))

    def issue(self, lifetime: float, scope: Iterable[str] = ()) -> Credential:
        """Mint and register a temporary credential valid for `lifetime` seconds from now."""
        if lifetime <= 0:
            raise ValueError(f"a token lifetime must be positive, not {lifetime}")
        access_key_id = TEMPORARY_KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(28))
        expires_at = self.clock() + lifetime
        claims = {"ak": access_key_id, "exp": expires_at, "scope": list(scope), "n": secrets.token_hex(6)}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        token = f"{TOKEN_PREFIX}{payload}.{_b64(self._mac('token', payload))}"
        credential = Credential(
            access_key_id, self._derived_secret(access_key_id), token, expires_at, tuple(claims["scope"])
        )
        with self._lock:
            self._forget_expired_minted(expires_at - lifetime)
        return self._put(credential, minted=True)

    def revoke(self, access_key_id: str) -> None:
        """Forget a registered credential (a minted token stays valid in other stores with the same key)."""
        with self._lock:
            self._credentials.pop(access_key_id, None)
            self._minted.discard(access_key_id)

    def get(self, access_key_id: str) -> Credential | None:
        with self._lock:
            return self._credentials.get(access_key_id)

    def resolve(self, access_key_id: str, security_token: str = "") -> Credential:
        """The credential a request presents, or a `CredentialError` saying why it is not accepted.

        A long-term AccessKey ignores a SecurityToken sent along with it; a temporary one needs its own
        token, unexpired. An unregistered id with a token is checked as a token minted with `token_key`.
        """
        credential = self.get(access_key_id)
        if credential is None:
            if not security_token:
                raise UnknownAccessKey(access_key_id)
            credential = self._decode(access_key_id, security_token)
        if not credential.temporary:
            return credential
        if not security_token or not same_text(security_token, credential.security_token):
            raise InvalidSecurityToken(f"the security token does not belong to {access_key_id!r}")
        if credential.expired(self.clock()):
            raise ExpiredSecurityToken(access_key_id, credential.expires_at or 0.0)
        return credential

    def resolve_request(
        self,
        access_key_id: str,
        security_token: str,
        *,
        verify_signatures: bool,
        errors: Mapping[type[CredentialError], Callable[[], Exception]],
    ) -> Credential:
        """`resolve()` for a request, raising the service's error that `errors` maps each refusal to.

        Without signature checks an unknown AccessKey passes, with an empty secret; a bad token never does.
        """
        try:
            return self.resolve(access_key_id, security_token)
        except UnknownAccessKey:
            if not verify_signatures:
                return Credential(access_key_id, "")
            raise errors[UnknownAccessKey]() from None
        except CredentialError as error:
            raise errors[type(error)]() from None

    def _forget_expired_minted(self, now: float) -> None:
        """Drop minted credentials expired for a minute: their tokens still decode (as expired)."""
        stale = [key for key in self._minted if self._credentials[key].expired(now - 60)]
        for key in stale:
            self._minted.discard(key)
            del self._credentials[key]

    def _put(self, credential: Credential, *, minted: bool = False) -> Credential:
        with self._lock:
            self._credentials[credential.access_key_id] = credential
            if minted:
                self._minted.add(credential.access_key_id)
            else:
                self._minted.discard(credential.access_key_id)
        return credential

    def _mac(self, purpose: str, text: str) -> bytes:
        return hmac.new(self.token_key.encode("utf-8"), f"{purpose}\n{text}".encode(), hashlib.sha256).digest()

    def _derived_secret(self, access_key_id: str) -> str:
        return _b64(self._mac("secret", access_key_id))[:30]

    def _decode(self, access_key_id: str, token: str) -> Credential:
        payload, _, mac = token[len(TOKEN_PREFIX) :].partition(".")
        try:
            if not token.startswith(TOKEN_PREFIX) or not hmac.compare_digest(_unb64(mac), self._mac("token", payload)):
                raise InvalidSecurityToken("the security token is malformed or was not issued here")
            claims = json.loads(_unb64(payload))
            expires_at, scope = float(claims["exp"]), tuple(str(item) for item in claims["scope"])
            owner = claims["ak"]
        except (binascii.Error, ValueError, KeyError, TypeError) as error:
            raise InvalidSecurityToken("the security token is malformed") from error
        if owner != access_key_id:
            raise InvalidSecurityToken(f"the security token does not belong to {access_key_id!r}")
        return Credential(access_key_id, self._derived_secret(access_key_id), token, expires_at, scope)
