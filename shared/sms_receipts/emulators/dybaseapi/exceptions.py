"""The errors the dybaseapi emulator returns, as Alibaba Cloud's RPC gateway (POP) and the API send them.

Gateway errors (signature, AccessKey, timestamp, RAM) come with a 4xx/5xx status and a JSON body
`{"RequestId", "HostId", "Code", "Message", "Recommend"}` that `alibabacloud_tea_openapi` raises as
`ClientException`/`ServerException` with `.code`, `.status_code` and `.data`. Their codes and texts
are the gateway's common ones (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, Forbidden.RAM, ...).

Business errors of QueryTokenForMnsQueue are not documented. The emulator answers them the way the
Alicom APIs (dysmsapi) do and the official demos expect ("raise unless Code == 'OK'"): HTTP 200 with a
non-OK `Code`, here `isv.INVALID_PARAMETERS` (dysmsapi's code for a bad parameter), so the SDK call
*returns* and the caller must check `body.code`.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import EmulatorError

PERMISSION = "dybaseapi:QueryTokenForMnsQueue"


class DybaseapiError(EmulatorError):
    """An error reply: `code`, `http_status` and `message` are what the client sees."""

    code = "InternalError"
    http_status = 500
    default_message = "The request processing has failed due to some unknown error, exception or failure."

    def __init__(self, message: str | None = None, **extra: Any):
        self.extra = extra  # more top-level JSON fields (AccessDeniedDetail)
        super().__init__(message)


class MissingParameter(DybaseapiError):
    http_status = 400

    def __init__(self, parameter: str):
        self.code = f"Missing{parameter}"
        super().__init__(f"{parameter} is mandatory for this action.")


class InvalidApiNotFound(DybaseapiError):
    code, http_status = "InvalidApi.NotFound", 404
    default_message = "Specified api is not found, please check your url and method."


class InvalidVersion(DybaseapiError):
    code, http_status, default_message = "InvalidVersion", 400, "Specified parameter Version is not valid."


class IncompleteSignature(DybaseapiError):
    code, http_status = "IncompleteSignature", 400
    default_message = "The request signature does not conform to Aliyun standards."


class SignatureDoesNotMatch(DybaseapiError):
    code, http_status = "SignatureDoesNotMatch", 400
    default_message = "Specified signature is not matched with our calculation."


class InvalidAccessKeyIdNotFound(DybaseapiError):
    code, http_status, default_message = "InvalidAccessKeyId.NotFound", 404, "Specified access key is not found."


class InvalidSecurityTokenMalformed(DybaseapiError):
    code, http_status, default_message = "InvalidSecurityToken.Malformed", 400, "Specified SecurityToken is malformed."


class InvalidSecurityTokenExpired(DybaseapiError):
    code, http_status, default_message = "InvalidSecurityToken.Expired", 400, "Specified SecurityToken is expired."


class InvalidTimeStampFormat(DybaseapiError):
    code, http_status = "InvalidTimeStamp.Format", 400
    default_message = "Specified time stamp or date value is not well formatted."


class InvalidTimeStampExpired(DybaseapiError):
    code, http_status = "InvalidTimeStamp.Expired", 400
    default_message = "Specified time stamp or date value is expired."


class SignatureNonceUsed(DybaseapiError):
    code, http_status, default_message = "SignatureNonceUsed", 400, "Specified signature nonce was used already."


class ForbiddenRam(DybaseapiError):
    code, http_status = "Forbidden.RAM", 403
    default_message = "User not authorized to operate on the specified resource, or this API doesn't support RAM."

    @classmethod
    def for_caller(cls, access_key_id: str, resource: str) -> ForbiddenRam:
        return cls(
            f"{cls.default_message} Missing permission: {PERMISSION} on {resource} for {access_key_id}.",
            AccessDeniedDetail={
                "AuthAction": PERMISSION,
                "AuthPrincipalDisplayName": access_key_id,
                "AuthResource": resource,
                "NoPermissionType": "ImplicitDeny",
                "PolicyType": "AccountLevelIdentityBasedPolicy",
            },
        )


class ServiceUnavailable(DybaseapiError):
    code, http_status = "ServiceUnavailable", 503
    default_message = "The request has failed due to a temporary failure of the server."


class InternalError(DybaseapiError):
    """The emulator itself failed (the message names the Python exception)."""


class InvalidParameters(DybaseapiError):
    """A business error: HTTP 200 with a non-OK Code (see the module docstring)."""

    code, http_status = "isv.INVALID_PARAMETERS", 200
