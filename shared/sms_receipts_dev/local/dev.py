"""`sms-receipts dev`: the whole system on its embedded emulators.

Starts the Tablestore emulator (persisting under the data dir) and creates the tables; serves the
HTTP receipt function through `FcHttpGateway`; starts the SMS service's side of MNS mode (an MNS
emulator holding the `Alicom-Queue-<uid>-<MessageType>` queues and a dybaseapi emulator issuing
their tokens) and runs the Alicom puller against it; drains the inbox every few seconds, as the MNS
function's timer does every minute; runs the reconciler every 10 (scaled) minutes against the dysmsapi
emulator, as the reconcile function's timer does; writes `endpoints.json` into the data dir
(callback URLs with the token, every emulator's endpoint and credentials) for the other commands;
prints the callback URL and a ready-to-paste `curl`. Ctrl-C stops everything (a second Ctrl-C during
the stop leaves at once) and removes `endpoints.json`; a start that fails (`PortInUse`) leaves nothing
running.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sms_receipts import instance
from sms_receipts.endpoints import ENDPOINTS_FILE
from sms_receipts.http import receiver
from sms_receipts.logs import log_event
from sms_receipts.parsing import MessageType
from sms_receipts.reconcile.job import JobResult, run_job
from sms_receipts.reconcile.settings import DEFAULT_GRACE_SECONDS, DEFAULT_MAX_AGE_HOURS, ReconcileSettings
from sms_receipts.settings import ConfigurationError
from sms_receipts.storage import BackendError
from sms_receipts.storage import settings as storage_settings
from sms_receipts.storage.inbox import DrainReport

from ..emulators.credentials import CredentialStore
from ..emulators.dybaseapi import DybaseapiEmulator
from ..emulators.dysmsapi import DysmsapiEmulator
from ..emulators.mns import MnsEmulator
from ..emulators.tablestore import FaultConfig, FaultRates, TablestoreEmulator
from ..testing.fc import load_module
from .gateway import FcHttpGateway, Handler
from .sms_service import AlicomQueueSink, HttpCallbackSink, Sink, SmsServiceSimulator

FUNCTION_FILE = Path("functions") / "http_receipt" / "index.py"
_log = logging.getLogger("sms_receipts.dev")
TOKEN_FILE = "callback-token"
LOCAL_ACCOUNT_ID = "1234567890123456"
# The intl site's reports share the SmsReport queue.
ALICOM_TYPES = tuple(t.value for t in MessageType if t is not MessageType.INTL_SMS_REPORT)
# How long `stop()` waits for a background round (drain, reconcile, pull) before stopping the emulators
# under it: its next call then fails at once, and the round ends.
STOP_GRACE_SECONDS = 5.0


class PortInUse(ConfigurationError):
    """The HTTP function's port is taken (the CLI prints the message as one line, exit status 2)."""

    def __init__(self, port: int):
        super().__init__(f"port {port} is in use: stop what uses it or pass --port")
        self.port = port


def load_http_handler(root: Path | None = None) -> Handler:
    """The HTTP function's own `handler` from functions/http_receipt/index.py when the project is at
    hand, else the same core from the package."""
    path = (root or Path.cwd()) / FUNCTION_FILE
    if path.is_file():
        return load_module(path, "http_receipt_index").handler
    from sms_receipts.http.fc import handle_event

    return handle_event


def _token(data_dir: Path, given: str | None) -> str:
    if given:
        return given
    path = data_dir / TOKEN_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(24)
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return token


@dataclass(frozen=True)
class ServiceOptions:
    """How the simulated SMS service behaves (`sms-receipts dev --time-scale ... --drop-rate ...`)."""

    time_scale: float = 1.0  # the 1/5/10-minute re-pushes, scaled
    delivery_delay: float = 5.0  # seconds from a send to its delivery outcome
    dup_rate: float = 0.0
    reorder_rate: float = 0.0
    drop_rate: float = 0.0
    # How the service delivers receipts: "http" pushes to the callback URLs; "mns" puts them on the
    # Alicom queues, which the puller (`start_puller`; `make dev` runs it) stores.
    delivery: str = "http"
    # How often the reconciler runs in the background (seconds, scaled like the re-pushes; `make dev`:
    # 600, as the reconcile function's timer); None: only when `reconcile_once` is called.
    reconcile_every: float | None = None


class DevStack:
    """The local stack. The HTTP function runs on an `Instance` of its own, built from `env` (the
    function's other settings, e.g. `SMS_RECEIPTS_HTTP_DEADLINE_MS`) with the emulators' endpoints and
    the token; it is the process's instance while the stack runs."""

    def __init__(
        self,
        port: int = 9000,
        data_dir: str | os.PathLike = ".data",
        token: str | None = None,
        fault_rate: float = 0.0,
        table_prefix: str = storage_settings.DEFAULT_TABLE_PREFIX,
        env: Mapping[str, str] | None = None,
        drain_seconds: float | None = 5.0,
        service: ServiceOptions | None = None,
    ):
        self.env = dict(env or {})
        self.drain_seconds = drain_seconds  # None: no background drain (call `drain_once`)
        self.instance: instance.Instance | None = None
        self._previous: instance.Instance | None = None
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.token = _token(self.data_dir, token)
        self.table_prefix = table_prefix
        if not 0.0 <= fault_rate <= 1.0:
            raise ConfigurationError(f"the fault rate must be between 0 and 1, not {fault_rate:g}")
        # Only the faults the store must ride out; the console's push would see them too. They start
        # once `start` is done: its set-up (the tables) is not what they are there to exercise.
        self._fault_rates = (
            {k: v for k, v in vars(FaultRates.spread(fault_rate)).items() if k != "slow"} if fault_rate else {}
        )
        self.tablestore = TablestoreEmulator(data_dir=self.data_dir / "tablestore", faults=FaultConfig())
        credentials = CredentialStore()
        # The caller's keys are the same on every emulator, as one RAM user's would be.
        self.dybaseapi = DybaseapiEmulator(
            credentials=credentials,
            account_id=LOCAL_ACCOUNT_ID,
            message_types=ALICOM_TYPES,
            access_key_id=self.tablestore.access_key_id,
            access_key_secret=self.tablestore.access_key_secret,
        )
        self.mns = MnsEmulator(credentials=credentials, data_dir=self.data_dir / "mns", account_id=LOCAL_ACCOUNT_ID)
        self.service_options = service or ServiceOptions()
        # The SMS API: what `sms-receipts send` sends through; its outcomes become pushed receipts.
        self.dysmsapi = DysmsapiEmulator(
            credentials=credentials,
            data_dir=self.data_dir / "dysmsapi",
            access_key_id=self.tablestore.access_key_id,
            access_key_secret=self.tablestore.access_key_secret,
            delivery_delay=self.service_options.delivery_delay,
        )
        self.sms_service: SmsServiceSimulator | None = None
        self.gateway: FcHttpGateway | None = None
        self._stopping = threading.Event()
        self._puller_thread: threading.Thread | None = None
        self._drain_thread: threading.Thread | None = None
        self._reconcile_thread: threading.Thread | None = None
        self._endpoints_written: bytes | None = None

    def start(self) -> DevStack:
        """Start everything; on failure (`PortInUse`, ...) stop what had started, then raise: the
        emulators' handler threads are not daemons, so a half-started stack would keep the process."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _gateway(self) -> FcHttpGateway:
        try:
            return FcHttpGateway(load_http_handler(), port=self.port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(self.port) from None
            raise ConfigurationError(f"cannot listen on port {self.port}: {exc.strerror or exc}") from None

    def _start(self) -> None:
        self.gateway = self._gateway()  # bound first: a taken port fails before anything runs
        self.tablestore.start()
        info = self.tablestore.connection_info()
        env = {
            **self.env,
            storage_settings.ENV_ENDPOINT: info["endpoint"],
            storage_settings.ENV_INSTANCE: info["instance_name"],
            storage_settings.ENV_ACCESS_KEY_ID: info["access_key_id"],
            storage_settings.ENV_ACCESS_KEY_SECRET: info["access_key_secret"],
            storage_settings.ENV_TABLE_PREFIX: self.table_prefix,
            receiver.ENV_TOKENS: self.token,
        }
        env.pop(storage_settings.ENV_SECURITY_TOKEN, None)
        self.instance = instance.Instance(env)
        self._previous = instance.install(self.instance)
        self.instance.storage().backend.create_missing_tables()
        self.gateway.start()
        self.dybaseapi.start()
        self.mns.start()
        self.dysmsapi.start()
        for queue in self.dybaseapi.queue_names().values():
            self.mns.create_queue(queue, visibility_timeout=30)
        options = self.service_options
        sink: Sink
        if options.delivery == "mns":  # on the Alicom queues, with the SMS service's own MNS key
            sink = AlicomQueueSink(self.mns.account(), self.dybaseapi.queue_names())
        else:
            sink = HttpCallbackSink(
                {t.value: self.callback_url(t) for t in (MessageType.SMS_REPORT, MessageType.SMS_UP)}
            )
        self.sms_service = SmsServiceSimulator(
            self.dysmsapi.state.due_outcomes,
            sink=sink,
            messages=self.dysmsapi.state.messages,
            time_scale=options.time_scale,
            dup_rate=options.dup_rate,
            reorder_rate=options.reorder_rate,
            drop_rate=options.drop_rate,
        ).start()
        self._write_endpoints(info)
        if self.drain_seconds is not None:
            self._drain_thread = self._every(self.drain_seconds, "drain", self._drain_round)
        every = self.service_options.reconcile_every
        if every is not None:
            seconds = max(1.0, every * self.service_options.time_scale)
            self._reconcile_thread = self._every(
                seconds, "reconcile", lambda: self.reconcile_once(budget_seconds=max(5.0, seconds))
            )
        if self._fault_rates:
            self.tablestore.faults.set(**self._fault_rates)

    def reconcile_settings(self, **overrides: Any) -> ReconcileSettings:
        """The reconciler's settings on this stack: its dysmsapi emulator, and the grace and maximum
        age scaled like the service's re-pushes (`time_scale`)."""
        scale = self.service_options.time_scale
        fields: dict[str, Any] = {
            "sms_endpoint": self.dysmsapi.address,
            "sms_protocol": "http",
            "grace_seconds": DEFAULT_GRACE_SECONDS * scale,
            "max_age_hours": DEFAULT_MAX_AGE_HOURS * scale,
            **overrides,
        }
        return ReconcileSettings(**fields).checked()

    def reconcile_once(self, budget_seconds: float = 60.0, **overrides: Any) -> JobResult:
        """One run of the reconcile function's timer against the stack (settings: `reconcile_settings`)."""
        assert self.instance is not None, "start() first"
        keys = (self.tablestore.access_key_id, self.tablestore.access_key_secret, None)
        return run_job(self.instance.storage(), self.reconcile_settings(**overrides), keys, budget_seconds)

    def drain_once(self, budget_seconds: float = 30.0) -> DrainReport:
        """Store what the inbox holds now, as one run of the MNS function's drain timer."""
        assert self.instance is not None, "start() first"
        return self.instance.drain().run(budget_seconds)

    def _drain_round(self) -> None:
        assert self.drain_seconds is not None
        report = self.drain_once(budget_seconds=max(5.0, self.drain_seconds * 4))
        if report.entries:
            log_event(_log, "drain", logging.INFO if not report.left else logging.WARNING, **report.as_fields())

    def _every(self, seconds: float, name: str, run: Callable[[], object]) -> threading.Thread:
        """A background thread running `run` every `seconds` until the stack stops, as FC's timers do."""

        def loop() -> None:
            while not self._stopping.wait(seconds):
                try:
                    run()
                except Exception as exc:
                    if self._stopping.is_set():
                        return  # `stop()` stopped the emulators under this round
                    if not isinstance(exc, BackendError):
                        raise
                    log_event(_log, name, logging.WARNING, error=str(exc))  # faulty: the next round retries

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        return thread

    def start_puller(self) -> None:
        """Drain the Alicom queues in the background, as the timer-triggered function does."""
        from sms_receipts.mns.alicom import AlicomPuller, AlicomSettings, TokenSource

        settings = AlicomSettings(
            message_types=tuple(MessageType(t) for t in ALICOM_TYPES),
            account_id=LOCAL_ACCOUNT_ID,
            mns_endpoint=self.mns.endpoint,
            dybaseapi_endpoint=self.dybaseapi.address,
            dybaseapi_protocol="http",
            wait_seconds=1,
        )
        keys = (self.tablestore.access_key_id, self.tablestore.access_key_secret, None)
        assert self.instance is not None, "start() first"
        puller = AlicomPuller(settings, TokenSource(settings, keys), self.instance.store())

        # Locally the puller cycles every few seconds: say only what it found, not every empty queue.
        logging.getLogger("sms_receipts.alicom").setLevel(logging.WARNING)
        quiet_statuses = ("empty", "budget spent")

        def loop() -> None:
            while not self._stopping.is_set():
                for report in puller.pull(budget_seconds=15):
                    if self._stopping.is_set():
                        break
                    if report.received or report.status not in quiet_statuses:
                        log_event(_log, "alicom_pull", **vars(report))

        self._puller_thread = threading.Thread(target=loop, name="alicom-puller", daemon=True)
        self._puller_thread.start()

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def callback_url(self, message_type: MessageType | str = MessageType.SMS_REPORT) -> str:
        name = message_type.value if isinstance(message_type, MessageType) else message_type
        return f"{self.url}/{name}?token={self.token}"

    def endpoints(self) -> dict[str, Any]:
        return {
            # The process serving them: a file left by one killed (kill -9) names a dead pid.
            "pid": os.getpid(),
            "http_function": self.url,
            "callback_urls": {t.value: self.callback_url(t) for t in MessageType},
            "token": self.token,
            "delivery": self.service_options.delivery,
            "tablestore": {**self.tablestore.connection_info(), "table_prefix": self.table_prefix},
            # The SMS API (SendSms, QuerySendDetails, ...), for `sms-receipts send` and reconciliation.
            "dysmsapi": self.dysmsapi.connection_info(),
            "alicom": {
                "account_id": LOCAL_ACCOUNT_ID,
                "message_types": list(ALICOM_TYPES),
                "queues": self.dybaseapi.queue_names(),
                "mns_endpoint": self.mns.endpoint,
                "dybaseapi_endpoint": self.dybaseapi.address,
                "dybaseapi_protocol": "http",
                "access_key_id": self.tablestore.access_key_id,
                "access_key_secret": self.tablestore.access_key_secret,
                # The SMS service's own key for its MNS account, with which `mns-send` enqueues.
                "producer_access_key_id": self.mns.access_key_id,
                "producer_access_key_secret": self.mns.access_key_secret,
            },
        }

    def _write_endpoints(self, info: dict[str, str]) -> None:
        path = self.data_dir / ENDPOINTS_FILE
        temporary = path.with_suffix(".tmp")
        content = (json.dumps(self.endpoints(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        temporary.write_bytes(content)
        temporary.chmod(0o600)
        temporary.replace(path)
        self._endpoints_written = content

    def _remove_endpoints(self) -> None:
        """Remove `endpoints.json` if it is still the one this stack wrote: once stopped, the other
        commands find no file (and say to start the stack) rather than a dead endpoint."""
        if self._endpoints_written is None:
            return
        path = self.data_dir / ENDPOINTS_FILE
        try:
            if path.read_bytes() == self._endpoints_written:
                path.unlink()
        except FileNotFoundError:
            pass
        self._endpoints_written = None

    def stop(self) -> None:
        """Stop everything this stack started (also after a failed `start`); within about
        `STOP_GRACE_SECONDS` even with a background round under way."""
        self._stopping.set()
        self._remove_endpoints()
        grace = time.monotonic() + STOP_GRACE_SECONDS
        if self.sms_service is not None:
            self.sms_service.stop()
            self.sms_service = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        # The puller's last round meets a stopped MNS on every queue: nothing a person needs to read.
        alicom_log = logging.getLogger("sms_receipts.alicom")
        level = alicom_log.level
        alicom_log.setLevel(logging.CRITICAL)
        self.mns.stop()  # ends the puller's long poll
        # Daemon threads: one still in a round when the grace ends has its emulators stopped under it.
        for thread in (self._puller_thread, self._drain_thread, self._reconcile_thread):
            if thread is not None:
                thread.join(timeout=max(0.0, grace - time.monotonic()))
        self._puller_thread = self._drain_thread = self._reconcile_thread = None
        alicom_log.setLevel(level)
        self.dybaseapi.stop()
        self.dysmsapi.stop()
        self.tablestore.stop()
        if self.instance is not None:
            instance.install(self._previous)
            self.instance = None

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run(port: int, data_dir: str, token: str | None, fault_rate: float, service: ServiceOptions | None = None) -> int:
    """`sms-receipts dev`, the process's command: start, print how to use the stack, serve until SIGINT
    or SIGTERM, stop; 0. A second signal while stopping leaves at once (status 128 + the signal). A
    stack that cannot start raises a `ConfigurationError` (`PortInUse`, ...) with nothing left running."""
    from sms_receipts.storage.tablestore import quiet_sdk_logs

    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the function's log lines, as on FC
    quiet_sdk_logs()
    stopped = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stopped.is_set():  # the stop is taking too long for the person waiting: leave now
            os.write(sys.stderr.fileno(), b"sms-receipts dev: stopping at once\n")  # no print: not reentrant
            os._exit(128 + signum)
        stopped.set()

    # Installed before the start, so a Ctrl-C during it stops the stack once it is up (or, twice, at once);
    # kept until the process ends, so a late Ctrl-C is never a KeyboardInterrupt traceback.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    stack = DevStack(
        port=port, data_dir=data_dir, token=token, fault_rate=fault_rate, env=os.environ, service=service
    ).start()
    try:
        stack.start_puller()
        if not stopped.is_set():
            _print_banner(stack)
        stopped.wait()
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0


def _print_banner(stack: DevStack) -> None:
    url = stack.callback_url()
    sample = Path("examples") / "http" / "SmsReport.json"
    print(f"HTTP receipt function: {stack.url}", flush=True)
    print(f"Callback URL (SmsReport): {url}")
    print(f"Endpoints, tokens and credentials: {stack.data_dir / ENDPOINTS_FILE}")
    print("Push a sample:")
    print(f"  curl -sS -X POST -H 'Content-Type: application/json' --data-binary @{sample} '{url}'")
    print("Or as MNS mode does (the Alicom puller runs here and stores it):")
    print(f"  .venv/bin/sms-receipts mns-send {sample}")
    print("Then: .venv/bin/sms-receipts query --biz-id 900619746936498440^0")
    print("Ctrl-C to stop.", flush=True)
