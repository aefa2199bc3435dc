"""The storage plan: which rows to write for a set of items, under which conditions, in which batches.

Pure: no I/O. Every write is conditional, so the whole plan can be repeated safely:
- a ledger row is inserted only if absent (first write wins; "already there" = duplicate);
- a state row replaces the stored one only if its version is higher, or equal with a larger winner
  key (otherwise it is stale);
- a dead-letter row is inserted only if absent (the same bad bytes are kept once).
Within one call, an idempotency key is written once and each state row once (the best candidate
wins locally), so no batch names a primary key twice. A unit's rows (a receipt's ledger row, then its
state row) are planned together and travel in the same request, so a state row never lands without
its ledger row. An item that Tablestore's documented limits would refuse (a primary-key value over
1 KB, an attribute over 2 MB, a row over a request's size) is planned as a dead letter instead:
no retry could store it, and it must not turn the whole push into an error.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from itertools import chain
from typing import Any

from ..parsing import ParsedItem, RejectedItem, record_dict
from ..parsing.items import compact_json
from ..parsing.times import CHINA_TZ, epoch_ms
from .rules import StateChange, event_time, normalized_status, state_change
from .schema import DEAD_LETTER, LEDGER

_SIZED = (str, bytes, bytearray)
MAX_ROWS_PER_BATCH = 200  # BatchWriteRow limit
MAX_BYTES_PER_BATCH = 3_500_000  # under the 4 MB limit, leaving room for encoding overhead
# Tablestore's limits on one value (https://www.alibabacloud.com/help/en/tablestore/limits-on-widecolumn-model):
# a STRING or BINARY primary-key column at most 1 KB, an attribute column at most 2 MB.
MAX_PRIMARY_KEY_VALUE_BYTES = 1024
MAX_ATTRIBUTE_VALUE_BYTES = 2 * 1024 * 1024


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


@dataclass(frozen=True)
class DeleteRow:
    """Delete the row, whether or not it exists (an inbox entry that is done)."""


@dataclass(frozen=True)
class Replace:
    """Write the row whatever is stored (a dead letter marked as replayed: every column again)."""


Condition = InsertOnce | SupersedeIfNewer | DeleteRow | Replace


class RowKind(str, enum.Enum):
    LEDGER = "ledger"
    STATE = "state"
    DEAD_LETTER = "dead_letter"
    INBOX = "inbox"
    SEND = "send"


@dataclass(eq=False)
class PlannedRow:
    kind: RowKind
    table: str  # logical name, see schema
    primary_key: tuple[tuple[str, Any], ...]
    columns: tuple[tuple[str, Any], ...]
    condition: Condition
    size: int  # approximate encoded bytes, for the 4 MB batch limit
    unit: int = -1  # the unit it accounts for: a unit's rows stay in one request


@dataclass(eq=False)
class PlannedUnit:
    """One input (a parsed item or a rejected one) and the rows that account for it."""

    index: int
    rows: list[PlannedRow] = field(default_factory=list)
    duplicate_of: int | None = None  # an earlier unit in this call with the same identity
    superseded: bool = False  # its state row lost, within this call, to a newer report
    refused: str | None = None  # why Tablestore's limits refuse the item: it is dead-lettered instead


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


def planned_row(kind: RowKind, table: str, primary_key: tuple, columns: tuple, condition: Condition) -> PlannedRow:
    columns = tuple((name, value) for name, value in columns if value is not None)
    return PlannedRow(kind, table, primary_key, columns, condition, _size(primary_key, columns))


def received_day(received_at: int) -> str:
    """The China-time day (yyyyMMdd) of a receipt time in epoch ms: the ledger's `time_bucket` day."""
    return datetime.fromtimestamp(received_at / 1000, CHINA_TZ).strftime("%Y%m%d")


def _ledger_row(item: ParsedItem, received_at: int, write_id: str, day: str, spilled: bool) -> PlannedRow:
    record = item.record
    sent = record.moment("send_time") if "send_time" in record.time_fields else None
    return planned_row(
        RowKind.LEDGER,
        LEDGER,
        (("entity_key", item.entity_key), ("idempotency_key", item.idempotency_key)),
        (
            ("message_type", item.message_type.value),
            ("status", normalized_status(record)),
            ("event_time", event_time(record)),
            ("record", compact_json(record_dict(record))),
            ("raw", item.raw_json),
            ("source", item.source.value),
            ("message_id", item.message_id),
            ("received_at", received_at),
            ("write_id", write_id),
            # For the by-time index (schema.BY_TIME): its shard is the key's first hex digit.
            ("time_bucket", f"{item.idempotency_key[0]}-{day}"),
            ("err_code", getattr(record, "err_code", None) or None),
            ("send_time", epoch_ms(sent)),
            ("spilled", True if spilled else None),  # stored by the drain, from the inbox
        ),
        InsertOnce(),
    )


def _state_row(item: ParsedItem, change: StateChange, received_at: int) -> PlannedRow:
    condition_key = order_key(change.version, item.idempotency_key)
    return planned_row(
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
    return planned_row(
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


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def limit_problem(rows: list[PlannedRow]) -> str | None:
    """Why Tablestore's documented limits would refuse one of these rows, or None. Cheap: a text is
    encoded only when 3 bytes per character could pass a limit."""
    for row in rows:
        for name, value in row.primary_key:
            if isinstance(value, str) and len(value) * 3 > MAX_PRIMARY_KEY_VALUE_BYTES:
                size = _utf8_length(value)
                if size > MAX_PRIMARY_KEY_VALUE_BYTES:
                    return (
                        f"primary-key column {name} of {row.table} would be {size} bytes, "
                        f"over Tablestore's {MAX_PRIMARY_KEY_VALUE_BYTES}-byte limit"
                    )
        for name, value in row.columns:
            if isinstance(value, _SIZED) and len(value) * 3 > MAX_ATTRIBUTE_VALUE_BYTES:
                size = _utf8_length(value) if isinstance(value, str) else len(value)
                if size > MAX_ATTRIBUTE_VALUE_BYTES:
                    return (
                        f"column {name} of {row.table} would be {size} bytes, "
                        f"over Tablestore's {MAX_ATTRIBUTE_VALUE_BYTES}-byte limit"
                    )
        if row.size > MAX_BYTES_PER_BATCH:
            return f"a row of {row.table} would be about {row.size} bytes, more than one request may carry"
    return None


def refused_item(item: ParsedItem, reason: str) -> RejectedItem:
    """A parsed item that Tablestore cannot hold, as a dead letter: its raw JSON and the reason."""
    try:
        raw = item.raw_json.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it escaped, so the bytes stay valid JSON
        raw = json.dumps(item.raw, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return RejectedItem(
        reason=f"cannot be stored in Tablestore: {reason}",
        raw=raw,
        source=item.source,
        message_type=item.message_type,
        message_id=item.message_id,
        position=item.position,
    )


def refusal_row(item: ParsedItem, reason: str, received_at: int) -> PlannedRow:
    return _dead_letter_row(refused_item(item, reason), received_at)


def plan_writes(
    items: list[ParsedItem],
    rejected: list[RejectedItem],
    received_at: int,
    write_id: str | None = None,
    *,
    spilled: bool = False,
) -> StorePlan:
    write_id = write_id or uuid.uuid4().hex
    day = received_day(received_at)
    units: list[PlannedUnit] = []
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
        ledger = _ledger_row(item, received_at, write_id, day, spilled)
        change = state_change(item)
        state = _state_row(item, change, received_at) if change is not None else None
        planned = [ledger] if state is None else [ledger, state]
        problem = limit_problem(planned)
        if problem is not None:
            unit.refused = problem
            unit.rows.append(refusal_row(item, problem, received_at))
            continue
        unit.rows.extend(planned)
        if change is not None and state is not None:
            precedence = (change.version, item.idempotency_key)  # the higher holds the row
            _contest(best_state, unit, (change.table, change.primary_key), precedence, state)
    _plan_dead_letters(units, rejected, received_at)
    rows: list[PlannedRow] = []
    for unit in units:
        for row in unit.rows:
            row.unit = unit.index
            rows.append(row)
    return StorePlan(units=units, rows=rows, write_id=write_id)


def _contest(
    best_state: dict[tuple, tuple[tuple[int, str], PlannedUnit, PlannedRow]],
    unit: PlannedUnit,
    key: tuple,
    precedence: tuple[int, str],
    state: PlannedRow,
) -> None:
    """Of the units in one call naming the same state row, only the one of highest precedence
    (version, idempotency key) writes it; the others are superseded."""
    current = best_state.get(key)
    if current is None or precedence > current[0]:
        if current is not None:
            current[1].superseded = True
            current[1].rows.remove(current[2])
        best_state[key] = (precedence, unit, state)
    else:
        unit.superseded = True
        unit.rows.remove(state)


def _plan_dead_letters(units: list[PlannedUnit], rejected: list[RejectedItem], received_at: int) -> None:
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


def split_batches(rows: list[PlannedRow], alone: frozenset[int] = frozenset()) -> list[list[PlannedRow]]:
    """Consecutive batches of at most 200 rows and about 3.5 MB (ceil(rows / 200) for receipts),
    never splitting a unit's rows; the units in `alone` get a request each (to find which one a
    request-wide refusal was about)."""
    batches: list[list[PlannedRow]] = []
    current: list[PlannedRow] = []
    current_bytes = 0
    groups: list[list[PlannedRow]] = []
    for row in rows:
        if groups and groups[-1][0].unit == row.unit and row.unit >= 0:
            groups[-1].append(row)
        else:
            groups.append([row])
    for group in groups:
        size = sum(row.size for row in group)
        if group[0].unit in alone:
            batches.append(group)
            continue
        if current and (len(current) + len(group) > MAX_ROWS_PER_BATCH or current_bytes + size > MAX_BYTES_PER_BATCH):
            batches.append(current)
            current, current_bytes = [], 0
        current.extend(group)
        current_bytes += size
    if current:
        batches.append(current)
    return batches
