"""MNS's own error codes, HTTP statuses and messages, as the emulator returns them.

Codes, statuses and message texts follow the MNS error-code table (help.aliyun.com/document_detail/27501,
"MNS错误码表") and the per-API pages; every error travels as
`<Error xmlns="http://mns.aliyuncs.com/doc/v1/"><Code/><Message/><RequestId/><HostId/></Error>`, which the
`aliyun-mns-sdk` turns into `MNSServerException(type=Code, message=Message)`.

Choices where the documentation is silent (also listed in the package docstring):
- an expired or re-issued receipt handle is `MessageNotExist` (404): the official troubleshooting page
  "message not exist appears when you delete a message in MNS" says exactly that; a handle that does
  not parse at all is `ReceiptHandleError` (400).
- an expired STS token is `SecurityTokenExpired` (403) and a missing or foreign one `InvalidSecurityToken`
  (403): MNS documents no code for them, so the emulator borrows the codes of OSS, which checks the
  same STS tokens. A consumer should treat any 403 as "refresh the token, then retry".
- a RAM denial is `AccessDeniedByRamPolicy` (403, "The request is denied by ram policy."), the code MNS
  returned for an Alicom queue in alibaba/aliyun-spring-boot#59; the emulator appends which action on
  which resource was denied.
"""

from __future__ import annotations

from ..exceptions import EmulatorError


class MnsError(EmulatorError):
    """A service error: `code` and `http_status` are what the client sees."""

    code = "InternalError"
    http_status = 500
    default_message = "Interal error."  # sic: the documented text


def out_of_range(element: str, low: int, high: int, unit: str = "") -> InvalidArgument:
    """The documented "value of Element should between Low and High seconds/bytes" error."""
    return InvalidArgument(f"The value of {element} should between {low} and {high}{' ' + unit if unit else ''}.")


# ---- request format ------------------------------------------------------------------------------


class InvalidArgument(MnsError):
    code, http_status = "InvalidArgument", 400

    @classmethod
    def schema(cls, element: str) -> InvalidArgument:
        return cls(f"The XML you provided did not validate against our published schema, cause by {element}.")


class MalformedXML(MnsError):
    code, http_status, default_message = "MalformedXML", 400, "The XML you provided was not well-formed."


class InvalidDigest(MnsError):
    code, http_status = "InvalidDegist", 400  # sic: the real service spells it this way
    default_message = "The Content-MD5 you specified is invalid."


class InvalidRequestURL(MnsError):
    code, http_status, default_message = "InvalidRequestURL", 400, "Http request URL format invalid."


class InvalidQueryString(MnsError):
    code, http_status = "InvalidQueryString", 400

    def __init__(self, item: str):
        super().__init__(f"Http request URL contains invalid querystring item \u201c{item}\u201d.")


class UnsupportedOperation(InvalidRequestURL):
    """A real MNS API that nothing in the project uses (GetQueueAttributes, topics, ...): fails loudly,
    naming the API when the emulator recognises it, else the method and path."""

    def __init__(self, method: str, path: str, api: str = ""):
        what = f"{api} ({method} {path})" if api else f"{method} {path}"
        super().__init__(f"Http request URL format invalid. The MNS emulator does not implement {what}.")


class MissingReceiptHandle(MnsError):
    code, http_status, default_message = "MissingReceiptHandle", 400, "ReceiptHandle is required."


# ---- authentication and authorization ------------------------------------------------------------


class MissingAuthorizationHeader(MnsError):
    code, http_status, default_message = "MissingAuthorizationHeader", 400, "Authorization header is required."


class InvalidAuthorizationHeader(MnsError):
    code, http_status = "InvalidAuthorizationHeader", 400
    default_message = "The Authorization header format is invalid."


class MissingDateHeader(MnsError):
    code, http_status, default_message = "MissingDateHeader", 400, "Date header is required."


class InvalidDateHeader(MnsError):
    code, http_status, default_message = "InvalidDateHeader", 400, "The Date header format is invalid."


class TimeExpired(MnsError):
    code, http_status, default_message = "TimeExpired", 408, "The http request you sent is expired."


class InvalidAccessKeyId(MnsError):
    code, http_status, default_message = "InvalidAccessKeyId", 403, "The AccessKey Id you provided is not exist."


class SignatureDoesNotMatch(MnsError):
    code, http_status = "SignatureDoesNotMatch", 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidSecurityToken(MnsError):
    code, http_status, default_message = "InvalidSecurityToken", 403, "The security token you provided is invalid."


class SecurityTokenExpired(MnsError):
    code, http_status, default_message = "SecurityTokenExpired", 403, "The security token you provided has expired."


class AccessDeniedByRamPolicy(MnsError):
    code, http_status, default_message = "AccessDeniedByRamPolicy", 403, "The request is denied by ram policy."

    @classmethod
    def for_action(cls, action: str, resource: str, access_key_id: str) -> AccessDeniedByRamPolicy:
        return cls(f"{cls.default_message} Denied: {action} on {resource} for {access_key_id}.")


# ---- queues and messages -------------------------------------------------------------------------


class QueueNotExist(MnsError):
    code, http_status, default_message = "QueueNotExist", 404, "The queue name you provided is not exist."


class QueueAlreadyExist(MnsError):
    code, http_status = "QueueAlreadyExist", 409
    default_message = "The queue you want to create is already exist."


class InvalidQueueName(MnsError):
    code, http_status = "InvalidQueueName", 400
    default_message = (
        "The queue name you provided is not valid. The first letter of QueueName must be an "
        "English letter; the rest may only be English letters, digits and '-'."
    )


class QueueNameLengthError(MnsError):
    code, http_status, default_message = "QueueNameLengthError", 400, "The length of queue name must be 1 to 256."


class MessageNotExist(MnsError):
    code, http_status, default_message = "MessageNotExist", 404, "Message not exist."


class ReceiptHandleError(MnsError):
    code, http_status, default_message = "ReceiptHandleError", 400, "The receipt handle you provide is not valid."


class InternalError(MnsError):
    """The emulator itself failed (the message names the Python exception), or an injected busy fault."""
