"""HTTP function tests: the real handler module, the real SDK, the Tablestore emulator."""

from __future__ import annotations

import pytest

from sms_receipts.http.receiver import ENV_TOKENS
from sms_receipts_dev.local.gateway import FcHttpGateway

from http_support import OTHER_TOKEN, TOKEN, load_function


@pytest.fixture
def function_env(storage_env):
    """Environment of a deployed HTTP function, on fresh tables."""
    return {**storage_env, ENV_TOKENS: f"{TOKEN},{OTHER_TOKEN}"}


@pytest.fixture
def reconfigure(function_env, fresh_instance):
    """`reconfigure(NAME=value, ...)`: a fresh instance with the function's environment so changed."""
    return lambda **changes: fresh_instance({**function_env, **changes})


@pytest.fixture
def function_instance(reconfigure):
    """The warm instance the function runs on."""
    return reconfigure()


@pytest.fixture
def index(function_instance):
    return load_function("http_receipt")


@pytest.fixture
def backend(function_instance):
    return function_instance.storage().backend


@pytest.fixture
def gateway(index):
    with FcHttpGateway(index.handler) as running:
        yield running
