"""Routing: an RPC call is `GET|POST /` with the action in `x-acs-action` (ACS3) or `Action` (V1).

An unknown action or any other path is 404 `InvalidApi.NotFound`; another `Version` than 2017-05-25 is
400 `InvalidVersion`: unknown operations fail loudly, as the gateway's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import InvalidApiNotFound, InvalidVersion
from .responses import DybaseapiResponses

VERSION = "2017-05-25"
UNKNOWN = "Unknown"
url_paths: dict[str, str] = {
    "QueryTokenForMnsQueue": "query_token_for_mns_queue",
}
SUPPORTED_APIS = tuple(url_paths)


def action_of(headers: dict[str, list[str]], params: dict[str, str]) -> tuple[str, str]:
    """(action, version) of a request; UNKNOWN when it names no action."""
    action = (headers.get("x-acs-action") or [""])[0] or params.get("Action", "")
    version = (headers.get("x-acs-version") or [""])[0] or params.get("Version", "")
    return action or UNKNOWN, version


def resolve(responses: DybaseapiResponses, method: str, path: str, action: str, version: str) -> Callable[..., Any]:
    method_name = url_paths.get(action)
    if method_name is None or path.rstrip("/") != "" or method not in ("GET", "POST"):
        raise InvalidApiNotFound()
    if version != VERSION:
        raise InvalidVersion()
    return getattr(responses, method_name)
