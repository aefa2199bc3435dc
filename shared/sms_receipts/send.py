"""`sms-receipts send`: one SendSms through the official SDK, recorded in the send log as a sender
would record it (`SendLog.record_sdk_call`).

It sends through the SMS API that `SMS_RECEIPTS_SMS_ENDPOINT` names: set to `dysmsapi.aliyuncs.com` it
**really sends** (and bills) an SMS. Unset, it sends to the local stack's dysmsapi emulator found in
`--data-dir` (`endpoints.sms_env`), whose outcome falls due after the stack's delivery delay and whose
SmsReport the simulated service pushes to the local HTTP function. Request fields: SendSmsRequest of
`alibabacloud-dysmsapi20170525` (reconciliation.md §7).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .endpoints import sms_env, storage_env
from .settings import ConfigurationError


def send(
    phones: str,
    sign: str,
    template: str,
    params: str | None,
    out_id: str | None,
    data_dir: str | os.PathLike,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Any]:
    """Send, record, and say what happened. ConfigurationError for a mistake a person can correct,
    ValueError when the service refused the send or it could not be recorded."""
    from alibabacloud_dysmsapi20170525.models import SendSmsRequest

    from .reconcile.job import sms_api
    from .reconcile.settings import ReconcileSettings
    from .storage import Storage, StorageSettings
    from .storage.sends import SendError, SendLog
    from .storage.settings import credentials_from

    if params is not None:
        try:
            if not isinstance(json.loads(params), dict):
                raise ValueError
        except ValueError:
            raise ConfigurationError('--params must be a JSON object, e.g. \'{"code":"1234"}\'') from None
    env = sms_env(data_dir, environ)
    settings = ReconcileSettings.from_env(env)
    client = sms_api(settings, credentials_from(env)).client
    request = SendSmsRequest(
        phone_numbers=phones, sign_name=sign, template_code=template, template_param=params, out_id=out_id
    )
    try:
        response = client.send_sms(request)
    except Exception as exc:  # noqa: BLE001 - the Tea runtime's errors (gateway, network) share no base class
        code = getattr(exc, "code", None) or type(exc).__name__
        raise ValueError(f"the SMS API at {settings.sms_endpoint} did not take the send: {code}: {exc}") from None
    body = response.body
    if body.code != "OK":
        raise ValueError(f"the SMS API refused the send: {body.code}: {body.message}")
    storage = Storage(StorageSettings.from_env(storage_env(data_dir, environ)))
    try:
        written = SendLog(storage.store).record_sdk_call(request, response)
    except SendError as exc:
        raise ValueError(f"sent (BizId {body.biz_id}) but not recorded: {exc}") from None
    return {
        "biz_id": body.biz_id,
        "numbers": len([n for n in phones.split(",") if n.strip()]),
        "recorded": written.confirmed,
        "endpoint": settings.sms_endpoint,
        "request_id": body.request_id,
    }
