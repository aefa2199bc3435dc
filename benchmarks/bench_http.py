"""The HTTP function: server-side latency of 1-, 100- and 1,000-item pushes, cold-start import cost,
and peak memory of a 2,000-item push. The Tablestore emulator runs in its own process, so the
function's figures are not inflated by the emulator's work in the same interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "functions" / "http_receipt"
TOKEN = "bench-token"


@contextmanager
def emulator_process(*options: str):
    process = subprocess.Popen(
        [sys.executable, "-m", "sms_receipts_dev.cli", "emulator", "tablestore", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=10)


def function_env(info: dict) -> dict[str, str]:
    from sms_receipts.http import receiver
    from sms_receipts.storage import settings as storage

    return {
        storage.ENDPOINT.name: info["endpoint"],
        storage.INSTANCE.name: info["instance_name"],
        storage.ACCESS_KEY_ID.name: info["access_key_id"],
        storage.ACCESS_KEY_SECRET.name: info["access_key_secret"],
        storage.TABLE_PREFIX.name: f"bench{uuid.uuid4().hex[:6]}_",
        receiver.TOKENS.name: TOKEN,
        receiver.DEADLINE_MS.name: "30000",  # measure the time taken, not the cut-off
        receiver.MAX_BODY.name: str(8 * 1024 * 1024),
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def latency(info: dict) -> dict:
    sys.path.insert(0, str(HANDLER_DIR))
    import index  # the deployed handler module

    from benchmarks.samples import push_body, sms_report_push
    from sms_receipts import instance
    from sms_receipts_dev.testing.events import http_event
    from sms_receipts_dev.testing.fc import fc_context

    function = instance.Instance(function_env(info))  # a fresh warm instance on the benchmark's tables
    instance.install(function)
    index.initialize(fc_context("init"))
    function.storage().backend.create_missing_tables()
    figures = {}
    for size, runs in ((1, 200), (100, 100), (1000, 20)):
        times = []
        for run in range(runs):
            items = sms_report_push(size)
            for item in items:  # a fresh send each time: new receipts, not duplicates
                item["biz_id"] = f"{size}-{run}-{item['biz_id']}"
            event = http_event(push_body(items), path="/SmsReport", query={"token": TOKEN})
            started = time.perf_counter()
            response = index.handler(event, fc_context(f"r{run}"))
            times.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200, response
        figures[f"{size}_items"] = {
            "runs": runs,
            "p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(_percentile(times, 0.99), 2),
        }
    figures["target"] = "p99 of a 100-item push <= 25 ms"
    return figures


def _median_import_seconds(statement: str, runs: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(HANDLER_DIR)}
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def cold_start() -> dict:
    handler_s, tablestore_s = [], []
    for _ in range(3):  # interleaved, so drift hits both alike
        handler_s.append(_median_import_seconds("import index"))
        tablestore_s.append(_median_import_seconds("import tablestore"))
    handler, baseline = statistics.median(handler_s), statistics.median(tablestore_s)
    return {
        "import_handler_ms": round(handler * 1000, 1),
        "import_tablestore_ms": round(baseline * 1000, 1),
        "ratio": round(handler / baseline, 2),
        "target": "ratio <= 1.3",
    }


_RSS_SCRIPT = """
import json, os, resource, sys
sys.path.insert(0, {handler_dir!r})
os.environ.update(json.loads({env!r}))
import index
from benchmarks.samples import push_body, sms_report_push
from sms_receipts import instance
from sms_receipts_dev.testing.events import http_event
from sms_receipts_dev.testing.fc import fc_context
instance.current().storage().backend.create_missing_tables()
event = http_event(push_body(sms_report_push(2000)), path="/SmsReport", query={{"token": {token!r}}})
response = index.handler(event, fc_context("rss"))
assert response["statusCode"] == 200, response
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(info: dict) -> dict:
    script = _RSS_SCRIPT.format(handler_dir=str(HANDLER_DIR), env=json.dumps(function_env(info)), token=TOKEN)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    kib = int(out.stdout.split()[-1])
    return {"push_items": 2000, "peak_rss_mb": round(kib / 1024, 1), "target": "<= 100 MB"}


def run() -> dict:
    with emulator_process() as info:
        figures = {"name": "http", "latency": latency(info), "peak_rss": peak_rss(info)}
    figures["cold_start"] = cold_start()
    return figures
