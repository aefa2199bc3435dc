"""The Alicom queue puller: the SMS service's own `Alicom-Queue-<uid>-<MessageType>` queues.

Those queues live in the SMS service's MNS account; a consumer reads them with a temporary token
from `QueryTokenForMnsQueue` (dybaseapi). For each configured message type the puller:
- gets a token, cached per warm instance and refreshed at least 2 minutes before its `ExpireTime`,
  which is read as Beijing time (Asia/Shanghai) whatever the host's time zone;
- receives batches of 16 with long polling until the invocation's time budget is nearly spent;
- stores each batch, then batch-deletes exactly the messages whose receipts are stored (or
  duplicate, stale, dead-lettered), leaving the rest to be redelivered after the visibility timeout;
- gives each batch's store and delete at most `batch_seconds` from its receipt (and never more than
  the invocation has left), well inside the Alicom queues' visibility timeout of about 30 s, so a
  batch is not delivered again while it is still being handled; what the store has not confirmed by
  then is not deleted and comes back;
- dead-letters and deletes poison messages (dequeued at least `poison_dequeue_count` times).

Configuration: `AlicomSettings.VARIABLES` (`ALICOM_VISIBILITY_TIMEOUT` says why batches get 20 s).

Permissions: the role needs QueryTokenForMnsQueue on Resource "*". The SMS service's RAM codes are
dysms, cloudcomm, dybase and sms, with SERVICE-level granularity only
(https://alibabacloud.com/help/en/sms/developer-reference/api-dysmsapi-2018-05-01-ram;
https://help.aliyun.com/knowledge_detail/101339.html: "此产品不支持对具体资源授权,需授予全部资源权限");
`dybaseapi` is the endpoint, not a RAM code. No public page names the action itself, so a denial's
report names the `AuthAction` of its `AccessDeniedDetail` when the service sends one, and otherwise
both documented candidates (`TOKEN_ACTION_CANDIDATES`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from ..logs import log_event
from ..parsing import MessageType, RejectedItem, Source, decode_alicom_message, message_type_from_name
from ..parsing.times import CHINA_TZ
from ..settings import Variable, names
from ..storage.inbox import write_or_spill
from ..storage.outcomes import Outcome
from ..storage.writer import ReceiptStore

log = logging.getLogger("sms_receipts.alicom")

DEFAULT_MNS_ENDPOINT = "https://1943695596114318.mns.cn-hangzhou.aliyuncs.com"
DEFAULT_DYBASEAPI_ENDPOINT = "dybaseapi.aliyuncs.com"
DEFAULT_TYPES = "SmsReport,SmsUp"
REFRESH_MARGIN = timedelta(minutes=2)
BATCH_SIZE = 16  # the most BatchReceiveMessage returns
# The Alicom queues' VisibilityTimeout, not documented but observed: NextVisibleTime - FirstDequeueTime
# = 30 s in both real message captures of spring-cloud-alibaba `sms-example/readme-zh.md` (2019). A batch
# not deleted within it is delivered again, to this puller's next receive or to an overlapping run.
ALICOM_VISIBILITY_TIMEOUT = 30.0
# Per-batch bound on store + delete, counted from the receive's return: 10 s short of the visibility
# timeout, for the delete itself, clock skew and the unknown exactness of "about 30 s".
DEFAULT_BATCH_SECONDS = 20.0
MAX_BATCH_SECONDS = ALICOM_VISIBILITY_TIMEOUT - 5.0
# Of a batch's bound, the part kept for BatchDeleteMessage after the store (at most 2 s, a quarter of it).
DELETE_RESERVE_SECONDS = 2.0

TYPES = Variable("SMS_RECEIPTS_ALICOM_TYPES", "message types to pull", DEFAULT_TYPES)
ACCOUNT_ID = Variable(
    "SMS_RECEIPTS_ALICOM_ACCOUNT_ID", "the `<uid>` of the queue names (your main account id)", unset="the FC context's"
)
MNS_ENDPOINT = Variable("SMS_RECEIPTS_ALICOM_MNS_ENDPOINT", "the SMS service's MNS endpoint", DEFAULT_MNS_ENDPOINT)
DYBASEAPI_ENDPOINT = Variable(
    "SMS_RECEIPTS_DYBASEAPI_ENDPOINT", "the token API (`host[:port]`)", DEFAULT_DYBASEAPI_ENDPOINT
)
DYBASEAPI_PROTOCOL = Variable("SMS_RECEIPTS_DYBASEAPI_PROTOCOL", "the token API's protocol", "https")
WAIT_SECONDS = Variable("SMS_RECEIPTS_ALICOM_WAIT_SECONDS", "long-polling wait per receive, 1..30", "3")
POISON = Variable("SMS_RECEIPTS_ALICOM_POISON_DEQUEUE_COUNT", "dequeues before a message is dead-lettered", "10")
BATCH_SECONDS = Variable(
    "SMS_RECEIPTS_ALICOM_BATCH_SECONDS",
    "the most one batch's store and delete may take from its receipt, 1..25",
    f"{DEFAULT_BATCH_SECONDS:g}",
)
ENV_TYPES, ENV_ACCOUNT_ID, ENV_MNS_ENDPOINT = TYPES.name, ACCOUNT_ID.name, MNS_ENDPOINT.name
ENV_DYBASEAPI_ENDPOINT, ENV_DYBASEAPI_PROTOCOL = DYBASEAPI_ENDPOINT.name, DYBASEAPI_PROTOCOL.name

# The RAM actions a role may need for QueryTokenForMnsQueue, on Resource "*" (see the module docstring:
# `dysms` and `dybase` are the SMS service's documented RAM codes; which one the API checks is unverified).
TOKEN_ACTION_CANDIDATES = ("dysms:QueryTokenForMnsQueue", "dybase:QueryTokenForMnsQueue")


class AlicomError(RuntimeError):
    """Pulling cannot go on; the message says what to fix."""


class AlicomAccessDenied(AlicomError):
    """RAM refused QueryTokenForMnsQueue; the message names the permission to grant."""


def denied_auth_action(exc: BaseException) -> str | None:
    """The `AuthAction` of a denial's `AccessDeniedDetail`, if the service sent one.

    Alibaba's newer RAM denials add a top-level `AccessDeniedDetail` object to the error body
    (AuthAction, AuthPrincipalType, NoPermissionType, PolicyType, EncodedDiagnosticMessage, ...).
    alibabacloud_tea_openapi 0.4 passes it as `ClientException.access_denied_detail`
    (`Client.get_access_denied_detail`); darabonba/Tea's `TeaException` keep it as `accessDeniedDetail`;
    the raw body is `.data`. All three are looked at.
    """
    data = getattr(exc, "data", None)
    for detail in (
        getattr(exc, "access_denied_detail", None),
        getattr(exc, "accessDeniedDetail", None),
        data.get("AccessDeniedDetail") if isinstance(data, dict) else None,
    ):
        if isinstance(detail, str):  # some services send it JSON-encoded
            try:
                detail = json.loads(detail)
            except ValueError:
                continue
        if isinstance(detail, Mapping):
            action = detail.get("AuthAction") or detail.get("authAction")
            if isinstance(action, str) and action.strip():
                return action.strip()
    return None


def token_permission(auth_action: str | None = None) -> str:
    """What to grant the role for QueryTokenForMnsQueue: the denial's AuthAction, else both candidates."""
    if auth_action:
        return f'{auth_action} on Resource "*" (the AuthAction of the denial)'
    first, second = TOKEN_ACTION_CANDIDATES
    return (
        f'{first} and {second} on Resource "*" (the service sent no AccessDeniedDetail naming the action; '
        "grant both, or read the action in the RAM console)"
    )


@dataclass(frozen=True)
class AlicomSettings:
    VARIABLES: ClassVar = (
        TYPES,
        ACCOUNT_ID,
        MNS_ENDPOINT,
        DYBASEAPI_ENDPOINT,
        DYBASEAPI_PROTOCOL,
        WAIT_SECONDS,
        POISON,
        BATCH_SECONDS,
    )

    message_types: tuple[MessageType, ...]
    account_id: str
    mns_endpoint: str = DEFAULT_MNS_ENDPOINT
    dybaseapi_endpoint: str = DEFAULT_DYBASEAPI_ENDPOINT
    dybaseapi_protocol: str = "https"
    wait_seconds: int = 3
    poison_dequeue_count: int = 10
    batch_seconds: float = DEFAULT_BATCH_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str], context: Any = None) -> AlicomSettings:
        types = tuple(
            message_type_from_name(t.strip()) for t in env.get(ENV_TYPES, DEFAULT_TYPES).split(",") if t.strip()
        )
        account_id = env.get(ENV_ACCOUNT_ID, "").strip() or str(getattr(context, "account_id", "") or "")
        if not account_id:
            raise AlicomError(f"set {ENV_ACCOUNT_ID}: the account id in Alicom-Queue-<uid>-<MessageType>")
        return cls(
            message_types=types,
            account_id=account_id,
            mns_endpoint=MNS_ENDPOINT.read(env),
            dybaseapi_endpoint=DYBASEAPI_ENDPOINT.read(env),
            dybaseapi_protocol=DYBASEAPI_PROTOCOL.read(env),
            wait_seconds=max(1, min(30, WAIT_SECONDS.integer(env))),
            poison_dequeue_count=POISON.integer(env),
            batch_seconds=max(1.0, min(MAX_BATCH_SECONDS, BATCH_SECONDS.number(env))),
        )

    def queue_name(self, message_type: MessageType) -> str:
        # The international site's report is a `SmsReport` queue too.
        name = "SmsReport" if message_type is MessageType.INTL_SMS_REPORT else message_type.value
        return f"Alicom-Queue-{self.account_id}-{name}"


ALICOM_ENV_VARS = names(AlicomSettings.VARIABLES)


@dataclass(frozen=True)
class QueueToken:
    access_key_id: str
    access_key_secret: str
    security_token: str
    expires_at: datetime  # aware

    def fresh(self, now: datetime) -> bool:
        return now < self.expires_at - REFRESH_MARGIN


def parse_expire_time(text: str) -> datetime:
    """`ExpireTime` is `yyyy-MM-dd HH:mm:ss` in Beijing time, whatever the host's zone."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TZ)


class TokenSource:
    """Tokens from QueryTokenForMnsQueue, one per message type, cached until 2 minutes before expiry."""

    def __init__(
        self,
        settings: AlicomSettings,
        credentials: tuple[str, str, str | None],
        now: Callable[[], datetime] | None = None,
    ):
        self._settings = settings
        self._credentials = credentials
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._tokens: dict[MessageType, QueueToken] = {}
        self._client: Any = None
        self._lock = threading.Lock()
        self.fetches = 0
        self.denied_action: str | None = None  # the AuthAction of the last denial that named one

    def update_credentials(self, credentials: tuple[str, str, str | None]) -> None:
        if credentials != self._credentials:
            self._credentials, self._client = credentials, None

    def _api(self) -> Any:
        if self._client is None:
            from alibabacloud_dybaseapi20170525.client import Client
            from alibabacloud_tea_openapi.models import Config

            key_id, secret, token = self._credentials
            self._client = Client(
                Config(
                    access_key_id=key_id,
                    access_key_secret=secret,
                    security_token=token,
                    endpoint=self._settings.dybaseapi_endpoint,
                    protocol=self._settings.dybaseapi_protocol,
                    region_id="cn-hangzhou",
                    connect_timeout=3000,
                    read_timeout=5000,
                )
            )
        return self._client

    def token(self, message_type: MessageType) -> QueueToken:
        with self._lock:
            cached = self._tokens.get(message_type)
            if cached is not None and cached.fresh(self._now()):
                return cached
            token = self._fetch(message_type)
            self._tokens[message_type] = token
            return token

    def invalidate(self, message_type: MessageType) -> None:
        with self._lock:
            self._tokens.pop(message_type, None)

    def _fetch(self, message_type: MessageType) -> QueueToken:
        from alibabacloud_dybaseapi20170525.models import QueryTokenForMnsQueueRequest
        from Tea.exceptions import TeaException

        queue_name = self._settings.queue_name(message_type)
        type_name = queue_name.rsplit("-", 1)[-1]
        self.fetches += 1
        try:
            response = self._api().query_token_for_mns_queue(
                QueryTokenForMnsQueueRequest(message_type=type_name, queue_name=queue_name)
            )
        except TeaException as exc:
            code = str(exc.code or "")
            action = denied_auth_action(exc)
            if action or "Forbidden" in code or "NoPermission" in code or "AccessDenied" in code:
                self.denied_action = action or self.denied_action
                raise AlicomAccessDenied(
                    f"QueryTokenForMnsQueue for {type_name} was denied ({code}): grant the function's role "
                    f"{token_permission(action)}; {exc.message}"
                ) from None
            raise AlicomError(f"QueryTokenForMnsQueue for {type_name} failed: {code} {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - the Tea runtime's network errors have no common base
            raise AlicomError(f"QueryTokenForMnsQueue for {type_name} failed: {type(exc).__name__}: {exc}") from None
        body = response.body
        if body is None or body.code != "OK" or body.message_token_dto is None:
            answer = getattr(body, "code", None)
            raise AlicomError(
                f"QueryTokenForMnsQueue for {type_name} answered {answer}: {getattr(body, 'message', '')}"
            )
        dto = body.message_token_dto
        return QueueToken(
            dto.access_key_id, dto.access_key_secret, dto.security_token, parse_expire_time(dto.expire_time)
        )


@dataclass
class QueueReport:
    message_type: str
    queue: str
    status: str = "budget spent"  # or: empty, queue missing, access denied, token expired, error
    received: int = 0
    deleted: int = 0
    poison: int = 0
    spilled: int = 0  # receipts not stored in time, written to the inbox (their messages deleted)
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    error: str | None = None


# MNS error codes the puller tells apart (the MNS SDK's exception `.type`).
_EMPTY, _MISSING = "MessageNotExist", "QueueNotExist"
# MNS documents no code for an expired STS token; these are the STS codes of Alibaba's other services.
_EXPIRED = frozenset({"SecurityTokenExpired", "InvalidSecurityToken"})
_DENIED = frozenset({"AccessDeniedByRamPolicy", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"})


class AlicomPuller:
    def __init__(
        self,
        settings: AlicomSettings,
        tokens: TokenSource,
        store: ReceiptStore,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.tokens = tokens
        self.store = store
        self._clock = clock
        self._queues: dict[MessageType, tuple[QueueToken, Any]] = {}

    def _queue(self, message_type: MessageType) -> Any:
        token = self.tokens.token(message_type)
        cached = self._queues.get(message_type)
        if cached is None or cached[0] is not token:
            from mns.account import Account

            account = Account(
                self.settings.mns_endpoint, token.access_key_id, token.access_key_secret, token.security_token
            )
            queue = account.get_queue(self.settings.queue_name(message_type))
            queue.set_encoding(True)  # bodies are base64 on the wire
            self._queues[message_type] = cached = (token, queue)
        return cached[1]

    def pull(self, budget_seconds: float) -> list[QueueReport]:
        """Drain every configured queue until it is empty or the budget is nearly spent, a batch from
        each in turn, so that a flooded queue never starves the others."""
        deadline = self._clock() + budget_seconds
        reports = {t: QueueReport(t.value, self.settings.queue_name(t)) for t in self.settings.message_types}
        active = list(self.settings.message_types)
        while active:
            for message_type in list(active):
                report = reports[message_type]
                try:
                    finished = self._turn(message_type, deadline, report)
                except AlicomAccessDenied as exc:
                    report.status, report.error, finished = "access denied", str(exc), True
                except AlicomError as exc:
                    report.status, report.error, finished = "error", str(exc), True
                if finished:
                    active.remove(message_type)
        for report in reports.values():
            level = logging.INFO if report.status in ("empty", "budget spent") else logging.WARNING
            log_event(log, "alicom_pull", level, **vars(report))
        return list(reports.values())

    def _turn(self, message_type: MessageType, deadline: float, report: QueueReport) -> bool:
        """Receive one batch from the queue, store it and delete it; True when the queue is done for
        this run (empty, missing, an error, or no time left)."""
        messages = self._receive(message_type, deadline, report, renew_expired_token=True)
        if messages is None:
            return True
        self._store_and_delete(message_type, messages, self._store_deadline(deadline), report)
        return False

    def _receive(
        self, message_type: MessageType, deadline: float, report: QueueReport, *, renew_expired_token: bool
    ) -> list | None:
        """One long-polled batch, or None with the reason in `report`. An expired token is renewed
        and the receive tried once more."""
        from mns.mns_exception import MNSExceptionBase

        remaining = deadline - self._clock()
        if remaining < 2.0:  # time to store and delete what a receive would bring
            report.status = "budget spent"
            return None
        wait = max(1, min(self.settings.wait_seconds, int(remaining - 1.5)))
        try:
            messages: list = self._queue(message_type).batch_receive_message(BATCH_SIZE, wait_seconds=wait)
            return messages
        except MNSExceptionBase as exc:
            code = getattr(exc, "type", "")
            if (code in _EXPIRED or "expired" in str(exc).lower()) and renew_expired_token:
                self.tokens.invalidate(message_type)
                return self._receive(message_type, deadline, report, renew_expired_token=False)
            self._note_receive_error(message_type, code, exc, report)
            return None

    def _note_receive_error(self, message_type: MessageType, code: str, exc: Any, report: QueueReport) -> None:
        if code == _EMPTY:
            report.status = "empty"
        elif code == _MISSING:
            report.status = "queue missing"
            report.error = (
                f"{report.queue} does not exist: enable MNS mode for {message_type.value} in the "
                "SMS console (it takes about 15 minutes), and check the account id; a queue "
                "with no sends for 3 months goes dormant until sending resumes"
            )
        elif code in _EXPIRED:
            report.status, report.error = "token expired", f"{code}: {exc.message}"
        elif code in _DENIED:
            report.status = "access denied"
            report.error = (
                f"{code} on {report.queue}: the token from QueryTokenForMnsQueue may not read "
                f"this queue (check {ENV_ACCOUNT_ID} is the account that enabled MNS mode, "
                f"and grant the function's role "
                f"{token_permission(self.tokens.denied_action)}): {exc.message}"
            )
        else:
            report.status, report.error = "error", f"{code}: {getattr(exc, 'message', exc)}"

    def _store_deadline(self, deadline: float) -> float:
        """When a just-received batch's store must stop: its bound less the delete's reserve, counted
        from now (the messages' visibility timeout started when MNS handed them out), and never past the
        invocation's deadline (the FC adapter keeps time after that for the last delete)."""
        batch_seconds = self.settings.batch_seconds
        reserve = min(DELETE_RESERVE_SECONDS, batch_seconds / 4)
        return min(deadline, self._clock() + batch_seconds - reserve)

    def _store_and_delete(
        self, message_type: MessageType, messages: list, store_deadline: float, report: QueueReport
    ) -> None:
        """Store a batch by `store_deadline`, then delete the messages whose receipts are settled.

        What the store has not confirmed by then (less the time kept for a spill) is spilled to the
        inbox, and its messages are deleted too; only when the spill fails are they kept, to come back
        after the visibility timeout and be stored (idempotently) by a later receive."""
        report.received += len(messages)
        items, rejected, owners_items, owners_rejected = [], [], [], []
        for index, message in enumerate(messages):
            if message.dequeue_count >= self.settings.poison_dequeue_count:
                report.poison += 1
                body = message.message_body
                rejected.append(
                    RejectedItem(
                        reason=f"poison message: dequeued {message.dequeue_count} times without being stored",
                        raw=body if isinstance(body, bytes) else str(body).encode("utf-8"),
                        source=Source.ALICOM,
                        message_type=message_type,
                        message_id=message.message_id,
                    )
                )
                owners_rejected.append(index)
                continue
            decoded = decode_alicom_message(message.message_body, message_type, message.message_id)
            items.extend(decoded.items)
            owners_items.extend([index] * len(decoded.items))
            rejected.extend(decoded.rejected)
            owners_rejected.extend([index] * len(decoded.rejected))
        spill_seconds = min(DELETE_RESERVE_SECONDS, max(0.0, store_deadline - self._clock()) / 4)
        written = write_or_spill(
            self.store, items, rejected, inline_deadline=store_deadline - spill_seconds, deadline=store_deadline
        )
        failed = set()
        for owner, outcome in zip(owners_items + owners_rejected, written.result.outcomes, strict=True):
            if outcome.outcome is Outcome.FAILED and written.confirmed:
                report.spilled += 1
                continue
            report.outcomes[outcome.outcome.value] += 1
            if outcome.outcome is Outcome.FAILED:
                failed.add(owner)
        handles = [m.receipt_handle for i, m in enumerate(messages) if i not in failed]
        if handles:
            self._delete(message_type, handles, report)

    def _delete(self, message_type: MessageType, handles: list[str], report: QueueReport) -> None:
        from mns.mns_exception import MNSExceptionBase

        try:
            self._queue(message_type).batch_delete_message(handles)
            report.deleted += len(handles)
        except MNSExceptionBase as exc:
            # Stored but not deleted: it comes back after the visibility timeout and is a duplicate then.
            log_event(
                log,
                "alicom_delete_failed",
                logging.WARNING,
                queue=report.queue,
                count=len(handles),
                error=f"{getattr(exc, 'type', '')}: {getattr(exc, 'message', exc)}",
            )
