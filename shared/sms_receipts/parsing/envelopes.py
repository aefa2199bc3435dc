"""Envelope decoders: pure functions from the bytes a trigger delivers to parsed and rejected items.

- `decode_http_body` / `decode_http_event`: the SMS service's HTTP batch push (a JSON array, a single
  object accepted too), bare or inside an FC 3.0 HTTP trigger event (body possibly base64). The type
  comes from the request path (`/SmsReport`, any case, `sms-report`) or else from the fields.
- `decode_eventbridge_event`: the FC MNS queue trigger (EventBridge), a CloudEvents list
  (event-streaming) or one CloudEvent (event-driven); `data.messageBody` is JSON or base64 JSON.
- `decode_topic_event`: the FC MNS topic trigger, JSON format (`Message`) or STREAM format (the raw
  body, or `{"body": ..., "attrs": ...}`).
- `decode_alicom_message`: one message of an `Alicom-Queue-<uid>-<MessageType>` queue, base64 of a
  UTF-8 JSON object (bytes once the MNS SDK has decoded it).

On the MNS paths the type comes from configuration (an explicit type, or the queue/topic name's
suffix), with field detection as the fallback. No decoder raises, whatever the input: what cannot be
parsed comes back as a `RejectedItem` holding the raw bytes and a reason a person can act on.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from .identity import identify
from .items import DecodeResult, Delivery, ParsedItem, RejectedItem, Source, compact_json
from .models import TIME_ERROR_TYPE, Receipt, model_for
from .times import ReceiptTimeError, unreadable_time
from .types import (
    MessageType,
    message_type_from_name,
    message_type_from_path,
    message_type_from_queue_name,
    resolve_message_type,
)

_list_adapters: dict[type[Receipt], TypeAdapter[list[Any]]] = {}
_build_lock = threading.Lock()


def _list_adapter(model: type[Receipt]) -> TypeAdapter[list[Any]]:
    """The validator of a list of `model`. It and the model's own are built on first use, once, under one
    lock (a threaded WSGI server; not every pydantic release locks a deferred build): a cold instance
    builds only those of the types it receives."""
    adapter = _list_adapters.get(model)
    if adapter is None:
        with _build_lock:
            adapter = _list_adapters.get(model)
            if adapter is None:
                model.model_rebuild()  # the model first, so that the list's schema reuses the model's
                adapter = _list_adapters[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter


class BodyError(ValueError):
    """A body that is not what the delivery path promises; the message says what it is instead."""


# ---------------------------------------------------------------------------------------------
# Items: JSON objects → models with identity
# ---------------------------------------------------------------------------------------------


def _describe_validation_error(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False):
        location = ".".join(str(p) for p in detail["loc"])
        # A time's own message shows no value; the reason a person reads should.
        if detail["type"] == TIME_ERROR_TYPE:
            message = unreadable_time(detail["input"], detail.get("ctx", {}).get("formats"))
        else:
            message = detail["msg"]
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def decode_items(
    value: Any, declared: MessageType | None, source: Source, message_id: str | None = None
) -> DecodeResult:
    """Validate a decoded JSON value (an array of receipts, or one receipt object). Never raises."""
    objects = value if isinstance(value, list) else [value]
    delivery = Delivery(objects, source, message_id)
    if declared is not None and objects and isinstance(objects[0], dict):
        # The normal case, a push of one type: the whole array in one call into pydantic-core.
        model = model_for(resolve_message_type(declared, objects[0]) or declared, objects[0])
        try:
            records = _list_adapter(model).validate_python(objects)
            return DecodeResult(items=[ParsedItem(r, *identify(r), delivery, i) for i, r in enumerate(records)])
        except (ValidationError, ReceiptTimeError):
            pass  # an item is invalid, of another type, or dated a day that does not exist: one by one
    return _parse_one_by_one(objects, declared, delivery)


def _parse_one_by_one(objects: list[Any], declared: MessageType | None, delivery: Delivery) -> DecodeResult:
    source, message_id = delivery.source, delivery.message_id
    result = DecodeResult()
    for position, obj in enumerate(objects):
        if not isinstance(obj, dict):
            reason = f"item {position} is a JSON {type(obj).__name__}, not a receipt object"
            result.rejected.append(_rejected_item(reason, obj, source, declared, message_id, position))
            continue
        message_type = resolve_message_type(declared, obj)
        if message_type is None:
            reason = (
                f"item {position}: cannot tell the message type from its fields; "
                "name it in the callback path (e.g. /SmsReport) or in the configuration"
            )
            result.rejected.append(_rejected_item(reason, obj, source, None, message_id, position))
            continue
        model = model_for(message_type, obj)
        _list_adapter(model)  # builds the model too, under the lock
        try:
            record = model.model_validate(obj)
            key, entity = identify(record)  # reads every time: ReceiptTimeError, naming the field
        except (ValidationError, ReceiptTimeError) as exc:
            problem = _describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            reason = f"{model.schema_name} item {position}: {problem}"
            result.rejected.append(_rejected_item(reason, obj, source, message_type, message_id, position))
            continue
        result.items.append(ParsedItem(record, key, entity, delivery, position))
    return result


def _rejected_item(
    reason: str, obj: Any, source: Source, message_type: MessageType | None, message_id: str | None, position: int
) -> RejectedItem:
    return RejectedItem(
        reason=reason,
        raw=compact_json(obj).encode("utf-8"),
        source=source,
        message_type=message_type,
        message_id=message_id,
        position=position,
    )


def _whole_body_rejected(
    reason: str, raw: bytes, source: Source, declared: MessageType | None = None, message_id: str | None = None
) -> DecodeResult:
    return DecodeResult(
        rejected=[RejectedItem(reason=reason, raw=raw, source=source, message_type=declared, message_id=message_id)]
    )


def _guarded(decode: Callable[..., DecodeResult]) -> Callable[..., DecodeResult]:
    """No input, however malformed, may raise out of a decoder: an unforeseen error becomes a rejection."""

    @functools.wraps(decode)
    def wrapper(raw: Any, *args: Any, **kwargs: Any) -> DecodeResult:
        try:
            return decode(raw, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the decoders' promise: no input makes them raise
            raw_bytes = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogatepass")
            source = kwargs.get("source") or _DECODER_SOURCE.get(decode.__name__, Source.HTTP)
            return _whole_body_rejected(f"could not decode ({type(exc).__name__}: {exc})", raw_bytes, source)

    return wrapper


def _as_type(message_type: MessageType | str | None) -> MessageType | None:
    if message_type is None or isinstance(message_type, MessageType):
        return message_type
    return message_type_from_name(message_type)


# ---------------------------------------------------------------------------------------------
# HTTP batch push
# ---------------------------------------------------------------------------------------------


def _loads_text(raw: bytes | str, what: str) -> Any:
    try:
        # pydantic-core's parser, faster than json.loads (BENCHMARKS.md). NaN and Infinity are not JSON.
        return from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        error = exc
    if isinstance(raw, bytes):
        if raw.startswith(codecs.BOM_UTF8):
            return _loads_text(raw[len(codecs.BOM_UTF8) :], what)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"{what} is not UTF-8 text (bad byte at offset {exc.start})") from None
    if not raw.strip():
        raise BodyError(f"{what} is empty")
    raise BodyError(f"{what} is not JSON ({error})")


@_guarded
def decode_http_body(
    body: bytes, message_type: MessageType | str | None = None, path: str | None = None
) -> DecodeResult:
    """A raw HTTP push body. The type: `message_type` if given, else the path's, else the fields'."""
    declared = _as_type(message_type) or message_type_from_path(path)
    try:
        value = _loads_text(body, "body")
    except BodyError as exc:
        return _whole_body_rejected(str(exc), _raw_bytes(body), Source.HTTP, declared)
    if not isinstance(value, (list, dict)):
        return _whole_body_rejected(
            f"body is a JSON {type(value).__name__}, not a JSON array of receipts",
            _raw_bytes(body),
            Source.HTTP,
            declared,
        )
    return decode_items(value, declared, Source.HTTP)


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an FC 3.0 HTTP trigger event the receiver uses. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes
    source_ip: str
    request_id: str


class EventError(ValueError):
    """An FC event that does not have the documented shape."""


def _event_object(container: dict, key: str, where: str = "") -> dict:
    value = container.get(key) or {}
    if not isinstance(value, dict):
        raise EventError(f"the event's {where}{key} is a JSON {type(value).__name__}, not an object")
    return value


def read_http_event(event: bytes | str | dict) -> HttpRequest:
    """Read an FC 3.0 HTTP trigger event (`bytes` on Python 3). Raises EventError if it is not one."""
    if isinstance(event, (bytes, bytearray, str)):
        try:
            event = json.loads(event)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventError(f"the HTTP trigger event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise EventError("the HTTP trigger event is not a JSON object")
    context = _event_object(event, "requestContext")
    http = _event_object(context, "http", "requestContext.")
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body_bytes = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise EventError(f"isBase64Encoded is true but the body is not base64: {exc}") from None
    elif isinstance(body, str):
        body_bytes = body.encode("utf-8", "surrogatepass")
    else:
        raise EventError(f"the event's body is a JSON {type(body).__name__}, not a string")
    headers = {str(k).lower(): str(v) for k, v in _event_object(event, "headers").items()}
    return HttpRequest(
        method=str(http.get("method") or "").upper(),
        path=str(http.get("path") or event.get("rawPath") or "/"),
        headers=headers,
        query={str(k): str(v) for k, v in _event_object(event, "queryParameters").items()},
        body=body_bytes,
        source_ip=str(http.get("sourceIp") or ""),
        request_id=str(context.get("requestId") or ""),
    )


@_guarded
def decode_http_event(event: bytes, message_type: MessageType | str | None = None) -> DecodeResult:
    """An FC 3.0 HTTP trigger event carrying a push."""
    try:
        request = read_http_event(event)
    except EventError as exc:
        return _whole_body_rejected(str(exc), _raw_bytes(event), Source.HTTP)
    return _keep_envelope(decode_http_body(request.body, message_type, request.path), _raw_bytes(event))


# ---------------------------------------------------------------------------------------------
# MNS paths
# ---------------------------------------------------------------------------------------------


def read_message_body(body: Any) -> Any:
    """An MNS message body as JSON: already-decoded JSON, JSON text, or base64 of UTF-8 JSON."""
    if isinstance(body, (dict, list)):
        return body
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BodyError(f"message body is not UTF-8 text (bad byte at offset {exc.start})") from None
    elif isinstance(body, str):
        text = body
    else:
        raise BodyError(f"message body is a JSON {type(body).__name__}, not text")
    stripped = text.strip()
    if not stripped:
        raise BodyError("message body is empty")
    if stripped[0] in "{[":
        return _loads_text(stripped, "message body")
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise BodyError("message body is neither JSON nor base64 of JSON") from None
    return _loads_text(decoded, "base64-decoded message body")


def _raw_bytes(body: Any) -> bytes:
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return compact_json(body).encode("utf-8")


def _keep_envelope(result: DecodeResult, envelope: bytes) -> DecodeResult:
    """An empty body leaves nothing to replay or to tell one rejection from another: keep its envelope."""
    if any(not r.raw for r in result.rejected):
        result.rejected = [r if r.raw else replace(r, raw=envelope) for r in result.rejected]
    return result


def _id_text(value: Any) -> str | None:
    """A message id as text, whatever JSON a malformed envelope holds there."""
    return value if value is None or isinstance(value, str) else compact_json(value)


def _decode_mns_body(body: Any, declared: MessageType | None, source: Source, message_id: str | None) -> DecodeResult:
    try:
        value = read_message_body(body)
    except BodyError as exc:
        return _whole_body_rejected(str(exc), _raw_bytes(body), source, declared, message_id)
    if value == []:
        return _whole_body_rejected(
            "message body is an empty JSON array: no receipt in it", _raw_bytes(body), source, declared, message_id
        )
    if not isinstance(value, (dict, list)):
        return _whole_body_rejected(
            f"message body is a JSON {type(value).__name__}, not a receipt object",
            _raw_bytes(body),
            source,
            declared,
            message_id,
        )
    result = decode_items(value, declared, source, message_id)
    if result.rejected and isinstance(value, dict):
        # One message, one object: keep the message body exactly as it came, for replay.
        result.rejected = [replace(r, raw=_raw_bytes(body)) for r in result.rejected]
    return result


@_guarded
def decode_dead_letter(
    raw: bytes, message_type: MessageType | str | None, source: Source, message_id: str | None = None
) -> DecodeResult:
    """A dead letter's raw bytes, parsed again as they first came (a replay after a parser fix): an
    HTTP body or item, or an MNS message body."""
    if source is Source.HTTP:
        return decode_http_body(raw, message_type)
    return _decode_mns_body(raw, _as_type(message_type), source, message_id)


def decode_alicom_message(
    body: bytes | str,
    message_type: MessageType | str | None = None,
    message_id: str | None = None,
    queue_name: str | None = None,
) -> DecodeResult:
    """One message from an `Alicom-Queue-<uid>-<MessageType>` queue."""
    declared = _as_type(message_type) or message_type_from_queue_name(queue_name)
    return _decode_mns_body(body, declared, Source.ALICOM, message_id)


@_guarded
def decode_eventbridge_event(
    event: bytes, message_type: MessageType | str | None = None, queue_name: str | None = None
) -> DecodeResult:
    """An FC MNS queue trigger event: a CloudEvents list, or a single CloudEvent."""
    configured = _as_type(message_type) or message_type_from_queue_name(queue_name)
    try:
        value = _loads_text(event, "EventBridge event") if isinstance(event, (bytes, str)) else event
    except BodyError as exc:
        return _whole_body_rejected(str(exc), _raw_bytes(event), Source.EVENTBRIDGE, configured)
    cloud_events = value if isinstance(value, list) else [value]
    result = DecodeResult()
    for position, cloud_event in enumerate(cloud_events):
        data = cloud_event.get("data") if isinstance(cloud_event, dict) else None
        if isinstance(data, str):
            # eventSchema RawData, or a sink that kept the data as text
            data = {"messageBody": data}
        if not isinstance(data, dict) or "messageBody" not in data:
            result.extend(
                _whole_body_rejected(
                    f"CloudEvent {position} has no data.messageBody",
                    compact_json(cloud_event).encode("utf-8"),
                    Source.EVENTBRIDGE,
                    configured,
                )
            )
            continue
        message_id = _id_text(data.get("messageId") or cloud_event.get("id"))
        declared = configured or message_type_from_queue_name(cloud_event.get("subject"))
        decoded = _decode_mns_body(data["messageBody"], declared, Source.EVENTBRIDGE, message_id)
        result.extend(_keep_envelope(decoded, compact_json(cloud_event).encode("utf-8")))
    return result


def _looks_like_topic_json_format(value: Any) -> bool:
    return isinstance(value, dict) and "Message" in value and ("TopicOwner" in value or "TopicName" in value)


@_guarded
def decode_topic_event(
    event: bytes, message_type: MessageType | str | None = None, topic_name: str | None = None
) -> DecodeResult:
    """An FC MNS topic trigger event, JSON or STREAM notify format."""
    configured = _as_type(message_type) or message_type_from_queue_name(topic_name)
    try:
        value = read_message_body(event)
    except BodyError as exc:
        return _whole_body_rejected(str(exc), _raw_bytes(event), Source.TOPIC, configured)
    if _looks_like_topic_json_format(value):
        declared = configured or message_type_from_queue_name(value.get("TopicName"))
        decoded = _decode_mns_body(value["Message"], declared, Source.TOPIC, _id_text(value.get("MessageId")))
        return _keep_envelope(decoded, _raw_bytes(event))
    if isinstance(value, dict) and "body" in value and set(value) <= {"body", "attrs"}:
        return _keep_envelope(_decode_mns_body(value["body"], configured, Source.TOPIC, None), _raw_bytes(event))
    return _decode_mns_body(value, configured, Source.TOPIC, None)


_DECODER_SOURCE = {
    "decode_http_body": Source.HTTP,
    "decode_http_event": Source.HTTP,
    "decode_alicom_message": Source.ALICOM,
    "decode_eventbridge_event": Source.EVENTBRIDGE,
    "decode_topic_event": Source.TOPIC,
}

DECODERS = {
    Source.HTTP: decode_http_body,
    Source.EVENTBRIDGE: decode_eventbridge_event,
    Source.TOPIC: decode_topic_event,
    Source.ALICOM: decode_alicom_message,
}
