"""Message types: their names, and how a type is told from a path, a queue name or the fields.

The SMS service names each receipt stream by a `MessageType` (the console setting, the suffix of the
`Alicom-Queue-<uid>-<MessageType>` queue, the `MessageType` passed to QueryTokenForMnsQueue). The
international site reuses the name `SmsReport` for a different, PascalCase schema; it is kept apart
here as `IntlSmsReport` and chosen by the shape of the item. That type has two schemas: the current
one (`MessageId`, `Status`) and the legacy one (`BizId`, `PhoneNumber`, `SendStatus`,
https://www.alibabacloud.com/help/doc-detail/73871.htm); `models.model_for` picks the model.
"""

from __future__ import annotations

import enum
import re


class MessageType(str, enum.Enum):
    SMS_REPORT = "SmsReport"
    SMS_UP = "SmsUp"
    SIGN_SMS_REPORT = "SignSmsReport"
    TEMPLATE_SMS_REPORT = "TemplateSmsReport"
    MNS_CARD_VENDER = "MnsCardVender"
    MNS_CARD_TEMPLATE = "MnsCardTemplate"
    GLOBE_SMS_REPORT = "GlobeSmsReport"
    INTL_SMS_REPORT = "IntlSmsReport"

    def __str__(self) -> str:
        return self.value


_NON_ALNUM = re.compile(r"[^0-9a-z]")
_BY_FOLDED_NAME = {_NON_ALNUM.sub("", t.value.lower()): t for t in MessageType}
# Longest first, so that "...GlobeSmsReport" is not taken for "...SmsReport".
_SUFFIXES = sorted(_BY_FOLDED_NAME.items(), key=lambda kv: -len(kv[0]))


class UnknownMessageType(ValueError):
    """A name that is not one of the receipt message types."""


def fold(name: str) -> str:
    """`SmsReport`, `smsreport`, `sms-report` and `SMS_REPORT` all fold to `smsreport`."""
    return _NON_ALNUM.sub("", name.lower())


def message_type_from_name(name: str) -> MessageType:
    """The message type a person or a setting names, in any case, with or without separators."""
    found = _BY_FOLDED_NAME.get(fold(name))
    if found is None:
        known = ", ".join(t.value for t in MessageType)
        raise UnknownMessageType(f"unknown message type {name!r}; expected one of: {known}")
    return found


def message_type_from_path(path: str | None) -> MessageType | None:
    """The type named by the last path segment that names one (`/SmsReport`, `/hook/sms-report/`)."""
    if not path or not isinstance(path, str):
        return None
    for segment in reversed(path.split("/")):
        found = _BY_FOLDED_NAME.get(fold(segment)) if segment else None
        if found is not None:
            return found
    return None


def message_type_from_queue_name(queue_name: str | None) -> MessageType | None:
    """The type a queue or topic name ends with: `Alicom-Queue-<uid>-SmsReport` gives SmsReport.

    Matching the folded suffix also covers the documented name without the last hyphen
    (`Alicom-Queue-******GlobeSmsReport`) and ARNs or subjects such as `acs:mns:...:queues/name`.
    """
    if not queue_name or not isinstance(queue_name, str):  # e.g. a malformed event's `subject`
        return None
    folded = fold(queue_name.rsplit("/", 1)[-1])
    for suffix, message_type in _SUFFIXES:
        if folded.endswith(suffix):
            return message_type
    return None


def detect_message_type(item: dict) -> MessageType | None:
    """Tell the type from the fields alone, for pushes and messages that do not name it."""
    if "biz_id" in item and ("success" in item or "err_code" in item or "report_time" in item):
        return MessageType.SMS_REPORT
    if "MessageId" in item or ("To" in item and "Status" in item):
        return MessageType.INTL_SMS_REPORT
    if "SendStatus" in item or ("BizId" in item and "PhoneNumber" in item):  # legacy intl (doc-detail/73871)
        return MessageType.INTL_SMS_REPORT
    if "sign_status" in item:
        return MessageType.SIGN_SMS_REPORT
    if "template_status" in item:
        return MessageType.TEMPLATE_SMS_REPORT
    if "approval_status" in item or "tmpOps" in item:
        return MessageType.MNS_CARD_TEMPLATE
    if "render_status" in item or ("outId" in item and "mobile" in item):
        return MessageType.MNS_CARD_VENDER
    if "message_id" in item and ("to" in item or "status" in item):
        return MessageType.GLOBE_SMS_REPORT
    if "content" in item and ("sequence_id" in item or "dest_code" in item):
        return MessageType.SMS_UP
    return None


def resolve_message_type(declared: MessageType | None, item: dict) -> MessageType | None:
    """The type to validate an item as: the declared one, except that the name `SmsReport` covers
    both the domestic and the international schema, and the item's shape decides between them."""
    if declared is None:
        return detect_message_type(item)
    if declared in (MessageType.SMS_REPORT, MessageType.INTL_SMS_REPORT):
        if "MessageId" in item or "To" in item or "Status" in item:
            return MessageType.INTL_SMS_REPORT
        if "biz_id" in item or "phone_number" in item:
            return MessageType.SMS_REPORT
        if "BizId" in item or "SendStatus" in item:  # the legacy international schema (doc-detail/73871)
            return MessageType.INTL_SMS_REPORT
    return declared
