"""Routing: method, path, query and (for POST) the body's root element pick the API.

    GET    /queues                                   ListQueue
    PUT    /queues/<q>                               CreateQueue (SetQueueAttributes with ?metaoverride=true)
    GET    /queues/<q>                               GetQueueAttributes
    DELETE /queues/<q>                               DeleteQueue
    POST   /queues/<q>/messages                      SendMessage (<Message>) / BatchSendMessage (<Messages>)
    GET    /queues/<q>/messages[?waitseconds=]       ReceiveMessage; with numOfMessages BatchReceiveMessage;
                                                     with peekonly=true PeekMessage / BatchPeekMessage
    DELETE /queues/<q>/messages?ReceiptHandle=       DeleteMessage; without it (XML body) BatchDeleteMessage
    PUT    /queues/<q>/messages?ReceiptHandle=&VisibilityTimeout=   ChangeMessageVisibility

Everything else (topics, subscriptions, account attributes, unknown paths) fails loudly with
400 InvalidRequestURL naming the method and path; a query item an API does not take is
400 InvalidQueryString, as on the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from .exceptions import InvalidQueryString, UnsupportedOperation
from .responses import MnsReply, MnsRequest, MnsResponses

UNSUPPORTED = "Unsupported"
_QUEUES = re.compile(r"/queues/?\Z")
_QUEUE = re.compile(r"/queues/(?P<queue>[^/]+)/?\Z")
_MESSAGES = re.compile(r"/queues/(?P<queue>[^/]+)/messages/?\Z")
_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")

# API -> (responses method, query items it takes, lower-cased)
url_handlers: dict[str, tuple[str, frozenset[str]]] = {
    "ListQueue": ("list_queue", frozenset()),
    "CreateQueue": ("create_queue", frozenset()),
    "SetQueueAttributes": ("set_queue_attributes", frozenset({"metaoverride"})),
    "GetQueueAttributes": ("get_queue_attributes", frozenset()),
    "DeleteQueue": ("delete_queue", frozenset()),
    "SendMessage": ("send_message", frozenset()),
    "BatchSendMessage": ("batch_send_message", frozenset()),
    "ReceiveMessage": ("receive_message", frozenset({"waitseconds"})),
    "BatchReceiveMessage": ("batch_receive_message", frozenset({"numofmessages", "waitseconds"})),
    "PeekMessage": ("peek_message", frozenset({"peekonly"})),
    "BatchPeekMessage": ("batch_peek_message", frozenset({"peekonly", "numofmessages"})),
    "DeleteMessage": ("delete_message", frozenset({"receipthandle"})),
    "BatchDeleteMessage": ("batch_delete_message", frozenset()),
    "ChangeMessageVisibility": ("change_message_visibility", frozenset({"receipthandle", "visibilitytimeout"})),
}
SUPPORTED_APIS = tuple(url_handlers)


@dataclass(frozen=True)
class Route:
    api: str  # UNSUPPORTED when no implemented API matches
    queue_name: str = ""


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """Path and query of a request target; keys lower-cased, values percent-decoded with '+' kept.

    MNS receipt handles are base64 and the SDK puts them in the query unescaped, so a '+' must stay a
    '+' (form decoding would turn it into a space).
    """
    path, _, query_string = target.partition("?")
    query: dict[str, str] = {}
    for item in query_string.split("&"):
        if item:
            name, _, value = item.partition("=")
            query[unquote(name).lower()] = unquote(value)
    return unquote(path), query


def route(method: str, path: str, query: dict[str, str], body: bytes) -> Route:
    if _QUEUES.match(path):
        return Route("ListQueue" if method == "GET" else UNSUPPORTED)
    match = _QUEUE.match(path)
    if match:
        api = {
            "PUT": "SetQueueAttributes" if query.get("metaoverride", "").lower() == "true" else "CreateQueue",
            "GET": "GetQueueAttributes",
            "DELETE": "DeleteQueue",
        }.get(method, UNSUPPORTED)
        return Route(api, match["queue"])
    match = _MESSAGES.match(path)
    if match:
        peek = query.get("peekonly", "").lower() == "true"
        batch = "numofmessages" in query
        api = {
            "POST": "BatchSendMessage" if _root_name(body) == "Messages" else "SendMessage",
            "GET": ("BatchPeekMessage" if batch else "PeekMessage")
            if peek
            else "BatchReceiveMessage"
            if batch
            else "ReceiveMessage",
            "DELETE": "DeleteMessage" if "receipthandle" in query else "BatchDeleteMessage",
            "PUT": "ChangeMessageVisibility",
        }.get(method, UNSUPPORTED)
        return Route(api, match["queue"])
    return Route(UNSUPPORTED)


def resolve(responses: MnsResponses, request: MnsRequest, method: str, path: str) -> Callable[[MnsRequest], MnsReply]:
    """The responses method for a routed request; checks the query items first."""
    if request.api == UNSUPPORTED:
        raise UnsupportedOperation(method, path)
    handler_name, allowed = url_handlers[request.api]
    for item in request.query:
        if item not in allowed:
            raise InvalidQueryString(item)
    return getattr(responses, handler_name)


def _root_name(body: bytes) -> str:
    match = _ROOT.search(body)
    return match[1].decode("ascii").rsplit(":", 1)[-1] if match else ""
