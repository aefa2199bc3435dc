"""The SMS service's side of the local stack: each send the dysmsapi emulator accepted becomes the
SmsReport receipts the real service would push to the callback URL.

Every `tick` seconds the simulator takes the delivery outcomes that have fallen due
(`DysmsapiState.due_outcomes()`), drops, duplicates and reorders them at the configured rates, and
pushes them in batches of up to 100 receipts, as the service does: POST a JSON array, wait 700 ms for
HTTP 200 with a numeric `code`, else push the same batch again after 1, 5 and 10 minutes (times
`time_scale`), then give up. What happened is counted in `stats`.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .push import RESPONSE_TIMEOUT, RETRY_DELAYS, post_once

BATCH_SIZE = 100


@dataclass
class ServiceStats:
    outcomes: int = 0  # delivery outcomes that fell due
    dropped: int = 0  # receipts never pushed (the service loses some: reconciliation finds them)
    duplicated: int = 0  # receipts pushed twice
    pushes: int = 0  # POSTs, re-pushes included
    accepted: int = 0  # batches answered in time
    repushes: int = 0
    given_up: int = 0  # batches abandoned after the last re-push


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    body: bytes = field(compare=False)
    tries: int = field(compare=False, default=0)


class SmsServiceSimulator:
    def __init__(
        self,
        due_outcomes: Callable[[], list[Any]],
        callback_url: str,
        *,
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
        self.due_outcomes = due_outcomes
        self.callback_url = callback_url
        self.time_scale = time_scale
        self.dup_rate, self.reorder_rate, self.drop_rate = dup_rate, reorder_rate, drop_rate
        self.tick = tick
        self.stats = ServiceStats()
        self._rng = random.Random(seed)
        self._clock = clock
        self._queue: list[_Pending] = []
        self._seq = 0
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

    def run_once(self) -> None:
        """One tick: queue the receipts now due, then push every batch whose time has come."""
        receipts = self._receipts()
        now = self._clock()
        for start in range(0, len(receipts), BATCH_SIZE):
            body = json.dumps(receipts[start : start + BATCH_SIZE], ensure_ascii=False).encode("utf-8")
            self._seq += 1
            heapq.heappush(self._queue, _Pending(now, self._seq, body))
        while self._queue and self._queue[0].due <= self._clock() and not self._stop.is_set():
            pending = heapq.heappop(self._queue)
            self.stats.pushes += 1
            if post_once(self.callback_url, pending.body, RESPONSE_TIMEOUT).accepted:
                self.stats.accepted += 1
                continue
            if pending.tries == len(RETRY_DELAYS):
                self.stats.given_up += 1
                continue
            self.stats.repushes += 1
            pending.due = self._clock() + RETRY_DELAYS[pending.tries] * self.time_scale
            pending.tries += 1
            heapq.heappush(self._queue, pending)

    @property
    def idle(self) -> bool:
        """Nothing waiting to be pushed or re-pushed."""
        return not self._queue

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
