"""Reconciliation against the dysmsapi emulator (the official SDK over loopback) and the Tablestore
emulator: sends go through SendSms, are recorded in the send log as a sender records them, and the
reconciler queries and stores through the real SDKs. One `ManualClock` is the time of both the
service and the reconciler."""

from __future__ import annotations

import pytest

from sms_receipts.reconcile.job import sms_api
from sms_receipts.reconcile.reconciler import Reconciler
from sms_receipts.reconcile.settings import ReconcileSettings
from sms_receipts.storage.sends import SendLog
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator, ManualClock

# A Monday noon in China time (04:00 UTC), far from midnight.
NOON = 1_796_616_000.0


@pytest.fixture
def clock():
    return ManualClock(NOON)


@pytest.fixture
def sms(clock):
    with DysmsapiEmulator(clock=clock, delivery_delay=30) as running:
        yield running


@pytest.fixture
def storage(storage_env, fresh_instance):
    return fresh_instance(storage_env).storage()


class Sender:
    """Sends through the SDK and records each send as the README tells senders to."""

    def __init__(self, sms: DysmsapiEmulator, storage, clock: ManualClock):
        self.client, self.log, self.clock = sms.client(), SendLog(storage.store), clock

    def log_sends(self, biz_id: str, phones: list[str], sent_at: float | None = None) -> list:
        """Sends as a sender would record them by hand (`make_sends`), at `sent_at` (default: now)."""
        from sms_receipts.storage.sends import make_sends

        return make_sends(biz_id, phones, int((sent_at or self.clock()) * 1000), source="import")

    def send(self, phones: list[str], record: bool = True, **fields) -> str:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        request = SendSmsRequest(phone_numbers=",".join(phones), sign_name="阿里云", template_code="SMS_1", **fields)
        response = self.client.send_sms(request)
        assert response.body.code == "OK", response.body.message
        if record:
            assert self.log.record_sdk_call(request, response, sent_at=self.clock()).confirmed
        return response.body.biz_id


@pytest.fixture
def sender(sms, storage, clock):
    return Sender(sms, storage, clock)


@pytest.fixture
def make_reconciler(sms, storage, clock):
    """`make_reconciler(**settings)`: a reconciler on the emulators whose time is `clock`."""

    def make(**overrides) -> Reconciler:
        settings = ReconcileSettings(sms_endpoint=sms.address, sms_protocol="http", **overrides).checked()
        api = sms_api(settings, (sms.access_key_id, sms.access_key_secret, None))
        return Reconciler(storage.backend, storage.store, api, settings, clock=clock)

    return make
