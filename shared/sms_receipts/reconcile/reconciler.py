"""The reconciler: every logged send without a final state gets one, from QuerySendDetails or, when its
window closes, `unknown`. No send stays pending forever.

One run:
1. reads the send log (`storage.sends`) day by day, China time, from the oldest day still in the
   window (`max_age` + one day, so that a run missed for a day still sees its sends) to today: 16
   range reads a day, one per shard;
2. reads the state of each send (BatchGetRow on `delivery_state`, 100 keys a request). A final state
   (from a report, an earlier answer, or an earlier `unknown`) is left alone; so is a send younger than
   `grace` (its receipts may still be on their way);
3. queries each remaining (number, send day, BizId) once, with `concurrency` calls in flight and at
   most `qps` a second (`api.SmsApi`: throttling backs off for every thread). A send logged within
   five minutes of midnight and unknown to its day is asked about on the neighbouring day as well
   (the sender's clock and the service's may put it on either side);
4. stores each final answer as a SmsReport receipt (source `query`, `answers.answer_receipt`) through
   the parser and the idempotent store: a duplicate of the real report is a no-op, a different one
   orders by time and rank as reports do, and nothing makes a final state pending again;
5. gives a send still unresolved at `max_age` the final `unknown` state with the reason
   (`answers.unresolved_receipt`); a report arriving later still replaces it;
6. counts, per send day, what the send log holds and how much of it is final (`DayFigures`), for the
   completeness figure (`completeness`).

Nothing is kept between runs: a run that crashes or runs out of time leaves the rest for the next,
which finds the same sends unresolved and queries them again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from ..logs import mask_phone_numbers
from ..parsing import MessageType, Source, decode_items
from ..parsing.times import CHINA_TZ
from ..storage.backend import BackendError, PrimaryKey, StorageBackend
from ..storage.outcomes import Outcome
from ..storage.rules import normalized_status
from ..storage.schema import DELIVERY_STATE, SEND_LOG
from ..storage.sends import SHARDS
from ..storage.writer import ReceiptStore
from .answers import answer_receipt, unresolved_receipt
from .api import QueryError, SmsApi
from .settings import ReconcileSettings

log = logging.getLogger("sms_receipts.reconcile")

READ_BATCH = 100  # BatchGetRow: at most 100 rows a request
WRITE_BATCH = 200  # receipts stored per store call
READ_SECONDS = 10.0
WRITE_SECONDS = 30.0
LAST_WRITE_SECONDS = 5.0
SCAN_SLACK_SECONDS = 86_400.0  # sends this much older than max_age are still read (a missed day of runs)
MIDNIGHT_SECONDS = 300.0  # a send this close to midnight may be on the neighbouring day at the service
FINAL_STATUSES = ("delivered", "failed", "expired")
MAX_ERRORS = 10


def china_day(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, CHINA_TZ).strftime("%Y%m%d")


def days_between(first: float, last: float) -> list[str]:
    """Every China-time day (yyyyMMdd) from the one holding `first` to the one holding `last`."""
    day = datetime.fromtimestamp(first, CHINA_TZ).date()
    end = datetime.fromtimestamp(last, CHINA_TZ).date()
    days = []
    while day <= end:
        days.append(day.strftime("%Y%m%d"))
        day += timedelta(days=1)
    return days


@dataclass
class DayFigures:
    """One send day's sends in the send log, by their state after the run."""

    day: str
    logged: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # delivered, failed, expired, unknown, pending

    @property
    def final(self) -> int:
        """Sends with a real outcome: delivered, failed or expired (not `unknown`)."""
        return sum(self.statuses[status] for status in FINAL_STATUSES)


@dataclass
class ReconcileReport:
    scanned: int = 0  # send-log rows read
    already_final: int = 0
    too_young: int = 0  # within the grace period: not queried yet
    queried: int = 0  # sends asked about
    already_asked: int = 0  # a send's second send-log row (recorded twice): not asked again
    resolved: int = 0  # a final answer stored (or already there)
    awaiting: int = 0  # the service still awaits the report, or has no record yet: asked again next run
    unknown: int = 0  # given `unknown` at the window's end
    failed: int = 0  # the query or the store failed: left for the next run
    left: int = 0  # not asked this run: its time ran out
    calls: int = 0  # QuerySendDetails calls made, retries included
    throttled: int = 0  # calls refused for throttling (and retried)
    stored: Counter[str] = field(default_factory=Counter)  # store outcomes of the receipts written
    days: dict[str, DayFigures] = field(default_factory=dict)
    complete: bool = True  # False: the send log was not read to its end (time ran out, or a read failed)
    errors: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(mask_phone_numbers(text))  # logs never print a full phone number

    def as_fields(self) -> dict[str, Any]:
        fields = {k: v for k, v in vars(self).items() if k not in ("days", "stored", "errors")}
        fields["stored"] = dict(self.stored)
        if self.errors:
            fields["errors"] = self.errors
        return fields


@dataclass(frozen=True)
class _Send:
    biz_id: str
    phone_number: str
    send_time: int  # epoch ms
    out_id: str | None

    @property
    def day(self) -> str:
        return china_day(self.send_time / 1000)

    def query_days(self) -> list[str]:
        """The send's day, then the neighbouring one when the send is this close to midnight."""
        seconds = self.send_time / 1000
        days = [self.day]
        for other in (seconds - MIDNIGHT_SECONDS, seconds + MIDNIGHT_SECONDS):
            if china_day(other) not in days:
                days.append(china_day(other))
        return days


@dataclass
class _Answer:
    send: _Send
    receipts: list[dict[str, Any]]
    error: QueryError | None = None
    awaiting: bool = False  # the service knows the send but awaits its report


def logged_sends(backend: StorageBackend, days: list[str]) -> Iterator[_Send]:
    """The send log's sends of `days`: 16 range reads a day, one per shard."""
    for day in days:
        for shard in range(SHARDS):
            key = (("day_shard", f"{shard:x}-{day}"),)
            for row in backend.scan(SEND_LOG, start=key, end=key):
                yield _Send(row["biz_id"], row["phone_number"], int(row.get("send_time") or 0), row.get("out_id"))


def with_states(backend: StorageBackend, sends: Iterator[_Send]) -> Iterator[tuple[_Send, str | None]]:
    """Each send with its final status (delivered, failed, expired, unknown), None while it has none."""
    while chunk := list(islice(sends, READ_BATCH)):
        # One key once a request (BatchGetRow refuses a repeated key): a send recorded twice, at two
        # send times, is two send-log rows of one state row.
        keys: list[PrimaryKey] = list(
            dict.fromkeys((("biz_id", s.biz_id), ("phone_number", s.phone_number)) for s in chunk)
        )
        rows = dict(
            zip(keys, backend.batch_get(DELIVERY_STATE, keys, ["status", "is_final"], READ_SECONDS), strict=True)
        )
        for send in chunk:
            row = rows[(("biz_id", send.biz_id), ("phone_number", send.phone_number))]
            final = row is not None and row.get("is_final") is not False
            yield send, (str(row.get("status") or "unknown") if row is not None and final else None)


def send_log_figures(backend: StorageBackend, days: list[str]) -> dict[str, DayFigures]:
    """The send log's figures for `days`, from the tables alone (no query, nothing written)."""
    figures = {day: DayFigures(day) for day in days}
    for send, status in with_states(backend, logged_sends(backend, days)):
        day = figures.setdefault(send.day, DayFigures(send.day))
        day.logged += 1
        day.statuses[status or "pending"] += 1
    return figures


class Reconciler:
    def __init__(
        self,
        backend: StorageBackend,
        store: ReceiptStore,
        api: SmsApi,
        settings: ReconcileSettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.backend, self.store, self.api, self.settings = backend, store, api, settings
        self._clock, self._monotonic = clock, monotonic

    # -- asking the service --------------------------------------------------------------------

    def _ask(self, send: _Send, deadline: float) -> _Answer:
        awaiting = False
        try:
            for day in send.query_days():
                details = self.api.send_details(send.phone_number, day, send.biz_id, deadline)
                receipts = [r for r in (answer_receipt(send.biz_id, send.phone_number, d) for d in details) if r]
                if receipts:
                    return _Answer(send, receipts)
                if details:
                    awaiting = True
                    break  # the service knows the send on this day and awaits its report: no other day
        except QueryError as exc:
            return _Answer(send, [], exc)
        return _Answer(send, [], awaiting=awaiting)

    # -- one run -------------------------------------------------------------------------------

    def run(self, budget_seconds: float) -> ReconcileReport:
        """Reconcile what the window holds within `budget_seconds`; see the module docstring."""
        settings, report = self.settings, ReconcileReport()
        deadline = self._monotonic() + budget_seconds
        now = self._clock()
        max_age = settings.max_age_hours * 3600
        due_before_ms = (now - settings.grace_seconds) * 1000
        expired_before_ms = (now - max_age) * 1000
        days = days_between(now - max_age - SCAN_SLACK_SECONDS, now)
        report.days = {day: DayFigures(day) for day in days}
        pending: deque[Future[_Answer]] = deque()
        written: list[tuple[_Answer, dict[str, Any]]] = []
        asked: set[tuple[str, str]] = set()
        workers = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="reconcile")
        try:
            try:
                for send, status in with_states(self.backend, logged_sends(self.backend, days)):
                    report.scanned += 1
                    figures = report.days.setdefault(send.day, DayFigures(send.day))
                    figures.logged += 1
                    if status is not None:
                        report.already_final += 1
                        figures.statuses[status] += 1
                    elif send.send_time > due_before_ms:
                        report.too_young += 1
                        figures.statuses["pending"] += 1
                    elif self._monotonic() >= deadline:
                        report.left += 1
                        report.complete = False
                        figures.statuses["pending"] += 1
                    elif (send.biz_id, send.phone_number) in asked:
                        report.already_asked += 1  # logged twice (two send times): asked once
                    else:
                        asked.add((send.biz_id, send.phone_number))
                        report.queried += 1
                        pending.append(workers.submit(self._ask, send, deadline))
                        # Bounded in flight: answers are stored as they come, memory stays flat.
                        while len(pending) > settings.concurrency * 4 or (pending and pending[0].done()):
                            self._settle(pending.popleft().result(), expired_before_ms, written, report)
                            if len(written) >= WRITE_BATCH:
                                self._write(written, report, deadline)
            except BackendError as exc:
                report.complete = False
                report.error(f"reading the send log or the states failed: {exc}")
            while pending:
                self._settle(pending.popleft().result(), expired_before_ms, written, report)
            self._write(written, report, deadline)
        finally:
            workers.shutdown(wait=True, cancel_futures=True)
        report.calls, report.throttled = self.api.calls, self.api.throttled
        return report

    def _settle(
        self,
        answer: _Answer,
        expired_before_ms: float,
        written: list[tuple[_Answer, dict[str, Any]]],
        report: ReconcileReport,
    ) -> None:
        send = answer.send
        if answer.receipts:
            written.extend((answer, receipt) for receipt in answer.receipts)
            return
        if send.send_time >= expired_before_ms:
            if answer.error is not None:
                report.failed += 1
                report.error(f"QuerySendDetails {send.biz_id} {send.phone_number}: {answer.error}")
            else:
                report.awaiting += 1
            report.days[send.day].statuses["pending"] += 1
            return
        if answer.error is not None:
            reason = f"no report within {self.settings.max_age_hours:g} h, and QuerySendDetails failed: {answer.error}"
        elif answer.awaiting:
            reason = f"no report within {self.settings.max_age_hours:g} h: QuerySendDetails still awaits it"
        else:
            reason = f"no report within {self.settings.max_age_hours:g} h, and QuerySendDetails has no record of it"
        written.append((answer, unresolved_receipt(send.biz_id, send.phone_number, reason, send.out_id)))

    def _write(
        self, written: list[tuple[_Answer, dict[str, Any]]], report: ReconcileReport, run_deadline: float
    ) -> None:
        """Store the receipts gathered so far through the parser and the idempotent store."""
        if not written:
            return
        decoded = decode_items([receipt for _, receipt in written], MessageType.SMS_REPORT, Source.QUERY)
        # Within the run's time, plus a little for the answers already bought (the FC adapter keeps a margin).
        deadline = min(self._monotonic() + WRITE_SECONDS, run_deadline + LAST_WRITE_SECONDS)
        result = self.store.write(decoded.items, decoded.rejected, deadline=deadline)
        # Outcomes come parsed items first, then rejected ones (dead-lettered with their raw bytes).
        settled: dict[_Send, str | None] = {}  # the send's status now; None: not stored, asked again next run
        for item, outcome in zip(decoded.items, result.outcomes, strict=False):
            send = written[item.position][0].send
            report.stored[outcome.outcome.value] += 1
            if outcome.outcome is Outcome.FAILED:
                settled[send] = None
                report.error(f"storing the answer for {send.biz_id} {send.phone_number} failed: {outcome.error}")
            elif settled.get(send, "") is not None:
                settled.setdefault(send, normalized_status(item.record) or "unknown")
        for bad in decoded.rejected:
            report.stored[Outcome.DEAD_LETTERED.value] += 1
            settled[written[bad.position or 0][0].send] = None
            report.error(f"an answer did not parse (dead-lettered): {bad.reason}")
        for send, status in settled.items():
            figures = report.days.setdefault(send.day, DayFigures(send.day))
            if status is None:
                report.failed += 1
                figures.statuses["pending"] += 1
            elif status == "unknown":
                report.unknown += 1
                figures.statuses["unknown"] += 1
            else:
                report.resolved += 1
                figures.statuses[status] += 1
        written.clear()
