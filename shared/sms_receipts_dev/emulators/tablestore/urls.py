"""Routing: every call is `POST /<ApiName>`; the API name picks a `TablestoreResponses` method.

These are the APIs the project calls. Anything else, including APIs the SDK knows (UpdateRow,
DeleteTable, UpdateTable, DropIndex, search indexes, transactions, ...), fails loudly with 400 OTSUnsupportOperation
"Unsupported operation: '<ApiName>'.", exactly as the real service answers an unknown operation.
AddDefinedColumn is a service API the SDK lacks (the store sends it itself: `storage.tablestore`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from google.protobuf.message import Message

from .exceptions import UnsupportedOperation
from .responses import TablestoreResponses

url_paths: dict[str, str] = {
    "/CreateTable": "create_table",
    "/ListTable": "list_table",
    "/DescribeTable": "describe_table",
    "/AddDefinedColumn": "add_defined_column",
    "/CreateIndex": "create_index",
    "/PutRow": "put_row",
    "/GetRow": "get_row",
    "/DeleteRow": "delete_row",
    "/BatchWriteRow": "batch_write_row",
    "/BatchGetRow": "batch_get_row",
    "/GetRange": "get_range",
}
SUPPORTED_APIS = tuple(path[1:] for path in url_paths)


def api_name(request_path: str) -> str:
    """The API of a request path; an endpoint with a path prefix (`http://host/prefix`) still works."""
    return urlsplit(request_path).path.rstrip("/").rsplit("/", 1)[-1]


def resolve(responses: TablestoreResponses, api: str) -> Callable[[bytes], Message]:
    method_name = url_paths.get("/" + api)
    if method_name is None:
        raise UnsupportedOperation.for_api(api)
    return getattr(responses, method_name)
