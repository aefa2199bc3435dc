"""Tablestore state and rules: tables, rows, conditions and batch semantics. No HTTP here.

Rows live in a `persistence.RowStore` (SQLite, in memory without a data dir), not in Python objects: the
emulator's memory does not grow with its data. Each public method that changes state is one transaction,
committed before it returns, so a change the server acknowledges is stored.

Values use the SDK's Python types: INTEGER `int`, DOUBLE `float`, BOOLEAN `bool`, STRING `str`,
BINARY `bytearray`; the sentinels `INF_MIN` and `INF_MAX` come from `tablestore.metadata`.

Rules reimplemented from the service documentation (see /work/shared/research/tablestore.md):
- the row-existence expectation is checked first, then the column condition; either failure is
  `OTSConditionCheckFail`. A missing column follows `pass_if_missing`. Values of different types are
  never equal and never ordered (so only NOT_EQUAL holds); the real service's behaviour there is unknown.
- each table keeps one version per column (`max_versions` must be 1): the cell with the newest timestamp
  wins, a tie goes to the newer write. PutRow replaces the whole row. TTL hides expired cells.
- primary keys are checked against the schema (count, names, types, 1 KB for STRING/BINARY) and
  rows are ordered by typed value: INTEGER numerically, STRING and BINARY bytewise (`persistence.encode_key`).
- BatchWriteRow: at most 200 rows and 4 MB, no duplicate primary key within a table, and every row
  valid, or the whole request is rejected; otherwise each row succeeds or fails on its own.

Only what the project calls is here: tables are created and listed, rows put, deleted and read
(GetRow, BatchGetRow, GetRange). No UpdateRow, auto-increment keys or table deletion.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tablestore.metadata import INF_MAX, INF_MIN

from .exceptions import (
    ConditionCheckFail,
    ObjectAlreadyExist,
    ObjectNotExist,
    ParameterInvalid,
    TablestoreError,
)
from .persistence import RowStore, decode_key, encode_key

Value = int | float | bool | str | bytearray
PrimaryKey = list  # [(name, value), ...] in schema order

PK_TYPES = ("INTEGER", "STRING", "BINARY")
MAX_PK_COLUMNS = 4
MAX_PK_VALUE_BYTES = 1024
MAX_ROW_CHANGE_BYTES = 4 * 1024 * 1024
MAX_COLUMNS_PER_ROW_CHANGE = 1024
MAX_BATCH_WRITE_ROWS = 200
MAX_BATCH_WRITE_BYTES = 4 * 1024 * 1024
MAX_BATCH_GET_ROWS = 100
MAX_RANGE_ROWS = 5000
MAX_RANGE_BYTES = 4 * 1024 * 1024
MAX_SUB_CONDITIONS = 32
CAPACITY_UNIT_BYTES = 4096
COMPARATORS = ("EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_EQUAL", "LESS_THAN", "LESS_EQUAL", "EXIST", "NOT_EXIST")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}\Z")
_WIRE_TYPE_NAMES = {
    "INTEGER": "VT_INTEGER",
    "STRING": "VT_STRING",
    "BINARY": "VT_BLOB",
    "DOUBLE": "VT_DOUBLE",
    "BOOLEAN": "VT_BOOLEAN",
}


def value_type(value: Any) -> str:
    """The Tablestore type of a Python value (bool before int: a bool is an int)."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, (bytes, bytearray)):
        return "BINARY"
    return type(value).__name__


@dataclass(frozen=True)
class PrimaryKeyColumn:
    name: str
    type: str


@dataclass
class TableSettings:
    time_to_live: int = -1
    max_versions: int = 1
    max_time_deviation: int = 86400
    allow_update: bool = True


@dataclass(frozen=True)
class ColumnCheck:
    """`stored column <comparator> value`, as in `SingleColumnCondition`."""

    column: str
    comparator: str
    value: Value | None
    pass_if_missing: bool = True


@dataclass(frozen=True)
class CompositeCheck:
    operator: str  # AND | OR | NOT
    checks: tuple = ()


@dataclass(frozen=True)
class Condition:
    expectation: str = "IGNORE"  # IGNORE | EXPECT_EXIST | EXPECT_NOT_EXIST
    column_check: ColumnCheck | CompositeCheck | None = None


@dataclass(slots=True)  # thousands per BatchWriteRow
class Cell:
    """One column of a PutRow change."""

    name: str
    value: Value | None = None
    timestamp: int | None = None


_NO_CONDITION = Condition()


@dataclass
class RowChange:
    kind: str  # put | delete
    primary_key: PrimaryKey
    cells: list = field(default_factory=list)
    condition: Condition = field(default_factory=Condition)
    size: int = 0  # encoded bytes, for the size limits and capacity units


@dataclass
class WriteResult:
    read_cu: int
    write_cu: int


@dataclass(frozen=True)
class ReadOptions:
    columns_to_get: tuple = ()
    column_filter: ColumnCheck | CompositeCheck | None = None
    time_range: tuple | None = None  # [start_ms, end_ms)


@dataclass
class RowView:
    """A row as returned to a reader: attribute columns are (name, value, timestamp_ms)."""

    primary_key: PrimaryKey
    columns: list

    def size(self) -> int:
        return sum(len(n) + _value_size(v) for n, v in self.primary_key) + sum(
            len(n) + _value_size(v) + 8 for n, v, _ in self.columns
        )


@dataclass
class RangeResult:
    rows: list
    next_start_primary_key: PrimaryKey | None
    read_cu: int


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    return 8


def _capacity_units(size: int) -> int:
    return max(1, math.ceil(size / CAPACITY_UNIT_BYTES))


class Table:
    """One table: schema and settings; its rows are in the state's `RowStore` under `id`."""

    def __init__(
        self,
        name: str,
        schema: Sequence[PrimaryKeyColumn],
        defined_columns: Sequence = (),
        settings: TableSettings | None = None,
        reserved: tuple = (0, 0),
        created_at: float | None = None,
        id: int = 0,
    ):
        self.name = name
        self.id = id
        self.schema = list(schema)
        self.types = [column.type for column in self.schema]
        self.defined_columns = list(defined_columns)
        self.settings = settings or TableSettings()
        self.reserved = reserved
        self.created_at = time.time() if created_at is None else created_at

    def meta(self) -> dict[str, Any]:
        """Schema and settings as JSON-ready data, as `RowStore` keeps them."""
        return {
            "schema": [[column.name, column.type] for column in self.schema],
            "defined_columns": [list(column) for column in self.defined_columns],
            "settings": vars(self.settings),
            "reserved": list(self.reserved),
            "created_at": self.created_at,
        }

    @classmethod
    def from_meta(cls, table_id: int, name: str, meta: dict[str, Any]) -> Table:
        return cls(
            name,
            [PrimaryKeyColumn(column, kind) for column, kind in meta["schema"]],
            [tuple(column) for column in meta["defined_columns"]],
            TableSettings(**meta["settings"]),
            tuple(meta["reserved"]),
            meta["created_at"],
            table_id,
        )


class TablestoreState:
    """All tables of one instance. Every public method is atomic (one lock, one transaction)."""

    def __init__(self, clock: Callable[[], float] = time.time, rows: RowStore | None = None):
        self.lock = threading.RLock()
        self.rows = rows if rows is not None else RowStore()
        self.tables: dict[str, Table] = {
            name: Table.from_meta(table_id, name, meta) for table_id, name, meta in self.rows.tables()
        }
        self._clock = clock

    def close(self) -> None:
        """Close the database file (the next use reopens it)."""
        with self.lock:
            self.rows.close()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            raise ObjectNotExist()
        return table

    # ---- tables ---------------------------------------------------------------------------------

    def create_table(
        self,
        name: str,
        schema: Sequence[PrimaryKeyColumn],
        defined_columns: Sequence = (),
        settings: TableSettings | None = None,
        reserved: tuple = (0, 0),
    ) -> Table:
        settings = settings or TableSettings()
        if not _TABLE_NAME.match(name or ""):
            raise ParameterInvalid(f"Invalid table name: '{name}'.")
        if not 1 <= len(schema) <= MAX_PK_COLUMNS:
            raise ParameterInvalid(f"The number of primary key columns must be in [1, {MAX_PK_COLUMNS}].")
        names = [column.name for column in schema]
        if len(set(names)) != len(names):
            raise ParameterInvalid(f"Duplicated primary key column names: {names}.")
        for column in schema:
            if column.type not in PK_TYPES:
                raise ParameterInvalid(f"Invalid type of primary key column '{column.name}': {column.type}.")
        if settings.max_versions != 1:
            raise ParameterInvalid(
                f"max_versions={settings.max_versions}: the emulator keeps one version "
                "per column and only accepts max_versions=1."
            )
        if settings.time_to_live == 0 or settings.time_to_live < -1:
            raise ParameterInvalid(f"Invalid time_to_live: {settings.time_to_live}.")
        with self.lock:
            if name in self.tables:
                raise ObjectAlreadyExist()
            table = Table(name, schema, defined_columns, settings, reserved)
            table.id = self.rows.add_table(name, table.meta())
            self.tables[name] = table
            return table

    def list_tables(self) -> list[str]:
        with self.lock:
            return sorted(self.tables)

    # ---- writes ---------------------------------------------------------------------------------

    def write_row(self, table_name: str, change: RowChange) -> WriteResult:
        """PutRow or DeleteRow: raises on an invalid change or a failed condition."""
        with self.lock:
            table = self._table(table_name)
            self._validate_change(table, change)
            with self.rows.transaction():
                return self._apply(table, change)

    def batch_write(self, items: Sequence[tuple[str, Sequence[RowChange]]]) -> list[list]:  # noqa: C901 - the service's checks, in its order
        """BatchWriteRow: one result list per table, each entry a WriteResult or a TablestoreError."""
        total_rows = sum(len(changes) for _, changes in items)
        if total_rows == 0:
            raise ParameterInvalid("No row specified in the request of BatchWriteRow.")
        if total_rows > MAX_BATCH_WRITE_ROWS:
            raise ParameterInvalid(f"Rows count exceeds the upper limit: {MAX_BATCH_WRITE_ROWS}.")
        total_bytes = sum(change.size for _, changes in items for change in changes)
        if total_bytes > MAX_BATCH_WRITE_BYTES:
            raise ParameterInvalid(
                f"The total data size of BatchWriteRow request exceeds the limit: "
                f"{total_bytes} > {MAX_BATCH_WRITE_BYTES} bytes."
            )
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            raise ParameterInvalid("A table appears more than once in the request of BatchWriteRow.")
        with self.lock:
            tables = [self._table(name) for name in names]
            for table, (_, changes) in zip(tables, items, strict=True):
                if not changes:
                    raise ParameterInvalid(f"No row specified in table: '{table.name}'.")
                seen: set[bytes] = set()
                for index, change in enumerate(changes):
                    try:
                        self._validate_change(table, change)
                    except ParameterInvalid as error:
                        where = f" (row #{index} in table '{table.name}')"
                        raise ParameterInvalid(error.message + where) from None
                    key = encode_key(change.primary_key)
                    if key in seen:
                        where = f" (row #{index} in table '{table.name}')"
                        raise ParameterInvalid("Duplicated primary key" + where + ".")
                    seen.add(key)
            results = []
            with self.rows.transaction():  # the whole request commits once, before the reply
                for table, (_, changes) in zip(tables, items, strict=True):
                    table_results: list = []
                    for change in changes:
                        try:
                            table_results.append(self._apply(table, change))
                        except TablestoreError as error:
                            table_results.append(error)
                    results.append(table_results)
            return results

    def _validate_change(self, table: Table, change: RowChange) -> None:
        self._validate_primary_key(table, change.primary_key)
        expectation = change.condition.expectation
        if expectation not in ("IGNORE", "EXPECT_EXIST", "EXPECT_NOT_EXIST"):
            raise ParameterInvalid(f"Invalid row existence expectation: {expectation}.")
        if change.kind == "delete" and expectation == "EXPECT_NOT_EXIST":
            raise ParameterInvalid("Invalid condition: EXPECT_NOT_EXIST while deleting row.")
        _validate_check(change.condition.column_check)
        if change.size > MAX_ROW_CHANGE_BYTES:
            raise ParameterInvalid(f"The row size exceeds the limit: {change.size} > {MAX_ROW_CHANGE_BYTES}.")
        if len(change.cells) > MAX_COLUMNS_PER_ROW_CHANGE:
            raise ParameterInvalid(f"The number of columns exceeds the limit: {MAX_COLUMNS_PER_ROW_CHANGE}.")
        pk_names = {column.name for column in table.schema}
        seen: set[str] = set()
        now_ms, deviation_ms = self._now_ms(), table.settings.max_time_deviation * 1000
        for cell in change.cells:
            name = cell.name
            if name in pk_names:
                raise ParameterInvalid(
                    f"Duplicated attribute column name with primary key column: '{name}' while putting row."
                )
            if name in seen:
                raise ParameterInvalid(f"Duplicated attribute column name: '{name}' while putting row.")
            seen.add(name)
            if cell.value is None:
                raise ParameterInvalid(f"Column '{name}' has no value.")
            timestamp = cell.timestamp
            if timestamp is not None and abs(timestamp - now_ms) > deviation_ms:
                raise ParameterInvalid(
                    f"The timestamp of column '{name}' is out of range: "
                    f"{timestamp} is more than {deviation_ms} ms from now."
                )

    def _validate_primary_key(self, table: Table, primary_key: PrimaryKey, *, allow_infinite: bool = False) -> None:
        if len(primary_key) != len(table.schema):
            raise ParameterInvalid(f"Validate PK size fail. Input: {len(primary_key)}, Meta: {len(table.schema)}.")
        for (name, value), column in zip(primary_key, table.schema, strict=True):
            if name != column.name:
                raise ParameterInvalid(f"Validate PK name fail. Input: {name}, Meta: {column.name}.")
            if value is INF_MIN or value is INF_MAX:
                if not allow_infinite:
                    label = "INF_MIN" if value is INF_MIN else "INF_MAX"
                    raise ParameterInvalid(f"{label} is an invalid type for the primary key.")
                continue
            if value_type(value) != column.type:
                sent = _WIRE_TYPE_NAMES.get(value_type(value), value_type(value))
                meta = _WIRE_TYPE_NAMES[column.type]
                raise ParameterInvalid(f"Validate PK type fail. Input: {sent}, Meta: {meta}.")
            if column.type != "INTEGER" and _value_size(value) > MAX_PK_VALUE_BYTES:
                raise ParameterInvalid(
                    f"The length of primary key column '{name}' exceeds the limit: {MAX_PK_VALUE_BYTES}."
                )

    def _apply(self, table: Table, change: RowChange) -> WriteResult:
        """Apply one validated change."""
        now_ms = self._now_ms()
        key = encode_key(change.primary_key)
        existing = self._visible(table, self.rows.get(table.id, key), now_ms)
        condition = change.condition
        if condition.expectation == "EXPECT_EXIST" and existing is None:
            raise ConditionCheckFail()
        if condition.expectation == "EXPECT_NOT_EXIST" and existing is not None:
            raise ConditionCheckFail()
        columns = existing if existing is not None else {}
        if condition.column_check is not None and not _check(condition.column_check, columns):
            raise ConditionCheckFail()
        if change.kind == "delete":
            self.rows.delete(table.id, key)
        else:
            self.rows.put(table.id, key, {cell.name: (cell.value, _timestamp(cell, now_ms)) for cell in change.cells})
        read_cu = 0 if condition == _NO_CONDITION else 1
        return WriteResult(read_cu, _capacity_units(change.size))

    def _visible(self, table: Table, columns: dict | None, now_ms: int) -> dict | None:
        """A row's columns with expired cells (TTL) removed; None if nothing is left of a row that had cells."""
        ttl = table.settings.time_to_live
        if columns is None or ttl < 0:
            return columns
        oldest = now_ms - ttl * 1000
        live = {name: cell for name, cell in columns.items() if cell[1] >= oldest}
        if columns and not live:
            return None
        return live

    # ---- reads ----------------------------------------------------------------------------------

    def get_row(
        self, table_name: str, primary_key: PrimaryKey, options: ReadOptions | None = None
    ) -> tuple[RowView | None, int]:
        """GetRow: (row or None, read capacity units)."""
        options = options or ReadOptions()
        with self.lock:
            table = self._table(table_name)
            self._validate_primary_key(table, primary_key)
            _validate_check(options.column_filter)
            stored = self.rows.get(table.id, encode_key(primary_key))
            row = self._read(table, primary_key, stored, options, self._now_ms())
            return row, _capacity_units(row.size() if row else 0)

    def batch_get(self, items: Sequence[tuple[str, Sequence[PrimaryKey], ReadOptions]]) -> list[list]:
        """BatchGetRow: one list per table of (row or None, read capacity units)."""
        if sum(len(keys) for _, keys, _ in items) > MAX_BATCH_GET_ROWS:
            raise ParameterInvalid(f"Rows count exceeds the upper limit: {MAX_BATCH_GET_ROWS}.")
        with self.lock:
            results = []
            now_ms = self._now_ms()
            for table_name, primary_keys, options in items:
                table = self._table(table_name)
                _validate_check(options.column_filter)
                keys: list[bytes] = []
                for index, primary_key in enumerate(primary_keys):
                    self._validate_primary_key(table, primary_key)
                    key = encode_key(primary_key)
                    if key in keys:
                        raise ParameterInvalid(f"Duplicated primary key (row #{index} in table '{table_name}').")
                    keys.append(key)
                rows = [
                    self._read(table, primary_key, self.rows.get(table.id, key), options, now_ms)
                    for primary_key, key in zip(primary_keys, keys, strict=True)
                ]
                results.append([(row, _capacity_units(row.size() if row else 0)) for row in rows])
            return results

    def get_range(
        self,
        table_name: str,
        forward: bool,
        start: PrimaryKey,
        end: PrimaryKey,
        limit: int | None = None,
        options: ReadOptions | None = None,
    ) -> RangeResult:
        """GetRange over [start, end) forward or (end, start] backward, paged by limit, 5,000 rows or 4 MB."""
        options = options or ReadOptions()
        with self.lock:
            table = self._table(table_name)
            for primary_key in (start, end):
                self._validate_primary_key(table, primary_key, allow_infinite=True)
            _validate_check(options.column_filter)
            if limit is not None and limit <= 0:
                raise ParameterInvalid(f"The limit must be greater than 0: {limit}.")
            start_key, end_key = encode_key(start), encode_key(end)
            if (forward and start_key > end_key) or (not forward and start_key < end_key):
                direction = "FORWARD" if forward else "BACKWARD"
                relation = "less" if forward else "greater"
                raise ParameterInvalid(
                    f"The start primary key must be {relation} than the end primary key in {direction} direction."
                )
            max_rows = min(limit or MAX_RANGE_ROWS, MAX_RANGE_ROWS)
            rows: list[RowView] = []
            size, now_ms = 0, self._now_ms()
            names = [column.name for column in table.schema]
            for key, stored in self.rows.between(table.id, start_key, end_key, forward):
                primary_key = list(zip(names, decode_key(key, table.types), strict=True))
                if len(rows) >= max_rows or size >= MAX_RANGE_BYTES:
                    return RangeResult(rows, primary_key, _capacity_units(size))
                row = self._read(table, primary_key, stored, options, now_ms)
                if row is not None:
                    rows.append(row)
                    size += row.size()
            return RangeResult(rows, None, _capacity_units(size))

    def _read(
        self, table: Table, primary_key: PrimaryKey, stored: dict | None, options: ReadOptions, now_ms: int
    ) -> RowView | None:
        row = self._visible(table, stored, now_ms)
        if row is None:
            return None
        if options.column_filter is not None and not _check(options.column_filter, row):
            return None
        wanted = set(options.columns_to_get)
        pk_names = {column.name for column in table.schema}
        columns = [
            (name, value, timestamp)
            for name, (value, timestamp) in row.items()
            if (not wanted or name in wanted) and _in_time_range(timestamp, options.time_range)
        ]
        projected = bool(wanted) or options.time_range is not None
        if projected and not columns and not (wanted & pk_names):
            return None  # the service returns no row when none of the requested columns exist
        return RowView(list(primary_key), sorted(columns, key=lambda column: column[0]))

    # ---- helpers for tests ----------------------------------------------------------------------

    def row(self, table_name: str, primary_key: PrimaryKey) -> dict | None:
        """Attribute values of one stored row ({name: value}), or None; bypasses conditions and TTL."""
        with self.lock:
            stored = self.rows.get(self._table(table_name).id, encode_key(primary_key))
            return None if stored is None else {name: value for name, (value, _) in stored.items()}

    def row_count(self, table_name: str) -> int:
        with self.lock:
            return self.rows.count(self._table(table_name).id)


def _timestamp(cell: Cell, now_ms: int) -> int:
    return now_ms if cell.timestamp is None else cell.timestamp


def _in_time_range(timestamp: int, time_range: tuple | None) -> bool:
    return time_range is None or time_range[0] <= timestamp < time_range[1]


def _validate_check(check: ColumnCheck | CompositeCheck | None) -> None:
    if check is None:
        return
    if isinstance(check, ColumnCheck):
        if check.comparator not in COMPARATORS:
            raise ParameterInvalid(f"Invalid comparator: {check.comparator}.")
        return
    if check.operator not in ("AND", "OR", "NOT"):
        raise ParameterInvalid(f"Invalid logical operator: {check.operator}.")
    if check.operator == "NOT" and len(check.checks) != 1:
        raise ParameterInvalid("The logical operator NOT takes exactly one sub-condition.")
    if not 1 <= len(check.checks) <= MAX_SUB_CONDITIONS:
        raise ParameterInvalid(f"The number of sub-conditions must be in range: [1, {MAX_SUB_CONDITIONS}].")
    for sub_check in check.checks:
        _validate_check(sub_check)


def _check(check: ColumnCheck | CompositeCheck, columns: dict) -> bool:
    """Evaluate a column condition against the stored columns {name: (value, timestamp)}."""
    if isinstance(check, CompositeCheck):
        if check.operator == "NOT":
            return not _check(check.checks[0], columns)
        results = (_check(sub_check, columns) for sub_check in check.checks)
        return all(results) if check.operator == "AND" else any(results)
    cell = columns.get(check.column)
    if check.comparator == "EXIST":
        return cell is not None
    if check.comparator == "NOT_EXIST":
        return cell is None
    if cell is None:
        return check.pass_if_missing
    stored, expected = cell[0], check.value
    if value_type(stored) != value_type(expected):
        return check.comparator == "NOT_EQUAL"
    if isinstance(stored, (bytes, bytearray)):
        stored, expected = bytes(stored), bytes(expected)
    return {
        "EQUAL": stored == expected,
        "NOT_EQUAL": stored != expected,
        "GREATER_THAN": stored > expected,
        "GREATER_EQUAL": stored >= expected,
        "LESS_THAN": stored < expected,
        "LESS_EQUAL": stored <= expected,
    }[check.comparator]
