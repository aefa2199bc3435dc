"""QueryTokenForMnsQueue rules: which message types have queues, who may ask, and the tokens issued.

- A message type `T` of Aliyun account `A` has the queue `Alicom-Queue-A-T` (research §9.1). A request
  must name a configured `MessageType`; a `QueueName`, when sent, must be that type's queue. Either
  mistake is a business error (HTTP 200, Code `isv.INVALID_PARAMETERS`).
- A caller a denial matches gets 403 `Forbidden.RAM` whose `AccessDeniedDetail.AuthAction` is
  `dysms:QueryTokenForMnsQueue` on resource `*` (`exceptions.PERMISSION`: an assumption, the SMS service's
  RAM codes being dysms, cloudcomm, dybase, sms with SERVICE-level granularity only), or, for a denial made
  with `access_denied_detail=False`, the bare gateway error without the detail.
- Each token is minted by the shared `CredentialStore` for `token_lifetime` seconds and scoped to the
  type's queue, so the MNS emulator accepts it for that queue until it expires. `CreateTime` and
  `ExpireTime` are `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8) whatever the host's TZ, as the Java
  `TokenGetterForAlicom` parses them; `ExpireTime` is rounded down to the second, so a client that
  trusts it never uses a token after its real expiry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..credentials import Credential, CredentialStore
from .exceptions import ForbiddenRam, InvalidParameters, MissingParameter

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_ALIYUN_ACCOUNT_ID = "1234567890123456"
DEFAULT_TOKEN_LIFETIME = 3600.0  # the real lifetime is not documented (research §9.2)
DEFAULT_MESSAGE_TYPES = (
    "SmsReport",
    "SmsUp",
    "SignSmsReport",
    "TemplateSmsReport",
    "MnsCardVender",
    "MnsCardTemplate",
    "GlobeSmsReport",
)
QUEUE_PREFIX = "Alicom-Queue"


def beijing_time(epoch_seconds: float) -> str:
    """`yyyy-MM-dd HH:mm:ss` in UTC+8, independent of the host's time zone."""
    return datetime.fromtimestamp(int(epoch_seconds), BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def alicom_queue_name(account_id: str, message_type: str) -> str:
    return f"{QUEUE_PREFIX}-{account_id}-{message_type}"


@dataclass(frozen=True)
class IssuedToken:
    message_type: str
    queue_name: str
    credential: Credential
    create_time: str
    expire_time: str
    caller: str


@dataclass(frozen=True)
class TokenDenial:
    """Refuse callers: every field that is set must match (None matches anything)."""

    access_key_id: str | None = None
    message_type: str | None = None
    access_denied_detail: bool = True  # send the AccessDeniedDetail object of newer RAM denials

    def matches(self, access_key_id: str, message_type: str | None) -> bool:
        return (self.access_key_id is None or self.access_key_id == access_key_id) and (
            self.message_type is None or self.message_type == message_type
        )


class DybaseapiState:
    """The token service of one Aliyun account. Thread-safe."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        account_id: str = DEFAULT_ALIYUN_ACCOUNT_ID,
        message_types: Iterable[str] = DEFAULT_MESSAGE_TYPES,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
    ):
        if token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be positive, not {token_lifetime}")
        self.credentials = credentials
        self.account_id = account_id
        self.message_types = list(message_types)
        self.token_lifetime = token_lifetime
        self.issued: list[IssuedToken] = []
        self.denials: list[TokenDenial] = []
        self.lock = threading.Lock()

    def queue_name(self, message_type: str) -> str:
        return alicom_queue_name(self.account_id, message_type)

    def queue_names(self) -> dict[str, str]:
        """Message type -> Alicom queue name, for every configured type."""
        with self.lock:
            return {message_type: self.queue_name(message_type) for message_type in self.message_types}

    def deny(
        self, access_key_id: str | None = None, message_type: str | None = None, *, access_denied_detail: bool = True
    ) -> TokenDenial:
        denial = TokenDenial(access_key_id, message_type, access_denied_detail)
        with self.lock:
            self.denials.append(denial)
        return denial

    def clear_denials(self) -> None:
        with self.lock:
            self.denials.clear()

    def query_token(self, caller: Credential, message_type: str | None, queue_name: str | None = None) -> IssuedToken:
        with self.lock:
            denial = next((d for d in self.denials if d.matches(caller.access_key_id, message_type)), None)
            known = list(self.message_types)
            lifetime = self.token_lifetime
        if denial is not None:
            raise ForbiddenRam.for_caller(caller, self.account_id, detail=denial.access_denied_detail)
        if not message_type:
            raise MissingParameter("MessageType")
        if message_type not in known:
            raise InvalidParameters(
                f"Specified parameter MessageType is not valid: {message_type!r} has no queue; "
                f"configured types: {', '.join(known) or 'none'}."
            )
        expected = self.queue_name(message_type)
        if queue_name and queue_name != expected:
            raise InvalidParameters(
                f"Specified parameter QueueName is not valid: {queue_name!r} is not the "
                f"{message_type} queue {expected!r}."
            )
        credential = self.credentials.issue(lifetime, scope=[expected])
        created_at = (credential.expires_at or 0.0) - lifetime
        token = IssuedToken(
            message_type,
            expected,
            credential,
            beijing_time(created_at),
            beijing_time(credential.expires_at or 0.0),
            caller.access_key_id,
        )
        with self.lock:
            self.issued.append(token)
        return token
