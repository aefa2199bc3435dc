"""Receipt parsing: pure functions from delivered bytes to typed, validated records with identity.

Nothing here does I/O. See `identity` for the key rules, `models` for the receipt schemas and
`envelopes` for the delivery paths.
"""

from .envelopes import (
    DECODERS,
    BodyError,
    EventError,
    HttpRequest,
    decode_alicom_message,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_message_body,
    decode_topic_event,
    parse_http_event,
    parse_items,
)
from .identity import entity_key, entity_parts, idempotency_key
from .items import DecodeResult, Delivery, ParsedItem, RejectedItem, Source
from .models import (
    MODELS,
    GlobeSmsReport,
    IntlSmsReport,
    LegacyIntlSmsReport,
    MnsCardTemplate,
    MnsCardVender,
    Receipt,
    SignSmsReport,
    SmsReport,
    SmsUp,
    TemplateSmsReport,
    record_dict,
)
from .times import CHINA_TZ, parse_receipt_time
from .types import (
    MessageType,
    UnknownMessageType,
    detect_message_type,
    message_type_from_name,
    message_type_from_path,
    message_type_from_queue_name,
)

__all__ = [
    "CHINA_TZ",
    "DECODERS",
    "MODELS",
    "BodyError",
    "DecodeResult",
    "Delivery",
    "EventError",
    "GlobeSmsReport",
    "HttpRequest",
    "IntlSmsReport",
    "LegacyIntlSmsReport",
    "MessageType",
    "MnsCardTemplate",
    "MnsCardVender",
    "ParsedItem",
    "Receipt",
    "RejectedItem",
    "SignSmsReport",
    "SmsReport",
    "SmsUp",
    "Source",
    "TemplateSmsReport",
    "UnknownMessageType",
    "decode_alicom_message",
    "decode_eventbridge_event",
    "decode_http_body",
    "decode_http_event",
    "decode_message_body",
    "decode_topic_event",
    "detect_message_type",
    "entity_key",
    "entity_parts",
    "idempotency_key",
    "message_type_from_name",
    "message_type_from_path",
    "message_type_from_queue_name",
    "parse_http_event",
    "parse_items",
    "parse_receipt_time",
    "record_dict",
]  # fmt: skip
