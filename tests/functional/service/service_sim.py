"""A simulated Alibaba Cloud SMS service: the callback side of HTTP batch push, as the docs describe it.

Test support, not shipped. Two halves:

- `ground_truth(rng, ...)`: the receipts the service *knows about*: many sends (one `biz_id` each),
  several numbers per send, one to three SmsReports per number (a failure followed by a later
  delivery, two reports at the same second, a report with no `report_time`), and a few SmsUp replies;
- `plan_pushes(receipts, rng, ...)`: how the service pushes them: random batches of 1-200 receipts
  per message type, 30 % of receipts pushed twice (the copy in another batch), every batch shuffled
  and the batches shuffled, so later reports often arrive before earlier ones;
- `SmsService(urls, minute=...).push(batches)`: POSTs each batch with a 700 ms timeout from a few
  threads; a push not answered HTTP 200 with a numeric `code` in time is pushed again 1, 5 and 10
  "minutes" after it failed, on a clock where a minute lasts `minute` seconds, then given up. Every
  attempt is recorded (`PushLog`).

The SMS service's contract (research/receipt-formats.md §7): POST a JSON array, wait 700 ms for
HTTP 200 with a numeric `code`; otherwise re-push after 1, 5 and 10 minutes, then give up. Pushes
are duplicated and unordered by design.
"""

from __future__ import annotations

import heapq
import json
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sms_receipts_dev.local.push import RESPONSE_TIMEOUT, post_once

RETRY_MINUTES = (1, 5, 10)  # after the first failure; then the service gives up
MAX_BATCH = 200

_SEND_DAY = "2026-11-25"
_FAILURES = (("UNDELIV", "用户接收失败"), ("MK:0001", "空号"), ("E:ODDL:", "停机"), ("-37", "关机"))
_EXPIRED = (("EXPIRED", "超过有效期"), ("EXPIRD", "超过有效期"))


# -- ground truth -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """One receipt the service will push: its type (the callback URL's) and its JSON object."""

    message_type: str  # "SmsReport" or "SmsUp"
    item: dict

    def canonical(self) -> str:
        return canonical(self.item)


def canonical(item: dict) -> str:
    """One text per JSON object, whatever its key order and spacing."""
    return json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _clock(seconds: int) -> str:
    """A time of the send day, `seconds` after 10:00:00, as the service spells it."""
    hours, rest = divmod(36000 + seconds, 3600)
    return f"{_SEND_DAY} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _report(biz_id: str, phone: str, sent: int, out_id: str | None, outcome: str, at: int | None, rng) -> dict:
    if outcome == "delivered":
        success, (code, message) = True, rng.choice((("DELIVERED", "用户接收成功"), ("DELIVRD", "用户接收成功")))
    elif outcome == "expired":
        success, (code, message) = False, rng.choice(_EXPIRED)
    else:
        success, (code, message) = False, rng.choice(_FAILURES)
    item = {
        "phone_number": phone,
        "send_time": _clock(sent),
        "report_time": _clock(at) if at is not None else "",
        "success": success,
        "err_code": code,
        "err_msg": message,
        "sms_size": rng.choice(("1", "1", "1", "2", "3")),
        "biz_id": biz_id,
    }
    if out_id is not None:  # optional: some real pushes have none
        item["out_id"] = out_id
    return item


def _reports_for_number(biz_id: str, phone: str, sent: int, out_id: str | None, rng) -> list[dict]:
    """One to three reports of one number, never two with the same (time, status rank): the expected
    winner is then defined by the documented rule alone, with no tie left to the idempotency key."""
    first = sent + rng.randint(2, 30)
    shape = rng.random()
    if shape < 0.65:  # the usual case: one final report
        outcome = rng.choice(("delivered",) * 8 + ("failed", "expired"))
        return [_report(biz_id, phone, sent, out_id, outcome, first, rng)]
    if shape < 0.85:  # a failure (a segment, a carrier retry), then a later report
        later = first + rng.randint(1, 600)
        return [
            _report(biz_id, phone, sent, out_id, "failed", first, rng),
            _report(biz_id, phone, sent, out_id, rng.choice(("delivered", "expired")), later, rng),
        ]
    if shape < 0.95:  # two reports in the same second: the failure outranks the delivery
        return [
            _report(biz_id, phone, sent, out_id, "delivered", first, rng),
            _report(biz_id, phone, sent, out_id, rng.choice(("failed", "expired")), first, rng),
        ]
    # a report without report_time (its time is the send time), then the real one
    return [
        _report(biz_id, phone, sent, out_id, "failed", None, rng),
        _report(biz_id, phone, sent, out_id, "delivered", first, rng),
    ]


def ground_truth(
    rng: random.Random, sends: int = 40, numbers: tuple[int, int] = (1, 60), replies: int = 60
) -> list[Receipt]:
    """The receipts of `sends` batch sends (`numbers` phone numbers each) and `replies` SmsUp."""
    receipts: list[Receipt] = []
    for send in range(sends):
        biz_id = f"{rng.randrange(10**17, 10**18)}^0"
        sent = send * 7
        out_id = None if send % 5 == 0 else f"order-{send:05d}"
        phones = {f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" for _ in range(rng.randint(*numbers))}
        for phone in sorted(phones):
            for item in _reports_for_number(biz_id, phone, sent, out_id, rng):
                receipts.append(Receipt("SmsReport", item))
    for number in range(replies):
        reply = {
            "phone_number": f"139{rng.randrange(10**8):08d}",
            "content": rng.choice(("退订", "TD", "好的，收到", "N", "1")),
            "send_time": _clock(120 + number),
            "dest_code": rng.choice(("1234", "5678")),
            "sequence_id": 1_000_000_000 + number,
            "sign_name": "阿里云",
        }
        receipts.append(Receipt("SmsUp", reply))
    return receipts


# -- how the service pushes them ----------------------------------------------------------------


@dataclass
class Batch:
    index: int
    message_type: str
    items: list[dict]

    def body(self) -> bytes:
        return json.dumps(self.items, ensure_ascii=False).encode("utf-8")


def plan_pushes(
    receipts: Sequence[Receipt],
    rng: random.Random,
    duplicate_share: float = 0.3,
    max_batch: int = MAX_BATCH,
) -> list[Batch]:
    """Shuffled batches of 1..max_batch receipts of one type each; `duplicate_share` of the receipts
    appear a second time, in another batch of their type. The batches come in a shuffled order."""
    batches: list[Batch] = []
    for message_type in sorted({r.message_type for r in receipts}):
        items = [r.item for r in receipts if r.message_type == message_type]
        rng.shuffle(items)
        own: list[list[dict]] = []
        start = 0
        while start < len(items):
            size = rng.randint(1, max_batch)
            own.append(items[start : start + size])
            start += size
        home_of = {id(item): i for i, batch in enumerate(own) for item in batch}
        for item in rng.sample(items, round(duplicate_share * len(items))):
            home = home_of[id(item)]
            others = [i for i in range(len(own)) if i != home and len(own[i]) < max_batch]
            if not others:
                own.append([])
                others = [len(own) - 1]
            target = own[rng.choice(others)]
            target.insert(rng.randint(0, len(target)), dict(item))
        batches.extend(Batch(0, message_type, batch) for batch in own)
    rng.shuffle(batches)
    for index, batch in enumerate(batches):
        batch.index = index
    return batches


def inversions(batches: Sequence[Batch]) -> int:
    """How many SmsReports arrive (in push order) after a later report of the same number: pairs
    where the newer report of a (biz_id, phone_number) is planned before the older one."""
    seen: dict[tuple[str, str], list[str]] = {}
    count = 0
    for batch in batches:
        for item in batch.items:
            if batch.message_type != "SmsReport":
                continue
            key = (item["biz_id"], item["phone_number"])
            when = item["report_time"] or item["send_time"]
            count += sum(1 for earlier in seen.get(key, ()) if earlier > when)
            seen.setdefault(key, []).append(when)
    return count


# -- pushing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    batch: int
    number: int  # 1 for the first push, up to 1 + len(RETRY_MINUTES)
    started: float  # seconds since the simulation began (real seconds)
    status: int | None  # None: no answer within the timeout (or no connection)
    seconds: float
    accepted: bool
    error: str | None
    body: bytes


@dataclass
class PushLog:
    batches: list[Batch]
    attempts: list[Attempt] = field(default_factory=list)
    accepted_at: dict[int, int] = field(default_factory=dict)  # batch index -> attempt number
    gave_up: list[int] = field(default_factory=list)  # batch indexes

    def summary(self) -> dict:
        latencies = sorted(a.seconds * 1000 for a in self.attempts)
        return {
            "batches": len(self.batches),
            "items_pushed": sum(len(b.items) for b in self.batches),
            "attempts": len(self.attempts),
            "accepted_first_time": sum(1 for n in self.accepted_at.values() if n == 1),
            "accepted_after_retry": sum(1 for n in self.accepted_at.values() if n > 1),
            "gave_up": len(self.gave_up),
            "statuses": dict(Counter(str(a.status) for a in self.attempts)),
            "no_answer_in_time": sum(1 for a in self.attempts if a.status is None),
            "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
            "latency_ms_max": round(latencies[-1], 1) if latencies else None,
            "failures": [
                {
                    "batch": a.batch,
                    "try": a.number,
                    "status": a.status,
                    "ms": round(a.seconds * 1000, 1),
                    "error": a.error,
                    "body": a.body[:200].decode("utf-8", "replace"),
                }
                for a in self.attempts
                if not a.accepted
            ][:10],
        }


class SmsService:
    """Pushes batches to the callback URL of their type, as the SMS service does, from `threads` threads.

    `minute` is how many real seconds one of the service's minutes lasts; `timeout` is its 700 ms."""

    def __init__(
        self,
        callback_urls: Mapping[str, str],
        *,
        minute: float = 0.2,
        timeout: float = RESPONSE_TIMEOUT,
        threads: int = 4,
        retry_minutes: Sequence[float] = RETRY_MINUTES,
    ):
        self.callback_urls = dict(callback_urls)
        self.minute = minute
        self.timeout = timeout
        self.threads = threads
        self.retry_minutes = tuple(retry_minutes)

    def push(self, batches: Sequence[Batch]) -> PushLog:
        """Push every batch (each due at once), re-push the failed ones on schedule; every attempt logged."""
        schedule = _Schedule(batches)
        bodies = {batch.index: batch.body() for batch in batches}
        by_index = {batch.index: batch for batch in batches}

        def worker() -> None:
            while (work := schedule.take()) is not None:
                index, number = work
                batch = by_index[index]
                started = schedule.now()
                answer = post_once(self.callback_urls[batch.message_type], bodies[index], self.timeout)
                # The timeout bounds each socket read; the service's 700 ms bound the whole answer.
                accepted = answer.accepted and answer.seconds <= self.timeout
                error = answer.error or (None if accepted or not answer.accepted else "answered after the timeout")
                attempt = Attempt(index, number, started, answer.status, answer.seconds, accepted, error, answer.body)
                retry_in = None
                if not accepted and number <= len(self.retry_minutes):
                    retry_in = self.retry_minutes[number - 1] * self.minute
                schedule.done(attempt, retry_in)

        workers = [threading.Thread(target=worker, name=f"sms-service-{i}", daemon=True) for i in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return schedule.log


class _Schedule:
    """The pushes due, by time; the log of those made. Shared by the pushing threads."""

    def __init__(self, batches: Sequence[Batch]) -> None:
        self.log = PushLog(list(batches))
        self._began = time.monotonic()
        self._due = [(0.0, batch.index, 1) for batch in batches]  # (when, batch, try number)
        heapq.heapify(self._due)
        self._busy = 0
        self._ready = threading.Condition()

    def now(self) -> float:
        return time.monotonic() - self._began

    def take(self) -> tuple[int, int] | None:
        """The next push once it is due, as (batch, try number); None once nothing is due or in flight."""
        with self._ready:
            while self._due or self._busy:
                if not self._due:
                    self._ready.wait()
                    continue
                wait = self._due[0][0] - self.now()
                if wait <= 0:
                    _, index, number = heapq.heappop(self._due)
                    self._busy += 1
                    return index, number
                self._ready.wait(wait)
            self._ready.notify_all()
            return None

    def done(self, attempt: Attempt, retry_in: float | None) -> None:
        """Log an attempt; push the batch again `retry_in` seconds from now, or give it up (None)."""
        with self._ready:
            self.log.attempts.append(attempt)
            if attempt.accepted:
                self.log.accepted_at[attempt.batch] = attempt.number
            elif retry_in is not None:
                heapq.heappush(self._due, (self.now() + retry_in, attempt.batch, attempt.number + 1))
            else:
                self.log.gave_up.append(attempt.batch)
            self._busy -= 1
            self._ready.notify_all()
