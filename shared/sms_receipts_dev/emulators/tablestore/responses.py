"""Wire layer: decode a request body (protobuf with PlainBuffer rows), call the model, encode the reply.

Reuses the SDK's protobuf modules and PlainBuffer codec. Rows are read by `plainbuffer.read_put_row`, a
fast reader for the common shape (PutRow rows), which leaves every other row, and every row it finds
invalid, to `RowChangeReader`: the answer is the same either way. Both check every checksum with the
SDK's own CRC-8. The SDK's PlainBuffer *reader* (6.4.8) is written for the client direction, so
`RowChangeReader` changes it where it reads what the client writes:
- `read_column` references an undefined `cell_type` when a cell carries an operation tag (only UpdateRow
  writes one, which the emulator does not implement): such a cell is refused.
- `read_primary_key_value` rejects INF_MIN and INF_MAX (needed for GetRange).

AddDefinedColumn is not in the SDK's `table_store.proto` (6.4.8): its messages are built here from the
API reference's definition (`_add_defined_column_messages`).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tablestore.const_module as const
import tablestore.plainbuffer.plain_buffer_consts  # noqa: F401  (defines the tag constants on `const`)
import tablestore.protobuf.table_store_filter_pb2 as filter_pb2
import tablestore.protobuf.table_store_pb2 as pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from tablestore.error import OTSClientError
from tablestore.metadata import INF_MAX, INF_MIN
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.plainbuffer.plain_buffer_coded_stream import PlainBufferCodedInputStream
from tablestore.plainbuffer.plain_buffer_crc8 import PlainBufferCrc8
from tablestore.plainbuffer.plain_buffer_stream import PlainBufferInputStream

from .exceptions import ParameterInvalid, TablestoreError, UnsupportedOperation
from .models import (
    Cell,
    ColumnCheck,
    CompositeCheck,
    Condition,
    IndexMeta,
    PrimaryKeyColumn,
    ReadOptions,
    RowChange,
    RowView,
    TableSettings,
    TablestoreState,
)
from .plainbuffer import ORACLE_EVERY, read_put_row

_rows = itertools.count()  # rows read, for the SDK reader's share (plainbuffer.ORACLE_EVERY)

_PK_SENTINELS = {const.VT_INF_MIN: INF_MIN, const.VT_INF_MAX: INF_MAX}
_PK_TYPE_NAMES = {pb2.INTEGER: "INTEGER", pb2.STRING: "STRING", pb2.BINARY: "BINARY", pb2.PK_BOOLEAN: "BOOLEAN"}
_WRITE_KINDS = {pb2.PUT: "put", pb2.DELETE: "delete"}
# Enum names by value, as `Name()` gives them (prefix cut): looked up for every row's condition.
_EXPECTATIONS = {value: pb2.RowExistenceExpectation.Name(value) for value in pb2.RowExistenceExpectation.values()}
_COMPARATORS = {
    value: filter_pb2.ComparatorType.Name(value)[len("CT_") :] for value in filter_pb2.ComparatorType.values()
}
_OPERATORS = {
    value: filter_pb2.LogicalOperator.Name(value)[len("LO_") :] for value in filter_pb2.LogicalOperator.values()
}


def _defined_type(value: int) -> str:
    """A DefinedColumnType as the model names types (DCT_BLOB is BINARY)."""
    name = pb2.DefinedColumnType.Name(value)[len("DCT_") :]
    return "BINARY" if name == "BLOB" else name


_DEFINED_TYPE_VALUES = {"INTEGER": pb2.DCT_INTEGER, "DOUBLE": pb2.DCT_DOUBLE, "BOOLEAN": pb2.DCT_BOOLEAN}
_DEFINED_TYPE_VALUES.update(STRING=pb2.DCT_STRING, BINARY=pb2.DCT_BLOB)
_PK_TYPE_VALUES = {"INTEGER": pb2.INTEGER, "STRING": pb2.STRING, "BINARY": pb2.BINARY}


def _add_defined_column_messages() -> tuple[type[Message], type[Message]]:
    """AddDefinedColumnRequest and AddDefinedColumnResponse as the API reference defines them
    (https://help.aliyun.com/zh/tablestore/developer-reference/adddefinedcolumn):
    `{required string table_name = 1; repeated DefinedColumnSchema columns = 2;}` and `{}`, in a pool
    of their own next to the SDK's `table_store.proto` (which has DefinedColumnSchema, not them)."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(pb2.DESCRIPTOR.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(
        name="sms_receipts_dev/add_defined_column.proto",
        package=pb2.DESCRIPTOR.package,
        syntax="proto2",
        dependency=[pb2.DESCRIPTOR.name],
    )
    request = file.message_type.add(name="AddDefinedColumnRequest")
    field = descriptor_pb2.FieldDescriptorProto
    request.field.add(name="table_name", number=1, type=field.TYPE_STRING, label=field.LABEL_REQUIRED)
    request.field.add(
        name="columns",
        number=2,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_REPEATED,
        type_name=f".{pb2.DESCRIPTOR.package}.DefinedColumnSchema",
    )
    file.message_type.add(name="AddDefinedColumnResponse")
    pool.AddSerializedFile(file.SerializeToString())
    package = pb2.DESCRIPTOR.package
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in ("AddDefinedColumnRequest", "AddDefinedColumnResponse")
    )


AddDefinedColumnRequest, AddDefinedColumnResponse = _add_defined_column_messages()


def _index_meta(message: Message) -> IndexMeta:
    """An IndexMeta of CreateTable or CreateIndex: global ones only."""
    if message.index_type != pb2.IT_GLOBAL_INDEX:
        raise UnsupportedOperation("Local secondary indexes are not supported by the emulator.")
    if message.index_update_mode != pb2.IUM_ASYNC_INDEX:
        # "使用全局二级索引时,索引更新模式必须设置为异步更新" (https://help.aliyun.com/document_detail/117829.htm)
        raise ParameterInvalid("A global secondary index is updated asynchronously (IUM_ASYNC_INDEX).")
    return IndexMeta(message.name, tuple(message.primary_key), tuple(message.defined_column))


def _enum_name(names: dict[int, str], enum: Any, value: int, prefix: str = "") -> str:
    """`enum.Name(value)` without `prefix`, from `names`; for an unknown value `Name()` raises ValueError."""
    name = names.get(value)
    return name if name is not None else enum.Name(value)[len(prefix) :]


class RowChangeReader(PlainBufferCodedInputStream):
    """The SDK's PlainBuffer reader, fixed to read rows and row changes as the server sees them."""

    def __init__(self, data: bytes):
        super().__init__(PlainBufferInputStream(bytes(data)))

    def read_primary_key_value(self, cell_check_sum):
        stream = self.input_stream
        start = stream.cur_pos
        stream.read_raw_little_endian32()
        value_type = ord(stream.read_raw_byte())
        if value_type not in _PK_SENTINELS:
            stream.cur_pos = start  # an ordinary value: let the SDK read it
            return super().read_primary_key_value(cell_check_sum)
        stream.read_tag()
        return _PK_SENTINELS[value_type], PlainBufferCrc8.crc_int8(cell_check_sum, value_type)

    def read_cell(self, row_check_sum: int) -> tuple[Cell, int]:
        stream = self.input_stream
        stream.read_tag()
        if stream.last_tag != const.TAG_CELL_NAME:
            raise OTSClientError("expected a cell name")
        name = stream.read_utf_string(stream.read_raw_little_endian32())
        cell_check_sum = PlainBufferCrc8.crc_string(0, name)
        stream.read_tag()
        value = timestamp = None
        if stream.last_tag == const.TAG_CELL_VALUE:
            value, cell_check_sum = self.read_column_value(cell_check_sum)
        if stream.last_tag == const.TAG_CELL_TYPE:
            raise OTSClientError(f"column '{name}' carries a cell operation, which only UpdateRow sends")
        if stream.last_tag == const.TAG_CELL_TIMESTAMP:
            timestamp = stream.read_int64()
            cell_check_sum = PlainBufferCrc8.crc_int64(cell_check_sum, timestamp)
            stream.read_tag()
        if stream.last_tag != const.TAG_CELL_CHECKSUM or ord(stream.read_raw_byte()) != cell_check_sum:
            raise OTSClientError(f"cell checksum mismatch in column '{name}'")
        stream.read_tag()
        cell = Cell(name, value, timestamp)
        return cell, PlainBufferCrc8.crc_int8(row_check_sum, cell_check_sum)

    def read_row_change(self) -> tuple[list, list[Cell]]:
        """(primary key, cells) of one PlainBuffer row, checksums verified."""
        stream = self.input_stream
        if self.read_header() != const.HEADER:
            raise OTSClientError("invalid PlainBuffer header")
        stream.read_tag()
        if stream.last_tag != const.TAG_ROW_PK:
            raise OTSClientError("expected the primary key")
        stream.read_tag()
        row_check_sum, primary_key, cells = 0, [], []
        while stream.last_tag == const.TAG_CELL:
            name, value, row_check_sum = self.read_primary_key_column(row_check_sum)
            primary_key.append((name, value))
        if stream.last_tag == const.TAG_ROW_DATA:
            stream.read_tag()
            while stream.last_tag == const.TAG_CELL:
                cell, row_check_sum = self.read_cell(row_check_sum)
                cells.append(cell)
        deleted = stream.last_tag == const.TAG_DELETE_ROW_MARKER
        if deleted:
            stream.read_tag()
        row_check_sum = PlainBufferCrc8.crc_int8(row_check_sum, 1 if deleted else 0)
        if stream.last_tag != const.TAG_ROW_CHECKSUM or ord(stream.read_raw_byte()) != row_check_sum:
            raise OTSClientError("row checksum mismatch")
        return primary_key, cells


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """Turn any failure to parse the request into the service's OTSParameterInvalid."""
    try:
        yield
    except TablestoreError:
        raise
    except DecodeError:
        raise ParameterInvalid("Failed to parse the ProtoBuf message.") from None
    except (OTSClientError, struct.error, UnicodeDecodeError, ValueError, IndexError, TypeError) as error:
        detail = getattr(error, "message", None) or str(error)
        raise ParameterInvalid(f"Failed to parse the {what}: {detail}.") from None


def _parse(message_class: type[Message], body: bytes) -> Message:
    with _decoding("ProtoBuf message"):
        message = message_class()
        message.ParseFromString(body)
        return message


def _read_row(data: bytes) -> tuple[list, list[Cell]]:
    # The common shape, fast; None leaves the row to RowChangeReader, and so does every ORACLE_EVERY-th row.
    row = None if next(_rows) % ORACLE_EVERY == 0 else read_put_row(data)
    if row is not None:
        return row
    with _decoding("PlainBuffer row"):
        return RowChangeReader(data).read_row_change()


def _read_primary_key(data: bytes) -> list:
    primary_key, cells = _read_row(data)
    if cells:
        raise ParameterInvalid("A primary key must not carry attribute columns.")
    return primary_key


def _decode_variant(data: bytes):
    """A bare PlainBuffer value (type byte, then the value), as in SingleColumnValueFilter.column_value."""
    with _decoding("condition value"):
        value_type = data[0]
        if value_type == const.VT_INTEGER:
            return struct.unpack_from("<q", data, 1)[0]
        if value_type == const.VT_DOUBLE:
            return struct.unpack_from("<d", data, 1)[0]
        if value_type == const.VT_BOOLEAN:
            return data[1] != 0
        if value_type in (const.VT_STRING, const.VT_BLOB):
            (size,) = struct.unpack_from("<i", data, 1)
            raw = data[5 : 5 + size]
            if len(raw) != size:
                raise ValueError("value shorter than its length")
            return raw.decode("utf-8") if value_type == const.VT_STRING else bytearray(raw)
        raise ValueError(f"unsupported value type {value_type}")


def _decode_filter(message: filter_pb2.Filter) -> ColumnCheck | CompositeCheck:
    if message.type == filter_pb2.FT_SINGLE_COLUMN_VALUE:
        single = _parse(filter_pb2.SingleColumnValueFilter, message.filter)
        if single.HasField("value_trans_rule"):
            raise UnsupportedOperation("Regex column conditions are not supported by the emulator.")
        comparator = _enum_name(_COMPARATORS, filter_pb2.ComparatorType, single.comparator, "CT_")
        value = None if comparator in ("EXIST", "NOT_EXIST") else _decode_variant(single.column_value)
        return ColumnCheck(single.column_name, comparator, value, not single.filter_if_missing)
    if message.type == filter_pb2.FT_COMPOSITE_COLUMN_VALUE:
        composite = _parse(filter_pb2.CompositeColumnValueFilter, message.filter)
        operator = _enum_name(_OPERATORS, filter_pb2.LogicalOperator, composite.combinator, "LO_")
        return CompositeCheck(operator, tuple(_decode_filter(sub) for sub in composite.sub_filters))
    raise UnsupportedOperation("Column pagination filters are not supported by the emulator.")


def _decode_column_check(data: bytes) -> ColumnCheck | CompositeCheck | None:
    return _decode_filter(_parse(filter_pb2.Filter, data)) if data else None


def _decode_condition(message: pb2.Condition) -> Condition:
    return Condition(
        _enum_name(_EXPECTATIONS, pb2.RowExistenceExpectation, message.row_existence),
        _decode_column_check(message.column_condition),
    )


def _reject_return_content(message: Message) -> None:
    if not message.HasField("return_content"):
        return
    if message.return_content.return_type != pb2.RT_NONE or message.return_content.return_column_names:
        raise UnsupportedOperation("Only ReturnType RT_NONE is supported by the emulator.")


def _reject_unsupported_fields(message: Message, *fields: str) -> None:
    for name in fields:
        if getattr(message, name):  # set and non-empty: encoders may send empty optional fields
            raise UnsupportedOperation(f"The request field '{name}' is not supported by the emulator.")


def _read_options(message: Message) -> ReadOptions:
    _reject_unsupported_fields(message, "start_column", "end_column")
    time_range = None
    if message.HasField("time_range"):
        spec = message.time_range
        if spec.HasField("specific_time"):
            time_range = (spec.specific_time, spec.specific_time + 1)
        else:
            time_range = (spec.start_time, spec.end_time)
    return ReadOptions(tuple(message.columns_to_get), _decode_column_check(message.filter), time_range)


def _row_change(kind: str, row_bytes: bytes, condition: pb2.Condition, message: Message) -> RowChange:
    _reject_return_content(message)
    primary_key, cells = _read_row(row_bytes)
    return RowChange(kind, primary_key, cells, _decode_condition(condition), len(row_bytes))


def encode_row(row: RowView) -> bytes:
    return bytes(PlainBufferBuilder.serialize_for_put_row(row.primary_key, row.columns))


def encode_rows(rows: list[RowView]) -> bytes:
    """GetRange's row list: one PlainBuffer header, then each row without its own header."""
    if not rows:
        return b""
    header_size = const.LITTLE_ENDIAN_32_SIZE
    encoded = [encode_row(row) for row in rows]
    return encoded[0] + b"".join(chunk[header_size:] for chunk in encoded[1:])


def encode_primary_key(primary_key: list | None) -> bytes:
    return bytes(PlainBufferBuilder.serialize_primary_key(primary_key)) if primary_key else b""


def _write_kind(row: Message) -> str:
    kind = _WRITE_KINDS.get(row.type)
    if kind is None:
        raise UnsupportedOperation("UpdateRow in BatchWriteRow is not supported by the emulator.")
    return kind


def _set_consumed(message: Message, read: int = 0, write: int = 0) -> None:
    message.consumed.capacity_unit.read = read
    message.consumed.capacity_unit.write = write


class TablestoreResponses:
    """One method per API: request body bytes in, protobuf reply message out; errors are raised."""

    def __init__(self, state: TablestoreState):
        self.state = state

    # ---- tables ---------------------------------------------------------------------------------

    def create_table(self, body: bytes) -> Message:
        request = _parse(pb2.CreateTableRequest, body)
        if request.partitions:
            raise UnsupportedOperation("Pre-split partitions are not supported by the emulator.")
        meta, options = request.table_meta, request.table_options
        if any(column.HasField("option") for column in meta.primary_key):
            raise UnsupportedOperation("Auto-increment primary keys are not supported by the emulator.")
        schema = [PrimaryKeyColumn(c.name, _PK_TYPE_NAMES.get(c.type, str(c.type))) for c in meta.primary_key]
        settings = TableSettings(
            time_to_live=options.time_to_live if options.HasField("time_to_live") else -1,
            max_versions=options.max_versions if options.HasField("max_versions") else 1,
            max_time_deviation=(
                options.deviation_cell_version_in_sec if options.HasField("deviation_cell_version_in_sec") else 86400
            ),
            allow_update=options.allow_update if options.HasField("allow_update") else True,
        )
        capacity = request.reserved_throughput.capacity_unit
        if not (capacity.HasField("read") and capacity.HasField("write")):
            raise ParameterInvalid("Both read and write capacity unit are required to create table.")
        defined = [(column.name, _defined_type(column.type)) for column in meta.defined_column]
        indexes = [_index_meta(index) for index in request.index_metas]
        self.state.create_table(meta.table_name, schema, defined, settings, (capacity.read, capacity.write), indexes)
        return pb2.CreateTableResponse()

    def list_table(self, body: bytes) -> Message:
        _parse(pb2.ListTableRequest, body)
        return pb2.ListTableResponse(table_names=self.state.list_tables())

    def describe_table(self, body: bytes) -> Message:
        request = _parse(pb2.DescribeTableRequest, body)
        table, indexes = self.state.describe_table(request.table_name)
        reply = pb2.DescribeTableResponse()
        reply.table_meta.table_name = table.name
        for column in table.schema:
            reply.table_meta.primary_key.add(name=column.name, type=_PK_TYPE_VALUES[column.type])
        for name, kind in table.defined_columns:
            reply.table_meta.defined_column.add(name=name, type=_DEFINED_TYPE_VALUES[kind])
        details = reply.reserved_throughput_details
        details.capacity_unit.read, details.capacity_unit.write = table.reserved
        details.last_increase_time = int(table.created_at)
        options = reply.table_options
        options.time_to_live = table.settings.time_to_live
        options.max_versions = table.settings.max_versions
        options.deviation_cell_version_in_sec = table.settings.max_time_deviation
        options.allow_update = table.settings.allow_update
        for index in indexes:  # its whole key, completed by the table's [inferred: what the service lists]
            reply.index_metas.add(
                name=index.name,
                primary_key=[column.name for column in index.schema],
                defined_column=[name for name, _ in index.defined_columns],
                index_update_mode=pb2.IUM_ASYNC_INDEX,
                index_type=pb2.IT_GLOBAL_INDEX,
            )
        return reply

    def add_defined_column(self, body: bytes) -> Message:
        request = _parse(AddDefinedColumnRequest, body)
        columns = [(column.name, _defined_type(column.type)) for column in request.columns]
        self.state.add_defined_columns(request.table_name, columns)
        return AddDefinedColumnResponse()

    def create_index(self, body: bytes) -> Message:
        request = _parse(pb2.CreateIndexRequest, body)
        include = request.include_base_data if request.HasField("include_base_data") else False
        self.state.create_index(request.main_table_name, _index_meta(request.index_meta), include)
        return pb2.CreateIndexResponse()

    # ---- single rows ----------------------------------------------------------------------------

    def get_row(self, body: bytes) -> Message:
        request = _parse(pb2.GetRowRequest, body)
        _reject_unsupported_fields(request, "transaction_id", "token")
        row, read_cu = self.state.get_row(
            request.table_name, _read_primary_key(request.primary_key), _read_options(request)
        )
        reply = pb2.GetRowResponse(row=encode_row(row) if row else b"")
        _set_consumed(reply, read=read_cu)
        return reply

    def put_row(self, body: bytes) -> Message:
        request = _parse(pb2.PutRowRequest, body)
        return self._write(request, _row_change("put", request.row, request.condition, request), pb2.PutRowResponse())

    def delete_row(self, body: bytes) -> Message:
        request = _parse(pb2.DeleteRowRequest, body)
        return self._write(
            request, _row_change("delete", request.primary_key, request.condition, request), pb2.DeleteRowResponse()
        )

    def _write(self, request: Message, change: RowChange, reply: Message) -> Message:
        _reject_unsupported_fields(request, "transaction_id")
        result = self.state.write_row(request.table_name, change)
        _set_consumed(reply, result.read_cu, result.write_cu)
        return reply

    # ---- batches and ranges ---------------------------------------------------------------------

    def batch_get_row(self, body: bytes) -> Message:
        request = _parse(pb2.BatchGetRowRequest, body)
        items = []
        for table in request.tables:
            _reject_unsupported_fields(table, "token")
            items.append((table.table_name, [_read_primary_key(pk) for pk in table.primary_key], _read_options(table)))
        reply = pb2.BatchGetRowResponse()
        for (table_name, _, _), results in zip(items, self.state.batch_get(items), strict=True):
            table_reply = reply.tables.add(table_name=table_name)
            for row, read_cu in results:
                row_reply = table_reply.rows.add(is_ok=True, row=encode_row(row) if row else b"")
                _set_consumed(row_reply, read=read_cu)
        return reply

    def batch_write_row(self, body: bytes) -> Message:
        request = _parse(pb2.BatchWriteRowRequest, body)
        _reject_unsupported_fields(request, "transaction_id")
        items = [
            (
                table.table_name,
                [_row_change(_write_kind(row), row.row_change, row.condition, row) for row in table.rows],
            )
            for table in request.tables
        ]
        reply = pb2.BatchWriteRowResponse()
        for (table_name, _), results in zip(items, self.state.batch_write(items), strict=True):
            table_reply = reply.tables.add(table_name=table_name)
            for result in results:
                if isinstance(result, TablestoreError):
                    error = pb2.Error(code=result.code, message=result.message)
                    table_reply.rows.add(is_ok=False, error=error)
                    continue
                row_reply = table_reply.rows.add(is_ok=True)
                _set_consumed(row_reply, result.read_cu, result.write_cu)
        return reply

    def get_range(self, body: bytes) -> Message:
        request = _parse(pb2.GetRangeRequest, body)
        _reject_unsupported_fields(request, "transaction_id", "token")
        result = self.state.get_range(
            request.table_name,
            request.direction == pb2.FORWARD,
            _read_primary_key(request.inclusive_start_primary_key),
            _read_primary_key(request.exclusive_end_primary_key),
            request.limit if request.HasField("limit") else None,
            _read_options(request),
        )
        reply = pb2.GetRangeResponse(
            rows=encode_rows(result.rows), next_start_primary_key=encode_primary_key(result.next_start_primary_key)
        )
        _set_consumed(reply, read=result.read_cu)
        return reply
