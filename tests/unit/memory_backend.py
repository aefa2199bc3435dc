"""An in-memory StorageBackend with Tablestore's condition semantics and scriptable failures.

Conditions as the Tablestore adapter sends them: InsertOnce writes only an absent row;
SupersedeIfNewer writes only when the stored `order_key` is absent or lower. A failed condition is
the row result OTSConditionCheckFail, as the service answers.

Scripts, consumed in order:
- `rows`: one entry per row a batch_write reaches (None: normal; a code such as "OTSServerBusy":
  that row fails with it and nothing is written);
- `requests`: one entry per batch_write call (None: normal; LOST: the rows are written, then the
  answer never comes; any other code: the request fails whole before writing anything).
Every call advances `clock` by `latency`, so a writer given `clock` sees time pass without sleeping.
`unavailable`: tables whose requests fail whole with OTSServerBusy (storage down for them), e.g. all
but the inbox.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sms_receipts.storage import BackendError, RowResult, StorageBackend
from sms_receipts.storage.plan import DeleteRow, InsertOnce, PlannedRow, Replace, SupersedeIfNewer
from sms_receipts.storage.schema import TABLES

CONDITION_FAILED = "OTSConditionCheckFail"
LOST = "lost"  # a request whose rows land but whose response is lost (NetworkError)
BUSY = "OTSServerBusy"
TIMEOUT = "OTSTimeout"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class MemoryBackend(StorageBackend):
    clock: FakeClock = field(default_factory=FakeClock)
    latency: float = 0.0
    tables: dict[str, dict[tuple, dict[str, Any]]] = field(default_factory=dict)
    rows: deque = field(default_factory=deque)
    requests: deque = field(default_factory=deque)
    writes: list[list[PlannedRow]] = field(default_factory=list)  # each batch_write's rows
    timeouts: list[float] = field(default_factory=list)  # each call's timeout argument
    gets: list[tuple[str, list]] = field(default_factory=list)
    unavailable: set[str] = field(default_factory=set)

    def script_rows(self, *results: str | None) -> None:
        self.rows.extend(results)

    def script_requests(self, *results: str | None) -> None:
        self.requests.extend(results)

    def row(self, table: str, primary_key: tuple) -> dict[str, Any] | None:
        return self.tables.get(table, {}).get(tuple(primary_key))

    def batch_write(self, rows: list[PlannedRow], timeout: float) -> list[RowResult]:
        self.clock.now += self.latency
        self.writes.append(list(rows))
        self.timeouts.append(timeout)
        request = self.requests.popleft() if self.requests else None
        if any(row.table in self.unavailable for row in rows):
            raise BackendError(BUSY, "scripted: table unavailable")
        if request is not None and request != LOST:
            raise BackendError(request, "scripted request failure")
        results = [self._write_one(row) for row in rows]
        if request == LOST:
            raise BackendError("NetworkError", "scripted lost response")
        return results

    def _write_one(self, row: PlannedRow) -> RowResult:
        scripted = self.rows.popleft() if self.rows else None
        if scripted is not None:
            return RowResult(False, scripted, "scripted row failure")
        table = self.tables.setdefault(row.table, {})
        stored = table.get(row.primary_key)
        if isinstance(row.condition, DeleteRow):
            table.pop(row.primary_key, None)
            return RowResult(True)
        if isinstance(row.condition, Replace):
            allowed = True
        elif isinstance(row.condition, InsertOnce):
            allowed = stored is None
        elif isinstance(row.condition, SupersedeIfNewer):
            allowed = stored is None or stored.get("order_key") is None or stored["order_key"] < row.condition.order_key
        else:  # an unknown condition must fail loudly, never write
            raise AssertionError(f"unknown condition {row.condition!r}")
        if not allowed:
            return RowResult(False, CONDITION_FAILED, "Condition check failed.")
        table[row.primary_key] = dict(row.columns)
        return RowResult(True)

    def batch_get(self, table: str, keys: list, columns: list[str], timeout: float) -> list[dict[str, Any] | None]:
        self.clock.now += self.latency
        self.gets.append((table, list(keys)))
        self.timeouts.append(timeout)
        found = [self.row(table, key) for key in keys]
        return [None if row is None else {c: row[c] for c in columns if c in row} for row in found]

    def scan(self, table: str, start=None, end=None, since=None, *, index=None, columns=None):
        """As the service: [start, end) by key prefix (missing trailing columns span their range), an
        index's rows keyed by its whole key (rows missing an index column left out), `columns` only."""
        schema = TABLES[table]
        names = schema.index_key(schema.index(index)) if index else tuple(name for name, _ in schema.primary_key)
        copied = set(schema.index(index).columns) if index else None
        rows = []
        for key, stored in self.tables.get(table, {}).items():
            row = {**dict(key), **stored}
            if any(name not in row for name in names):
                continue
            if copied is not None:
                row = {name: value for name, value in row.items() if name in names or name in copied}
            rows.append((tuple(row[name] for name in names), row))
        low = _order([value for _, value in start or ()], len(names), _MIN)
        high = _order([value for _, value in end or ()], len(names), _MAX)
        for key, row in sorted(rows, key=lambda entry: _order(list(entry[0]), len(names), _MIN)):
            if not low <= _order(list(key), len(names), _MIN) < high:
                continue
            if since is not None and row.get(since[0], -1) < since[1]:
                continue
            if columns:
                row = {name: value for name, value in row.items() if name in names or name in columns}
            yield row


_MIN, _MAX = object(), object()


def _order(values: list, width: int, pad: object) -> tuple:
    """A key's sort order, padded to `width` columns with `pad` (below or above every value)."""
    values = values + [pad] * (width - len(values))
    return tuple((0,) if v is _MIN else (2,) if v is _MAX else (1, v) for v in values)
