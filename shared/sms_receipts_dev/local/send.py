"""`sms-receipts send`: one SendSms through the official SDK to the local stack's SMS API (the dysmsapi
emulator named in `endpoints.json`), recorded in the send log as a sender would record it. Locally
the send's outcome falls due after the stack's delivery delay and its SmsReport is pushed to the HTTP
function, as the real service would."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sms_receipts.endpoints import local_section, storage_env


def send(
    phones: str,
    sign: str,
    template: str,
    params: str | None,
    out_id: str | None,
    data_dir: str | os.PathLike,
) -> dict[str, Any]:
    """Send, record, and say what happened. ValueError with a reason a person can act on."""
    from alibabacloud_dysmsapi20170525.client import Client
    from alibabacloud_dysmsapi20170525.models import SendSmsRequest
    from alibabacloud_tea_openapi.models import Config

    from sms_receipts.storage import Storage, StorageSettings
    from sms_receipts.storage.sends import SendError, SendLog

    if params is not None:
        try:
            if not isinstance(json.loads(params), dict):
                raise ValueError
        except ValueError:
            raise ValueError('--params must be a JSON object, e.g. \'{"code":"1234"}\'') from None
    api = local_section(Path(data_dir), "dysmsapi", "no local SMS API (this command sends to the local stack only)")
    client = Client(
        Config(
            endpoint=api["endpoint"],
            protocol=api.get("protocol", "http"),
            access_key_id=api["access_key_id"],
            access_key_secret=api["access_key_secret"],
            region_id="cn-hangzhou",
        )
    )
    request = SendSmsRequest(
        phone_numbers=phones, sign_name=sign, template_code=template, template_param=params, out_id=out_id
    )
    response = client.send_sms(request)
    body = response.body
    if body.code != "OK":
        raise ValueError(f"the SMS API refused the send: {body.code}: {body.message}")
    storage = Storage(StorageSettings.from_env(storage_env(data_dir, os.environ)))
    try:
        written = SendLog(storage.store).record_sdk_call(request, response)
    except SendError as exc:
        raise ValueError(f"sent (BizId {body.biz_id}) but not recorded: {exc}") from None
    numbers = [n for n in phones.split(",") if n.strip()]
    return {
        "biz_id": body.biz_id,
        "numbers": len(numbers),
        "recorded": written.confirmed,
        "request_id": body.request_id,
    }
