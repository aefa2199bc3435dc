"""HTTP function tests: the real handler module, the real SDK, the Tablestore emulator."""

from __future__ import annotations

import pytest

from sms_receipts.http import fc
from sms_receipts.storage import config as storage_config
from sms_receipts_dev.local.gateway import FcHttpGateway

from http_support import OTHER_TOKEN, TOKEN, load_function


@pytest.fixture
def function_env(storage_env, monkeypatch):
    """Environment of a deployed HTTP function, on fresh tables."""
    monkeypatch.setenv("SMS_RECEIPTS_CALLBACK_TOKENS", f"{TOKEN},{OTHER_TOKEN}")
    fc.reset()
    yield storage_env
    fc.reset()


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
