"""`sms-receipts dev`: the whole system on its embedded emulators.

Starts the Tablestore emulator (persisting under the data dir) and creates the tables; serves the
HTTP receipt function through `FcHttpGateway`; writes `endpoints.json` into the data dir (callback
URLs with the token, the emulator's endpoint and credentials) for the other commands; prints the
callback URL and a ready-to-paste `curl`. Ctrl-C stops everything.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

from ..emulators.tablestore import FaultConfig, FaultRates, TablestoreEmulator
from ..parsing import MessageType
from ..storage import config as storage_config
from .gateway import FcHttpGateway, Handler

FUNCTION_FILE = Path("functions") / "http_receipt" / "index.py"
TOKEN_FILE = "callback-token"


def load_http_handler(root: Path | None = None) -> Handler:
    """The HTTP function's own `handler` from functions/http_receipt/index.py when the project is at
    hand, else the same core from the package."""
    path = (root or Path.cwd()) / FUNCTION_FILE
    if path.is_file():
        spec = importlib.util.spec_from_file_location("http_receipt_index", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module.handler
    from ..http.fc import handle_event

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


class DevStack:
    def __init__(self, port: int = 9000, data_dir: str | os.PathLike = ".data", token: str | None = None,
                 fault_rate: float = 0.0, table_prefix: str = storage_config.DEFAULT_TABLE_PREFIX):  # fmt: skip
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.token = _token(self.data_dir, token)
        self.table_prefix = table_prefix
        faults = FaultConfig()
        if fault_rate:
            # Only the faults the store must ride out; the console's push would see them too.
            faults.set(**{k: v for k, v in vars(FaultRates.spread(fault_rate)).items() if k != "slow"})
        self.tablestore = TablestoreEmulator(data_dir=self.data_dir / "tablestore", faults=faults)
        self.gateway: FcHttpGateway | None = None

    def start(self) -> DevStack:
        self.tablestore.start()
        info = self.tablestore.connection_info()
        os.environ.update(
            {
                storage_config.ENV_ENDPOINT: info["endpoint"],
                storage_config.ENV_INSTANCE: info["instance_name"],
                storage_config.ENV_ACCESS_KEY_ID: info["access_key_id"],
                storage_config.ENV_ACCESS_KEY_SECRET: info["access_key_secret"],
                storage_config.ENV_TABLE_PREFIX: self.table_prefix,
                "SMS_RECEIPTS_CALLBACK_TOKENS": self.token,
            }
        )
        os.environ.pop(storage_config.ENV_SECURITY_TOKEN, None)
        from ..http import fc

        fc.reset()
        handle = storage_config.get_store_handle()
        handle.backend.create_missing_tables()
        self.gateway = FcHttpGateway(load_http_handler(), port=self.port).start()
        self._write_endpoints(info)
        return self

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def callback_url(self, message_type: MessageType | str = MessageType.SMS_REPORT) -> str:
        name = message_type.value if isinstance(message_type, MessageType) else message_type
        return f"{self.url}/{name}?token={self.token}"

    def endpoints(self) -> dict[str, Any]:
        return {
            "http_function": self.url,
            "callback_urls": {t.value: self.callback_url(t) for t in MessageType},
            "token": self.token,
            "tablestore": {**self.tablestore.connection_info(), "table_prefix": self.table_prefix},
        }

    def _write_endpoints(self, info: dict[str, str]) -> None:
        path = self.data_dir / storage_config.ENDPOINTS_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.endpoints(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(path)

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        self.tablestore.stop()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run(port: int, data_dir: str, token: str | None, fault_rate: float) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the function's log lines, as on FC
    logging.getLogger("sms_receipts.tablestore_sdk").setLevel(logging.CRITICAL)
    stack = DevStack(port=port, data_dir=data_dir, token=token, fault_rate=fault_rate).start()
    url = stack.callback_url()
    sample = Path("examples") / "http" / "SmsReport.json"
    print(f"HTTP receipt function: {stack.url}", flush=True)
    print(f"Callback URL (SmsReport): {url}")
    print(f"Endpoints, tokens and credentials: {stack.data_dir / storage_config.ENDPOINTS_FILE}")
    print("Push a sample:")
    print(f"  curl -sS -X POST -H 'Content-Type: application/json' --data-binary @{sample} '{url}'")
    print("Then: .venv/bin/sms-receipts query --biz-id 900619746936498440^0")
    print("Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0
