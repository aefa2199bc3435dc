"""Fast PlainBuffer encoding of PutRow rows, byte for byte what the `tablestore` SDK writes.

On CPython 3.10 the SDK's native codec does not load, and its pure-Python PlainBuffer writer spends
about 25 ms on one 200-row BatchWriteRow: one method call per tag, length and byte, and a Python loop
per byte for the CRC-8 checksums. `serialize_for_put_row` here produces the same bytes from a few
`struct` packs and one `b"".join` per row, and computes the checksums with the tricks below.

The format (SDK 6.4.8, `plain_buffer_coded_stream.py`), all integers little-endian:

    row     = header(i32 0x75) TAG_ROW_PK cell* [TAG_ROW_DATA cell*] TAG_ROW_CHECKSUM crc8
    cell    = TAG_CELL TAG_CELL_NAME i32(len(name)) name TAG_CELL_VALUE i32(len(value)) value
              [TAG_CELL_TIMESTAMP i64] TAG_CELL_CHECKSUM crc8
    value   = VT_INTEGER i64 | VT_DOUBLE f64 | VT_BOOLEAN u8 | VT_STRING i32 bytes | VT_BLOB i32 bytes

A cell's checksum is the CRC-8 of its name bytes, then of its `value` bytes exactly as written, then of
its timestamp's 8 bytes; the row checksum is the CRC-8 of the cells' checksums, then of a 0 byte (the
row carries no delete marker). So each checksum is a CRC over whole byte strings that are written
anyway, and per-byte Python work is left only inside `crc8`.

CRC-8 here is the plain (non-reflected) CRC with polynomial p = x^8 + x^2 + x + 1 and no final xor:
crc(c, M) = (M(x) + c(x) * x^(8(n-1))) * x^8 mod p, with M(x) the bytes read as one big-endian number.
- Short inputs: a 65,536-entry table steps two bytes per loop iteration (words from `struct`).
- Long inputs: x^127 = 1 (mod p), so the big-endian integer of the bytes can be folded onto itself
  in 127 * 2^k-bit halves with C-speed big-integer xors until 127 bits are left, whose CRC is 8 steps
  of the two-byte table. A 600-byte value costs ~2 us instead of ~20 us.

`install_fast_put_row_serializer()` makes the SDK use it (see there for the seam). Inputs outside the
types handled here go to the SDK's own serializer, which then behaves exactly as without this module.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.plainbuffer.plain_buffer_crc8 import CRC8_TABLE

__all__ = [
    "crc8",
    "install_fast_put_row_serializer",
    "sdk_serialize_column_value",
    "sdk_serialize_for_put_row",
    "serialize_column_value",
    "serialize_for_put_row",
    "uninstall_fast_put_row_serializer",
]

# ---- CRC-8 ---------------------------------------------------------------------------------------

_T = bytes(CRC8_TABLE)  # crc' = _T[crc ^ byte]


def _two_byte_table() -> bytes:
    """_T2[crc ^ (b0 | b1 << 8)] = _T[_T[crc ^ b0] ^ b1]: two bytes per lookup.

    Row `b1` holds _T[_T[b0] ^ b1] for every b0: _T xored with `b1` in one big-integer operation, then
    mapped through _T with `bytes.translate`, so building the 64 KB table takes well under 1 ms.
    """
    base = int.from_bytes(_T, "little")
    return b"".join(
        (base ^ int.from_bytes(bytes((b1,)) * 256, "little")).to_bytes(256, "little").translate(_T) for b1 in range(256)
    )


_T2 = _two_byte_table()
_WORDS = tuple(struct.Struct(f"<{k}H").unpack_from for k in range(16))  # k little-endian 16-bit words
_FOLD_MIN_BYTES = 32  # from here on the fold beats the two-byte loop
_FOLD_STEPS = tuple((127 << k, (1 << (127 << k)) - 1) for k in range(9))  # x^(127 * 2^k) = 1 (mod p)
_FOLD_CHUNK_BYTES = 127 * 64  # 127 * 2^9 bits: longer inputs are first folded in slices of this size


def crc8(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """The SDK's CRC-8 (`PlainBufferCrc8.crc_bytes`) of `data`, continuing from `crc`."""
    n = len(data)
    table2 = _T2
    if n < _FOLD_MIN_BYTES:
        if n & 1:
            crc = _T[crc ^ data[0]]
            for word in _WORDS[n >> 1](data, 1):
                crc = table2[crc ^ word]
            return crc
        for word in _WORDS[n >> 1](data):
            crc = table2[crc ^ word]
        return crc
    if n <= _FOLD_CHUNK_BYTES:
        value = int.from_bytes(data, "big") ^ (crc << (8 * n - 8))
    else:  # fold slices aligned on the end; the leftmost one is partial and takes the running crc
        first = n % _FOLD_CHUNK_BYTES or _FOLD_CHUNK_BYTES
        value = int.from_bytes(data[:first], "big") ^ (crc << (8 * first - 8))
        for start in range(first, n, _FOLD_CHUNK_BYTES):
            value ^= int.from_bytes(data[start : start + _FOLD_CHUNK_BYTES], "big")
    bits = value.bit_length()
    if bits > 127:
        k = ((bits + 253) // 254 - 1).bit_length()  # smallest k with 254 * 2^k >= bits
        while k >= 0:
            size, mask = _FOLD_STEPS[k]
            value = (value & mask) ^ (value >> size)
            k -= 1
    crc = 0
    for word in _WORDS[8](value.to_bytes(16, "big")):
        crc = table2[crc ^ word]
    return crc


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


def _name(name: Any) -> tuple[bytes, int]:
    entry = _names.get(name)
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
        encoded = _pack_integer(9, 0, value)  # struct.error beyond int64: the SDK raises it
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


def _serialize(primary_key: Any, attribute_columns: Any) -> bytearray:
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
        names, cells, table, table2, words = _names, _cells, _T, _T2, _WORDS[4]
        for column in attribute_columns:
            if type(column) is tuple and len(column) == 2:  # (name, value): the common case, inlined
                name, value = column
                kind = type(value)
                if kind is int and type(name) is str and (known := names.get(name)) is not None:
                    prefix, crc = known
                    encoded = _pack_integer(9, 0, value)  # struct.error beyond int64, as in the SDK
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


def serialize_for_put_row(primary_key: Any, attribute_columns: Any) -> bytearray:
    """`PlainBufferBuilder.serialize_for_put_row`, same bytes; other inputs go to the SDK's own."""
    try:
        return _serialize(primary_key, attribute_columns)
    except Exception:  # an unsupported type, or anything the SDK rejects (it raises its own error)
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

    The encoder calls it for every SingleColumnCondition value: three per state row's condition."""
    kind = type(value)
    try:
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
    except Exception:  # the SDK raises its own error
        pass
    return sdk_serialize_column_value(value)


serialize_column_value.sdk_serialize_column_value = sdk_serialize_column_value  # type: ignore[attr-defined]


def install_fast_put_row_serializer() -> bool:
    """Make the SDK encode PutRow rows (and condition values) here; idempotent. True if installed now.

    The seam is the static method `PlainBufferBuilder.serialize_for_put_row`, replaced on the class.
    It is the one function every PutRow row goes through: `OTSProtoBufferEncoder._make_put_row_item`
    (BatchWriteRow's PUT items) and `_encode_put_row` (PutRow) both call it by attribute lookup on the
    class (`encoder.py` star-imports the class, so the lookup sees the replacement). Its contract is
    small, (primary_key, attribute_columns) -> bytearray, and checkable byte for byte against the
    original, while everything around it (conditions, protobuf, signing, the native encoder when it
    loads) stays the SDK's. Replacing `_make_put_row_item` instead would copy condition handling;
    patching the streams or the CRC class would keep their per-byte call overhead.

    The same goes for `PlainBufferBuilder.serialize_column_value`, which encodes the value of every
    SingleColumnCondition (`_make_relation_condition`): every state row carries one, and the SDK's
    version costs ~2 us each. UpdateRow, DeleteRow and primary keys (GetRow,
    BatchGetRow, GetRange) use other builder methods and are left alone: the store writes only PutRow
    items, and its reads send a few short keys each.
    """
    if PlainBufferBuilder.serialize_for_put_row is serialize_for_put_row:
        return False
    PlainBufferBuilder.serialize_for_put_row = staticmethod(serialize_for_put_row)
    PlainBufferBuilder.serialize_column_value = staticmethod(serialize_column_value)
    return True


def uninstall_fast_put_row_serializer() -> None:
    """Give the SDK its own serializers back (for tests)."""
    PlainBufferBuilder.serialize_for_put_row = staticmethod(sdk_serialize_for_put_row)
    PlainBufferBuilder.serialize_column_value = staticmethod(sdk_serialize_column_value)
