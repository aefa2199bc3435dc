"""`DysmsapiEmulator`: a loopback HTTP server for `alibabacloud_dysmsapi20170525.client.Client`.

The SDK reaches it with `Config(access_key_id=..., access_key_secret=..., endpoint="127.0.0.1:<port>",
protocol="http")`. Per request the shared `..rpc.server.RpcEmulator` flow routes by action (SendSms,
SendBatchSms, QuerySendDetails, QuerySendStatistics; any other is 404 `InvalidApi.NotFound`), counts
it, authenticates (ACS3-HMAC-SHA256 or V1 HMAC-SHA1: a bad signature is 400 `SignatureDoesNotMatch`, an
unknown AccessKey 404 `InvalidAccessKeyId.NotFound`, as the dybaseapi emulator answers), applies a drawn
fault if any and calls the model::

    clock = ManualClock()
    with DysmsapiEmulator(clock=clock, delivery_delay=5) as sms:
        biz_id = sms.client().send_sms(SendSmsRequest(phone_numbers="13800000000", sign_name="阿里云",
                                                      template_code="SMS_1")).body.biz_id
        clock.advance(5)
        sms.state.due_outcomes()     # [Outcome(biz_id=..., success=True, err_code="DELIVERED", ...)]

Gateway flow control: `DysmsapiEmulator(qps=50)` (or `sms.qps = 50` at any time; `sms.action_qps =
{"SendSms": 10}` per action) refuses a request over the limit in a rolling second with 400
`Throttling.User` "Request was denied due to user flow control." (see `..rpc.exceptions.ThrottlingUser`
for the source), which the SDK raises as `ClientException`; nothing of it is applied, and `sms.throttled`
counts the refusals.

Faults on the wire: `server_busy` is 503 `ServiceUnavailable`; `timeout` a 504 HTML page from the
"gateway"; `drop` and `lost_response` close the connection (a lost SendSms response has sent).

Persistence: `DysmsapiEmulator(data_dir=...)` keeps sends, messages and their outcomes (and which were
handed out) in `<data_dir>/dysmsapi.sqlite3`, each change committed before the reply; an emulator started
on the same dir answers for them again (see `models`). Without a data dir the database is in memory.

Standalone: `main(["--port", "0", "--delivery-delay", "5", "--data-dir", "var/dysmsapi"])` prints one
JSON line with `endpoint` (host:port, for `Config.endpoint`), `protocol`, `url`, `access_key_id`,
`access_key_secret` and `delivery_delay`, then serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..credentials import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, CredentialStore
from ..faults import FaultConfig
from ..rpc.server import FlowControl, RpcEmulator
from ..standalone import fault_config, parse_standalone_args, serve_until_signalled, standalone_parser
from .models import DEFAULT_DELIVERY_DELAY, DEFAULT_FAILURE_CODES, Clock, DysmsapiState, RateLimits
from .responses import HOST_ID, PRODUCT, DysmsapiResponses
from .urls import VERSION, url_paths


class DysmsapiEmulator(RpcEmulator):
    """A local dysmsapi (the SMS API) on loopback HTTP; `start()`/`stop()` or a context manager.

    `state` (a `DysmsapiState`) holds the sends and outcomes: `state.due_outcomes()`, `state.plan(...)`,
    `state.register_sign(...)`, `state.register_template(...)`, `state.rate_limits`. With `data_dir` the
    sends and outcomes persist there (memory only without one)."""

    service_name = "dysmsapi"
    host_id = HOST_ID
    product = PRODUCT
    version = VERSION
    url_paths = url_paths
    sdk_client = "alibabacloud_dysmsapi20170525.client"
    flow_control: FlowControl

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_dir: str | os.PathLike | None = None,
        credentials: CredentialStore | None = None,
        access_key_id: str = DEFAULT_ACCESS_KEY_ID,
        access_key_secret: str = DEFAULT_ACCESS_KEY_SECRET,
        clock: Clock | None = None,
        delivery_delay: float = DEFAULT_DELIVERY_DELAY,
        failure_rate: float = 0.0,
        failure_codes: Iterable[str] = DEFAULT_FAILURE_CODES,
        outcome_seed: int | None = None,
        rate_limits: RateLimits | None = None,
        faults: FaultConfig | None = None,
        verify_signatures: bool = True,
        qps: int | None = None,
        action_qps: Mapping[str, int] | None = None,
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
        kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
        self.state = DysmsapiState(
            delivery_delay=delivery_delay,
            failure_rate=failure_rate,
            failure_codes=failure_codes,
            seed=outcome_seed,
            rate_limits=rate_limits,
            data_dir=data_dir,
            **kwargs,
        )
        self.responses = DysmsapiResponses(self.state)
        # On the state's clock, so a test's ManualClock moves the rolling second too.
        self.flow_control = FlowControl(qps, action_qps, clock or time.monotonic)

    def stop(self) -> None:
        """Stop serving and close the data file (the WAL folds into it); `state` reopens it when used."""
        super().stop()
        self.state.close()

    @property
    def qps(self) -> int | None:
        """Requests per rolling second, all actions together (None: no limit)."""
        return self.flow_control.qps

    @qps.setter
    def qps(self, value: int | None) -> None:
        self.flow_control.qps = value

    @property
    def action_qps(self) -> dict[str, int]:
        """Requests per rolling second of one action (`{"SendSms": 10}`); no entry: no limit."""
        return self.flow_control.action_qps

    @action_qps.setter
    def action_qps(self, value: Mapping[str, int]) -> None:
        self.flow_control.action_qps = dict(value)

    @property
    def throttled(self) -> int:
        """Requests refused with Throttling.User so far."""
        return self.flow_control.refused

    def connection_info(self) -> dict[str, Any]:
        return {
            "endpoint": self.address,
            "protocol": "http",
            "url": self.endpoint,
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "delivery_delay": self.state.delivery_delay,
        }


def main(argv: list[str] | None = None) -> int:
    """Run a standalone emulator: first stdout line is the connection JSON; SIGINT/SIGTERM stop it."""
    parser = standalone_parser(
        DysmsapiEmulator.service_name,
        "Local dysmsapi (SendSms, SendBatchSms, QuerySendDetails, QuerySendStatistics) emulator for "
        "alibabacloud-dysmsapi20170525.",
        data_dir_help="persist sends and their outcomes here (default: memory only)",
    )
    parser.add_argument(
        "--delivery-delay", type=float, default=DEFAULT_DELIVERY_DELAY, help="seconds from send to outcome"
    )
    parser.add_argument("--failure-rate", type=float, default=0.0, help="share of messages that fail (0..1)")
    parser.add_argument(
        "--failure-code",
        action="append",
        metavar="CODE",
        help=f"carrier code of a failed message (repeatable; default: {', '.join(DEFAULT_FAILURE_CODES)})",
    )
    parser.add_argument("--outcome-seed", type=int, help="seed for the delivery outcomes")
    parser.add_argument("--per-minute", type=int, help="sends per signature and number per minute")
    parser.add_argument("--per-hour", type=int, help="sends per signature and number per hour")
    parser.add_argument("--per-day", type=int, help="sends per signature and number per day")
    parser.add_argument("--qps", type=int, help="requests per second before the gateway answers Throttling.User")
    args = parse_standalone_args(parser, argv)
    if args.delivery_delay < 0:
        parser.error("--delivery-delay must not be negative")
    if not 0.0 <= args.failure_rate <= 1.0:
        parser.error("--failure-rate must be between 0 and 1")
    if args.qps is not None and args.qps < 1:
        parser.error("--qps must be at least 1")

    def build() -> DysmsapiEmulator:
        return DysmsapiEmulator(
            args.host,
            args.port,
            data_dir=args.data_dir,
            access_key_id=args.access_key_id,
            access_key_secret=args.access_key_secret,
            delivery_delay=args.delivery_delay,
            failure_rate=args.failure_rate,
            failure_codes=args.failure_code or DEFAULT_FAILURE_CODES,
            outcome_seed=args.outcome_seed,
            rate_limits=RateLimits(args.per_minute, args.per_hour, args.per_day),
            faults=fault_config(args),
            qps=args.qps,
        )

    return serve_until_signalled(build)
