"""The store: writes parsed and rejected items idempotently, and says what happened to each.

`ReceiptStore.write(items, rejected, deadline)` carries out a `StorePlan`:
- at most ceil(rows / 200) BatchWriteRow requests per round, up to `concurrency` of them at once,
  a unit's rows (ledger, then state) always in the same request;
- per-row results: OTSConditionCheckFail means "already applied" (ledger, dead letter) or "stale"
  (state); retryable errors (busy, throttled, timeouts, dropped connections) are retried, only for
  the rows that failed, with jittered exponential backoff, until the caller's deadline;
- a row whose earlier attempt may have landed (its response was lost) and whose retry then fails its
  condition is read back, so the outcome says "stored" when it was this call that stored it;
- an item the service refuses for good (an invalid or oversized value: no retry can fix it) is
  dead-lettered with its raw bytes and the reason, so it never turns a push into an error. A request
  refused whole is sent again a unit per request, to find the item it was about.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..parsing import ParsedItem, RejectedItem
from .backend import BackendError, RowResult, StorageBackend
from .outcomes import ItemOutcome, Outcome, StoreResult
from .plan import PlannedRow, PlannedUnit, RowKind, StorePlan, plan_writes, refusal_row, split_batches

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
# Errors that say the item itself can never be stored (an invalid or oversized value), from
# https://www.alibabacloud.com/help/en/tablestore/developer-reference/error-codes ("Retry: No").
# Other non-retryable errors (OTSAuthFailed, OTSNoPermissionAccess, OTSObjectNotExist) are about the
# deployment, not the item: they fail the item, so the caller spills it or answers an error.
REFUSAL_CODES = frozenset(
    {
        "OTSParameterInvalid",
        "OTSInvalidPK",
        "OTSOutOfColumnCountLimit",
        "OTSOutOfRowSizeLimit",
        "OTSOutOfTransactionDataSizeLimit",
        "OTSRequestBodyTooLarge",
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
    REFUSED = "refused"  # the service refused the row for good: its item is dead-lettered


@dataclass(eq=False)
class _Tracked:
    state: RowState = RowState.PENDING
    ambiguous: bool = False  # an attempt may have been applied although no success was seen
    error: str | None = None


@dataclass
class RowsResult:
    """What `write_rows` did to each row, in order, and the errors of those that failed."""

    states: list[RowState]
    errors: list[str]

    @property
    def confirmed(self) -> bool:
        return all(state in (RowState.APPLIED, RowState.CONDITION_FAILED) for state in self.states)

    def count(self, state: RowState) -> int:
        return sum(1 for s in self.states if s is state)


_Answer = list[RowResult] | BackendError | None  # a request's row results, its error, or None: not sent


class ReceiptStore:
    def __init__(
        self,
        backend: StorageBackend,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = 1,
    ):
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self._rng = rng or random.Random()
        self._clock = clock
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def write(
        self,
        items: Sequence[ParsedItem],
        rejected: Sequence[RejectedItem] = (),
        *,
        deadline: float | None = None,
        received_at: int | None = None,
        spilled: bool = False,
    ) -> StoreResult:
        """Store items and dead-letter rejected ones before `deadline` (a time.monotonic() value);
        `spilled`: they come from the inbox (the ledger marks them, for `stats`)."""
        if deadline is None:
            deadline = self._clock() + DEFAULT_TIMEOUT
        received_at = received_at if received_at is not None else int(time.time() * 1000)
        items = list(items)
        plan = plan_writes(items, list(rejected), received_at, spilled=spilled)
        tracked = {id(row): _Tracked() for row in plan.rows}
        fallbacks = self.backend.serializer_fallbacks()
        requests, rounds = self._write_until_done(plan.rows, tracked, deadline)
        self._settle_ambiguous(plan, tracked, deadline)
        refusals, more_requests = self._dead_letter_refused(plan, tracked, items, received_at, deadline)
        return StoreResult(
            outcomes=self._outcomes(plan, tracked, len(items), refusals),
            requests=requests + more_requests,
            attempts=rounds,
            serializer_fallbacks=self.backend.serializer_fallbacks() - fallbacks,
        )

    def write_rows(self, rows: list[PlannedRow], *, deadline: float) -> RowsResult:
        """Write rows of another kind (inbox entries, state rows rebuilt, dead letters marked) by
        `deadline`, a unit per row. A row whose condition fails is there already (or newer)."""
        for position, row in enumerate(rows):
            row.unit = position
        tracked = {id(row): _Tracked() for row in rows}
        self._write_until_done(rows, tracked, deadline)
        return RowsResult(
            [tracked[id(row)].state for row in rows], sorted({t.error for t in tracked.values() if t.error})
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- writing -------------------------------------------------------------------------------

    def _send_all(self, batches: list[list[PlannedRow]], deadline: float) -> list[_Answer]:
        """Send each batch (None: no time was left for it), up to `concurrency` at once."""
        if self.concurrency == 1 or len(batches) == 1:
            return [self._send(batch, deadline) for batch in batches]
        with self._pool_lock:
            if self._pool is None:  # threads made once, kept by the warm instance
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ots-write")
        return list(self._pool.map(lambda batch: self._send(batch, deadline), batches))

    def _send(self, batch: list[PlannedRow], deadline: float) -> _Answer:
        remaining = deadline - self._clock()
        if remaining < _MIN_REQUEST_TIME:
            return None
        try:
            return self.backend.batch_write(batch, timeout=remaining)
        except BackendError as exc:
            return exc

    # One retry loop with its outcomes side by side (retry, isolate, read back, give up) is easier to check than split.
    def _write_until_done(  # noqa: C901
        self, rows: list[PlannedRow], tracked: dict[int, _Tracked], deadline: float
    ) -> tuple[int, int]:
        pending = list(rows)
        alone: set[int] = set()  # units to send one per request: a request naming them was refused whole
        requests = rounds = 0
        last_error = "no attempt was made"
        while pending:
            rounds += 1
            retry: list[PlannedRow] = []
            batches = split_batches(pending, frozenset(alone))
            for batch, answer in zip(batches, self._send_all(batches, deadline), strict=True):
                if answer is None:
                    retry.extend(batch)
                    continue
                requests += 1
                if isinstance(answer, BackendError):
                    last_error = str(answer)
                    units = {row.unit for row in batch}
                    refused = answer.code in REFUSAL_CODES
                    if refused and len(units) > 1:
                        alone.update(units)  # which unit was it? each on its own, next round
                    for row in batch:
                        row_state = tracked[id(row)]
                        row_state.ambiguous = True
                        if answer.code in RETRYABLE_CODES or (refused and len(units) > 1):
                            retry.append(row)
                        else:
                            row_state.state = RowState.REFUSED if refused else RowState.FAILED
                            row_state.error = str(answer)
                    continue
                for row, result in zip(batch, answer, strict=True):
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
                        refused = result.code in REFUSAL_CODES
                        row_state.state = RowState.REFUSED if refused else RowState.FAILED
                        row_state.error = f"{result.code}: {result.message}"
            pending = retry
            if pending:
                if deadline - self._clock() < _MIN_REQUEST_TIME * 2:
                    break
                if any(tracked[id(row)].ambiguous for row in pending):
                    self._pause(rounds, deadline)  # not for units that are only being isolated
        for row in pending:
            row_state = tracked[id(row)]
            row_state.state = RowState.FAILED
            row_state.error = f"not confirmed before the deadline (last error: {last_error})"
        return requests, rounds

    def _dead_letter_refused(
        self,
        plan: StorePlan,
        tracked: dict[int, _Tracked],
        items: list[ParsedItem],
        received_at: int,
        deadline: float,
    ) -> tuple[dict[int, ItemOutcome], int]:
        """Dead-letter the parsed items whose rows the service refused for good; their outcomes by unit."""
        refused: dict[int, PlannedRow] = {}
        for unit in plan.units:
            if unit.index >= len(items) or unit.refused is not None:
                continue
            error = next((tracked[id(r)].error for r in unit.rows if tracked[id(r)].state is RowState.REFUSED), None)
            if error is not None:
                refused[unit.index] = refusal_row(items[unit.index], f"Tablestore refused it ({error})", received_at)
        if not refused:
            return {}, 0
        rows = list(refused.values())
        for unit_index, row in refused.items():
            row.unit = unit_index
        row_states = {id(row): _Tracked() for row in rows}
        requests, _ = self._write_until_done(rows, row_states, deadline)
        outcomes = {}
        for unit_index, row in refused.items():
            state = row_states[id(row)]
            if state.state in (RowState.APPLIED, RowState.CONDITION_FAILED):
                outcomes[unit_index] = ItemOutcome(Outcome.DEAD_LETTERED, "refused by Tablestore")
            else:
                outcomes[unit_index] = ItemOutcome(Outcome.FAILED, state.error or "dead letter not confirmed")
        return outcomes, requests

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
        self._sleep(min(self._rng.uniform(cap / 2, cap), max(0.0, remaining - _MIN_REQUEST_TIME)))

    # -- outcomes ------------------------------------------------------------------------------

    def _outcomes(
        self, plan: StorePlan, tracked: dict[int, _Tracked], parsed_count: int, refusals: dict[int, ItemOutcome]
    ) -> list[ItemOutcome]:
        outcomes: list[ItemOutcome] = []
        for unit in plan.units:
            if unit.duplicate_of is not None:
                first = outcomes[unit.duplicate_of]
                if first.outcome in (Outcome.FAILED, Outcome.DEAD_LETTERED):
                    outcomes.append(first)
                elif unit.index < parsed_count:
                    outcomes.append(ItemOutcome(Outcome.DUPLICATE))
                else:
                    outcomes.append(ItemOutcome(Outcome.DEAD_LETTERED))
            elif unit.index in refusals:
                outcomes.append(refusals[unit.index])
            else:
                outcomes.append(_unit_outcome(unit, tracked, parsed_count))
        return outcomes


def _unit_outcome(unit: PlannedUnit, tracked: dict[int, _Tracked], parsed_count: int) -> ItemOutcome:
    states = [(row.kind, tracked[id(row)].state) for row in unit.rows]
    failed = next((tracked[id(r)] for r in unit.rows if tracked[id(r)].state is RowState.FAILED), None)
    if failed is not None:
        return ItemOutcome(Outcome.FAILED, failed.error)
    if unit.index >= parsed_count:
        return ItemOutcome(Outcome.DEAD_LETTERED)
    if unit.refused is not None:  # planned as a dead letter: over Tablestore's limits
        return ItemOutcome(Outcome.DEAD_LETTERED, unit.refused)
    if (RowKind.LEDGER, RowState.CONDITION_FAILED) in states:
        return ItemOutcome(Outcome.DUPLICATE)
    if unit.superseded or (RowKind.STATE, RowState.CONDITION_FAILED) in states:
        return ItemOutcome(Outcome.STALE)
    return ItemOutcome(Outcome.STORED)


def _is_ours(row: PlannedRow, stored: dict, write_id: str) -> bool:
    if row.kind is RowKind.LEDGER:
        return stored.get("write_id") == write_id
    return stored.get("order_key") == dict(row.columns).get("order_key")
