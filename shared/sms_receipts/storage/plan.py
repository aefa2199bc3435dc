"""The storage plan: which rows to write for a set of items, under which conditions, in which batches.

Pure: no I/O. Every write is conditional, so the whole plan can be repeated safely:
- a ledger row is inserted only if absent (first write wins; "already there" = duplicate);
- a state row replaces the stored one only if its version is higher, or equal with a larger winner
  key (otherwise it is stale);
- a dead-letter row is inserted only if absent (the same bad bytes are kept once).
Within one call, an idempotency key is written once and each state row once (the best candidate
wins locally), so no batch names a primary key twice.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import chain
from typing import Any

from ..parsing import ParsedItem, RejectedItem, record_dict
from ..parsing.items import compact_json
from .rules import StateChange, event_time, normalized_status, state_change
from .schema import DEAD_LETTER, LEDGER

_SIZED = (str, bytes, bytearray)
MAX_ROWS_PER_BATCH = 200  # BatchWriteRow limit
MAX_BYTES_PER_BATCH = 3_500_000  # under the 4 MB limit, leaving room for encoding overhead


@dataclass(frozen=True)
class InsertOnce:
    """Write only if the row does not exist."""


@dataclass(frozen=True)
class SupersedeIfNewer:
    """Write only if the stored `order_key` is lower than ours, or absent."""

    order_key: str


def order_key(version: int, winner: str) -> str:
    """(version, winner) as one text that sorts as the pair does: the version zero-padded to 19 digits
    (any non-negative int64), then the winner's idempotency key. One column condition instead of an
    OR of three, which every state row carries."""
    return f"{version:019d}:{winner}"


Condition = InsertOnce | SupersedeIfNewer


class RowKind(str, enum.Enum):
    LEDGER = "ledger"
    STATE = "state"
    DEAD_LETTER = "dead_letter"


@dataclass(eq=False)
class PlannedRow:
    kind: RowKind
    table: str  # logical name, see schema
    primary_key: tuple[tuple[str, Any], ...]
    columns: tuple[tuple[str, Any], ...]
    condition: Condition
    size: int  # approximate encoded bytes, for the 4 MB batch limit


@dataclass(eq=False)
class PlannedUnit:
    """One input (a parsed item or a rejected one) and the rows that account for it."""

    index: int
    rows: list[PlannedRow] = field(default_factory=list)
    duplicate_of: int | None = None  # an earlier unit in this call with the same identity
    superseded: bool = False  # its state row lost, within this call, to a newer report


@dataclass
class StorePlan:
    units: list[PlannedUnit]
    rows: list[PlannedRow]
    write_id: str  # marks the ledger rows this call writes, to recognise them after a lost response


def _size(primary_key: tuple, columns: tuple) -> int:
    """An upper bound of the row's encoded size: 3 bytes per character covers any UTF-8 text, and
    16 bytes a cell's framing. Cheap enough for every row; receipts stay far below the 4 MB limit."""
    texts = sum(len(value) for _, value in chain(primary_key, columns) if isinstance(value, _SIZED))
    return 3 * texts + 16 * (len(primary_key) + len(columns))


def _row(kind: RowKind, table: str, primary_key: tuple, columns: tuple, condition: Condition) -> PlannedRow:
    columns = tuple((name, value) for name, value in columns if value is not None)
    return PlannedRow(kind, table, primary_key, columns, condition, _size(primary_key, columns))


def _ledger_row(item: ParsedItem, received_at: int, write_id: str) -> PlannedRow:
    return _row(
        RowKind.LEDGER,
        LEDGER,
        (("entity_key", item.entity_key), ("idempotency_key", item.idempotency_key)),
        (
            ("message_type", item.message_type.value),
            ("status", normalized_status(item.record)),
            ("event_time", event_time(item.record)),
            ("record", compact_json(record_dict(item.record))),
            ("raw", item.raw_json),
            ("source", item.source.value),
            ("message_id", item.message_id),
            ("received_at", received_at),
            ("write_id", write_id),
        ),
        InsertOnce(),
    )


def _state_row(item: ParsedItem, change: StateChange, received_at: int) -> PlannedRow:
    condition_key = order_key(change.version, item.idempotency_key)
    return _row(
        RowKind.STATE,
        change.table,
        change.primary_key,
        (
            ("order_key", condition_key),
            ("version", change.version),
            ("winner", item.idempotency_key),
            ("message_type", item.message_type.value),
            ("status", change.status),
            ("is_final", change.is_final),
            ("event_time", change.event_time),
            ("source", item.source.value),
            ("updated_at", received_at),
            *change.extra_columns,
        ),
        SupersedeIfNewer(condition_key),
    )


def dead_letter_id(rejected: RejectedItem) -> str:
    return blake2b(rejected.source.value.encode() + b"\x1f" + rejected.raw, digest_size=16).hexdigest()


def _dead_letter_row(rejected: RejectedItem, received_at: int) -> PlannedRow:
    return _row(
        RowKind.DEAD_LETTER,
        DEAD_LETTER,
        (("dead_letter_id", dead_letter_id(rejected)),),
        (
            ("reason", rejected.reason),
            ("raw", bytearray(rejected.raw)),  # bytearray: the SDK writes bytes as STRING
            ("source", rejected.source.value),
            ("message_type", rejected.message_type.value if rejected.message_type else None),
            ("message_id", rejected.message_id),
            ("position", rejected.position),
            ("received_at", received_at),
        ),
        InsertOnce(),
    )


def plan_writes(
    items: list[ParsedItem], rejected: list[RejectedItem], received_at: int, write_id: str | None = None
) -> StorePlan:
    write_id = write_id or uuid.uuid4().hex
    units: list[PlannedUnit] = []
    rows: list[PlannedRow] = []
    first_unit_by_key: dict[str, int] = {}
    # Per state row: the precedence (version, idempotency key) of the best candidate so far, its unit, its row.
    best_state: dict[tuple, tuple[tuple[int, str], PlannedUnit, PlannedRow]] = {}

    for item in items:
        unit = PlannedUnit(index=len(units))
        units.append(unit)
        first = first_unit_by_key.get(item.idempotency_key)
        if first is not None:
            unit.duplicate_of = first
            continue
        first_unit_by_key[item.idempotency_key] = unit.index
        ledger = _ledger_row(item, received_at, write_id)
        unit.rows.append(ledger)
        rows.append(ledger)
        change = state_change(item)
        if change is None:
            continue
        state = _state_row(item, change, received_at)
        unit.rows.append(state)
        precedence = (change.version, item.idempotency_key)  # the higher holds the row
        key = (change.table, change.primary_key)
        current = best_state.get(key)
        if current is None or precedence > current[0]:
            if current is not None:
                current[1].superseded = True
                current[1].rows.remove(current[2])
            best_state[key] = (precedence, unit, state)
        else:
            unit.superseded = True
            unit.rows.remove(state)
    rows.extend(state for _, _, state in best_state.values())

    first_unit_by_dead_letter: dict[str, int] = {}
    for rejected_item in rejected:
        unit = PlannedUnit(index=len(units))
        units.append(unit)
        row = _dead_letter_row(rejected_item, received_at)
        row_id = row.primary_key[0][1]
        first = first_unit_by_dead_letter.get(row_id)
        if first is not None:
            unit.duplicate_of = first
            continue
        first_unit_by_dead_letter[row_id] = unit.index
        unit.rows.append(row)
        rows.append(row)
    return StorePlan(units=units, rows=rows, write_id=write_id)


def split_batches(rows: list[PlannedRow]) -> list[list[PlannedRow]]:
    """Consecutive batches of at most 200 rows and about 3.5 MB: ceil(rows / 200) for receipts."""
    batches: list[list[PlannedRow]] = []
    current: list[PlannedRow] = []
    current_bytes = 0
    for row in rows:
        if current and (len(current) >= MAX_ROWS_PER_BATCH or current_bytes + row.size > MAX_BYTES_PER_BATCH):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(row)
        current_bytes += row.size
    if current:
        batches.append(current)
    return batches
