"""The simulated SMS service against the whole local stack (`DevStack`), in-process on port 0."""

from __future__ import annotations

import dataclasses

import pytest
from tablestore import NoRetryPolicy

from sms_receipts.storage.tablestore import quiet_sdk_logs
from sms_receipts_dev.local.dev import DevStack

from function_support import ROOT


@pytest.fixture(autouse=True)
def in_the_project(monkeypatch):
    monkeypatch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project
    quiet_sdk_logs()  # each injected fault would otherwise be logged at ERROR by the SDK


@pytest.fixture
def start_stack(tmp_path):
    """`start_stack(fault_rate=..., env=...)`: a running DevStack on fresh data, stopped after the test.

    The faults are the ones `DevStack(fault_rate=...)` chooses, switched on once the stack runs:
    `DevStack.start()` creates its tables through them and fails when one hits ListTable or
    CreateTable (no retry there)."""
    started: list[DevStack] = []

    def start(fault_rate: float = 0.0, env: dict[str, str] | None = None) -> DevStack:
        assert not started, "one stack per test: the stack's instance is the process's while it runs"
        stack = DevStack(port=0, data_dir=tmp_path / "data", token="service-token", fault_rate=fault_rate, env=env)
        faults = stack.tablestore.faults
        rates = faults.rates_for("BatchWriteRow")  # the global entry DevStack set: every API
        faults.clear()
        started.append(stack)
        stack.start()
        faults.set(**dataclasses.asdict(rates))
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture
def reader():
    """`reader(stack)`: an SDK client on the stack's Tablestore emulator, for reading the tables back."""
    return lambda stack: stack.tablestore.client(retry_policy=NoRetryPolicy())
