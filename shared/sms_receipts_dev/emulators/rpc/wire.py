"""The RPC wire shared by the RPC emulators: decode a request's parameters, route it, encode the reply.

An RPC call is `GET|POST /` with the action in `x-acs-action` (ACS3) or `Action` (V1) and its
parameters in the query and an `application/x-www-form-urlencoded` body. An unknown action or any
other path is 404 `InvalidApi.NotFound`; another `Version` than the service's is 400 `InvalidVersion`:
unknown operations fail loudly, as the gateway's do. Replies are JSON; errors are
`{"RequestId", "HostId", "Code", "Message", "Recommend"}` plus any extra fields of the error, or, for a
business error (HTTP 200), the API's own `{"RequestId", "Code", "Message"}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .exceptions import InvalidApiNotFound, InvalidVersion, RpcError

UNKNOWN = "Unknown"


@dataclass(frozen=True)
class RpcRequest:
    action: str
    version: str
    method: str
    path: str
    query: dict[str, str]  # form-decoded, as the signature sees them
    params: dict[str, str]  # query and form body together, the API's parameters
    headers: dict[str, list[str]]  # lower-cased names
    body: bytes


def rpc_parameters(query_string: str, headers: dict[str, list[str]], body: bytes) -> tuple[dict[str, str], dict]:
    """(query, params): the query alone and merged with an `application/x-www-form-urlencoded` body."""
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    params = dict(query)
    content_type = (headers.get("content-type") or [""])[0]
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return query, params


def action_of(headers: dict[str, list[str]], params: dict[str, str]) -> tuple[str, str]:
    """(action, version) of a request; UNKNOWN when it names no action."""
    action = (headers.get("x-acs-action") or [""])[0] or params.get("Action", "")
    version = (headers.get("x-acs-version") or [""])[0] or params.get("Version", "")
    return action or UNKNOWN, version


def resolve_action(
    responses: object,
    url_paths: Mapping[str, str],
    service_version: str,
    method: str,
    path: str,
    action: str,
    version: str,
) -> Callable[..., Any]:
    """The `responses` method `url_paths` names for `action`, or the gateway's error."""
    method_name = url_paths.get(action)
    if method_name is None or path.rstrip("/") != "" or method not in ("GET", "POST"):
        raise InvalidApiNotFound()
    if version != service_version:
        raise InvalidVersion()
    return getattr(responses, method_name)


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_document(error: RpcError, request_id: str, host_id: str, product: str) -> dict[str, Any]:
    if error.http_status == 200:  # a business error: the API's own body, not the gateway's
        return {"RequestId": request_id, "Code": error.code, "Message": error.message}
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product={product}",
        **error.extra,
    }
