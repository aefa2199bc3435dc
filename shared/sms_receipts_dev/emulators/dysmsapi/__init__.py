"""A local dysmsapi emulator: SendSms, SendBatchSms, QuerySendDetails and QuerySendStatistics for the
real `alibabacloud_dysmsapi20170525` SDK.

Laid out like moto: `models` (sends, messages, delivery outcomes, frequency control, the queries),
`responses` (JSON out), `urls` (the four routed actions), `exceptions` (the API's `isv.*` codes; the
gateway's are the RPC emulators' shared ones in `..rpc`) and `server` (`DysmsapiEmulator`, `main`).

    from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator, ManualClock
    from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest, SendSmsRequest

    clock = ManualClock()
    with DysmsapiEmulator(clock=clock, delivery_delay=5) as sms:
        client = sms.client()
        biz_id = client.send_sms(SendSmsRequest(phone_numbers="13800000000", sign_name="阿里云",
                                                template_code="SMS_1")).body.biz_id
        clock.advance(5)
        for outcome in sms.state.due_outcomes():   # a receipt simulator's feed
            outcome.receipt()                      # {"success": True, "err_code": "DELIVERED", ...}

Error codes: the gateway's (SignatureDoesNotMatch 400, InvalidAccessKeyId.NotFound 404, Missing<Param>
400, InvalidApi.NotFound 404, Throttling.User 400 over the `qps` limit, ServiceUnavailable 503, ...)
and, HTTP 200 with that `Code`: isv.MOBILE_NUMBER_ILLEGAL, isv.MOBILE_COUNT_OVER_LIMIT,
isv.INVALID_PARAMETERS, isv.INVALID_JSON_PARAM, isv.BUSINESS_LIMIT_CONTROL (the per-number frequency
control), isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL.

Persistence: with `DysmsapiEmulator(data_dir=...)` (`--data-dir` standalone) sends, messages and their
outcomes, handed out or not, are stored in SQLite and survive a restart on the same dir; registered
signatures and templates, plans and the frequency-control history do not. Memory only without a data dir.

Standalone: `main(argv)` (also `python -m sms_receipts_dev.emulators.dysmsapi`) serves until SIGINT or
SIGTERM after printing the connection JSON as its first line.
"""

from ..faults import FAULT_KINDS, FaultConfig, FaultRates
from .exceptions import DysmsapiError
from .models import (
    BEIJING,
    DEFAULT_DELIVERY_DELAY,
    DEFAULT_FAILURE_CODES,
    DETAIL_SUCCESS_CODE,
    MAX_BATCH_NUMBERS,
    MAX_PAGE_SIZE,
    MAX_SEND_NUMBERS,
    QUERY_WINDOW_DAYS,
    RECEIPT_SUCCESS_CODE,
    SEND_STATUS_DELIVERED,
    SEND_STATUS_FAILED,
    SEND_STATUS_WAITING,
    DysmsapiState,
    ManualClock,
    Message,
    Outcome,
    Plan,
    RateLimits,
    Send,
    beijing_day,
    beijing_time,
)
from .server import DysmsapiEmulator, main

__all__ = [
    "BEIJING",
    "DEFAULT_DELIVERY_DELAY",
    "DEFAULT_FAILURE_CODES",
    "DETAIL_SUCCESS_CODE",
    "FAULT_KINDS",
    "MAX_BATCH_NUMBERS",
    "MAX_PAGE_SIZE",
    "MAX_SEND_NUMBERS",
    "QUERY_WINDOW_DAYS",
    "RECEIPT_SUCCESS_CODE",
    "SEND_STATUS_DELIVERED",
    "SEND_STATUS_FAILED",
    "SEND_STATUS_WAITING",
    "DysmsapiEmulator",
    "DysmsapiError",
    "DysmsapiState",
    "FaultConfig",
    "FaultRates",
    "ManualClock",
    "Message",
    "Outcome",
    "Plan",
    "RateLimits",
    "Send",
    "beijing_day",
    "beijing_time",
    "main",
]
