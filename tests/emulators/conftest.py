"""Fixtures: a Tablestore emulator on a free loopback port, and a real `OTSClient` pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tablestore import CapacityUnit, OTSClient, ReservedThroughput, TableMeta, TableOptions
from tablestore.retry import NoRetryPolicy

from sms_receipts.emulators.tablestore import FaultConfig, TablestoreEmulator


@pytest.fixture
def emulator() -> Iterator[TablestoreEmulator]:
    with TablestoreEmulator(faults=FaultConfig(seed=20261125)) as running:
        yield running


@pytest.fixture
def client(emulator: TablestoreEmulator) -> OTSClient:
    return emulator.client(retry_policy=NoRetryPolicy(), socket_timeout=10)


@pytest.fixture
def make_table(client: OTSClient) -> Callable[..., str]:
    """Create a table through the client: make_table(name, [(pk, type), ...], TableOptions())."""

    def make(name: str, schema: list, options: TableOptions | None = None) -> str:
        client.create_table(TableMeta(name, schema), options or TableOptions(),
                            ReservedThroughput(CapacityUnit(0, 0)))
        return name

    return make


@pytest.fixture
def receipts(make_table: Callable[..., str]) -> str:
    """A table keyed by one STRING column `id`."""
    return make_table("receipts", [("id", "STRING")])
