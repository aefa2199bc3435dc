"""The errors the dysmsapi emulator returns: the RPC gateway's (shared, `..rpc.exceptions`) and the API's.

Gateway errors (signature, AccessKey, timestamp, unknown action, missing required parameter, flow
control) are 4xx/5xx with `{"RequestId", "HostId", "Code", "Message", "Recommend"}`; the SDK raises them
as `ClientException`/`ServerException`. The API's own errors are HTTP 200 with a non-OK `Code`, so the SDK
call returns and the caller checks `body.code`, as the official demos do. Their codes are the documented
ones (国内消息API错误码, https://help.aliyun.com/document_detail/101346.html); the messages are the
documented texts with the emulator's reason appended.
"""

from __future__ import annotations

from ..rpc.exceptions import (
    IncompleteSignature,
    InternalError,
    InvalidAccessKeyIdNotFound,
    InvalidApiNotFound,
    InvalidVersion,
    MissingParameter,
    RpcError,
    ServiceUnavailable,
    SignatureDoesNotMatch,
    ThrottlingUser,
)

__all__ = [
    "BusinessLimitControl",
    "DysmsapiError",
    "IncompleteSignature",
    "InternalError",
    "InvalidAccessKeyIdNotFound",
    "InvalidApiNotFound",
    "InvalidJsonParam",
    "InvalidParameters",
    "InvalidVersion",
    "MissingParameter",
    "MobileCountOverLimit",
    "MobileNumberIllegal",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "SmsSignatureIllegal",
    "SmsTemplateIllegal",
    "ThrottlingUser",
]

DysmsapiError = RpcError


class BusinessError(RpcError):
    """An API error: HTTP 200, a non-OK Code; `reason` is appended to the documented text."""

    http_status = 200

    def __init__(self, reason: str = ""):
        super().__init__(f"{self.default_message}: {reason}" if reason else None)


class InvalidParameters(BusinessError):
    code, default_message = "isv.INVALID_PARAMETERS", "参数异常"


class MobileNumberIllegal(BusinessError):
    code, default_message = "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"


class MobileCountOverLimit(BusinessError):
    code, default_message = "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制"


class InvalidJsonParam(BusinessError):
    code, default_message = "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"


class SmsSignatureIllegal(BusinessError):
    code, default_message = "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"


class SmsTemplateIllegal(BusinessError):
    code, default_message = "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"


class BusinessLimitControl(BusinessError):
    """Throttling: the per-number send frequency control (`触发分钟级流控Permits:1` and so on)."""

    code, default_message = "isv.BUSINESS_LIMIT_CONTROL", "触发业务流控"

    def __init__(self, window: str, permits: int, phone_number: str):
        RpcError.__init__(self, f"触发{window}级流控Permits:{permits} ({phone_number})")
