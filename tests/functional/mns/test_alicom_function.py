"""The timer-triggered Alicom puller function, configured by environment variables as deployed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sms_receipts import instance
from sms_receipts.storage import LEDGER
from sms_receipts_dev.testing import events
from sms_receipts_dev.testing.fc import fc_context

from function_support import ROOT, load_function
from mns_support import ACCOUNT_ID


@pytest.fixture
def function_env(alicom, storage_env, fresh_instance, monkeypatch):
    dybaseapi, mns = alicom
    env = {
        "SMS_RECEIPTS_ALICOM_MNS_ENDPOINT": mns.endpoint,
        "SMS_RECEIPTS_DYBASEAPI_ENDPOINT": dybaseapi.address,
        "SMS_RECEIPTS_DYBASEAPI_PROTOCOL": "http",
        "SMS_RECEIPTS_ALICOM_TYPES": "SmsReport,SmsUp",
        "SMS_RECEIPTS_ALICOM_WAIT_SECONDS": "1",
    }
    for name, value in env.items():  # the command line reads the process's environment
        monkeypatch.setenv(name, value)
    # One role's keys serve Tablestore and dybaseapi alike: make the Tablestore emulator's known to dybaseapi.
    dybaseapi.credentials.add_access_key("LTAI-local-emulator", "local-emulator-secret")
    fresh_instance({**storage_env, **env})
    return alicom


def test_the_timer_function_drains_the_queues(function_env):
    _, mns = function_env
    reply = {
        "phone_number": "13800000001",
        "content": "好",
        "send_time": "20261125100000",
        "dest_code": "1",
        "sequence_id": 7,
    }
    mns.enqueue(f"Alicom-Queue-{ACCOUNT_ID}-SmsUp", json.dumps(reply, ensure_ascii=False))
    index = load_function("alicom_pull")
    context = fc_context("timer")
    context.account_id = ACCOUNT_ID  # the queue names' <uid> comes from the context
    context.function.timeout = 10
    summary = index.handler(events.timer_event(), context)
    by_type = {q["message_type"]: q for q in summary["queues"]}
    assert by_type["SmsUp"]["outcomes"]["stored"] == 1 and by_type["SmsReport"]["status"] == "empty"
    rows = list(instance.current().storage().backend.scan(LEDGER))
    assert [r["message_type"] for r in rows] == ["SmsUp"]
    # a warm instance keeps its token: the next tick asks dybaseapi for none
    fetches = instance.current().puller(context).tokens.fetches
    index.handler(events.timer_event(), context)
    assert instance.current().puller(context).tokens.fetches == fetches


def test_pull_once_from_the_command_line(function_env, storage_env, tmp_path):
    _, mns = function_env
    mns.enqueue(
        f"Alicom-Queue-{ACCOUNT_ID}-SmsReport",
        json.dumps(
            {"biz_id": "b1", "phone_number": "13800000009", "success": True, "report_time": "2026-11-25 10:00:00"}
        ),
    )
    env = {**os.environ, "SMS_RECEIPTS_ALICOM_ACCOUNT_ID": ACCOUNT_ID, "SMS_RECEIPTS_PULL_SECONDS": "6"}
    done = subprocess.run(
        [sys.executable, "-m", "sms_receipts.cli", "pull", "--once", "--data-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert [r["message_type"] for r in instance.current().storage().backend.scan(LEDGER)] == ["SmsReport"]
    assert '"status":"empty"' in done.stderr
