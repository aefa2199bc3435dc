"""Wire layer: decode an RPC request's parameters, call the model, encode the JSON reply.

Success is HTTP 200 `{"RequestId", "Code": "OK", "Message": "OK", "MessageTokenDTO": {"AccessKeyId",
"AccessKeySecret", "SecurityToken", "CreateTime", "ExpireTime"}}`, the shape of
`QueryTokenForMnsQueueResponseBody`. Errors are `{"RequestId", "HostId", "Code", "Message", "Recommend"}`
plus any extra fields of the error (`AccessDeniedDetail`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..credentials import Credential
from .exceptions import DybaseapiError
from .models import DybaseapiState

HOST_ID = "dybaseapi.aliyuncs.com"


@dataclass(frozen=True)
class RpcRequest:
    action: str
    version: str
    method: str
    path: str
    query: dict[str, str]  # form-decoded, as the signature sees them
    params: dict[str, str]  # query and form body together, the API's parameters
    headers: dict[str, list[str]]  # lower-cased names
    body: bytes


def rpc_parameters(query_string: str, headers: dict[str, list[str]], body: bytes) -> tuple[dict[str, str], dict]:
    """(query, params): the query alone and merged with an `application/x-www-form-urlencoded` body."""
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    params = dict(query)
    content_type = (headers.get("content-type") or [""])[0]
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return query, params


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_document(error: DybaseapiError, request_id: str) -> dict[str, Any]:
    if error.http_status == 200:  # a business error: the API's own body, not the gateway's
        return {"RequestId": request_id, "Code": error.code, "Message": error.message}
    return {
        "RequestId": request_id,
        "HostId": HOST_ID,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Dybaseapi",
        **error.extra,
    }


class DybaseapiResponses:
    """One method per API: the request and the authenticated caller in, the JSON document out."""

    def __init__(self, state: DybaseapiState):
        self.state = state

    def query_token_for_mns_queue(self, request: RpcRequest, caller: Credential, request_id: str) -> dict[str, Any]:
        token = self.state.query_token(caller, request.params.get("MessageType"), request.params.get("QueueName"))
        credential = token.credential
        return {
            "RequestId": request_id,
            "Code": "OK",
            "Message": "OK",
            "MessageTokenDTO": {
                "AccessKeyId": credential.access_key_id,
                "AccessKeySecret": credential.access_key_secret,
                "SecurityToken": credential.security_token,
                "CreateTime": token.create_time,
                "ExpireTime": token.expire_time,
            },
        }
