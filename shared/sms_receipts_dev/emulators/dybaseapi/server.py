"""`DybaseapiEmulator`: a loopback HTTP server for `alibabacloud_dybaseapi20170525.client.Client`.

The SDK reaches it with `Config(access_key_id=..., access_key_secret=..., endpoint="127.0.0.1:<port>",
protocol="http")`: the endpoint is host:port without a scheme, and `protocol` overrides the API's
default HTTPS. Per request the emulator (the shared `..rpc.server.RpcEmulator` flow) routes by action,
counts it, authenticates (ACS3-HMAC-SHA256 headers or V1 HMAC-SHA1 `Signature`), applies a drawn fault
if any, and issues a token through the model.

In-process, sharing credentials with the MNS emulator::

    store = CredentialStore()
    with DybaseapiEmulator(credentials=store, token_lifetime=2) as dybaseapi, \\
            MnsEmulator(credentials=store) as mns:
        for queue in dybaseapi.queue_names().values():
            mns.create_queue(queue)
        response = dybaseapi.client().query_token_for_mns_queue(
            QueryTokenForMnsQueueRequest(message_type="SmsReport", queue_name=dybaseapi.queue_name("SmsReport")))
        dto = response.body.message_token_dto   # accepted by mns for that queue for 2 seconds

Faults on the wire: `server_busy` is 503 `ServiceUnavailable`; `timeout` a 504 HTML page from the
"gateway" (the SDK fails to parse it and raises); `drop` and `lost_response` close the connection
(a lost response has issued the token).

Standalone: `main(["--port", "0", "--token-lifetime", "60"])` prints one JSON line with `endpoint`
(host:port, for `Config.endpoint`), `protocol`, `url`, `access_key_id`, `access_key_secret`,
`account_id`, `token_lifetime` and `queues` (message type -> queue name), then serves until SIGINT or
SIGTERM. Its tokens are minted with `--token-key`, which a standalone MNS emulator shares by default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_TOKEN_KEY, CredentialStore
from ..faults import FaultConfig
from ..rpc.server import RpcEmulator
from ..standalone import fault_config, parse_standalone_args, serve_until_signalled, standalone_parser
from .models import (
    DEFAULT_ALIYUN_ACCOUNT_ID,
    DEFAULT_MESSAGE_TYPES,
    DEFAULT_TOKEN_LIFETIME,
    DybaseapiState,
    TokenDenial,
)
from .responses import HOST_ID, PRODUCT, DybaseapiResponses
from .urls import VERSION, url_paths


class DybaseapiEmulator(RpcEmulator):
    """A local dybaseapi (QueryTokenForMnsQueue) on loopback HTTP; `start()`/`stop()` or a context manager."""

    service_name = "dybaseapi"
    host_id = HOST_ID
    product = PRODUCT
    version = VERSION
    url_paths = url_paths
    sdk_client = "alibabacloud_dybaseapi20170525.client"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: CredentialStore | None = None,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        account_id: str = DEFAULT_ALIYUN_ACCOUNT_ID,
        message_types: Iterable[str] = DEFAULT_MESSAGE_TYPES,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        faults: FaultConfig | None = None,
        verify_signatures: bool = True,
    ):
        super().__init__(
            host,
            port,
            credentials=credentials,
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            faults=faults,
            verify_signatures=verify_signatures,
        )
        self.state = DybaseapiState(
            self.credentials, account_id=account_id, message_types=message_types, token_lifetime=token_lifetime
        )
        self.responses = DybaseapiResponses(self.state)

    # ---- configuration --------------------------------------------------------------------------

    @property
    def token_lifetime(self) -> float:
        return self.state.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"token_lifetime must be positive, not {seconds}")
        self.state.token_lifetime = seconds

    @property
    def account_id(self) -> str:
        return self.state.account_id

    def queue_name(self, message_type: str) -> str:
        return self.state.queue_name(message_type)

    def queue_names(self) -> dict[str, str]:
        return self.state.queue_names()

    def deny(
        self, access_key_id: str | None = None, message_type: str | None = None, *, access_denied_detail: bool = True
    ) -> TokenDenial:
        """Refuse matching callers with 403 Forbidden.RAM until `clear_denials()`.

        The denial carries `AccessDeniedDetail` (AuthAction `dysms:QueryTokenForMnsQueue`) unless
        `access_denied_detail=False`, which sends the bare gateway error of older RAM denials."""
        return self.state.deny(access_key_id, message_type, access_denied_detail=access_denied_detail)

    def clear_denials(self) -> None:
        self.state.clear_denials()

    def connection_info(self) -> dict[str, Any]:
        return {
            "endpoint": self.address,
            "protocol": "http",
            "url": self.endpoint,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "account_id": self.account_id,
            "token_lifetime": self.token_lifetime,
            "queues": self.queue_names(),
        }


def main(argv: list[str] | None = None) -> int:
    """Run a standalone emulator: first stdout line is the connection JSON; SIGINT/SIGTERM stop it."""
    parser = standalone_parser(
        DybaseapiEmulator.service_name,
        "Local dybaseapi (QueryTokenForMnsQueue) emulator for alibabacloud-dybaseapi20170525.",
    )
    parser.add_argument(
        "--account-id",
        default=DEFAULT_ALIYUN_ACCOUNT_ID,
        help="Aliyun account id in the queue names Alicom-Queue-<id>-<type>",
    )
    parser.add_argument(
        "--message-type",
        action="append",
        metavar="TYPE",
        help=f"a message type with a queue (repeatable; default: {', '.join(DEFAULT_MESSAGE_TYPES)})",
    )
    parser.add_argument("--token-lifetime", type=float, default=DEFAULT_TOKEN_LIFETIME, help="seconds a token lives")
    parser.add_argument("--deny", action="store_true", help="refuse every caller with 403 Forbidden.RAM")
    parser.add_argument(
        "--deny-without-detail",
        action="store_true",
        help="with --deny: leave out the AccessDeniedDetail (AuthAction) of the denial",
    )
    parser.add_argument(
        "--token-key",
        default=DEFAULT_TOKEN_KEY,
        help="key that mints the STS tokens (the MNS emulator checks them with the same default)",
    )
    args = parse_standalone_args(parser, argv)
    if args.token_lifetime <= 0:
        parser.error("--token-lifetime must be positive")

    def build() -> DybaseapiEmulator:
        emulator = DybaseapiEmulator(
            args.host,
            args.port,
            credentials=CredentialStore(token_key=args.token_key),
            access_key_id=args.access_key_id,
            access_key_secret=args.access_key_secret,
            account_id=args.account_id,
            message_types=args.message_type or DEFAULT_MESSAGE_TYPES,
            token_lifetime=args.token_lifetime,
            faults=fault_config(args),
        )
        if args.deny:
            emulator.deny(access_denied_detail=not args.deny_without_detail)
        return emulator

    return serve_until_signalled(build)
