"""A local MNS (Simple Message Queue) emulator that the real `aliyun-mns-sdk` talks to over loopback HTTP.

Laid out like moto: `models` (queues, messages, visibility and receipt handles), `responses` (XML in
and out), `urls` (API routing), `exceptions` (MNS's error codes), `auth` (signature, credentials and
RAM-style denials), `persistence` (queues and messages in SQLite, under a data directory or in memory)
and `server` (`MnsEmulator`, `main`). Shared with the other emulators: the HTTP server and lifecycle
(`sms_receipts_dev.emulators.loopback`), faults (`.faults`), credentials (`.credentials`), the SQLite
store (`.database`) and the standalone plumbing (`.standalone`).

    from sms_receipts_dev.emulators.mns import MnsEmulator

    with MnsEmulator() as mns:
        mns.create_queue("Alicom-Queue-1234567890123456-SmsReport", visibility_timeout=30)
        queue = mns.account().get_queue("Alicom-Queue-1234567890123456-SmsReport")
        queue.batch_receive_message(16, wait_seconds=3)   # MNSServerException MessageNotExist when empty
        mns.requests["BatchReceiveMessage"]              # requests per API

It implements only the APIs the project calls: CreateQueue, SendMessage, ReceiveMessage,
BatchReceiveMessage, PeekMessage, DeleteMessage and BatchDeleteMessage. Every other MNS API (queue
attributes, ListQueue, DeleteQueue, batch send and peek, ChangeMessageVisibility, topics) fails loudly
with 400 InvalidRequestURL naming it, so a new use shows up as an error, never as a silent no-op.

Error codes (see `exceptions`): QueueNotExist 404, MessageNotExist 404 (empty queue, and stale receipt
handles), ReceiptHandleError 400 (unparseable handle), QueueAlreadyExist 409, InvalidArgument 400,
InvalidAccessKeyId / SignatureDoesNotMatch / InvalidSecurityToken / SecurityTokenExpired /
AccessDeniedByRamPolicy 403, TimeExpired 408.

Standalone: `main(argv)` (also `python -m sms_receipts_dev.emulators.mns`) serves until SIGINT or SIGTERM
after printing the connection JSON as its first line.
"""

from ..credentials import CredentialStore
from ..faults import FAULT_KINDS, FaultConfig, FaultRates
from .auth import Denial
from .exceptions import MnsError
from .models import MessageView, MnsState, QueueAttributes
from .server import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    MnsEmulator,
    main,
)

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "FAULT_KINDS",
    "CredentialStore",
    "Denial",
    "FaultConfig",
    "FaultRates",
    "MessageView",
    "MnsEmulator",
    "MnsError",
    "MnsState",
    "QueueAttributes",
    "main",
]
