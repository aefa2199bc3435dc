"""A fast reader for the common shape of a PlainBuffer row change: what PutRow writes.

`responses.RowChangeReader` (the SDK's reader) makes a Python call per tag, length and byte; this one
stays because it shortens the HTTP push benchmark by well over 5% (figures in BENCHMARKS.md).
It reads the same rows with `struct` and slices, and checks every checksum with the public CRC-8
(`sms_receipts.storage.crc8`, the writer's too). So that a bug the two share cannot pass unseen, the
first row and every `ORACLE_EVERY`-th after it go to `RowChangeReader` instead (`responses.py` sends
them there), which checks them
with the SDK's own CRC-8 (`PlainBufferCrc8`): an independent oracle on a fixed share of all rows.

It handles exactly this shape:

    header(i32 0x75) TAG_ROW_PK cell* [TAG_ROW_DATA cell*] TAG_ROW_CHECKSUM crc8
    cell = TAG_CELL TAG_CELL_NAME i32 name TAG_CELL_VALUE i32 value [TAG_CELL_TIMESTAMP i64]
           TAG_CELL_CHECKSUM crc8

with primary-key values INTEGER, STRING, BINARY or BOOLEAN and attribute values of those types or
DOUBLE. For anything else (INF_MIN / INF_MAX keys, a delete-row marker, a bad checksum, a truncated or
malformed row) it returns None, and the caller reads the row with `RowChangeReader`, which then
accepts or rejects it. So whenever it answers, it answers what `RowChangeReader.read_row_change`
returns (the value length after TAG_CELL_VALUE is skipped, not checked, and bytes after the row
checksum are ignored, as there).

Short attribute cells recur from row to row (status, source, flags...): each one read in full is
remembered by its exact bytes, checksum byte included, and a later cell with the very same bytes is
taken from there. Same bytes, same reading; BINARY values are not remembered, so no two readers share
a `bytearray`.

Checksums: a cell's is the CRC-8 of its name bytes, then of its value's bytes as written from the type
byte on (a BOOLEAN counts as 0 or 1, so only those two bytes are accepted here), then of the timestamp's
8 bytes; the row's is the CRC-8 of the cell checksums, then of 0 (no delete marker).
"""

from __future__ import annotations

import struct

from sms_receipts.storage.crc8 import crc8

from .models import Cell

__all__ = ["ORACLE_EVERY", "read_put_row"]

ORACLE_EVERY = 256  # rows: one in this many (the first included) is read and checked by the SDK's reader


def _crc(crc: int, data: bytes | bytearray) -> int:
    return crc8(data, crc)


_HEADER = b"\x75\x00\x00\x00\x01"  # i32 0x75, TAG_ROW_PK
_TAG_ROW_DATA, _TAG_CELL, _TAG_CELL_NAME, _TAG_CELL_VALUE = 0x02, 0x03, 0x04, 0x05
_TAG_CELL_TIMESTAMP, _TAG_ROW_CHECKSUM, _TAG_CELL_CHECKSUM = 0x07, 0x09, 0x0A
_VT_INTEGER, _VT_DOUBLE, _VT_BOOLEAN, _VT_STRING, _VT_BLOB = 0x0, 0x1, 0x2, 0x3, 0x7
_unpack_i32 = struct.Struct("<i").unpack_from
_unpack_i64 = struct.Struct("<q").unpack_from
_unpack_f64 = struct.Struct("<d").unpack_from
_names: dict[bytes, tuple[str, int]] = {}  # raw name -> (name, crc of the name)
_NAMES_MAX = 4096


class _NotHandled(Exception):
    pass


def _name(raw: bytes) -> tuple[str, int]:
    entry = _names.get(raw)
    if entry is None:
        entry = (raw.decode("utf-8"), _crc(0, raw))
        if len(_names) >= _NAMES_MAX:
            _names.clear()
        _names[raw] = entry
    return entry


_cells: dict[bytes, tuple[str, object, int]] = {}  # whole cell bytes -> (name, value, checksum)
_CELL_CACHE_BYTES = 128
_CELLS_MAX = 4096


def _remember(cell: bytes, name: str, value: object, crc: int) -> None:
    """Keep a short cell (status, source, flags...) whose value is immutable, to skip reading it again."""
    if type(value) is bytearray:
        return  # each reader gets its own BINARY value
    if len(_cells) >= _CELLS_MAX:
        _cells.clear()
    _cells[cell] = (name, value, crc)


def read_put_row(data: bytes) -> tuple[list, list[Cell]] | None:
    """(primary key, cells) as `RowChangeReader(data).read_row_change()` returns them, or None when
    the row is not of the shape read here (or is invalid): then that reader must decide."""
    try:
        return _read(data)
    except Exception:  # noqa: BLE001 - _NotHandled, or a malformed row: the SDK's reader decides
        return None


def _read(data: bytes) -> tuple[list, list[Cell]]:  # noqa: C901 - the format's grammar, one branch per tag
    if type(data) is not bytes:
        data = bytes(data)
    if data[:5] != _HEADER:
        raise _NotHandled
    n = len(data)
    names, unpack_i32 = _names, _unpack_i32
    primary_key: list = []
    cell_crcs = bytearray()
    add_crc = cell_crcs.append
    pos = 5
    while data[pos] == _TAG_CELL:  # primary-key cells: no timestamp, no DOUBLE
        (size,) = unpack_i32(data, pos + 2)
        start = pos + 6
        end = start + size
        if data[pos + 1] != _TAG_CELL_NAME or size < 0 or end > n or data[end] != _TAG_CELL_VALUE:
            raise _NotHandled
        raw = data[start:end]
        entry = names.get(raw) or _name(raw)
        start = end + 5  # the type byte: the checksum covers the value from here
        if data[start] == _VT_STRING:
            (size,) = unpack_i32(data, start + 1)
            end = start + 5 + size
            if size < 0 or end > n:
                raise _NotHandled
            value = data[start + 5 : end].decode("utf-8")
        else:
            value, end = _value(data, start, n)
            if type(value) is float:
                raise _NotHandled
        crc = _crc(entry[1], data[start:end])
        if data[end] != _TAG_CELL_CHECKSUM or data[end + 1] != crc:
            raise _NotHandled
        pos = end + 2
        add_crc(crc)
        primary_key.append((entry[0], value))
    cells: list[Cell] = []
    if data[pos] == _TAG_ROW_DATA:
        pos += 1
        add_cell = cells.append
        seen, remember = _cells.get, _remember
        while data[pos] == _TAG_CELL:
            (size,) = unpack_i32(data, pos + 2)
            start = pos + 6
            end = start + size
            if data[pos + 1] != _TAG_CELL_NAME or size < 0 or end > n or data[end] != _TAG_CELL_VALUE:
                raise _NotHandled
            # A cell byte for byte equal to one read before reads the same: skip to its end.
            stop = end + 7 + unpack_i32(data, end + 1)[0]  # if no timestamp and the value length is right
            known = seen(data[pos:stop])
            if known is not None:
                name, value, crc = known
                pos = stop
                add_crc(crc)
                add_cell(Cell(name, value, None))
                continue
            cell_start = pos
            raw = data[start:end]
            name, crc = names.get(raw) or _name(raw)
            start = end + 5
            value_type = data[start]
            if value_type == _VT_STRING:  # STRING and INTEGER inlined: nearly every value is one of them
                (size,) = unpack_i32(data, start + 1)
                end = start + 5 + size
                if size < 0 or end > n:
                    raise _NotHandled
                value = data[start + 5 : end].decode("utf-8")
                crc = _crc(crc, data[start:end])
            elif value_type == _VT_INTEGER:
                (value,) = _unpack_i64(data, start + 1)
                end = start + 9
                crc = _crc(crc, data[start:end])
            else:
                value, end = _value(data, start, n)
                crc = _crc(crc, data[start:end])
            if data[end] == _TAG_CELL_TIMESTAMP:
                (timestamp,) = _unpack_i64(data, end + 1)
                crc = _crc(crc, data[end + 1 : end + 9])
                end += 9
            else:
                timestamp = None
            if data[end] != _TAG_CELL_CHECKSUM or data[end + 1] != crc:
                raise _NotHandled  # a cell operation, a bad checksum...
            pos = end + 2
            add_crc(crc)
            add_cell(Cell(name, value, timestamp))
            if pos == stop and timestamp is None and pos - cell_start <= _CELL_CACHE_BYTES:
                remember(data[cell_start:pos], name, value, crc)
    if data[pos] != _TAG_ROW_CHECKSUM:  # a delete marker, or anything else
        raise _NotHandled
    add_crc(0)  # no delete marker
    if data[pos + 1] != _crc(0, cell_crcs):
        raise _NotHandled
    return primary_key, cells


def _value(data: bytes, start: int, n: int) -> tuple[object, int]:
    """(value, end) of the value whose type byte is at `start`."""
    value_type = data[start]
    if value_type in (_VT_STRING, _VT_BLOB):
        (size,) = _unpack_i32(data, start + 1)
        end = start + 5 + size
        if size < 0 or end > n:
            raise _NotHandled
        raw = data[start + 5 : end]
        return (raw.decode("utf-8") if value_type == _VT_STRING else bytearray(raw)), end
    if value_type == _VT_INTEGER:
        return _unpack_i64(data, start + 1)[0], start + 9
    if value_type == _VT_BOOLEAN:
        flag = data[start + 1]
        if flag > 1:  # the SDK reads any non-zero byte as True but checksums it as 1
            raise _NotHandled
        return flag == 1, start + 2
    if value_type == _VT_DOUBLE:
        return _unpack_f64(data, start + 1)[0], start + 9
    raise _NotHandled  # INF_MIN, INF_MAX, AUTO_INCREMENT, or a type the SDK rejects
