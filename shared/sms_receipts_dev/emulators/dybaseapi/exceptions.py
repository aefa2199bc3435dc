"""The errors the dybaseapi emulator returns, as Alibaba Cloud's RPC gateway (POP) and the API send them.

Gateway errors (signature, AccessKey, timestamp, RAM) come with a 4xx/5xx status and a JSON body
`{"RequestId", "HostId", "Code", "Message", "Recommend"}` that `alibabacloud_tea_openapi` raises as
`ClientException`/`ServerException` with `.code`, `.status_code` and `.data`. Their codes and texts
are the gateway's common ones (SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, Forbidden.RAM, ...).
They are the RPC emulators' shared ones (`..rpc.exceptions`), re-exported here; `DybaseapiError` is
their base `RpcError`. A RAM denial (403 Forbidden.RAM) adds, as Alibaba's RPC APIs do, a top-level
`AccessDeniedDetail` object (see `ForbiddenRam`), which tea-openapi 0.4 hands over as
`ClientException.access_denied_detail` (and `TeaException.accessDeniedDetail`, and inside `.data`);
`deny(..., access_denied_detail=False)` leaves it out, as older denials do.

Business errors of QueryTokenForMnsQueue are not documented. The emulator answers them the way the
Alicom APIs (dysmsapi) do and the official demos expect ("raise unless Code == 'OK'"): HTTP 200 with a
non-OK `Code`, here `isv.INVALID_PARAMETERS` (dysmsapi's code for a bad parameter), so the SDK call
*returns* and the caller must check `body.code`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ..credentials import Credential
from ..rpc.exceptions import (
    IncompleteSignature,
    InternalError,
    InvalidAccessKeyIdNotFound,
    InvalidApiNotFound,
    InvalidSecurityTokenExpired,
    InvalidSecurityTokenMalformed,
    InvalidTimeStampExpired,
    InvalidTimeStampFormat,
    InvalidVersion,
    MissingParameter,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    SignatureNonceUsed,
)
from ..rpc.exceptions import RpcError as DybaseapiError

# The RAM action the emulator's denials name, on Resource "*". AN ASSUMPTION: the SMS service's RAM codes
# are dysms, cloudcomm, dybase and sms, with SERVICE-level granularity only ("此产品不支持对具体资源授权,
# 需授予全部资源权限"; https://alibabacloud.com/help/en/sms/developer-reference/api-dysmsapi-2018-05-01-ram,
# https://help.aliyun.com/knowledge_detail/101339.html). `dybaseapi` is the endpoint, not a RAM code. No
# public page names QueryTokenForMnsQueue's action; `dysms:` is one of the two documented candidates
# (the other is `dybase:QueryTokenForMnsQueue`).
PERMISSION = "dysms:QueryTokenForMnsQueue"
RESOURCE = "*"

__all__ = [
    "PERMISSION",
    "RESOURCE",
    "DybaseapiError",
    "ForbiddenRam",
    "IncompleteSignature",
    "InternalError",
    "InvalidAccessKeyIdNotFound",
    "InvalidApiNotFound",
    "InvalidParameters",
    "InvalidSecurityTokenExpired",
    "InvalidSecurityTokenMalformed",
    "InvalidTimeStampExpired",
    "InvalidTimeStampFormat",
    "InvalidVersion",
    "MissingParameter",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "SignatureNonceUsed",
    "decode_diagnostic_message",
]


class ForbiddenRam(DybaseapiError):
    """403 Forbidden.RAM, with or without the `AccessDeniedDetail` of Alibaba's newer RAM denials.

    The detail has the fields of the generated SDKs' `AccessDeniedDetail` models (the
    `...ResponseBodyAccessDeniedDetail` classes of the Java, Go and C# SDKs): AuthAction,
    AuthPrincipalType, AuthPrincipalOwnerId, AuthPrincipalDisplayName, PolicyType, NoPermissionType,
    EncodedDiagnosticMessage. The same fields, camel-cased, "aligned with the accessDeniedDetail field
    in the 403 access denied response":
    https://help.aliyun.com/en/agentrun/api-agentrun-2025-09-10-accessdenieddetail

    The real diagnostic message is opaque; RAM's DecodeDiagnosticMessage decodes it into AuthAction,
    AuthResource, AuthPrincipal, NoPermissionPolicyType and ExplicitDeny:
    https://www.alibabacloud.com/help/en/ram/developer-reference/api-ram-2015-05-01-decodediagnosticmessage
    The emulator's is base64 of that decoded JSON, so its AuthResource "*" can be read back.
    """

    code, http_status = "Forbidden.RAM", 403
    default_message = "User not authorized to operate on the specified resource, or this API doesn't support RAM."

    @classmethod
    def for_caller(cls, caller: Credential, account_id: str, *, detail: bool = True) -> ForbiddenRam:
        if not detail:  # an older-style denial: the gateway's text only, naming no action
            return cls()
        principal_type = "AssumedRoleUser" if caller.temporary else "SubUser"
        decoded = {
            "ExplicitDeny": False,
            "NoPermissionPolicyType": "AccountLevelIdentityBasedPolicy",
            "AuthAction": PERMISSION,
            "AuthResource": RESOURCE,
            "AuthPrincipal": {
                "AuthPrincipalType": principal_type,
                "AuthPrincipalOwnerId": account_id,
                "AuthPrincipalDisplayName": caller.access_key_id,
            },
        }
        encoded = base64.b64encode(json.dumps(decoded, separators=(",", ":")).encode("utf-8")).decode("ascii")
        return cls(
            f"{cls.default_message} (emulator: {PERMISSION} on resource {RESOURCE} is not granted)",
            AccessDeniedDetail={
                "AuthAction": PERMISSION,
                "AuthPrincipalType": principal_type,
                "AuthPrincipalOwnerId": account_id,
                "AuthPrincipalDisplayName": caller.access_key_id,
                "PolicyType": "AccountLevelIdentityBasedPolicy",
                "NoPermissionType": "ImplicitDeny",
                "EncodedDiagnosticMessage": encoded,
            },
        )


def decode_diagnostic_message(encoded: str) -> dict[str, Any]:
    """The emulator's `EncodedDiagnosticMessage` decoded, as RAM's DecodeDiagnosticMessage would."""
    return json.loads(base64.b64decode(encoded))


class InvalidParameters(DybaseapiError):
    """A business error: HTTP 200 with a non-OK Code (see the module docstring)."""

    code, http_status = "isv.INVALID_PARAMETERS", 200
