"""Fault injection shared by the emulators: seeded, per API or global, changeable while running.

Kinds (each a rate from 0 to 1; the rates of one entry must add up to at most 1). What a kind looks like
on the wire is the emulator's choice, documented in its own `faults`/`server` module:
- `server_busy`: reply with the service's "busy" error; nothing is applied.
- `timeout`: reply with the service's timeout error; nothing is applied.
- `slow`: wait `slow_delay` seconds, then handle the request normally.
- `drop`: close the connection without a reply; nothing is applied.
- `lost_response`: apply the request, then wait `lost_response_hang` seconds and close the connection
  without a reply. With a hang longer than the client's socket timeout the client sees a read timeout,
  with 0 a dropped connection; either way the change has landed.

Rates live in a global entry and in optional per-API entries. An API with its own entry uses only that
entry (missing kinds count as 0), other APIs use the global one. `set()` updates one entry in place::

    faults = FaultConfig(seed=7, slow_delay=0.5, lost_response_hang=2.0)
    faults.set(server_busy=0.1)                              # every API, 10 % busy
    faults.set(api="BatchDeleteMessage", lost_response=0.3)  # that API: only 30 % lost responses
    faults.clear(api="BatchDeleteMessage")                   # back to the global entry
    faults.clear()                                           # no faults at all

One uniform draw from a `random.Random(seed)` picks at most one fault per request, so a fixed seed
and request order give the same faults every run. Only routed API requests draw; authentication
failures, unknown APIs and the emulator's own bookkeeping (counters, snapshots) never see a fault.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass

FAULT_KINDS = ("server_busy", "timeout", "slow", "drop", "lost_response")


@dataclass(frozen=True)
class FaultRates:
    server_busy: float = 0.0
    timeout: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    lost_response: float = 0.0

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {kind}={rate} is not between 0 and 1")
        if self.total() > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {self.total():.3f}, more than 1")

    def total(self) -> float:
        return sum(getattr(self, kind) for kind in FAULT_KINDS)

    @classmethod
    def spread(cls, rate: float) -> FaultRates:
        """One combined rate shared equally by every fault kind."""
        return cls(**{kind: rate / len(FAULT_KINDS) for kind in FAULT_KINDS})


class FaultConfig:
    """Which faults hit which API, how long slow and lost responses wait, and the seeded draw."""

    def __init__(self, *, seed: int | None = None, slow_delay: float = 1.0, lost_response_hang: float = 0.0):
        self.slow_delay = slow_delay
        self.lost_response_hang = lost_response_hang
        self._random = random.Random(seed)
        self._global = FaultRates()
        self._per_api: dict[str, FaultRates] = {}
        self._lock = threading.Lock()

    def set(self, api: str | None = None, **rates: float) -> FaultRates:
        """Update the rates of one API (or the global entry when `api` is None); returns the new entry."""
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise TypeError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}")
        with self._lock:
            current = self._global if api is None else self._per_api.get(api, FaultRates())
            updated = dataclasses.replace(current, **rates)
            if api is None:
                self._global = updated
            else:
                self._per_api[api] = updated
            return updated

    def clear(self, api: str | None = None) -> None:
        """Drop one API's entry, or every fault when `api` is None."""
        with self._lock:
            if api is None:
                self._global = FaultRates()
                self._per_api.clear()
            else:
                self._per_api.pop(api, None)

    def rates_for(self, api: str) -> FaultRates:
        with self._lock:
            return self._per_api.get(api, self._global)

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._random.seed(seed)

    def draw(self, api: str) -> str | None:
        """The fault kind for one request to `api`, or None."""
        with self._lock:
            rates = self._per_api.get(api, self._global)
            if rates.total() <= 0.0:
                return None
            point = self._random.random()
        for kind in FAULT_KINDS:
            point -= getattr(rates, kind)
            if point < 0.0:
                return kind
        return None
