"""Helpers for the MNS tests."""

from __future__ import annotations

from sms_receipts import instance
from sms_receipts.mns.alicom import AlicomPuller, AlicomSettings, TokenSource
from sms_receipts.parsing import MessageType

ACCOUNT_ID = "1234567890123456"


def make_puller(
    alicom, types=(MessageType.SMS_REPORT,), poison_dequeue_count=10, now=None, wait_seconds=1, batch_seconds=20.0
):
    dybaseapi, mns = alicom
    settings = AlicomSettings(
        message_types=tuple(types),
        account_id=ACCOUNT_ID,
        mns_endpoint=mns.endpoint,
        dybaseapi_endpoint=dybaseapi.address,
        dybaseapi_protocol="http",
        wait_seconds=wait_seconds,
        poison_dequeue_count=poison_dequeue_count,
        batch_seconds=batch_seconds,
    )
    tokens = TokenSource(settings, (dybaseapi.access_key_id, dybaseapi.access_key_secret, None), now=now)
    return AlicomPuller(settings, tokens, instance.current().store())
