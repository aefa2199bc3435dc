"""Routing: method, path, query and (for POST) the body's root element pick the API.

Implemented, because the product, the dev stack, the benchmarks or the tests call them:

    PUT    /queues/<q>                               CreateQueue
    POST   /queues/<q>/messages                      SendMessage (<Message>)
    GET    /queues/<q>/messages[?waitseconds=]       ReceiveMessage; with numOfMessages BatchReceiveMessage;
                                                     with peekonly=true PeekMessage
    DELETE /queues/<q>/messages?ReceiptHandle=       DeleteMessage; without it (XML body) BatchDeleteMessage

The other queue APIs are recognised by name and fail loudly, naming the API: 400 InvalidRequestURL
"The MNS emulator does not implement GetQueueAttributes (GET /queues/<q>)"; so do ListQueue,
SetQueueAttributes (PUT ?metaoverride=true), DeleteQueue, BatchSendMessage (<Messages>),
BatchPeekMessage and ChangeMessageVisibility (PUT on messages). Everything else (topics,
subscriptions, account attributes, unknown paths) is the same error naming the method and path. A
query item an implemented API does not take is 400 InvalidQueryString, as on the service.
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
    "CreateQueue": ("create_queue", frozenset()),
    "SendMessage": ("send_message", frozenset()),
    "ReceiveMessage": ("receive_message", frozenset({"waitseconds"})),
    "BatchReceiveMessage": ("batch_receive_message", frozenset({"numofmessages", "waitseconds"})),
    "PeekMessage": ("peek_message", frozenset({"peekonly"})),
    "DeleteMessage": ("delete_message", frozenset({"receipthandle"})),
    "BatchDeleteMessage": ("batch_delete_message", frozenset()),
}
SUPPORTED_APIS = tuple(url_handlers)


@dataclass(frozen=True)
class Route:
    api: str  # UNSUPPORTED when no implemented API matches
    queue_name: str = ""
    unimplemented: str = ""  # the MNS API asked for, when it is a known one the emulator does not implement


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
    queue_name, api = "", ""
    if _QUEUES.match(path):
        api = "ListQueue" if method == "GET" else ""
    elif match := _QUEUE.match(path):
        queue_name = match["queue"]
        api = {
            "PUT": "SetQueueAttributes" if query.get("metaoverride", "").lower() == "true" else "CreateQueue",
            "GET": "GetQueueAttributes",
            "DELETE": "DeleteQueue",
        }.get(method, "")
    elif match := _MESSAGES.match(path):
        queue_name = match["queue"]
        batch = "numofmessages" in query
        if query.get("peekonly", "").lower() == "true":
            receive = "BatchPeekMessage" if batch else "PeekMessage"
        else:
            receive = "BatchReceiveMessage" if batch else "ReceiveMessage"
        api = {
            "POST": "BatchSendMessage" if _root_name(body) == "Messages" else "SendMessage",
            "GET": receive,
            "DELETE": "DeleteMessage" if "receipthandle" in query else "BatchDeleteMessage",
            "PUT": "ChangeMessageVisibility",
        }.get(method, "")
    if api in url_handlers:
        return Route(api, queue_name)
    return Route(UNSUPPORTED, queue_name, api)


def resolve(responses: MnsResponses, request: MnsRequest, method: str, path: str) -> Callable[[MnsRequest], MnsReply]:
    """The responses method for a routed request; checks the query items first."""
    if request.api == UNSUPPORTED:
        raise UnsupportedOperation(method, path, request.unimplemented)
    handler_name, allowed = url_handlers[request.api]
    for item in request.query:
        if item not in allowed:
            raise InvalidQueryString(item)
    return getattr(responses, handler_name)


def _root_name(body: bytes) -> str:
    match = _ROOT.search(body)
    return match[1].decode("ascii").rsplit(":", 1)[-1] if match else ""
