"""Reconciliation (issue 12 §6): 10,000 pending sends resolved by `Reconciler.run` against the dysmsapi
emulator answering QuerySendDetails after a fixed 20 ms, side by side with a sequential loop.

Set-up: 10 SendSms calls of 1,000 numbers through the official SDK, each recorded in the send log
(`SendLog.record_sdk_call`); every outcome is final at the service and the reconciler's clock is past
its grace; no receipt is pushed, so all 10,000 are pending in our tables.

- the reconciler, default settings (`ReconcileSettings`: 32 calls in flight, at most 500 a second,
  20 min grace, 72 h window), reconciles all 10,000: wall time, sends per second, QuerySendDetails
  calls per resolved send (target 1.0); after, every send's `delivery_state` row is final and the
  delivered and failed counts are the service's own (QuerySendStatistics);
- the baseline, a sequential loop over another 500 pending sends on tables of their own: for each,
  one QuerySendDetails through the same SDK client, then its answer through `answer_receipt`,
  `decode_items` (source `query`) and `store.write`, one send at a time;
- memory, two ways: the process's RSS sampled every 10 ms during the timed run (growth over its RSS
  at the start: the reconciler, the in-process Tablestore emulator's SQLite and the threads' malloc
  arenas together), and tracemalloc's peak over a second, untimed run on 10,000 other pending sends
  (Python allocations only; tracemalloc slows the run).

The dysmsapi emulator runs in its own process (`emulator="process"`, the default), as the service
does: `--latency-ms 20` (every API waits 20 ms; the set-up makes 10 SendSms calls), `--delivery-delay
0` (each outcome is final at once), and the reconciler's clock 21 minutes ahead of the service's.
`run(emulator="thread")` runs it in this process instead, one `ManualClock` shared with the reconciler
and the 20 ms for QuerySendDetails only; its request handling then takes the reconciler's GIL
(BENCHMARKS.md, "Issue 12", has both). The Tablestore emulator runs in this process, as in `pull`.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sms_receipts.parsing import MessageType, Source, decode_items
from sms_receipts.reconcile.answers import answer_receipt
from sms_receipts.reconcile.api import SmsApi, SmsApiConfig
from sms_receipts.reconcile.reconciler import Reconciler, days_between, logged_sends, with_states
from sms_receipts.reconcile.settings import DEFAULT_GRACE_SECONDS, ReconcileSettings
from sms_receipts.storage import Storage
from sms_receipts.storage.sends import SendLog
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator, FaultConfig, ManualClock
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

from .samples import emulator_storage

SENDS = 10_000
NUMBERS_PER_CALL = 1000  # SendSms's limit
LOOP_SENDS = 500
LATENCY = 0.020  # seconds QuerySendDetails waits a call
FAILURE_RATE = 0.1  # a tenth of the sends fail at the service, so both final states are checked
OUTCOME_SEED = 12
AHEAD = DEFAULT_GRACE_SECONDS + 60  # the reconciler's clock ahead of the sends: past the grace of every one
NOON = 1_796_616_000.0  # a Monday noon in China time, far from midnight (as the functional tests)
BUDGET_SECONDS = 600.0


@dataclass
class _Service:
    """The dysmsapi emulator as the benchmark sees it, wherever it runs."""

    address: str
    credentials: tuple[str, str, None]
    sent_at: Callable[[], float]  # the service's time, as a sender records it
    reconciler_clock: Callable[[], float]
    ready: Callable[[], None]  # after the set-up: outcomes final, the clock past the grace, latency on

    def api(self, qps: float) -> SmsApi:
        return SmsApi(SmsApiConfig(self.address, "http"), self.credentials, qps=qps)


@contextmanager
def _emulator_process() -> Iterator[_Service]:
    command = [sys.executable, "-m", "sms_receipts_dev.emulators.dysmsapi", "--delivery-delay", "0"]
    command += ["--latency-ms", str(LATENCY * 1000), "--failure-rate", str(FAILURE_RATE)]
    command += ["--outcome-seed", str(OUTCOME_SEED)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        credentials = (info["access_key_id"], info["access_key_secret"], None)
        yield _Service(info["endpoint"], credentials, time.time, lambda: time.time() + AHEAD, lambda: None)
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def _emulator_thread() -> Iterator[_Service]:
    clock = ManualClock(NOON)
    faults = FaultConfig(slow_delay=LATENCY)
    delay = 30.0

    def ready() -> None:
        clock.advance(max(AHEAD, delay + 60))
        faults.set(api="QuerySendDetails", slow=1.0)

    with DysmsapiEmulator(
        clock=clock, delivery_delay=delay, failure_rate=FAILURE_RATE, outcome_seed=OUTCOME_SEED, faults=faults
    ) as sms:
        yield _Service(sms.address, (sms.access_key_id, sms.access_key_secret, None), clock, clock, ready)


def _send(service: _Service, storage: Storage, first: int, count: int) -> None:
    """`count` sends (numbers `first`..) through SendSms, 1,000 numbers a call, each call recorded."""
    from alibabacloud_dysmsapi20170525.models import SendSmsRequest

    client, log = service.api(1.0).client, SendLog(storage.store)
    for start in range(first, first + count, NUMBERS_PER_CALL):
        numbers = [f"139{i:08d}" for i in range(start, min(start + NUMBERS_PER_CALL, first + count))]
        request = SendSmsRequest(phone_numbers=",".join(numbers), sign_name="阿里云", template_code="SMS_1")
        response = client.send_sms(request)
        assert response.body.code == "OK", response.body.message
        assert log.record_sdk_call(request, response, sent_at=service.sent_at()).confirmed


def _states(storage: Storage, days: list[str]) -> Iterator[tuple[Any, str | None]]:
    return with_states(storage.backend, logged_sends(storage.backend, days))


def _final_counts(storage: Storage, days: list[str], expected: int) -> dict[str, int]:
    """Every logged send's state is final (delivered or failed); the counts by status."""
    counts = {"delivered": 0, "failed": 0}
    for send, status in _states(storage, days):
        assert status in counts, (send, status)
        counts[status] += 1
    assert sum(counts.values()) == expected, counts
    return counts


def _loop(api: SmsApi, storage: Storage, days: list[str]) -> int:
    """The sequential loop: per pending send, one QuerySendDetails, then store its answer."""
    from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest

    stored = 0
    for send, status in _states(storage, days):
        if status is not None:
            continue
        request = QuerySendDetailsRequest(
            phone_number=send.phone_number, send_date=send.day, page_size=50, current_page=1, biz_id=send.biz_id
        )
        body = api.client.query_send_details(request).body
        assert body.code == "OK", body.message
        details = [dto.to_map() for dto in body.sms_send_detail_dtos.sms_send_detail_dto]
        receipts = [r for r in (answer_receipt(send.biz_id, send.phone_number, d) for d in details) if r]
        decoded = decode_items(receipts, MessageType.SMS_REPORT, Source.QUERY)
        assert decoded.items and storage.store.write(decoded.items, decoded.rejected).confirmed
        stored += 1
    return stored


@contextmanager
def _rss_sampled(interval: float = 0.01) -> Iterator[dict[str, int]]:
    """The process's RSS at the start and its peak while the block runs (bytes, /proc/self/statm)."""
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    figures = {"start": rss()}
    figures["peak"] = figures["start"]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            figures["peak"] = max(figures["peak"], rss())

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield figures
    finally:
        done.set()
        sampler.join()
        figures["peak"] = max(figures["peak"], rss())


def run(emulator: str = "process") -> dict:
    service_of = {"process": _emulator_process, "thread": _emulator_thread}[emulator]
    with TablestoreEmulator() as tablestore, service_of() as service:
        settings = ReconcileSettings(sms_endpoint=service.address, sms_protocol="http").checked()
        timed, traced, looped = (emulator_storage(tablestore, name) for name in ("rt", "rm", "rl"))
        first_send = service.sent_at()
        for number, (storage, count) in enumerate(((timed, SENDS), (traced, SENDS), (looped, LOOP_SENDS))):
            _send(service, storage, number * SENDS, count)
        days = days_between(first_send, service.sent_at())
        service.ready()

        def reconciler(storage: Storage) -> Reconciler:
            api = service.api(settings.qps)
            return Reconciler(storage.backend, storage.store, api, settings, clock=service.reconciler_clock)

        subject = reconciler(timed)
        gc.collect()
        with _rss_sampled() as rss:
            started = time.perf_counter()
            report = subject.run(BUDGET_SECONDS)
            seconds = time.perf_counter() - started
        assert report.complete and not report.errors, report.as_fields()
        assert report.queried == report.resolved == SENDS, report.as_fields()
        counts = _final_counts(timed, days, SENDS)

        api = service.api(settings.qps)
        started = time.perf_counter()
        assert _loop(api, looped, days) == LOOP_SENDS
        loop_seconds = time.perf_counter() - started
        loop_counts = _final_counts(looped, days, LOOP_SENDS)

        traced_subject = reconciler(traced)
        gc.collect()
        tracemalloc.start()
        traced_start = tracemalloc.get_traced_memory()[0]
        traced_report = traced_subject.run(BUDGET_SECONDS)
        traced_peak = tracemalloc.get_traced_memory()[1] - traced_start
        tracemalloc.stop()
        assert traced_report.resolved == SENDS, traced_report.as_fields()
        traced_counts = _final_counts(traced, days, SENDS)

        # The service's own counts of the same sends: every final state says what it decided.
        statistics = api.send_statistics(days[0], days[-1], time.monotonic() + 10)
        for status, field in (("delivered", "RespondedSuccessCount"), ("failed", "RespondedFailCount")):
            ours = counts[status] + loop_counts[status] + traced_counts[status]
            assert ours == sum(int(day[field]) for day in statistics), (status, ours, statistics)

    sends_per_second = SENDS / seconds
    loop_per_second = LOOP_SENDS / loop_seconds
    return {
        "name": "reconcile",
        "emulator": emulator,
        "sends": SENDS,
        "latency_ms": LATENCY * 1000,
        "concurrency": settings.concurrency,
        "qps": settings.qps,
        "reconciler_seconds": round(seconds, 2),
        "reconciler_sends_per_second": round(sends_per_second),
        "calls_per_resolved_send": round(report.calls / report.resolved, 3),
        "final_states": counts,
        "loop_sends": LOOP_SENDS,
        "loop_sends_per_second": round(loop_per_second, 1),
        "ratio_reconciler_to_loop": round(sends_per_second / loop_per_second, 1),
        "rss_growth_mb": round((rss["peak"] - rss["start"]) / 2**20, 1),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
    }
