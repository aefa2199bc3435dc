"""Fixtures: a Tablestore emulator on a free loopback port, and a real `OTSClient` pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tablestore import CapacityUnit, OTSClient, ReservedThroughput, TableMeta, TableOptions
from tablestore.retry import NoRetryPolicy

from sms_receipts_dev.emulators.tablestore import FaultConfig, TablestoreEmulator


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
        client.create_table(TableMeta(name, schema), options or TableOptions(), ReservedThroughput(CapacityUnit(0, 0)))
        return name

    return make


@pytest.fixture
def receipts(make_table: Callable[..., str]) -> str:
    """A table keyed by one STRING column `id`."""
    return make_table("receipts", [("id", "STRING")])


# ---- MNS and dybaseapi emulators --------------------------------------------------------------------
# (imports inside the fixtures: this block is appended to the Tablestore fixtures above)


@pytest.fixture
def credential_store():
    """One `CredentialStore` shared by the MNS and dybaseapi emulators of a test."""
    from sms_receipts_dev.emulators.credentials import CredentialStore

    return CredentialStore()


@pytest.fixture
def mns(credential_store) -> Iterator:
    """An `MnsEmulator` on a free loopback port, memory only, seeded faults (none set)."""
    from sms_receipts_dev.emulators.mns import FaultConfig, MnsEmulator

    with MnsEmulator(credentials=credential_store, faults=FaultConfig(seed=20261125)) as running:
        yield running


@pytest.fixture
def make_queue(mns) -> Callable:
    """Create a queue through the real SDK and return its `mns.queue.Queue`: make_queue(name, vis_timeout=...)."""
    from mns.queue import QueueMeta

    def make(name: str = "receipts", **meta: int):
        queue = mns.account().get_queue(name)
        queue.create(QueueMeta(**meta))
        return queue

    return make


@pytest.fixture
def dybaseapi(credential_store) -> Iterator:
    """A `DybaseapiEmulator` sharing `credential_store` with `mns`; tokens live 60 s."""
    from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator, FaultConfig

    with DybaseapiEmulator(
        credentials=credential_store, token_lifetime=60, faults=FaultConfig(seed=20261125)
    ) as running:
        yield running
