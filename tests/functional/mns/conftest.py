"""MNS tests: the MNS and dybaseapi emulators beside the Tablestore emulator, real SDKs throughout."""

from __future__ import annotations

import pytest

from sms_receipts_dev.emulators.credentials import CredentialStore
from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
from sms_receipts_dev.emulators.mns import FaultConfig, MnsEmulator

from mns_support import ACCOUNT_ID


@pytest.fixture
def alicom(storage_env):
    """The SMS service's side: its MNS account with the Alicom queues, and the token API."""
    credentials = CredentialStore()
    with (
        DybaseapiEmulator(
            credentials=credentials, account_id=ACCOUNT_ID, token_lifetime=3600, message_types=["SmsReport", "SmsUp"]
        ) as dybaseapi,
        MnsEmulator(credentials=credentials, faults=FaultConfig(seed=5)) as mns,
    ):
        for queue in dybaseapi.queue_names().values():
            mns.create_queue(queue, visibility_timeout=1)
        yield dybaseapi, mns
