"""HTTP function tests: the real handler module, the real SDK, the Tablestore emulator."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest

from sms_receipts.emulators.tablestore import TablestoreEmulator
from sms_receipts.http import fc
from sms_receipts.local.gateway import FcHttpGateway, fc_context
from sms_receipts.storage import config as storage_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789"
OTHER_TOKEN = "rotated-token-abcdef"


def load_function(name: str):
    path = ROOT / "functions" / name / "index.py"
    spec = importlib.util.spec_from_file_location(f"{name}_index_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def emulator():
    with TablestoreEmulator() as running:
        yield running


@pytest.fixture
def function_env(emulator, monkeypatch):
    """Environment of a deployed HTTP function, on fresh tables."""
    emulator.faults.clear()
    info = emulator.connection_info()
    prefix = f"h{uuid.uuid4().hex[:8]}_"
    env = {
        storage_config.ENV_ENDPOINT: info["endpoint"],
        storage_config.ENV_INSTANCE: info["instance_name"],
        storage_config.ENV_ACCESS_KEY_ID: info["access_key_id"],
        storage_config.ENV_ACCESS_KEY_SECRET: info["access_key_secret"],
        storage_config.ENV_TABLE_PREFIX: prefix,
        "SMS_RECEIPTS_CALLBACK_TOKENS": f"{TOKEN},{OTHER_TOKEN}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("SMS_RECEIPTS_ALLOWED_IPS", "SMS_RECEIPTS_MAX_BODY_BYTES", "SMS_RECEIPTS_HTTP_DEADLINE_MS",
                 "SMS_RECEIPTS_MESSAGE_TYPE", storage_config.ENV_SECURITY_TOKEN):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    fc.reset()
    storage_config.get_store_handle().backend.create_missing_tables()
    yield env
    fc.reset()
    emulator.faults.clear()


@pytest.fixture
def index(function_env):
    return load_function("http_receipt")


@pytest.fixture
def backend(function_env):
    return storage_config.get_store_handle().backend


@pytest.fixture
def gateway(index):
    with FcHttpGateway(index.handler) as running:
        yield running


def context():
    return fc_context(f"test-{uuid.uuid4().hex[:8]}")
