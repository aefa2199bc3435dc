"""Storage tests run the real `tablestore` SDK against the project's emulator over loopback."""

from __future__ import annotations

import uuid

import pytest

from sms_receipts.storage import ReceiptStore
from sms_receipts.storage.plainbuffer import install_fast_put_row_serializer
from sms_receipts.storage.tablestore import TablestoreBackend, make_client


@pytest.fixture
def backend(emulator):
    """A backend on fresh tables (a unique prefix per test), faults cleared."""
    emulator.faults.clear()
    install_fast_put_row_serializer()  # what the composition root (storage.factory.Storage) ships with
    info = emulator.connection_info()
    client = make_client(
        info["endpoint"],
        info["instance_name"],
        info["access_key_id"],
        info["access_key_secret"],
        socket_timeout=5.0,
    )
    tables = TablestoreBackend(client, f"t{uuid.uuid4().hex[:8]}_")
    tables.create_missing_tables()
    yield tables
    emulator.faults.clear()


@pytest.fixture
def store(backend):
    return ReceiptStore(backend)
