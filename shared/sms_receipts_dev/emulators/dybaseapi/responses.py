"""Wire layer: decode an RPC request's parameters, call the model, encode the JSON reply.

Success is HTTP 200 `{"RequestId", "Code": "OK", "Message": "OK", "MessageTokenDTO": {"AccessKeyId",
"AccessKeySecret", "SecurityToken", "CreateTime", "ExpireTime"}}`, the shape of
`QueryTokenForMnsQueueResponseBody`. Errors are `{"RequestId", "HostId", "Code", "Message", "Recommend"}`
plus any extra fields of the error (`AccessDeniedDetail`).
"""

from __future__ import annotations

from typing import Any

from ..credentials import Credential
from ..rpc import wire
from ..rpc.wire import RpcRequest, encode, rpc_parameters
from .exceptions import DybaseapiError
from .models import DybaseapiState

HOST_ID = "dybaseapi.aliyuncs.com"
PRODUCT = "Dybaseapi"

__all__ = ["HOST_ID", "DybaseapiResponses", "RpcRequest", "encode", "error_document", "rpc_parameters"]


def error_document(error: DybaseapiError, request_id: str) -> dict[str, Any]:
    return wire.error_document(error, request_id, HOST_ID, PRODUCT)


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
