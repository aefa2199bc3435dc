"""Routing: an RPC call is `GET|POST /` with the action in `x-acs-action` (ACS3) or `Action` (V1).

An unknown action or any other path is 404 `InvalidApi.NotFound`; another `Version` than 2017-05-25 is
400 `InvalidVersion`: unknown operations fail loudly, as the gateway's do (the shared `..rpc.wire`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..rpc.wire import UNKNOWN, action_of, resolve_action
from .responses import DybaseapiResponses

VERSION = "2017-05-25"
url_paths: dict[str, str] = {
    "QueryTokenForMnsQueue": "query_token_for_mns_queue",
}
SUPPORTED_APIS = tuple(url_paths)

__all__ = ["SUPPORTED_APIS", "UNKNOWN", "VERSION", "action_of", "resolve", "url_paths"]


def resolve(responses: DybaseapiResponses, method: str, path: str, action: str, version: str) -> Callable[..., Any]:
    return resolve_action(responses, url_paths, VERSION, method, path, action, version)
