"""The largest push answered inline, and the largest answered at all within the SMS service's 700 ms.

Pushes of 100 to 4,000 SmsReports (4,000 is about 0.95 MiB, under SMS_RECEIPTS_MAX_BODY_BYTES) go to
the HTTP function, served over loopback HTTP by `FcHttpGateway` with the function's default deadline
and spill settings, storing into a Tablestore emulator in its own process. Per size: the client's
latency (a client that waits 30 s, to see the whole time), whether it was answered 200 within
700 ms, and how many items were spilled to the inbox (from the function's `push` log line, and
counted in the inbox table) rather than stored inline.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys

from benchmarks.bench_http import HANDLER_DIR, TOKEN, emulator_process, function_env

SIZES = (100, 200, 500, 1000, 2000, 4000)
RUNS = 3
CLIENT_TIMEOUT = 0.7  # the SMS service's
INBOX = "inbox"


class _PushLines(logging.Handler):
    """The function's `push` log lines, as dicts."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = json.loads(record.getMessage())
        except ValueError:
            return
        if line.get("event") == "push":
            self.lines.append(line)


def _inbox_items(client, table: str) -> int:
    """Items held by the inbox table (its `items` column), through the SDK; 0 if there is no inbox."""
    from tablestore import INF_MAX, INF_MIN, Direction

    if table not in client.list_table():
        return 0
    start, end = [("entry_id", INF_MIN)], [("entry_id", INF_MAX)]
    total = 0
    while start:
        _, start, rows, _ = client.get_range(table, Direction.FORWARD, start, end, ["items"], max_version=1)
        total += sum(dict((c[0], c[1]) for c in row.attribute_columns).get("items", 0) for row in rows)
    return total


def sizes(info: dict, concurrency: int = 4) -> dict:
    sys.path.insert(0, str(HANDLER_DIR))
    import index  # the deployed handler module
    from tablestore import OTSClient

    from benchmarks.samples import push_body, sms_report_push
    from sms_receipts import instance
    from sms_receipts.http import receiver
    from sms_receipts.storage import settings as storage
    from sms_receipts_dev.local.gateway import FcHttpGateway
    from sms_receipts_dev.local.push import post_once
    from sms_receipts_dev.testing.fc import fc_context

    env = function_env(info)
    for name in (receiver.DEADLINE_MS.name, receiver.MAX_BODY.name):
        env.pop(name)  # the function's own deadline, spill and body limit: what is measured
    env[storage.CONCURRENCY.name] = str(concurrency)
    function = instance.Instance(env)
    previous = instance.install(function)
    index.initialize(fc_context("init"))
    function.storage().backend.create_missing_tables()
    client = OTSClient(info["endpoint"], info["access_key_id"], info["access_key_secret"], info["instance_name"])
    inbox = env[storage.TABLE_PREFIX.name] + INBOX
    lines = _PushLines()
    http_log = logging.getLogger("sms_receipts.http")
    http_log.addHandler(lines)
    figures: dict = {}
    try:
        with FcHttpGateway(index.handler) as gateway:
            url = f"{gateway.url}/SmsReport?token={TOKEN}"
            for size in SIZES:
                runs = []
                for run in range(RUNS):
                    items = sms_report_push(size)
                    for item in items:  # a fresh send each time (new receipts), ids of the same length
                        item["biz_id"] = f"{concurrency}{size:04d}{run}{item['biz_id'][6:]}"
                    body = push_body(items)
                    before, logged = _inbox_items(client, inbox), len(lines.lines)
                    attempt = post_once(url, body, timeout=30.0)
                    line = lines.lines[logged] if len(lines.lines) > logged else {}
                    runs.append(
                        {
                            "ms": round(attempt.seconds * 1000, 1),
                            "status": attempt.status,
                            "answered_in_time": attempt.accepted and attempt.seconds <= CLIENT_TIMEOUT,
                            "spilled": line.get("spilled"),
                            "inbox_items": _inbox_items(client, inbox) - before,
                            "server_ms": line.get("latency_ms"),
                            "body_kib": round(len(body) / 1024, 1),
                        }
                    )
                figures[f"{size}_items"] = {
                    "body_kib": runs[0]["body_kib"],
                    "p50_ms": round(statistics.median(r["ms"] for r in runs), 1),
                    "max_ms": max(r["ms"] for r in runs),
                    "answered_in_time": sum(r["answered_in_time"] for r in runs),
                    "statuses": [r["status"] for r in runs],
                    "spilled": [r["spilled"] for r in runs],
                    "inbox_items": [r["inbox_items"] for r in runs],
                    "runs": RUNS,
                }
    finally:
        http_log.removeHandler(lines)
        instance.install(previous)

    def largest(ok) -> int | None:
        return max((size for size in SIZES if ok(figures[f"{size}_items"])), default=None)

    figures["largest_inline"] = largest(lambda f: f["answered_in_time"] == RUNS and not any(f["spilled"]))
    figures["largest_answered_in_time"] = largest(lambda f: f["answered_in_time"] == RUNS)
    figures["target"] = "every size up to 4000 items answered 200 within 700 ms (spilling what is not stored)"
    return figures


LATENCY_MS = 10  # per request, as a stand-in for Tablestore's own ("within 10 ms" for a small row's read)


def run() -> dict:
    """Side by side: one BatchWriteRow at a time and the default four in flight, against the emulator
    as it is (CPU-bound on the same cores as the function) and with every request waiting 10 ms first."""
    figures: dict = {"name": "push_size"}
    for label, options in (("emulator", ()), (f"emulator_{LATENCY_MS}ms", ("--latency-ms", str(LATENCY_MS)))):
        with emulator_process(*options) as info:
            figures[label] = {f"concurrency_{n}": sizes(info, n) for n in (1, 4)}
    return figures
