"""`RpcEmulator`: the request flow of a loopback emulator for an Alibaba Cloud RPC-style API.

Per request: read the body, route by action (`url_paths`, `version`), count the action, authenticate
(ACS3-HMAC-SHA256 headers or V1 HMAC-SHA1 `Signature`, see `auth`), apply a drawn fault if any (`server_busy`
is 503 `ServiceUnavailable`; `timeout` a gateway's 504 HTML page; `drop` and `lost_response` close the
connection, a lost response after the request was applied), call the `responses` method and encode the
JSON reply. A subclass sets the class attributes (`sdk_client` names the official SDK's client
module, for `client()`) and, in `__init__`, `responses` (an object with one method per routed action,
called as `method(request, caller, request_id)`), after `super().__init__` has registered the caller's
keys.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Mapping
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import unquote

from ..credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, CredentialStore
from ..faults import FaultConfig
from ..loopback import ANSWERED, LoopbackHandler, LoopbackService
from .auth import NonceCache, authenticate
from .exceptions import IncompleteSignature, InternalError, RpcError, ServiceUnavailable
from .wire import RpcRequest, action_of, encode, error_document, resolve_action, rpc_parameters


class RpcEmulator(LoopbackService):
    """Lifecycle (from `LoopbackService`) plus the RPC request flow; see the module docstring."""

    host_id: ClassVar[str] = "aliyuncs.com"  # the `HostId` of gateway errors
    product: ClassVar[str] = "Product"  # the `product` of the `Recommend` link
    version: ClassVar[str] = ""  # the API version the emulator serves
    url_paths: ClassVar[Mapping[str, str]] = {}  # action -> `responses` method name
    sdk_client: ClassVar[str] = ""  # the official SDK's client module, e.g. alibabacloud_dysmsapi20170525.client

    responses: object

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: CredentialStore | None = None,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        faults: FaultConfig | None = None,
        verify_signatures: bool = True,
    ):
        super().__init__(host, port)
        self._nonces = NonceCache()
        self.credentials = credentials if credentials is not None else CredentialStore()
        self.credentials.add_access_key(access_key_id, access_key_secret)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.verify_signatures = verify_signatures
        self.faults = faults or FaultConfig()

    def client(self, access_key_id: str | None = None, access_key_secret: str | None = None, **config: Any) -> Any:
        """The official SDK's `Client` (`sdk_client`) for this emulator; keywords go to its `Config`."""
        from alibabacloud_tea_openapi.models import Config

        client_class = importlib.import_module(self.sdk_client).Client
        return client_class(
            Config(
                access_key_id=access_key_id or self.access_key_id,
                access_key_secret=access_key_secret or self.access_key_secret,
                endpoint=self.address,
                protocol="http",
                **config,
            )
        )

    def handle(self, handler: LoopbackHandler) -> None:
        request_id = str(uuid.uuid4()).upper()
        body = self.read_body(handler)
        path, _, query_string = handler.path.partition("?")
        headers: dict[str, list[str]] = {}
        for name, value in handler.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        if body is None:
            self._count("Unknown")
            self._reply(handler, IncompleteSignature("The Content-Length you specified is invalid."), request_id)
            return
        query, params = rpc_parameters(query_string, headers, body)
        action, version = action_of(headers, params)
        self._count(action)
        fault = None
        try:
            respond = resolve_action(
                self.responses, self.url_paths, self.version, handler.command, unquote(path), action, version
            )
            caller = authenticate(
                self.credentials,
                self._nonces,
                handler.command,
                path,
                query,
                headers,
                body,
                params,
                verify_signatures=self.verify_signatures,
            )
            request = RpcRequest(action, version, handler.command, path, query, params, headers, body)
            fault = self.begin_fault(handler, action, busy=ServiceUnavailable)
            if fault == ANSWERED:
                return
            reply: dict[str, Any] | RpcError = respond(request, caller, request_id)
        except RpcError as error:
            reply = error
        except Exception as error:
            logging.getLogger(type(self).__module__).exception("%s emulator failed on %s", self.service_name, action)
            reply = InternalError(f"{type(error).__name__}: {error}")
        if self.end_fault(handler, fault):
            return
        self._reply(handler, reply, request_id)

    def _reply(self, handler: LoopbackHandler, reply: dict[str, Any] | RpcError, request_id: str) -> None:
        if isinstance(reply, RpcError):
            status, document = reply.http_status, error_document(reply, request_id, self.host_id, self.product)
        else:
            status, document = 200, reply
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "x-acs-request-id": request_id,
            "Date": formatdate(usegmt=True),
        }
        self.send(handler, status, headers, encode(document))
