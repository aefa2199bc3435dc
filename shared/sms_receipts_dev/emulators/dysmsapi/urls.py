"""Routing: the four actions the project uses, at `GET|POST /`, version 2017-05-25.

Any other action (AddSmsSign, QuerySmsTemplate, ...) or path is 404 `InvalidApi.NotFound`, another
`Version` 400 `InvalidVersion`: unknown operations fail loudly (the shared `..rpc.wire`).
"""

from __future__ import annotations

VERSION = "2017-05-25"
url_paths: dict[str, str] = {
    "SendSms": "send_sms",
    "SendBatchSms": "send_batch_sms",
    "QuerySendDetails": "query_send_details",
    "QuerySendStatistics": "query_send_statistics",
}
SUPPORTED_APIS = tuple(url_paths)
