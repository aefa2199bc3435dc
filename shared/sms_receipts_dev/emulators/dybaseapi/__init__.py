"""A local dybaseapi emulator: `QueryTokenForMnsQueue` for the real `alibabacloud_dybaseapi20170525` SDK.

Laid out like moto: `models` (message types, queues, denials, issued tokens), `responses` (JSON out),
`urls` (RPC action routing), `exceptions` (gateway and API error codes), `auth` (ACS3 and V1 request
signatures) and `server` (`DybaseapiEmulator`, `main`). Tokens are minted by the shared
`sms_receipts_dev.emulators.credentials.CredentialStore`, so an `MnsEmulator` given the same store (or,
in another process, the same token key) accepts them for the token's queue until they expire.

    from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
    from alibabacloud_dybaseapi20170525.models import QueryTokenForMnsQueueRequest

    with DybaseapiEmulator(token_lifetime=60) as dybaseapi:
        body = dybaseapi.client().query_token_for_mns_queue(
            QueryTokenForMnsQueueRequest(message_type="SmsReport")).body
        body.code, body.message_token_dto.expire_time     # "OK", "2026-11-25 16:01:00" (Beijing time)

Error codes (see `exceptions`): SignatureDoesNotMatch 400, IncompleteSignature 400,
InvalidAccessKeyId.NotFound 404, InvalidTimeStamp.Expired 400, SignatureNonceUsed 400, Forbidden.RAM 403
(its `AccessDeniedDetail.AuthAction` is `PERMISSION`, `dysms:QueryTokenForMnsQueue` on resource `*`, an
assumption: see `exceptions`; `deny(access_denied_detail=False)` sends none), MissingMessageType 400,
InvalidApi.NotFound 404; an unknown MessageType or a wrong QueueName is HTTP 200 with Code `isv.INVALID_PARAMETERS`.

Standalone: `main(argv)` (also `python -m sms_receipts_dev.emulators.dybaseapi`) serves until SIGINT or
SIGTERM after printing the connection JSON as its first line.
"""

from ..credentials import CredentialStore
from ..faults import FAULT_KINDS, FaultConfig, FaultRates
from .exceptions import PERMISSION, RESOURCE, DybaseapiError, decode_diagnostic_message
from .models import (
    BEIJING,
    DEFAULT_ALIYUN_ACCOUNT_ID,
    DEFAULT_MESSAGE_TYPES,
    DEFAULT_TOKEN_LIFETIME,
    DybaseapiState,
    IssuedToken,
    alicom_queue_name,
    beijing_time,
)
from .server import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DybaseapiEmulator, main

__all__ = [
    "BEIJING",
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_ALIYUN_ACCOUNT_ID",
    "DEFAULT_MESSAGE_TYPES",
    "DEFAULT_TOKEN_LIFETIME",
    "FAULT_KINDS",
    "PERMISSION",
    "RESOURCE",
    "CredentialStore",
    "DybaseapiEmulator",
    "DybaseapiError",
    "DybaseapiState",
    "FaultConfig",
    "FaultRates",
    "IssuedToken",
    "alicom_queue_name",
    "beijing_time",
    "decode_diagnostic_message",
    "main",
]
