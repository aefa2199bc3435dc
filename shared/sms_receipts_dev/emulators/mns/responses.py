"""Wire layer: decode an MNS request (path, query, XML body), call the model, encode the XML reply.

Every XML document uses the namespace `http://mns.aliyuncs.com/doc/v1/` that `aliyun-mns-sdk` writes
and reads (`mns_xml_handler.XMLNS`). Requests are parsed namespace-blind; an element the emulator does
not know (or does not implement: MessageGroupId, UserProperties, SystemProperties) is an
`InvalidArgument`, never silently dropped. Replies never contain empty elements: the SDK's batch
decoders skip them and then miss required keys.

Statuses follow the API pages: CreateQueue 201 (204 when an identical queue exists), SendMessage 201,
reads 200, DeleteMessage 204, BatchDeleteMessage 204 or, when some handles fail, 404 with
`<Errors><Error><ErrorCode/><ErrorMessage/><ReceiptHandle/>`. Only the APIs in `urls.url_handlers`
have a method here: the rest fail loudly before they reach this layer.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

from .exceptions import (
    InvalidArgument,
    InvalidQueryString,
    MalformedXML,
    MissingReceiptHandle,
    MnsError,
)
from .models import MessageView, MnsState, OutgoingMessage, QueueAttributes

XMLNS = "http://mns.aliyuncs.com/doc/v1/"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_UNIMPLEMENTED_ELEMENTS = {"MessageGroupId", "UserProperties", "SystemProperties"}
_QUEUE_ELEMENTS = {
    "VisibilityTimeout": "visibility_timeout",
    "MaximumMessageSize": "maximum_message_size",
    "MessageRetentionPeriod": "message_retention_period",
    "DelaySeconds": "delay_seconds",
    "PollingWaitSeconds": "polling_wait_seconds",
    "LoggingEnabled": "logging_enabled",
}


@dataclass(frozen=True)
class MnsRequest:
    api: str
    method: str
    queue_name: str
    query: dict[str, str]  # keys lower-cased, values percent-decoded (a '+' stays a '+')
    headers: dict[str, str]  # names lower-cased
    body: bytes
    base_url: str  # http://<Host the client used>, for Location
    unimplemented: str = ""  # the known MNS API an UNSUPPORTED request asked for ("" when unknown)


@dataclass(frozen=True)
class MnsReply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


# ---- XML helpers ----------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_xml(body: bytes, root_name: str) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise MalformedXML() from None
    if _local(root.tag) != root_name:
        raise InvalidArgument.schema(_local(root.tag))
    return root


def _children(element: ET.Element, allowed: Iterable[str]) -> dict[str, str]:
    allowed = set(allowed)
    values: dict[str, str] = {}
    for child in element:
        name = _local(child.tag)
        if name in _UNIMPLEMENTED_ELEMENTS:
            raise InvalidArgument(
                f"The XML you provided did not validate against our published schema, cause by "
                f"{name}. The MNS emulator does not implement {name}."
            )
        if name not in allowed or name in values:
            raise InvalidArgument.schema(name)
        values[name] = (child.text or "").strip() if name != "MessageBody" else child.text or ""
    return values


def _integer(values: dict[str, str], element: str) -> int | None:
    if element not in values:
        return None
    try:
        return int(values[element])
    except ValueError:
        raise InvalidArgument.schema(element) from None


def document(root_name: str, children: Iterable[tuple[str, object]] = ()) -> bytes:
    root = ET.Element(root_name, {"xmlns": XMLNS})
    _append(root, children)
    return XML_DECLARATION + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _append(parent: ET.Element, children: Iterable[tuple[str, object]]) -> None:
    for name, value in children:
        child = ET.SubElement(parent, name)
        if isinstance(value, list):
            for item in value:
                _append(child, item)
        else:
            child.text = _text(value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def error_document(error: MnsError, request_id: str, host_id: str) -> bytes:
    return document(
        "Error", [("Code", error.code), ("Message", error.message), ("RequestId", request_id), ("HostId", host_id)]
    )


# ---- request decoding -----------------------------------------------------------------------------


def queue_attributes(body: bytes) -> dict[str, int | bool]:
    """The attributes a CreateQueue body sets (absent ones are left out)."""
    if not body.strip():
        return {}
    values = _children(parse_xml(body, "Queue"), _QUEUE_ELEMENTS)
    changes: dict[str, int | bool] = {}
    for element, attribute in _QUEUE_ELEMENTS.items():
        if element == "LoggingEnabled":
            if element in values:
                flag = values[element].lower()
                if flag not in ("true", "false"):
                    raise InvalidArgument.schema(element)
                changes[attribute] = flag == "true"
        else:
            number = _integer(values, element)
            if number is not None:
                changes[attribute] = number
    return changes


def _outgoing(element: ET.Element) -> OutgoingMessage:
    values = _children(element, ("MessageBody", "DelaySeconds", "Priority"))
    return OutgoingMessage(
        values.get("MessageBody", ""), _integer(values, "DelaySeconds"), _integer(values, "Priority")
    )


def outgoing_message(body: bytes) -> OutgoingMessage:
    return _outgoing(parse_xml(body, "Message"))


def receipt_handles(body: bytes) -> list[str]:
    root = parse_xml(body, "ReceiptHandles")
    handles = []
    for child in root:
        if _local(child.tag) != "ReceiptHandle":
            raise InvalidArgument.schema(_local(child.tag))
        handles.append((child.text or "").strip())
    return handles


def _query_int(request: MnsRequest, name: str, element: str) -> int | None:
    if name not in request.query:
        return None
    try:
        return int(request.query[name])
    except ValueError:
        raise InvalidQueryString(f"{element}={request.query[name]}") from None


# ---- reply encoding -------------------------------------------------------------------------------


def _message_fields(message: MessageView, received: bool) -> list[tuple[str, object]]:
    children: list[tuple[str, object]] = [("MessageId", message.message_id)]
    if received:
        children.append(("ReceiptHandle", message.receipt_handle))
    children += [
        ("MessageBodyMD5", message.body_md5),
        ("MessageBody", message.body),
        ("EnqueueTime", message.enqueue_time),
    ]
    if received:
        children.append(("NextVisibleTime", message.next_visible_time))
    children += [
        ("FirstDequeueTime", message.first_dequeue_time),
        ("DequeueCount", message.dequeue_count),
        ("Priority", message.priority),
    ]
    return children


def queue_url(request: MnsRequest, name: str) -> str:
    return f"{request.base_url}/queues/{name}"


class MnsResponses:
    """One method per API: `MnsRequest` in, `MnsReply` out; model errors propagate as `MnsError`."""

    def __init__(self, state: MnsState, cancel: threading.Event | None = None):
        self.state = state
        self.cancel = cancel  # set when the emulator stops: ends long polls at once

    # ---- queues -----------------------------------------------------------------------------------

    def create_queue(self, request: MnsRequest) -> MnsReply:
        attributes = QueueAttributes().updated(**queue_attributes(request.body))
        created = self.state.create_queue(request.queue_name, attributes)
        return MnsReply(201 if created else 204, headers={"Location": queue_url(request, request.queue_name)})

    # ---- messages ---------------------------------------------------------------------------------

    def send_message(self, request: MnsRequest) -> MnsReply:
        sent = self.state.send_message(request.queue_name, outgoing_message(request.body))
        return MnsReply(201, document("Message", [("MessageId", sent.message_id), ("MessageBodyMD5", sent.body_md5)]))

    def _receive(self, request: MnsRequest, count: int) -> list[MessageView]:
        wait_seconds = _query_int(request, "waitseconds", "waitseconds")
        return self.state.receive_messages(request.queue_name, count, wait_seconds, self.cancel)

    def receive_message(self, request: MnsRequest) -> MnsReply:
        (message,) = self._receive(request, 1)
        return MnsReply(200, document("Message", _message_fields(message, received=True)))

    def batch_receive_message(self, request: MnsRequest) -> MnsReply:
        messages = self._receive(request, _query_int(request, "numofmessages", "numOfMessages") or 0)
        return MnsReply(
            200, document("Messages", [("Message", [_message_fields(message, received=True)]) for message in messages])
        )

    def peek_message(self, request: MnsRequest) -> MnsReply:
        message = self.state.peek_message(request.queue_name)
        return MnsReply(200, document("Message", _message_fields(message, received=False)))

    def delete_message(self, request: MnsRequest) -> MnsReply:
        handle = request.query.get("receipthandle", "")
        if not handle:
            raise MissingReceiptHandle()
        self.state.delete_message(request.queue_name, handle)
        return MnsReply(204)

    def batch_delete_message(self, request: MnsRequest) -> MnsReply:
        failures = self.state.delete_messages(request.queue_name, receipt_handles(request.body))
        if not failures:
            return MnsReply(204)
        errors = [
            ("Error", [[("ErrorCode", error.code), ("ErrorMessage", error.message), ("ReceiptHandle", handle)]])
            for handle, error in failures
            if isinstance(error, MnsError)
        ]
        return MnsReply(404, document("Errors", errors))
