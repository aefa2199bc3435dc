"""`sms-receipts reply`: a user's reply to the local stack, as the SMS service delivers it: a SmsUp
receipt pushed to the SmsUp callback URL, or, when the stack runs with `--delivery mns`, put on the
SmsUp Alicom queue for the puller (the simulator's sinks, `sms_service`)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sms_receipts.endpoints import ENDPOINTS_FILE, local_section
from sms_receipts.settings import ConfigurationError

from .sms_service import SMS_UP, AlicomQueueSink, HttpCallbackSink, Sink, sms_up_receipt


def reply(phone: str, content: str, sign: str | None, dest_code: str | None, data_dir: str) -> dict[str, Any]:
    """Deliver the reply; the receipt. ConfigurationError when no stack runs; ValueError when it refused."""
    urls = local_section(data_dir, "callback_urls", "reply needs the local stack (make dev)")
    delivery = json.loads((Path(data_dir) / ENDPOINTS_FILE).read_text(encoding="utf-8")).get("delivery", "http")
    sink: Sink
    if delivery == "mns":
        from mns.account import Account

        alicom = local_section(data_dir, "alicom", "reply needs the local stack (make dev)")
        account = Account(
            alicom["mns_endpoint"], alicom["producer_access_key_id"], alicom["producer_access_key_secret"]
        )
        sink = AlicomQueueSink(account, alicom["queues"])
    else:
        sink = HttpCallbackSink({SMS_UP: urls[SMS_UP]})
    if not content:
        raise ConfigurationError("--content must not be empty")
    fields: dict[str, Any] = {"sign_name": sign} if sign else {}
    if dest_code:
        fields["dest_code"] = dest_code
    receipt = sms_up_receipt(phone, content, random.randint(10**8, 10**9 - 1), **fields)
    if not sink.deliver(SMS_UP, [receipt]):
        raise ValueError(f"the local stack did not accept the reply ({delivery})")
    return {"delivery": delivery, "receipt": receipt}
