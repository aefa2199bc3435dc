"""Event factories: the exact bytes each FC trigger hands a handler, for tests and `examples/`.

Like Chalice's `client.events.generate_*`, these build realistic events from receipt objects:
an FC 3.0 HTTP trigger event carrying a push, an EventBridge MNS queue batch, an MNS topic
notification (JSON and STREAM formats), a timer tick, and an Alicom queue message body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import unquote

from sms_receipts.parsing.items import compact_json


def receipt_json(receipts: Any) -> str:
    return receipts if isinstance(receipts, str) else compact_json(receipts)


def http_event(
    body: bytes | str | Any = b"",
    path: str = "/",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    base64_body: bool | None = None,
    request_id: str | None = None,
) -> bytes:
    """An FC 3.0 HTTP trigger event carrying a push (JSON unless `headers` say otherwise). A bytes body
    that is not UTF-8 (or `base64_body=True`) is sent base64-encoded with `isBase64Encoded: true`, as
    FC does for binary bodies."""
    if not isinstance(body, (bytes, str)):
        body = compact_json(body)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return fc_http_event(
        method,
        path,
        {"Content-Type": "application/json", **(headers or {})},
        dict(query or {}),
        raw,
        source_ip,
        request_id or f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:16]}",
        base64_body=base64_body,
        domain_name="local.cn-hangzhou.fcapp.run",
        user_agent="Alibaba-SMS-Receipt/1.0",
    )


def fc_http_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    query: dict[str, str],
    body: bytes,
    source_ip: str,
    request_id: str,
    base64_body: bool | None = None,
    domain_name: str = "127.0.0.1",
    user_agent: str | None = None,
) -> bytes:
    """The FC 3.0 HTTP trigger event of one request, exactly as given (the local gateway's too):
    `headers` and `query` hold one value per name (FC joins repeated ones with commas)."""
    if base64_body is None:
        try:
            body.decode("utf-8")
            base64_body = False
        except UnicodeDecodeError:
            base64_body = True
    now = time.time()
    return json.dumps(
        {
            "version": "v1",
            "rawPath": raw_path,
            "body": base64.b64encode(body).decode("ascii") if base64_body else body.decode("utf-8"),
            "isBase64Encoded": base64_body,
            "headers": headers,
            "queryParameters": query,
            "requestContext": {
                "accountId": "1234567890123456",
                "domainName": domain_name,
                "domainPrefix": "local",
                "requestId": request_id,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "timeEpoch": str(int(now * 1000)),
                "http": {
                    "method": method,
                    "path": unquote(raw_path),
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("User-Agent", "") if user_agent is None else user_agent,
                },
            },
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _message_id() -> str:
    return uuid.uuid4().hex.upper()


def eventbridge_cloud_event(
    body: Any,
    queue_name: str = "sms-receipts",
    region: str = "cn-hangzhou",
    account_id: str = "1234567890123456",
    base64_body: bool = False,
    message_id: str | None = None,
) -> dict[str, Any]:
    """One CloudEvent as the FC MNS queue trigger delivers it. `IsBase64Decode: true` (the default)
    gives the decoded text; `base64_body=True` mimics `IsBase64Decode: false`."""
    text = receipt_json(body)
    return {
        "id": str(uuid.uuid4()),
        "source": "MNS-Function-mnstrigger",
        "specversion": "1.0",
        "type": "mns:Queue:SendMessage",
        "datacontenttype": "application/json; charset=utf-8",
        "subject": f"acs:mns:{region}:{account_id}:queues/{queue_name}",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "aliyunaccountid": account_id,
        "aliyunpublishtime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "aliyunoriginalaccountid": account_id,
        "aliyuneventbusname": "MNS-Function-mnstrigger",
        "aliyunregionid": region,
        "aliyunpublishaddr": "127.0.0.1",
        "data": {
            "requestId": uuid.uuid4().hex.upper()[:24],
            "messageId": message_id or _message_id(),
            "messageBody": base64.b64encode(text.encode("utf-8")).decode("ascii") if base64_body else text,
        },
    }


def eventbridge_event(bodies: list[Any], streaming: bool = True, **kwargs: Any) -> bytes:
    """An MNS queue trigger event: a list of CloudEvents (event-streaming), or with `streaming=False`
    the single CloudEvent of event-driven mode (one body)."""
    events = [eventbridge_cloud_event(body, **kwargs) for body in bodies]
    if not streaming:
        if len(events) != 1:
            raise ValueError("event-driven mode delivers exactly one message per invocation")
        return json.dumps(events[0], ensure_ascii=False).encode("utf-8")
    return json.dumps(events, ensure_ascii=False).encode("utf-8")


def topic_event_json(
    body: Any,
    topic_name: str = "sms-receipts",
    attributes: dict[str, str] | None = None,
    message_id: str | None = None,
) -> bytes:
    """An MNS topic trigger event in JSON notify format (attributes merged at the top level)."""
    text = receipt_json(body)
    event = {
        **(attributes or {}),
        "TopicOwner": "1234567890123456",
        "Message": text,
        "Subscriber": "1234567890123456",
        "PublishTime": int(time.time() * 1000),
        "SubscriptionName": "sms-receipts-fc",
        "MessageMD5": hashlib.md5(text.encode("utf-8")).hexdigest().upper(),
        "TopicName": topic_name,
        "MessageId": message_id or _message_id(),
    }
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def topic_event_stream(body: Any, attributes: dict[str, str] | None = None) -> bytes:
    """An MNS topic trigger event in STREAM notify format: the raw body, or `{"body", "attrs"}`
    when the message has attributes."""
    text = receipt_json(body)
    if attributes:
        return json.dumps({"body": text, "attrs": attributes}, ensure_ascii=False).encode("utf-8")
    return text.encode("utf-8")


def timer_event(payload: str = "", trigger_name: str = "alicom-pull") -> bytes:
    return json.dumps(
        {
            "triggerTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "triggerName": trigger_name,
            "payload": payload,
        }
    ).encode("utf-8")


def alicom_message_body(receipt: Any) -> bytes:
    """What the SMS service enqueues on an Alicom queue: base64 of one UTF-8 JSON object."""
    return base64.b64encode(receipt_json(receipt).encode("utf-8"))
