"""Parsing throughput: a 1,000-item SmsReport push through decode → validate → identity, side by side
with plain `json.loads` of the same body (the ratio is what the target is set on)."""

from __future__ import annotations

import gc
import json
import time

from sms_receipts.parsing import MessageType, decode_http_body

from .samples import push_body, sms_report_push

ITEMS = 1000


def _best_seconds(run, repeat: int = 7, number: int = 50) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def run() -> dict:
    body = push_body(sms_report_push(ITEMS))
    result = decode_http_body(body, MessageType.SMS_REPORT)
    assert len(result.items) == ITEMS and not result.rejected, "benchmark push must parse cleanly"
    # As in a warm instance: the initializer freezes what the imports made (sms_receipts.http.fc), so
    # the collector's full passes do not walk it on every push.
    gc.freeze()
    # Interleave the two measurements so machine noise hits both alike.
    parse_times, loads_times = [], []
    for _ in range(3):
        loads_times.append(_best_seconds(lambda: json.loads(body)))
        parse_times.append(_best_seconds(lambda: decode_http_body(body, MessageType.SMS_REPORT)))
    gc.unfreeze()
    parse_s, loads_s = min(parse_times), min(loads_times)
    return {
        "name": "parse",
        "items": ITEMS,
        "body_bytes": len(body),
        "parse_ms": round(parse_s * 1000, 3),
        "json_loads_ms": round(loads_s * 1000, 3),
        "items_per_second": round(ITEMS / parse_s),
        "ratio_to_json_loads": round(parse_s / loads_s, 2),
        "targets": {"items_per_second": ">= 100000", "ratio_to_json_loads": "<= 4"},
    }
