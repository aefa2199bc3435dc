"""Fast PlainBuffer encoding of PutRow rows, byte for byte what the `tablestore` SDK writes.

On CPython 3.10 the SDK's native codec does not load, and its pure-Python PlainBuffer writer makes
one method call per tag, length and byte, and runs a Python loop per byte for the CRC-8 checksums,
slow enough to show in a push's latency (BENCHMARKS.md has the figures). `serialize_for_put_row`
here produces the same bytes from a few `struct` packs and one `b"".join` per row, and computes the
checksums with the tricks below.

The format (SDK 6.4.8, `plain_buffer_coded_stream.py`), all integers little-endian:

    row     = header(i32 0x75) TAG_ROW_PK cell* [TAG_ROW_DATA cell*] TAG_ROW_CHECKSUM crc8
    cell    = TAG_CELL TAG_CELL_NAME i32(len(name)) name TAG_CELL_VALUE i32(len(value)) value
              [TAG_CELL_TIMESTAMP i64] TAG_CELL_CHECKSUM crc8
    value   = VT_INTEGER i64 | VT_DOUBLE f64 | VT_BOOLEAN u8 | VT_STRING i32 bytes | VT_BLOB i32 bytes

A cell's checksum is the CRC-8 of its name bytes, then of its `value` bytes exactly as written, then of
its timestamp's 8 bytes; the row checksum is the CRC-8 of the cells' checksums, then of a 0 byte (the
row carries no delete marker). So each checksum is a CRC over whole byte strings that are written
anyway, and per-byte Python work is left only inside `crc8`.

The CRC-8 is `storage.crc8` (its docstring has the tricks).

`install_fast_put_row_serializer()` makes the SDK use it (see there for the seam); the composition
root (`storage.factory.Storage`) calls it once, and only on the SDK version the bytes were verified
against. A row the fast path does not write (`_Unsupported`: a type it does not handle, or a value the
SDK rejects) goes to the SDK's own serializer, which then answers or raises exactly as without this
module; `fallbacks()` counts those rows, and the push log lines carry the count.
"""

from __future__ import annotations

import logging
import struct
import threading
from collections.abc import Callable
from importlib import metadata
from typing import Any

from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder

from .crc8 import TABLE, TWO_BYTE_TABLE, WORDS, crc8

__all__ = [
    "VERIFIED_SDK_VERSION",
    "fallbacks",
    "install_fast_put_row_serializer",
    "is_installed",
    "sdk_serialize_column_value",
    "sdk_serialize_for_put_row",
    "serialize_column_value",
    "serialize_for_put_row",
]

log = logging.getLogger(__name__)

# The `tablestore` release whose PlainBuffer bytes tests/functional/storage/test_plainbuffer.py compares against
# (requirements.txt pins it). Any other release keeps its own serializer until the tests are rerun on it.
VERIFIED_SDK_VERSION = "6.4.8"

# ---- PutRow rows ---------------------------------------------------------------------------------

sdk_serialize_for_put_row: Callable[[Any, Any], bytearray] = getattr(
    PlainBufferBuilder.serialize_for_put_row, "sdk_serialize_for_put_row", PlainBufferBuilder.serialize_for_put_row
)  # the SDK's own, even if this module is imported again after installing

_ROW_START = b"\x75\x00\x00\x00\x01"  # header 0x75, TAG_ROW_PK
_ROW_DATA = b"\x02"
_CELL_CHECKSUM = tuple(bytes((0x0A, c)) for c in range(256))  # TAG_CELL_CHECKSUM, crc
_ROW_CHECKSUM = tuple(bytes((0x09, c)) for c in range(256))  # TAG_ROW_CHECKSUM, crc
_BOOL_VALUES = {False: b"\x02\x00\x00\x00\x02\x00", True: b"\x02\x00\x00\x00\x02\x01"}  # i32 2, VT_BOOLEAN, u8
_pack_i32 = struct.Struct("<i").pack
_pack_head = struct.Struct("<iBi").pack  # i32 len(value), VT_STRING or VT_BLOB, i32 len(bytes)
_pack_integer = struct.Struct("<iBq").pack  # i32 9, VT_INTEGER, i64
_pack_double = struct.Struct("<iBd").pack  # i32 9, VT_DOUBLE, f64
_pack_timestamp = struct.Struct("<Bq").pack  # TAG_CELL_TIMESTAMP, i64

_names: dict[str, tuple[bytes, int]] = {}  # name -> (TAG_CELL .. TAG_CELL_VALUE, crc of the name)
_cells: dict[tuple, tuple[bytes, int]] = {}  # (name, short str) or (name, bool) -> (cell up to checksum, crc)
_CACHE_MAX = 4096  # entries per cache; a full cache is emptied (plain dict operations: thread-safe)
_CACHED_STR_MAX = 64


class _Unsupported(Exception):
    """An input the fast path does not write; the SDK's serializer takes it."""


class _FallbackCounter:
    """Rows (and condition values) handed to the SDK's serializer since the process started."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:  # rare (a normal receipt row never falls back): a lock costs nothing here
            self.value += 1


_fallbacks = _FallbackCounter()


def fallbacks() -> int:
    """How many rows and condition values went to the SDK's own serializer in this process so far."""
    return _fallbacks.value


def _name(name: Any) -> tuple[bytes, int]:
    entry = _names.get(name) if type(name) is str else None  # (an unhashable name must not raise here)
    if entry is None:
        # The SDK writes len(name) in characters, so only ASCII names are written the same way here.
        if type(name) is not str or not name.isascii():
            raise _Unsupported
        raw = name.encode("ascii")
        entry = (b"\x03\x04" + _pack_i32(len(raw)) + raw + b"\x05", crc8(raw))
        if len(_names) >= _CACHE_MAX:
            _names.clear()
        _names[name] = entry
    return entry


def _remember(key: tuple, cell: tuple[bytes, int]) -> None:
    if len(_cells) >= _CACHE_MAX:
        _cells.clear()
    _cells[key] = cell


def _cell(name: Any, value: Any) -> tuple[bytes, int]:
    """(cell bytes up to its checksum, checksum so far) for one (name, value)."""
    kind = type(value)
    if kind is str:
        key = (name, value)
        cached = _cells.get(key) if len(value) <= _CACHED_STR_MAX and type(name) is str else None
        if cached is not None:
            return cached
        prefix, crc = _name(name)
        raw = value.encode("utf-8")
        head = _pack_head(len(raw) + 5, 3, len(raw))
        cell = (prefix + head + raw, crc8(head[4:] + raw, crc))
        if len(value) <= _CACHED_STR_MAX:
            _remember(key, cell)
        return cell
    if kind is int:
        prefix, crc = _name(name)
        encoded = _pack_integer(9, 0, value)  # struct.error beyond int64: see _serialize
        return prefix + encoded, crc8(encoded[4:], crc)
    if kind is bool:
        key = (name, value)
        cached = _cells.get(key) if type(name) is str else None
        if cached is None:
            prefix, crc = _name(name)
            encoded = _BOOL_VALUES[value]
            cached = (prefix + encoded, crc8(encoded[4:], crc))
            _remember(key, cached)
        return cached
    if kind is bytearray or kind is bytes:  # the SDK writes bytes as STRING, bytearray as BINARY
        prefix, crc = _name(name)
        raw = bytes(value)
        head = _pack_head(len(raw) + 5, 7 if kind is bytearray else 3, len(raw))
        return prefix + head + raw, crc8(head[4:] + raw, crc)
    if kind is float:
        prefix, crc = _name(name)
        encoded = _pack_double(9, 1, value)
        return prefix + encoded, crc8(encoded[4:], crc)
    raise _Unsupported


def _primary_key_cell(name: Any, value: Any) -> tuple[bytes, int]:
    kind = type(value)
    if kind is str or kind is int or kind is bytearray or kind is bytes:  # not bool, not INF_MIN & co.
        return _cell(name, value)
    raise _Unsupported


def _write_row(primary_key: Any, attribute_columns: Any) -> bytearray:  # noqa: C901 - one loop per cell kind, inline
    if type(primary_key) is not list or type(attribute_columns) not in (list, tuple):
        raise _Unsupported
    parts = [_ROW_START]
    append = parts.append
    row_crcs = bytearray()
    add_crc = row_crcs.append
    checksums = _CELL_CHECKSUM
    for column in primary_key:
        if type(column) not in (tuple, list) or len(column) != 2:
            raise _Unsupported
        cell, crc = _primary_key_cell(column[0], column[1])
        append(cell)
        append(checksums[crc])
        add_crc(crc)
    if attribute_columns:
        append(_ROW_DATA)
        names, cells, table, table2, words = _names, _cells, TABLE, TWO_BYTE_TABLE, WORDS[4]
        for column in attribute_columns:
            if type(column) is tuple and len(column) == 2:  # (name, value): the common case, inlined
                name, value = column
                kind = type(value)
                if kind is int and type(name) is str and (known := names.get(name)) is not None:
                    prefix, crc = known
                    encoded = _pack_integer(9, 0, value)  # struct.error beyond int64: see _serialize
                    w0, w1, w2, w3 = words(encoded, 5)
                    crc = table2[table2[table2[table2[table[crc] ^ w0] ^ w1] ^ w2] ^ w3]  # VT_INTEGER is 0
                    append(prefix)
                    append(encoded)
                elif (
                    ((kind is str and len(value) <= _CACHED_STR_MAX) or kind is bool)
                    and type(name) is str
                    and (known := cells.get(column)) is not None
                ):
                    cell, crc = known
                    append(cell)
                else:
                    cell, crc = _cell(name, value)
                    append(cell)
            else:
                if type(column) not in (tuple, list):
                    raise _Unsupported
                size = len(column)
                if size == 2 or (size == 3 and column[2] is None):
                    cell, crc = _cell(column[0], column[1])
                    append(cell)
                elif size == 3 and type(column[2]) is int:
                    cell, crc = _cell(column[0], column[1])
                    timestamp = _pack_timestamp(7, column[2])
                    crc = crc8(timestamp[1:], crc)
                    append(cell)
                    append(timestamp)
                else:
                    raise _Unsupported
            append(checksums[crc])
            add_crc(crc)
    add_crc(0)  # no delete marker
    append(_ROW_CHECKSUM[crc8(row_crcs)])
    return bytearray(b"".join(parts))


def _serialize(primary_key: Any, attribute_columns: Any) -> bytearray:
    """The fast path: the row's bytes, or `_Unsupported` for a row it leaves to the SDK.

    A value the SDK rejects (an int or timestamp outside int64, a string UTF-8 cannot encode) makes
    such a row too: the SDK sizes the whole row (checking every cell's type) before it writes a value,
    so which error a row raises follows the SDK's order of checks, and only the SDK can raise it.
    Any other exception is a bug here, and propagates."""
    try:
        return _write_row(primary_key, attribute_columns)
    except (struct.error, UnicodeEncodeError) as rejected:
        raise _Unsupported from rejected


def serialize_for_put_row(primary_key: Any, attribute_columns: Any) -> bytearray:
    """`PlainBufferBuilder.serialize_for_put_row`, same bytes; rows the fast path declares
    unsupported go to the SDK's own (counted in `fallbacks()`)."""
    try:
        return _serialize(primary_key, attribute_columns)
    except _Unsupported:
        pass
    _fallbacks.add()
    return sdk_serialize_for_put_row(primary_key, attribute_columns)


serialize_for_put_row.sdk_serialize_for_put_row = sdk_serialize_for_put_row  # type: ignore[attr-defined]


# ---- condition values ----------------------------------------------------------------------------

sdk_serialize_column_value: Callable[[Any], bytearray] = getattr(
    PlainBufferBuilder.serialize_column_value, "sdk_serialize_column_value", PlainBufferBuilder.serialize_column_value
)
_pack_variant_head = struct.Struct("<Bi").pack  # VT_STRING or VT_BLOB, i32 len(bytes)
_pack_variant_integer = struct.Struct("<Bq").pack
_pack_variant_double = struct.Struct("<Bd").pack


def serialize_column_value(value: Any) -> bytearray:
    """`PlainBufferBuilder.serialize_column_value` (a bare value: type byte, then the value), same bytes.

    The encoder calls it for every SingleColumnCondition value: a state row's condition has one, its
    `order_key`. A value the SDK rejects raises the SDK's own error from here (one value, so the same
    check comes first); types not handled here go to the SDK's own (counted in `fallbacks()`)."""
    kind = type(value)
    if kind is str:
        raw = value.encode("utf-8")
        return bytearray(_pack_variant_head(3, len(raw)) + raw)
    if kind is int:
        return bytearray(_pack_variant_integer(0, value))
    if kind is bool:
        return bytearray(b"\x02\x01" if value else b"\x02\x00")
    if kind is bytearray or kind is bytes:
        return bytearray(_pack_variant_head(7 if kind is bytearray else 3, len(value)) + value)
    if kind is float:
        return bytearray(_pack_variant_double(1, value))
    _fallbacks.add()
    return sdk_serialize_column_value(value)


serialize_column_value.sdk_serialize_column_value = sdk_serialize_column_value  # type: ignore[attr-defined]


def is_installed() -> bool:
    """True when the SDK encodes PutRow rows here."""
    return PlainBufferBuilder.serialize_for_put_row is serialize_for_put_row


def install_fast_put_row_serializer() -> bool:
    """Make the SDK encode PutRow rows (and condition values) here; idempotent. True if installed now.

    Only on the SDK release the bytes were verified against (`VERIFIED_SDK_VERSION`). On any other,
    the SDK keeps its own serializer and one warning line says so: writes stay correct, only slower.

    The seam is the static method `PlainBufferBuilder.serialize_for_put_row`, replaced on the class:
    every PutRow row goes through it, by attribute lookup on the class (`_make_put_row_item` for
    BatchWriteRow, `_encode_put_row` for PutRow). Its contract, (primary_key, attribute_columns) ->
    bytearray, is small and checkable byte for byte, while conditions, protobuf and signing stay the
    SDK's. `serialize_column_value` (the value of every SingleColumnCondition) is replaced the same way.
    Other builder methods (UpdateRow, DeleteRow, primary keys for reads) are left alone.
    """
    if is_installed():
        return False
    try:
        installed = metadata.version("tablestore")
    except metadata.PackageNotFoundError:
        installed = "unknown"
    if installed != VERIFIED_SDK_VERSION:
        log.warning(
            "tablestore SDK %s is not the verified %s: PutRow rows use the SDK's own, slower PlainBuffer "
            "serializer (rerun tests/functional/storage/test_plainbuffer.py on %s, then update VERIFIED_SDK_VERSION)",
            installed,
            VERIFIED_SDK_VERSION,
            installed,
        )
        return False
    PlainBufferBuilder.serialize_for_put_row = staticmethod(serialize_for_put_row)
    PlainBufferBuilder.serialize_column_value = staticmethod(serialize_column_value)
    return True
