"""`sms-receipts dev` killed with SIGKILL mid-load keeps every push it acknowledged."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from sms_receipts.storage import LEDGER
from sms_receipts_dev.local.dev import DevStack

from function_support import ROOT

PUSHERS = 4
ITEMS = 50
ACKNOWLEDGED_BEFORE_KILL = 12  # pushes answered 200 before the kill, so it lands mid-load


@pytest.fixture(autouse=True)
def in_the_project(monkeypatch):
    monkeypatch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project


def push_body(label: str) -> bytes:
    return json.dumps(
        [
            {
                "phone_number": f"138{index:08d}",
                "send_time": "2026-11-25 10:00:00",
                "report_time": f"2026-11-25 10:00:{index % 60:02d}",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": f"{label}^0",
                "out_id": f"order-{index}",
            }
            for index in range(ITEMS)
        ]
    ).encode("utf-8")


def start_dev(data_dir) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_RECEIPTS_", "ALIBABA_CLOUD_"))}
    env["SMS_RECEIPTS_HTTP_DEADLINE_MS"] = "30000"  # everything stored inline: a 200 means "in the ledger"
    command = [sys.executable, "-m", "sms_receipts_dev.cli", "dev", "--port", "0", "--token", "tok"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, killed as a whole
    )
    first = process.stdout.readline()
    assert first.startswith("HTTP receipt function: http://127.0.0.1:"), first
    return process, first.split(": ", 1)[1].strip()


def test_every_acknowledged_push_survives_kill_9(tmp_path):
    data_dir = tmp_path / "data"
    process, url = start_dev(data_dir)
    host, port = url.removeprefix("http://").split(":")
    acknowledged: list[str] = []
    lock, enough, stop = threading.Lock(), threading.Event(), threading.Event()

    def push(pusher: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        sent = 0
        while not stop.is_set():
            label = f"kill9-{pusher}-{sent}"
            sent += 1
            try:
                connection.request("POST", "/SmsReport?token=tok", body=push_body(label))
                response = connection.getresponse()
                reply = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError):
                return  # the stack is gone
            if response.status == 200 and reply["code"] == 0:
                with lock:
                    acknowledged.append(label)
                    if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                        enough.set()

    threads = [threading.Thread(target=push, args=(index,)) for index in range(PUSHERS)]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=120), "the stack acknowledged too few pushes"
        os.killpg(process.pid, signal.SIGKILL)  # pushes are in flight: the kill lands mid-request
        process.wait(timeout=30)
    finally:
        stop.set()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for thread in threads:
            thread.join(timeout=60)
    assert process.returncode == -signal.SIGKILL

    with DevStack(port=0, data_dir=data_dir) as restarted:
        stored: dict[str, int] = {}
        for row in restarted.instance.storage().backend.scan(LEDGER):
            biz_id = json.loads(row["record"])["biz_id"].removesuffix("^0")
            stored[biz_id] = stored.get(biz_id, 0) + 1
    missing = {label: stored.get(label, 0) for label in acknowledged if stored.get(label, 0) != ITEMS}
    assert missing == {}, f"acknowledged pushes not fully in the ledger after kill -9: {missing}"
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
