"""`sms-receipts dev`: the whole local stack, in-process and as the command `make dev` runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sms_receipts import instance
from sms_receipts.storage import LEDGER
from sms_receipts_dev.local.dev import DevStack
from sms_receipts_dev.local.mns_send import send_receipts
from sms_receipts_dev.local.push import post_once

from function_support import ROOT

SAMPLE = ROOT / "examples" / "http" / "SmsReport.json"


@pytest.fixture(autouse=True)
def in_the_project(monkeypatch):
    monkeypatch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project


@pytest.fixture
def stack(tmp_path):
    with DevStack(port=0, data_dir=tmp_path / "data", token="dev-token") as running:
        yield running


def ledger_count(stack):
    return sum(1 for _ in stack.instance.storage().backend.scan(LEDGER))


def test_push_and_mns_send_both_end_in_tablestore(stack):
    endpoints = json.loads((stack.data_dir / "endpoints.json").read_text())
    assert endpoints["callback_urls"]["SmsReport"].endswith("/SmsReport?token=dev-token")
    assert set(endpoints["tablestore"]) >= {"endpoint", "instance_name", "access_key_id", "access_key_secret"}
    assert endpoints["alicom"]["queues"]["SmsUp"] == "Alicom-Queue-1234567890123456-SmsUp"

    attempt = post_once(stack.callback_url(), SAMPLE.read_bytes())
    assert attempt.status == 200 and json.loads(attempt.body)["code"] == 0
    assert ledger_count(stack) == 2

    stack.start_puller()
    sent = send_receipts((ROOT / "examples" / "http" / "SmsUp.json").read_bytes(), None, str(stack.data_dir))
    assert sent[0]["queue"].endswith("-SmsUp")
    deadline = time.monotonic() + 20
    while ledger_count(stack) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ledger_count(stack) == 3


def test_data_persists_across_restarts(tmp_path):
    with DevStack(port=0, data_dir=tmp_path / "data") as first:
        token = first.token
        assert post_once(first.callback_url(), SAMPLE.read_bytes()).status == 200
    with DevStack(port=0, data_dir=tmp_path / "data") as second:
        assert second.token == token  # kept in the data dir
        assert ledger_count(second) == 2


def test_the_stack_leaves_the_process_environment_alone(tmp_path, fresh_instance):
    before, outside = dict(os.environ), fresh_instance({})
    with DevStack(port=0, data_dir=tmp_path / "data") as running:
        assert dict(os.environ) == before
        assert instance.current() is running.instance  # the HTTP function runs on the stack's settings
        assert running.instance.receiver().settings.tokens == (running.token,)
    assert instance.current() is outside and dict(os.environ) == before


def test_the_dev_command_prints_the_callback_and_stops_on_ctrl_c(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sms_receipts_dev.cli",
            "dev",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "d"),
            "--token",
            "tok",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("SMS_RECEIPTS_", "ALIBABA_CLOUD_"))},
    )
    try:
        first = process.stdout.readline()
        callback = process.stdout.readline()
        assert first.startswith("HTTP receipt function: http://127.0.0.1:")
        url = callback.split(": ", 1)[1].strip()
        assert url.endswith("/SmsReport?token=tok")
        assert post_once(url, SAMPLE.read_bytes()).status == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "stopped" in out
