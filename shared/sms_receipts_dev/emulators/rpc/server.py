"""`RpcEmulator`: the request flow of a loopback emulator for an Alibaba Cloud RPC-style API.

Per request: read the body, route by action (`url_paths`, `version`), count the action, authenticate
(ACS3-HMAC-SHA256 headers or V1 HMAC-SHA1 `Signature`, see `auth`), apply a drawn fault if any (`server_busy`
is 503 `ServiceUnavailable`; `timeout` a gateway's 504 HTML page; `drop` and `lost_response` close the
connection, a lost response after the request was applied), call the `responses` method and encode the
JSON reply. A subclass sets the class attributes (`sdk_client` names the official SDK's client
module, for `client()`) and, in `__init__`, `responses` (an object with one method per routed action,
called as `method(request, caller, request_id)`), after `super().__init__` has registered the caller's
keys.

A subclass may also set `flow_control` (a `FlowControl`): a request over its QPS limit is refused with
400 `Throttling.User` once authenticated, before any fault is drawn or anything applied.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from email.utils import formatdate
from typing import Any, ClassVar
from urllib.parse import unquote

from ..credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, CredentialStore
from ..faults import FaultConfig
from ..loopback import ANSWERED, LoopbackHandler, LoopbackService
from .auth import NonceCache, authenticate
from .exceptions import IncompleteSignature, InternalError, RpcError, ServiceUnavailable, ThrottlingUser
from .wire import RpcRequest, action_of, encode, error_document, resolve_action, rpc_parameters


class FlowControl:
    """The gateway's QPS limit over a rolling second: `qps` for all actions together, `action_qps` per
    action (None, or no entry: no limit); both may change at any time. Every caller counts as one user:
    the local stack's keys are one account's. A refused request takes no permit; `refused` counts them."""

    def __init__(
        self,
        qps: int | None = None,
        action_qps: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.qps = qps
        self.action_qps = dict(action_qps or {})
        self.refused = 0
        self._clock = clock
        self._admitted: deque[tuple[float, str]] = deque()  # (time, action) of the last second's requests
        self._lock = threading.Lock()

    def admit(self, action: str) -> bool:
        """True when `action` may run now (and takes a permit); False, counted, when over a limit."""
        limit = self.action_qps.get(action)
        if self.qps is None and limit is None:
            return True
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0][0] <= now - 1.0:
                self._admitted.popleft()
            over_total = self.qps is not None and len(self._admitted) >= self.qps
            over_action = limit is not None and sum(a == action for _, a in self._admitted) >= limit
            if over_total or over_action:
                self.refused += 1
                return False
            self._admitted.append((now, action))
            return True


class RpcEmulator(LoopbackService):
    """Lifecycle (from `LoopbackService`) plus the RPC request flow; see the module docstring."""

    host_id: ClassVar[str] = "aliyuncs.com"  # the `HostId` of gateway errors
    product: ClassVar[str] = "Product"  # the `product` of the `Recommend` link
    version: ClassVar[str] = ""  # the API version the emulator serves
    url_paths: ClassVar[Mapping[str, str]] = {}  # action -> `responses` method name
    sdk_client: ClassVar[str] = ""  # the official SDK's client module, e.g. alibabacloud_dysmsapi20170525.client

    responses: object
    flow_control: FlowControl | None = None  # the gateway's QPS limit, when the subclass has one

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
            if self.flow_control is not None and not self.flow_control.admit(action):
                raise ThrottlingUser()
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
