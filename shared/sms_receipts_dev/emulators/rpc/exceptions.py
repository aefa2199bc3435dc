"""The Alibaba Cloud RPC gateway's (POP) own errors, shared by the RPC emulators (dybaseapi, dysmsapi).

A gateway error comes with a 4xx/5xx status and a JSON body `{"RequestId", "HostId", "Code", "Message",
"Recommend"}` that `alibabacloud_tea_openapi` raises as `ClientException`/`ServerException` with `.code`,
`.status_code` and `.data`. A business error of an API is an `RpcError` with `http_status = 200`: the
body is the API's own `{"RequestId", "Code", "Message"}`, the SDK call *returns* and the caller checks
`body.code` (see `wire.error_document`). Each service adds its business codes in its own `exceptions`.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import EmulatorError


class RpcError(EmulatorError):
    """An error reply: `code`, `http_status` and `message` are what the client sees."""

    code = "InternalError"
    http_status = 500
    default_message = "The request processing has failed due to some unknown error, exception or failure."

    def __init__(self, message: str | None = None, **extra: Any):
        self.extra = extra  # more top-level JSON fields (AccessDeniedDetail)
        super().__init__(message)


class MissingParameter(RpcError):
    http_status = 400

    def __init__(self, parameter: str):
        self.code = f"Missing{parameter}"
        super().__init__(f"{parameter} is mandatory for this action.")


class InvalidApiNotFound(RpcError):
    code, http_status = "InvalidApi.NotFound", 404
    default_message = "Specified api is not found, please check your url and method."


class InvalidVersion(RpcError):
    code, http_status, default_message = "InvalidVersion", 400, "Specified parameter Version is not valid."


class IncompleteSignature(RpcError):
    code, http_status = "IncompleteSignature", 400
    default_message = "The request signature does not conform to Aliyun standards."


class SignatureDoesNotMatch(RpcError):
    code, http_status = "SignatureDoesNotMatch", 400
    default_message = "Specified signature is not matched with our calculation."


class InvalidAccessKeyIdNotFound(RpcError):
    code, http_status, default_message = "InvalidAccessKeyId.NotFound", 404, "Specified access key is not found."


class InvalidSecurityTokenMalformed(RpcError):
    code, http_status, default_message = "InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed."


class InvalidSecurityTokenExpired(RpcError):
    code, http_status, default_message = "InvalidSecurityToken.Expired", 400, "Specified SecurityToken is expired."


class InvalidTimeStampFormat(RpcError):
    code, http_status = "InvalidTimeStamp.Format", 400
    default_message = "Specified time stamp or date value is not well formatted."


class InvalidTimeStampExpired(RpcError):
    code, http_status = "InvalidTimeStamp.Expired", 400
    default_message = "Specified time stamp or date value is expired."


class SignatureNonceUsed(RpcError):
    code, http_status, default_message = "SignatureNonceUsed", 400, "Specified signature nonce was used already."


class ServiceUnavailable(RpcError):
    code, http_status = "ServiceUnavailable", 503
    default_message = "The request has failed due to a temporary failure of the server."


class ThrottlingUser(RpcError):
    """The gateway's per-user flow control (QPS). 400 with this code and text, as Alibaba Cloud's API
    error tables list it (e.g. ECS DescribePrice, DTS: `400 Throttling.User Request was denied due to
    user flow control.`); a `TeaException` "code: 400, Request was denied due to user flow control." was
    confirmed as the expected reply by the product team (https://developer.aliyun.com/ask/571020)."""

    code, http_status = "Throttling.User", 400
    default_message = "Request was denied due to user flow control."


class InternalError(RpcError):
    """The emulator itself failed (the message names the Python exception)."""
