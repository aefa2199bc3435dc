"""Receipt parsing: pure functions from delivered bytes to typed, validated records with identity.

Nothing here does I/O. See `spec` for what defines a receipt type, `models` for the receipt schemas
(each with its spec), `identity` for the keys and `envelopes` for the delivery paths.

Verbs: `decode_*` takes what a trigger delivered (bytes, an event, a decoded JSON value) to a
`DecodeResult` and never raises: what cannot be parsed is a `RejectedItem`. `read_*` reads one
envelope or body into a value and raises a typed error (`EventError`, `BodyError`) when it cannot.
"""

from .envelopes import (
    DECODERS,
    BodyError,
    EventError,
    HttpRequest,
    decode_alicom_message,
    decode_dead_letter,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_items,
    decode_topic_event,
    read_http_event,
    read_message_body,
)
from .identity import entity_key, entity_parts, idempotency_key
from .items import DecodeResult, Delivery, ParsedItem, RejectedItem, Source
from .models import (
    MODELS,
    DeliveryReport,
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
from .spec import ReceiptSpec, StateRule
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
    "DeliveryReport",
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
    "ReceiptSpec",
    "RejectedItem",
    "SignSmsReport",
    "SmsReport",
    "SmsUp",
    "Source",
    "StateRule",
    "TemplateSmsReport",
    "UnknownMessageType",
    "decode_alicom_message",
    "decode_dead_letter",
    "decode_eventbridge_event",
    "decode_http_body",
    "decode_http_event",
    "decode_items",
    "decode_topic_event",
    "detect_message_type",
    "entity_key",
    "entity_parts",
    "idempotency_key",
    "message_type_from_name",
    "message_type_from_path",
    "message_type_from_queue_name",
    "parse_receipt_time",
    "read_http_event",
    "read_message_body",
    "record_dict",
]
