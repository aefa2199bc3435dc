"""Fixtures shared by every test package: the Tablestore emulator, and a function's environment."""

from __future__ import annotations

import uuid

import pytest

from sms_receipts.storage import config as storage_config
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

FUNCTION_ENV_VARS = (
    "SMS_RECEIPTS_CALLBACK_TOKENS", "SMS_RECEIPTS_ALLOWED_IPS", "SMS_RECEIPTS_MAX_BODY_BYTES",
    "SMS_RECEIPTS_HTTP_DEADLINE_MS", "SMS_RECEIPTS_MESSAGE_TYPE", "SMS_RECEIPTS_MNS_MESSAGE_TYPE",
    "SMS_RECEIPTS_MNS_SOURCE_TYPES", *storage_config.STORAGE_ENV_VARS,
)  # fmt: skip


@pytest.fixture(scope="session")
def emulator():
    """One Tablestore emulator for the session; tests isolate themselves with table prefixes."""
    with TablestoreEmulator() as running:
        yield running


@pytest.fixture
def storage_env(emulator, monkeypatch):
    """A clean environment pointing storage at fresh tables on the emulator; faults cleared."""
    emulator.faults.clear()
    for name in FUNCTION_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    info = emulator.connection_info()
    env = {
        storage_config.ENV_ENDPOINT: info["endpoint"],
        storage_config.ENV_INSTANCE: info["instance_name"],
        storage_config.ENV_ACCESS_KEY_ID: info["access_key_id"],
        storage_config.ENV_ACCESS_KEY_SECRET: info["access_key_secret"],
        storage_config.ENV_TABLE_PREFIX: f"t{uuid.uuid4().hex[:8]}_",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    storage_config.get_store_handle().backend.create_missing_tables()
    yield env
    emulator.faults.clear()
