"""The store: writes parsed and rejected items idempotently, and says what happened to each.

`ReceiptStore.write(items, rejected, deadline)` carries out a `StorePlan`:
- at most ceil(rows / 200) BatchWriteRow requests per round;
- per-row results: OTSConditionCheckFail means "already applied" (ledger, dead letter) or "stale"
  (state); retryable errors (busy, throttled, timeouts, dropped connections) are retried, only for
  the rows that failed, with jittered exponential backoff, until the caller's deadline;
- a row whose earlier attempt may have landed (its response was lost) and whose retry then fails its
  condition is read back, so the outcome says "stored" when it was this call that stored it.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..parsing import ParsedItem, RejectedItem
from .backend import BackendError, StorageBackend
from .outcomes import ItemOutcome, Outcome, StoreResult
from .plan import PlannedRow, RowKind, StorePlan, plan_writes, split_batches

log = logging.getLogger(__name__)

CONDITION_FAILED = "OTSConditionCheckFail"
# Errors after which the same write may succeed: the service was busy or throttled, or the answer
# never came. Write rows are conditional, so retrying them is safe.
RETRYABLE_CODES = frozenset(
    {
        "OTSServerBusy",
        "OTSTimeout",
        "OTSRowOperationConflict",
        "OTSNotEnoughCapacityUnit",
        "OTSTableNotReady",
        "OTSPartitionUnavailable",
        "OTSOperationThrottled",
        "OTSInternalServerError",
        "OTSServerUnavailable",
        "OTSQuotaExhausted",
        "NetworkError",
    }
)
DEFAULT_TIMEOUT = 30.0  # seconds, when the caller names no deadline
_MIN_REQUEST_TIME = 0.005  # below this a request cannot finish: stop and report
_BACKOFF_BASE, _BACKOFF_CAP = 0.01, 0.25


class RowState(enum.Enum):
    PENDING = "pending"
    APPLIED = "applied"
    CONDITION_FAILED = "condition_failed"
    FAILED = "failed"


@dataclass(eq=False)
class _Tracked:
    state: RowState = RowState.PENDING
    ambiguous: bool = False  # an attempt may have been applied although no success was seen
    error: str | None = None


class ReceiptStore:
    def __init__(
        self, backend: StorageBackend, *, rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.backend = backend
        self._rng = rng or random.Random()
        self._clock = clock

    def write(
        self,
        items: Sequence[ParsedItem],
        rejected: Sequence[RejectedItem] = (),
        *,
        deadline: float | None = None,
        received_at: int | None = None,
    ) -> StoreResult:
        """Store items and dead-letter rejected ones before `deadline` (a time.monotonic() value)."""
        if deadline is None:
            deadline = self._clock() + DEFAULT_TIMEOUT
        received_at = received_at if received_at is not None else int(time.time() * 1000)
        plan = plan_writes(list(items), list(rejected), received_at)
        tracked = {id(row): _Tracked() for row in plan.rows}
        fallbacks = self.backend.serializer_fallbacks()
        requests, rounds = self._write_until_done(plan, tracked, deadline)
        self._settle_ambiguous(plan, tracked, deadline)
        return StoreResult(
            outcomes=self._outcomes(plan, tracked, len(items)),
            requests=requests,
            attempts=rounds,
            serializer_fallbacks=self.backend.serializer_fallbacks() - fallbacks,
        )

    # -- writing -------------------------------------------------------------------------------

    # One retry loop with its outcomes side by side (retry, read back, give up) is easier to check than split.
    def _write_until_done(  # noqa: C901
        self, plan: StorePlan, tracked: dict[int, _Tracked], deadline: float
    ) -> tuple[int, int]:
        pending = list(plan.rows)
        requests = rounds = 0
        last_error = "no attempt was made"
        while pending:
            rounds += 1
            retry: list[PlannedRow] = []
            for batch in split_batches(pending):
                remaining = deadline - self._clock()
                if remaining < _MIN_REQUEST_TIME:
                    retry.extend(batch)
                    continue
                requests += 1
                try:
                    results = self.backend.batch_write(batch, timeout=remaining)
                except BackendError as exc:
                    last_error = str(exc)
                    for row in batch:
                        row_state = tracked[id(row)]
                        row_state.ambiguous = True
                        if exc.code in RETRYABLE_CODES:
                            retry.append(row)
                        else:
                            row_state.state, row_state.error = RowState.FAILED, str(exc)
                    continue
                for row, result in zip(batch, results, strict=True):
                    row_state = tracked[id(row)]
                    if result.ok:
                        row_state.state = RowState.APPLIED
                    elif result.code == CONDITION_FAILED:
                        row_state.state = RowState.CONDITION_FAILED
                    elif result.code in RETRYABLE_CODES:
                        row_state.ambiguous = True
                        last_error = f"{result.code}: {result.message}"
                        retry.append(row)
                    else:
                        row_state.state, row_state.error = RowState.FAILED, f"{result.code}: {result.message}"
            pending = retry
            if pending:
                if deadline - self._clock() < _MIN_REQUEST_TIME * 2:
                    break
                self._pause(rounds, deadline)
        for row in pending:
            row_state = tracked[id(row)]
            row_state.state = RowState.FAILED
            row_state.error = f"not confirmed before the deadline (last error: {last_error})"
        return requests, rounds

    def _settle_ambiguous(self, plan: StorePlan, tracked: dict[int, _Tracked], deadline: float) -> None:
        """A condition failure after a lost response may be our own earlier write: read it back."""
        doubtful = [
            row
            for row in plan.rows
            if row.kind is not RowKind.DEAD_LETTER
            and tracked[id(row)].ambiguous
            and tracked[id(row)].state is RowState.CONDITION_FAILED
        ]
        by_table: dict[str, list[PlannedRow]] = {}
        for row in doubtful:
            by_table.setdefault(row.table, []).append(row)
        for table, rows in by_table.items():
            for start in range(0, len(rows), 100):  # BatchGetRow reads at most 100 rows
                chunk = rows[start : start + 100]
                stored = self._read_back(table, chunk, deadline)
                if stored is None:
                    return  # left as duplicate/stale: accounted for either way
                for row, found in zip(chunk, stored, strict=True):
                    if found is not None and _is_ours(row, found, plan.write_id):
                        tracked[id(row)].state = RowState.APPLIED

    def _read_back(self, table: str, rows: list[PlannedRow], deadline: float) -> list | None:
        attempt = 0
        while True:
            remaining = deadline - self._clock()
            if remaining < _MIN_REQUEST_TIME:
                return None
            try:
                return self.backend.batch_get(
                    table, [row.primary_key for row in rows], ["write_id", "order_key"], remaining
                )
            except BackendError as exc:
                if exc.code not in RETRYABLE_CODES:
                    log.warning("could not read back rows after a lost response: %s", exc)
                    return None
            attempt += 1
            self._pause(attempt, deadline)

    def _pause(self, attempt: int, deadline: float) -> None:
        """Jittered exponential backoff, never past the deadline."""
        cap = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1))
        remaining = deadline - self._clock()
        time.sleep(min(self._rng.uniform(cap / 2, cap), max(0.0, remaining - _MIN_REQUEST_TIME)))

    # -- outcomes ------------------------------------------------------------------------------

    def _outcomes(self, plan: StorePlan, tracked: dict[int, _Tracked], parsed_count: int) -> list[ItemOutcome]:
        outcomes: list[ItemOutcome] = []
        for unit in plan.units:
            failed = next((tracked[id(r)] for r in unit.rows if tracked[id(r)].state is RowState.FAILED), None)
            if unit.duplicate_of is not None:
                first = outcomes[unit.duplicate_of]
                if first.outcome is Outcome.FAILED:
                    outcomes.append(first)
                elif unit.index < parsed_count:
                    outcomes.append(ItemOutcome(Outcome.DUPLICATE))
                else:
                    outcomes.append(ItemOutcome(Outcome.DEAD_LETTERED))
            elif failed is not None:
                outcomes.append(ItemOutcome(Outcome.FAILED, failed.error))
            elif unit.index >= parsed_count:
                outcomes.append(ItemOutcome(Outcome.DEAD_LETTERED))
            elif any(r.kind is RowKind.LEDGER and tracked[id(r)].state is RowState.CONDITION_FAILED for r in unit.rows):
                outcomes.append(ItemOutcome(Outcome.DUPLICATE))
            elif unit.superseded or any(
                r.kind is RowKind.STATE and tracked[id(r)].state is RowState.CONDITION_FAILED for r in unit.rows
            ):
                outcomes.append(ItemOutcome(Outcome.STALE))
            else:
                outcomes.append(ItemOutcome(Outcome.STORED))
        return outcomes


def _is_ours(row: PlannedRow, stored: dict, write_id: str) -> bool:
    if row.kind is RowKind.LEDGER:
        return stored.get("write_id") == write_id
    return stored.get("order_key") == dict(row.columns).get("order_key")
