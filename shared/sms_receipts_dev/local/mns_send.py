"""`sms-receipts mns-send`: enqueue receipts on the local stack's Alicom queues as the SMS service
does in MNS mode: one message per receipt, its body base64 of one UTF-8 JSON object."""

from __future__ import annotations

import json
from typing import Any

from sms_receipts.endpoints import local_section
from sms_receipts.parsing import MessageType, detect_message_type, message_type_from_name
from sms_receipts.parsing.items import compact_json


def send_receipts(data: bytes, type_name: str | None, data_dir: str) -> list[dict[str, Any]]:
    from mns.queue import Message

    local = local_section(data_dir, "alicom", "mns-send enqueues on the local stack's Alicom queues only")
    value = json.loads(data)
    receipts = value if isinstance(value, list) else [value]
    declared = message_type_from_name(type_name) if type_name else None
    from mns.account import Account

    account = Account(local["mns_endpoint"], local["producer_access_key_id"], local["producer_access_key_secret"])
    sent = []
    for receipt in receipts:
        message_type = declared or detect_message_type(receipt) or MessageType.SMS_REPORT
        queue_type = "SmsReport" if message_type is MessageType.INTL_SMS_REPORT else message_type.value
        queue_name = local["queues"][queue_type]
        queue = account.get_queue(queue_name)
        queue.set_encoding(True)  # base64 on the wire, as the SMS service's messages are
        result = queue.send_message(Message(compact_json(receipt)))
        sent.append({"queue": queue_name, "message_id": result.message_id})
    return sent
