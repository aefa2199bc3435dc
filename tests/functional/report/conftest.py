"""Report tests: receipts parsed by the project's parser, stored through the real store on the Tablestore
emulator, read back as ledger rows; and a headless Chromium to open the page."""

from __future__ import annotations

import shutil
import uuid

import pytest

from sms_receipts.storage import ReceiptStore
from sms_receipts.storage.tablestore import TablestoreBackend, make_client


@pytest.fixture
def backend(emulator):
    """A backend on fresh tables (a unique prefix per test)."""
    emulator.faults.clear()
    info = emulator.connection_info()
    client = make_client(
        info["endpoint"], info["instance_name"], info["access_key_id"], info["access_key_secret"], socket_timeout=5.0
    )
    tables = TablestoreBackend(client, f"r{uuid.uuid4().hex[:8]}_")
    tables.create_missing_tables()
    return tables


@pytest.fixture
def store(backend):
    return ReceiptStore(backend)


@pytest.fixture(scope="session")
def chromium():
    """The headless browser `make test` installs (Debian's `chromium`). Missing is a failure, not a skip:
    the report's promise is that it opens in a browser."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)", pytrace=False)
    return path
