"""The Alicom puller: messages per second drained from the MNS emulator into the Tablestore emulator,
side by side with a naive loop that receives, stores and deletes one message at a time."""

from __future__ import annotations

import json
import time

from sms_receipts.mns.alicom import AlicomPuller, AlicomSettings, TokenSource
from sms_receipts.parsing import MessageType, decode_alicom_message
from sms_receipts.storage import ReceiptStore
from sms_receipts_dev.emulators.credentials import CredentialStore
from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
from sms_receipts_dev.emulators.mns import MnsEmulator
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

from .samples import emulator_storage, sms_report_push

MESSAGES = 1000
ACCOUNT = "1234567890123456"


def _store(tablestore: TablestoreEmulator) -> ReceiptStore:
    return emulator_storage(tablestore, "p").store


def _fill(mns: MnsEmulator, queue: str) -> None:
    for receipt in sms_report_push(MESSAGES):
        mns.enqueue(queue, json.dumps(receipt, ensure_ascii=False))


def _naive_drain(mns: MnsEmulator, queue_name: str, store: ReceiptStore) -> int:
    """One message per receive, one store call and one delete per message."""
    from mns.mns_exception import MNSExceptionBase

    queue = mns.account().get_queue(queue_name)
    queue.set_encoding(True)
    drained = 0
    while True:
        try:
            message = queue.receive_message(wait_seconds=1)
        except MNSExceptionBase:
            return drained
        parsed = decode_alicom_message(message.message_body, MessageType.SMS_REPORT, message.message_id)
        if store.write(parsed.items, parsed.rejected).confirmed:
            queue.delete_message(message.receipt_handle)
            drained += 1


def run() -> dict:
    credentials = CredentialStore()
    with (
        TablestoreEmulator() as tablestore,
        DybaseapiEmulator(credentials=credentials, account_id=ACCOUNT, message_types=["SmsReport"]) as dyb,
        MnsEmulator(credentials=credentials) as mns,
    ):
        queue = dyb.queue_name("SmsReport")
        mns.create_queue(queue, visibility_timeout=60)

        _fill(mns, queue)
        settings = AlicomSettings(
            message_types=(MessageType.SMS_REPORT,),
            account_id=ACCOUNT,
            mns_endpoint=mns.endpoint,
            dybaseapi_endpoint=dyb.address,
            dybaseapi_protocol="http",
            wait_seconds=1,
        )
        puller = AlicomPuller(
            settings, TokenSource(settings, (dyb.access_key_id, dyb.access_key_secret, None)), _store(tablestore)
        )
        started = time.perf_counter()
        (report,) = puller.pull(budget_seconds=600)
        puller_seconds = time.perf_counter() - started - 1.0  # less the final empty long poll
        assert report.outcomes["stored"] == MESSAGES and report.deleted == MESSAGES

        _fill(mns, queue)
        started = time.perf_counter()
        drained = _naive_drain(mns, queue, _store(tablestore))
        naive_seconds = time.perf_counter() - started - 1.0
        assert drained == MESSAGES

    return {
        "name": "pull",
        "messages": MESSAGES,
        "puller_messages_per_second": round(MESSAGES / puller_seconds),
        "naive_messages_per_second": round(MESSAGES / naive_seconds),
        "ratio_puller_to_naive": round(naive_seconds / puller_seconds, 1),
    }
