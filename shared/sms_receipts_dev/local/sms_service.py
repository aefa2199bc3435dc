"""The SMS service's side of the local stack: each send the dysmsapi emulator accepted becomes the
SmsReport receipts the real service would deliver, and a user's reply the SmsUp receipt.

Every `tick` seconds the simulator takes the delivery outcomes that have fallen due
(`DysmsapiState.due_outcomes()`), drops, duplicates and reorders them at the configured rates, and
hands them to its sink, the delivery mode the console configures for the message type:

- `HttpCallbackSink`, HTTP batch push: POST a JSON array of up to 100 receipts to the type's callback
  URL, wait 700 ms for HTTP 200 with a numeric `code`, else push the same batch again after 1, 5 and
  10 minutes (times `time_scale`), then give up;
- `AlicomQueueSink`, MNS: one message per receipt on the type's `Alicom-Queue-<uid>-<MessageType>`,
  its body base64 of one UTF-8 JSON object (as `sms-receipts mns-send` sends it), through the real
  MNS SDK; a failed send is tried again on the next tick, until it is sent.

`reply(phone_number, content)` makes the SmsUp receipt of a user's reply and delivers it the same way
on the next tick; it is never dropped or duplicated, since it was asked for. What happened is counted
in `stats`.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sms_receipts.parsing import MessageType
from sms_receipts.parsing.items import compact_json

from ..emulators.dysmsapi.models import Message, beijing_time
from .push import RESPONSE_TIMEOUT, RETRY_DELAYS, post_once

BATCH_SIZE = 100
SMS_REPORT, SMS_UP = MessageType.SMS_REPORT.value, MessageType.SMS_UP.value
# The extension a reply is addressed to when its send set no SmsUpExtendCode: the value of the one
# real SmsUp capture found (spring-cloud-alibaba's MNS body, research/contract-audit.md).
DEFAULT_DEST_CODE = "2493559"


class Sink(Protocol):
    """Where receipts go: `destinations` maps a message type to its callback URL or queue name."""

    destinations: Mapping[str, str]
    batch_size: int  # receipts per delivery
    retry_delays: tuple[float, ...] | None  # seconds before each retry, then give up; None: every tick

    def deliver(self, message_type: str, receipts: list[dict[str, Any]]) -> bool:
        """Deliver one batch; True when the other side has it."""
        ...


class HttpCallbackSink:
    """HTTP batch push to the callback URL of each message type (the receiver tells the types apart by
    the URL's last path segment, e.g. `.../SmsUp?token=...`)."""

    batch_size = BATCH_SIZE
    retry_delays: tuple[float, ...] | None = RETRY_DELAYS

    def __init__(self, callback_urls: Mapping[str, str], timeout: float = RESPONSE_TIMEOUT) -> None:
        self.destinations: Mapping[str, str] = dict(callback_urls)
        self.timeout = timeout

    def deliver(self, message_type: str, receipts: list[dict[str, Any]]) -> bool:
        body = json.dumps(receipts, ensure_ascii=False).encode("utf-8")
        return post_once(self.destinations[message_type], body, self.timeout).accepted


class AlicomQueueSink:
    """MNS mode: each receipt one message on its type's Alicom queue, sent with `account` (a
    `mns.account.Account` holding the SMS service's own key)."""

    batch_size = 1
    retry_delays: tuple[float, ...] | None = None

    def __init__(self, account: Any, queue_names: Mapping[str, str]) -> None:
        self.account = account
        self.destinations: Mapping[str, str] = dict(queue_names)
        self._queues: dict[str, Any] = {}

    def deliver(self, message_type: str, receipts: list[dict[str, Any]]) -> bool:
        from mns.mns_exception import MNSExceptionBase
        from mns.queue import Message as MnsMessage

        queue = self._queues.get(message_type)
        if queue is None:
            queue = self._queues[message_type] = self.account.get_queue(self.destinations[message_type])
            queue.set_encoding(True)  # base64 on the wire, as the SMS service's messages are
        try:
            for receipt in receipts:  # one: batch_size is 1
                queue.send_message(MnsMessage(compact_json(receipt)))
        except (MNSExceptionBase, OSError):
            return False
        return True


def sms_up_receipt(
    phone_number: str,
    content: str,
    sequence_id: int,
    *,
    sign_name: str | None = None,
    dest_code: str = DEFAULT_DEST_CODE,
    sent_at: float | None = None,
) -> dict[str, Any]:
    """A reply as the service delivers it: `send_time` China time, `sequence_id` a JSON number (as in the
    real capture), no `sign_name` key when there is none (as in the current docs' example)."""
    receipt: dict[str, Any] = {
        "phone_number": phone_number,
        "content": content,
        "send_time": beijing_time(time.time() if sent_at is None else sent_at),
        "dest_code": dest_code,
        "sequence_id": sequence_id,
    }
    if sign_name:
        receipt["sign_name"] = sign_name
    return receipt


@dataclass
class ServiceStats:
    outcomes: int = 0  # delivery outcomes that fell due
    dropped: int = 0  # receipts never delivered (the service loses some: reconciliation finds them)
    duplicated: int = 0  # receipts delivered twice
    replies: int = 0  # SmsUp receipts made by `reply`
    pushes: int = 0  # deliveries tried (POSTs, or MNS sends), retries included
    accepted: int = 0  # deliveries that succeeded (a batch answered in time, a message sent)
    repushes: int = 0  # failed deliveries queued to be tried again
    given_up: int = 0  # batches abandoned after the last re-push (HTTP only)


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    message_type: str = field(compare=False)
    receipts: list[dict[str, Any]] = field(compare=False)
    tries: int = field(compare=False, default=0)


class SmsServiceSimulator:
    """`sink` (or, as before, `callback_url`: HTTP push of SmsReports there) says how receipts go out;
    `messages` (`DysmsapiState.messages`) lets a reply default its `sign_name` from the last send."""

    def __init__(
        self,
        due_outcomes: Callable[[], list[Any]],
        callback_url: str | None = None,
        *,
        sink: Sink | None = None,
        messages: Callable[[], Sequence[Message]] | None = None,
        time_scale: float = 1.0,
        dup_rate: float = 0.0,
        reorder_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int | None = None,
        tick: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, rate in (("dup_rate", dup_rate), ("reorder_rate", reorder_rate), ("drop_rate", drop_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if (sink is None) == (callback_url is None):
            raise ValueError("give either a callback_url or a sink")
        self.sink: Sink = sink if sink is not None else HttpCallbackSink({SMS_REPORT: callback_url or ""})
        if SMS_REPORT not in self.sink.destinations:
            raise ValueError("the sink has no SmsReport destination")
        self.due_outcomes = due_outcomes
        self.messages = messages
        self.time_scale = time_scale
        self.dup_rate, self.reorder_rate, self.drop_rate = dup_rate, reorder_rate, drop_rate
        self.tick = tick
        self.stats = ServiceStats()
        self._rng = random.Random(seed)
        self._clock = clock
        self._queue: list[_Pending] = []
        self._seq = 0
        self._in_flight = 0  # batches taken off the queue and not yet delivered or queued again
        self._sequence_id = self._rng.randrange(100_000_000, 900_000_000)  # 9 digits, like the real capture's
        self._lock = threading.Lock()  # the queue and the ids: `reply` runs on the caller's thread
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _receipts(self) -> list[dict[str, Any]]:
        receipts = []
        for outcome in self.due_outcomes():
            self.stats.outcomes += 1
            if self._rng.random() < self.drop_rate:
                self.stats.dropped += 1
                continue
            receipts.append(outcome.receipt())
            if self._rng.random() < self.dup_rate:
                self.stats.duplicated += 1
                receipts.append(outcome.receipt())
        if receipts and self._rng.random() < self.reorder_rate:
            self._rng.shuffle(receipts)
        return receipts

    def _enqueue(self, message_type: str, receipts: list[dict[str, Any]]) -> None:
        size, now = self.sink.batch_size, self._clock()
        with self._lock:
            for start in range(0, len(receipts), size):
                self._seq += 1
                heapq.heappush(self._queue, _Pending(now, self._seq, message_type, receipts[start : start + size]))

    def reply(
        self, phone_number: str, content: str, *, sign_name: str | None = None, dest_code: str | None = None
    ) -> dict[str, Any]:
        """A user at `phone_number` replies `content`: its SmsUp receipt, delivered on the next tick.
        `sign_name` defaults to the last send's to that number, in 【】 as the real capture has it, and
        `dest_code` to that send's SmsUpExtendCode, else `DEFAULT_DEST_CODE`."""
        if SMS_UP not in self.sink.destinations:
            raise ValueError("the sink has no SmsUp destination (callback URL or queue) for replies")
        sent = self.messages() if self.messages is not None else []
        last = next((m for m in reversed(sent) if m.phone_number == phone_number), None)
        if sign_name is None and last is not None:
            sign_name = f"【{last.sign_name}】"
        if dest_code is None:
            dest_code = (last.sms_up_extend_code if last is not None else "") or DEFAULT_DEST_CODE
        with self._lock:
            self._sequence_id += 1
            sequence_id = self._sequence_id
        receipt = sms_up_receipt(phone_number, content, sequence_id, sign_name=sign_name, dest_code=dest_code)
        self.stats.replies += 1
        self._enqueue(SMS_UP, [receipt])
        return receipt

    def run_once(self) -> None:
        """One tick: queue the receipts now due, then deliver every batch whose time has come."""
        self._enqueue(SMS_REPORT, self._receipts())
        now, retries = self._clock(), []
        while not self._stop.is_set():
            with self._lock:
                if not self._queue or self._queue[0].due > now:
                    break
                pending = heapq.heappop(self._queue)
                self._in_flight += 1
            if self._attempt(pending):
                retries.append(pending)  # queued after this tick's loop: a failing sink is not retried at once
            else:
                with self._lock:
                    self._in_flight -= 1
        with self._lock:
            for pending in retries:
                heapq.heappush(self._queue, pending)
            self._in_flight -= len(retries)

    def _attempt(self, pending: _Pending) -> bool:
        """Deliver one batch; True when it is to be tried again (at its new `due`)."""
        self.stats.pushes += 1
        if self.sink.deliver(pending.message_type, pending.receipts):
            self.stats.accepted += 1
            return False
        delays = self.sink.retry_delays
        if delays is not None and pending.tries == len(delays):
            self.stats.given_up += 1
            return False
        self.stats.repushes += 1
        pending.due = self._clock() + (delays[pending.tries] * self.time_scale if delays is not None else 0.0)
        pending.tries += 1
        return True

    @property
    def idle(self) -> bool:
        """Nothing waiting to be delivered or retried."""
        with self._lock:
            return not self._queue and not self._in_flight

    def start(self) -> SmsServiceSimulator:
        def loop() -> None:
            while not self._stop.wait(self.tick):
                self.run_once()

        self._thread = threading.Thread(target=loop, name="sms-service", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
