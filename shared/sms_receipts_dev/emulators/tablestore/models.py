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
- global secondary indexes (https://help.aliyun.com/document_detail/91947.html, 二级索引;
  https://help.aliyun.com/document_detail/117829.htm, 创建二级索引): an index is a read-only table
  keyed by its columns, then the table's key columns not among them (索引列补齐); its other columns are
  predefined columns of the table. A row missing an index column is not in the index (稀疏索引). The
  service updates a global index asynchronously, milliseconds after the write ("同步延迟达到毫秒级别");
  the emulator updates it within the write's own transaction, a valid stand-in for a reader that
  tolerates lag (the index is never behind here, so no test can rely on a lag). Only global indexes on
  tables with `max_versions` 1 and no TTL; a predefined column is written with its declared type only
  (the service's answer to another type is not documented where we looked: refused here, loudly).

Only what the project calls is here: tables are created, listed and described, predefined columns
added, global indexes created (with the table, or later, with or without the existing rows), rows put,
deleted and read (GetRow, BatchGetRow, GetRange; GetRow and GetRange on an index too). No UpdateRow,
auto-increment keys, local indexes, or table and index deletion.
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
    UnsupportedOperation,
)
from .persistence import RowStore, decode_key, encode_key

Value = int | float | bool | str | bytearray
PrimaryKey = list  # [(name, value), ...] in schema order

PK_TYPES = ("INTEGER", "STRING", "BINARY")
DEFINED_TYPES = ("INTEGER", "DOUBLE", "BOOLEAN", "STRING", "BINARY")  # DefinedColumnType (DCT_BLOB is BINARY)
MAX_PK_COLUMNS = 4
# https://alibabacloud.com/help/en/tablestore/secondary-index-limits and the AddDefinedColumn page
# (https://www.alibabacloud.com/help/doc-detail/2709211.html): 32 predefined columns a table, 5 indexes,
# up to 4 index columns and 32 attribute columns an index.
MAX_DEFINED_COLUMNS = 32
MAX_INDEXES = 5
MAX_INDEX_COLUMNS = 4
MAX_INDEX_ATTRIBUTES = 32
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


@dataclass(frozen=True)
class IndexMeta:
    """A global secondary index as declared: its index columns (the service appends the table's other
    key columns) and the predefined columns it copies."""

    name: str
    primary_key: tuple = ()
    defined_columns: tuple = ()


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
    """One table, or one index (`index_of` names its table): schema and settings; its rows are in the
    state's `RowStore` under `id`. An index's `defined_columns` are the predefined columns it copies."""

    def __init__(
        self,
        name: str,
        schema: Sequence[PrimaryKeyColumn],
        defined_columns: Sequence = (),
        settings: TableSettings | None = None,
        reserved: tuple = (0, 0),
        created_at: float | None = None,
        id: int = 0,
        indexes: Sequence[IndexMeta] = (),
        index_of: str | None = None,
    ):
        self.name = name
        self.id = id
        self.schema = list(schema)
        self.types = [column.type for column in self.schema]
        self.defined_columns = [(column, "BINARY" if kind == "BLOB" else kind) for column, kind in defined_columns]
        self.defined_types = dict(self.defined_columns)
        self.settings = settings or TableSettings()
        self.reserved = reserved
        self.created_at = time.time() if created_at is None else created_at
        self.indexes = list(indexes)
        self.index_of = index_of
        self._indexed_keys()

    def _indexed_keys(self) -> None:
        # The predefined columns some index keys on: their values are index primary-key values (1 KB).
        self.index_key_columns = {name for index in self.indexes for name in index.primary_key} & set(
            self.defined_types
        )

    def add_index(self, index: IndexMeta) -> None:
        self.indexes.append(index)
        self._indexed_keys()

    def add_defined_columns(self, columns: Sequence[tuple[str, str]]) -> None:
        self.defined_columns.extend(columns)
        self.defined_types = dict(self.defined_columns)

    def meta(self) -> dict[str, Any]:
        """Schema and settings as JSON-ready data, as `RowStore` keeps them."""
        meta: dict[str, Any] = {
            "schema": [[column.name, column.type] for column in self.schema],
            "defined_columns": [list(column) for column in self.defined_columns],
            "settings": vars(self.settings),
            "reserved": list(self.reserved),
            "created_at": self.created_at,
        }
        if self.indexes:
            meta["indexes"] = [_index_json(index) for index in self.indexes]
        if self.index_of is not None:
            meta["index_of"] = self.index_of
        return meta

    @classmethod
    def from_meta(cls, table_id: int, name: str, meta: dict[str, Any]) -> Table:
        # "indexes" and "index_of" came with indexes: a database written before has neither.
        return cls(
            name,
            [PrimaryKeyColumn(column, kind) for column, kind in meta["schema"]],
            [tuple(column) for column in meta["defined_columns"]],
            TableSettings(**meta["settings"]),
            tuple(meta["reserved"]),
            meta["created_at"],
            table_id,
            [
                IndexMeta(i["name"], tuple(i["primary_key"]), tuple(i["defined_columns"]))
                for i in meta.get("indexes", ())
            ],
            meta.get("index_of"),
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

    def _table(self, name: str, *, index_ok: bool = False) -> Table:
        """A data table; an index too when `index_ok` (reads by GetRow and GetRange)."""
        table = self.tables.get(name)
        if table is None:
            raise ObjectNotExist()
        if table.index_of is not None and not index_ok:
            raise ParameterInvalid(
                f"'{name}' is an index of table '{table.index_of}': only GetRow and GetRange read it."
            )
        return table

    # ---- tables ---------------------------------------------------------------------------------

    def create_table(
        self,
        name: str,
        schema: Sequence[PrimaryKeyColumn],
        defined_columns: Sequence = (),
        settings: TableSettings | None = None,
        reserved: tuple = (0, 0),
        indexes: Sequence[IndexMeta] = (),
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
        _validate_defined_columns(names, [], defined_columns)
        with self.lock:
            if name in self.tables:
                raise ObjectAlreadyExist()
            table = Table(name, schema, defined_columns, settings, reserved)
            index_tables = self._new_indexes(table, indexes)
            with self.rows.transaction():  # the table and its indexes, or nothing
                table.id = self.rows.add_table(name, table.meta())
                for index_table in index_tables:
                    index_table.id = self.rows.add_table(index_table.name, index_table.meta())
            self.tables[name] = table
            self.tables.update((index_table.name, index_table) for index_table in index_tables)
            return table

    def list_tables(self) -> list[str]:
        """The data tables (an index is not one) [inferred: ListTable's pages speak of tables only]."""
        with self.lock:
            return sorted(name for name, table in self.tables.items() if table.index_of is None)

    def describe_table(self, name: str) -> tuple[Table, list[Table]]:
        """DescribeTable: the table and its indexes' tables (whose schemas are their whole keys)."""
        with self.lock:
            table = self._data_table(name, "DescribeTable")
            return table, [self.tables[index.name] for index in table.indexes]

    def _data_table(self, name: str, api: str) -> Table:
        """A table an administrative API names; an index there is not a case the project has."""
        table = self.tables.get(name)
        if table is not None and table.index_of is not None:
            raise UnsupportedOperation(f"{api} on an index is not supported by the emulator.")
        return self._table(name)

    def add_defined_columns(self, name: str, columns: Sequence[tuple[str, str]]) -> None:
        """AddDefinedColumn: new predefined columns, checked as at CreateTable."""
        with self.lock:
            table = self._data_table(name, "AddDefinedColumn")
            if not columns:
                raise ParameterInvalid("No defined column specified.")
            _validate_defined_columns([c.name for c in table.schema], table.defined_columns, columns)
            meta = table.meta()
            meta["defined_columns"] += [list(column) for column in columns]
            self.rows.update_table(table.id, meta)  # stored first: the table changes only once it is
            table.add_defined_columns(columns)

    def create_index(self, name: str, index: IndexMeta, include_base_data: bool = False) -> Table:
        """CreateIndex: a global index of table `name`; with `include_base_data`, holding its rows so far
        (the service fills it in the background; here before the reply)."""
        with self.lock:
            table = self._data_table(name, "CreateIndex")
            index_table = self._new_index(table, index)
            meta = table.meta()
            meta["indexes"] = [*meta.get("indexes", ()), _index_json(index)]
            with self.rows.transaction():  # stored first: the table changes only once it is
                index_table.id = self.rows.add_table(index.name, index_table.meta())
                self.rows.update_table(table.id, meta)
                if include_base_data:
                    self._fill_index(table, index, index_table)
            table.add_index(index)
            self.tables[index.name] = index_table
            return index_table

    def _new_indexes(self, table: Table, indexes: Sequence[IndexMeta]) -> list[Table]:
        """The tables of a new table's indexes (added to its metadata)."""
        index_tables: list[Table] = []
        for index in indexes:
            if any(other.name == index.name for other in index_tables):
                raise ParameterInvalid(f"Duplicated index name: '{index.name}'.")
            index_tables.append(self._new_index(table, index))
            table.add_index(index)
        return index_tables

    def _new_index(self, table: Table, index: IndexMeta) -> Table:  # noqa: C901 - the service's rules, one by one
        """The index's own table, once `index` passes the service's rules for `table`."""
        if not _TABLE_NAME.match(index.name or ""):
            raise ParameterInvalid(f"Invalid index name: '{index.name}'.")
        if index.name in self.tables or index.name == table.name:
            raise ObjectAlreadyExist(f"A table or index named '{index.name}' already exists.")
        if len(table.indexes) >= MAX_INDEXES:
            raise ParameterInvalid(f"The number of indexes of table '{table.name}' exceeds the limit: {MAX_INDEXES}.")
        if table.settings.time_to_live != -1:
            if table.settings.allow_update:
                raise ParameterInvalid("A table with a TTL must not allow updates to have an index.")
            raise UnsupportedOperation("Indexes on tables with a TTL are not supported by the emulator.")
        key_types = {column.name: column.type for column in table.schema}
        if not 1 <= len(index.primary_key) <= MAX_INDEX_COLUMNS or len(set(index.primary_key)) != len(
            index.primary_key
        ):
            raise ParameterInvalid(f"An index has 1 to {MAX_INDEX_COLUMNS} distinct index columns.")
        for column in index.primary_key:
            kind = key_types.get(column) or table.defined_types.get(column)
            if kind is None:
                raise ParameterInvalid(f"Index column '{column}' is neither a primary key nor a defined column.")
            if kind not in PK_TYPES:
                raise ParameterInvalid(f"Index column '{column}' is {kind}: an index column is {'/'.join(PK_TYPES)}.")
        if len(index.defined_columns) > MAX_INDEX_ATTRIBUTES or len(set(index.defined_columns)) != len(
            index.defined_columns
        ):
            raise ParameterInvalid(f"An index copies at most {MAX_INDEX_ATTRIBUTES} distinct defined columns.")
        for column in index.defined_columns:
            if column not in table.defined_types or column in index.primary_key:
                raise ParameterInvalid(
                    f"Index attribute column '{column}' must be a defined column, not an index column."
                )
        key = list(index.primary_key) + [column.name for column in table.schema if column.name not in index.primary_key]
        return Table(
            index.name,
            [PrimaryKeyColumn(column, key_types.get(column) or table.defined_types[column]) for column in key],
            [(column, table.defined_types[column]) for column in index.defined_columns],
            TableSettings(**vars(table.settings)),  # an index lives as long as its table's rows
            index_of=table.name,
        )

    def _fill_index(self, table: Table, index: IndexMeta, index_table: Table) -> None:
        names = [column.name for column in table.schema]
        # Every row read before any is written: the index's rows go to the same SQL table.
        rows = list(self.rows.between(table.id, *_whole_range(names), True))
        for key, columns in rows:
            primary_key = list(zip(names, decode_key(key, table.types), strict=True))
            entry = _index_entry(index_table, index, primary_key, columns)
            if entry is not None:
                self.rows.put(index_table.id, *entry)

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

    def _validate_change(self, table: Table, change: RowChange) -> None:  # noqa: C901 - the service's checks, in its order
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
        defined = table.defined_types
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
            if defined and name in defined:
                _check_defined_value(table, name, cell.value)
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
            row = None
        else:
            row = {cell.name: (cell.value, _timestamp(cell, now_ms)) for cell in change.cells}
            self.rows.put(table.id, key, row)
        if table.indexes:
            self._update_indexes(table, change.primary_key, existing, row)
        read_cu = 0 if condition == _NO_CONDITION else 1
        return WriteResult(read_cu, _capacity_units(change.size))

    def _update_indexes(self, table: Table, primary_key: PrimaryKey, before: dict | None, after: dict | None) -> None:
        """Move the row's index rows from what `before` made them to what `after` makes them."""
        for index in table.indexes:
            index_table = self.tables[index.name]
            old = _index_entry(index_table, index, primary_key, before)
            new = _index_entry(index_table, index, primary_key, after)
            if old == new:
                continue
            if old is not None and (new is None or old[0] != new[0]):
                self.rows.delete(index_table.id, old[0])
            if new is not None:
                self.rows.put(index_table.id, *new)

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
            table = self._table(table_name, index_ok=True)
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
                if table_name in self.tables and self.tables[table_name].index_of is not None:
                    raise UnsupportedOperation("BatchGetRow on an index is not supported by the emulator.")
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
            table = self._table(table_name, index_ok=True)
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
            for scanned, (key, stored) in enumerate(self.rows.between(table.id, start_key, end_key, forward)):
                primary_key = list(zip(names, decode_key(key, table.types), strict=True))
                # The service's page ends after 5,000 rows *scanned*, filtered out or not: a filter that
                # matches little gives short or empty pages with a next key, never one long request
                # (https://help.aliyun.com/document_detail/148290.htm).
                if len(rows) >= max_rows or size >= MAX_RANGE_BYTES or scanned >= MAX_RANGE_ROWS:
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
            stored = self.rows.get(self._table(table_name, index_ok=True).id, encode_key(primary_key))
            return None if stored is None else {name: value for name, (value, _) in stored.items()}

    def row_count(self, table_name: str) -> int:
        with self.lock:
            return self.rows.count(self._table(table_name, index_ok=True).id)

    def index_rows(self, index_name: str) -> list[tuple[list, dict]]:
        """Every row of an index, in key order: (primary key, {name: value}); for tests."""
        with self.lock:
            index = self._table(index_name, index_ok=True)
            names = [column.name for column in index.schema]
            return [
                (list(zip(names, decode_key(key, index.types), strict=True)), {n: v for n, (v, _) in columns.items()})
                for key, columns in self.rows.between(index.id, *_whole_range(names), True)
            ]


def _index_json(index: IndexMeta) -> dict[str, Any]:
    return {"name": index.name, "primary_key": list(index.primary_key), "defined_columns": list(index.defined_columns)}


def _whole_range(names: Sequence[str]) -> tuple[bytes, bytes]:
    return encode_key([(n, INF_MIN) for n in names]), encode_key([(n, INF_MAX) for n in names])


def _validate_defined_columns(key_names: Sequence[str], existing: Sequence[tuple[str, str]], new: Sequence) -> None:
    names = [name for name, _ in existing]
    for column in new:
        if len(column) != 2 or not _TABLE_NAME.match(column[0] or ""):
            raise ParameterInvalid(f"Invalid defined column: {column!r}.")
        name, kind = column
        if name in key_names or name in names:
            raise ParameterInvalid(f"Duplicated defined column name: '{name}'.")
        if kind not in DEFINED_TYPES:
            raise ParameterInvalid(f"Invalid type of defined column '{name}': {kind}.")
        names.append(name)
    if len(names) > MAX_DEFINED_COLUMNS:
        raise ParameterInvalid(f"The number of defined columns exceeds the limit: {MAX_DEFINED_COLUMNS}.")


def _check_defined_value(table: Table, name: str, value: Any) -> None:
    kind = value_type(value)
    if kind != table.defined_types[name]:
        raise ParameterInvalid(
            f"Column '{name}' is defined as {table.defined_types[name]}, not {kind} (the emulator refuses "
            "another type in a defined column: what the service does is not documented)."
        )
    if name in table.index_key_columns and _value_size(value) > MAX_PK_VALUE_BYTES:
        raise ParameterInvalid(
            f"Column '{name}' keys an index: at most {MAX_PK_VALUE_BYTES} bytes (the service's answer to a "
            "longer one is not documented)."
        )


def _index_entry(index_table: Table, index: IndexMeta, primary_key: PrimaryKey, columns: dict | None):
    """(encoded index key, copied cells) of a row of the index's table, or None: no row, or a row
    missing an index column (稀疏索引). Cells keep the row's timestamps."""
    if columns is None:
        return None
    values = dict(primary_key)
    key = []
    for column in index_table.schema:
        name = column.name
        if name in values:
            key.append((name, values[name]))
            continue
        cell = columns.get(name)
        if cell is None:
            return None
        key.append((name, cell[0]))
    return encode_key(key), {name: columns[name] for name in index.defined_columns if name in columns}


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
