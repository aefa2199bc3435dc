"""Fixtures shared by every test package: the Tablestore emulator, a function's environment, and a
fresh warm instance per test."""

from __future__ import annotations

import uuid

import pytest

from sms_receipts import instance
from sms_receipts.settings import declared
from sms_receipts.storage import settings as storage_settings
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

FUNCTION_ENV_VARS = tuple(variable.name for variables in declared().values() for variable in variables)


@pytest.fixture(scope="session")
def emulator():
    """One Tablestore emulator for the session; tests isolate themselves with table prefixes."""
    with TablestoreEmulator() as running:
        yield running


@pytest.fixture
def fresh_instance():
    """`fresh_instance(env)` makes a new warm instance on `env` the process's, as a new FC instance
    would be; the one before comes back after the test."""
    previous = instance.install(None)

    def install(env) -> instance.Instance:
        new = instance.Instance(env)
        instance.install(new)
        return new

    yield install
    instance.install(previous)


@pytest.fixture
def storage_env(emulator, monkeypatch, fresh_instance):
    """An environment pointing storage at fresh tables on the emulator, and an instance on it; faults
    cleared. The process environment says the same, for the commands that read it."""
    emulator.faults.clear()
    for name in FUNCTION_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    info = emulator.connection_info()
    env = {
        storage_settings.ENV_ENDPOINT: info["endpoint"],
        storage_settings.ENV_INSTANCE: info["instance_name"],
        storage_settings.ENV_ACCESS_KEY_ID: info["access_key_id"],
        storage_settings.ENV_ACCESS_KEY_SECRET: info["access_key_secret"],
        storage_settings.ENV_TABLE_PREFIX: f"t{uuid.uuid4().hex[:8]}_",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fresh_instance(env).storage().backend.create_missing_tables()
    yield env
    emulator.faults.clear()
