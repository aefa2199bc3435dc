"""The emulator's fast PlainBuffer reader answers exactly what `RowChangeReader` answers, or leaves the row to it.

Rows are written by the SDK's own serializers; each is read by `responses._read_row` (fast reader, then
`RowChangeReader` for what it leaves) and by the reading path as it was before the fast reader (below),
and the outcomes must match: the same primary key and cells (types included), or the same error.
"""

from __future__ import annotations

import contextlib
import math
import struct

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from tablestore import INF_MAX, INF_MIN
from tablestore.error import OTSClientError
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.protobuf import table_store_filter_pb2 as filter_pb2
from tablestore.protobuf import table_store_pb2 as pb2

from sms_receipts.storage.plainbuffer import sdk_serialize_for_put_row
from sms_receipts_dev.emulators.tablestore import plainbuffer as fast
from sms_receipts_dev.emulators.tablestore import responses
from sms_receipts_dev.emulators.tablestore.exceptions import ParameterInvalid, TablestoreError
from sms_receipts_dev.emulators.tablestore.responses import RowChangeReader

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@contextlib.contextmanager
def legacy_decoding(what: str):
    """`responses._decoding` as it was (a generator context manager), for the reference path."""
    try:
        yield
    except TablestoreError:
        raise
    except DecodeError:
        raise ParameterInvalid("Failed to parse the ProtoBuf message.") from None
    except (OTSClientError, struct.error, UnicodeDecodeError, ValueError, IndexError, TypeError) as error:
        detail = getattr(error, "message", None) or str(error)
        raise ParameterInvalid(f"Failed to parse the {what}: {detail}.") from None


def described(row) -> tuple:
    """(primary key, cells) with every value's type, so True is not 1 and NaN equals NaN."""
    primary_key, cells = row

    def value(item):
        return (type(item).__name__, repr(item))

    return (
        [(name, value(item)) for name, item in primary_key],
        [(cell.name, value(cell.value), cell.timestamp) for cell in cells],
    )


def outcome(read, data: bytes) -> tuple:
    try:
        return ("row", described(read(data)))
    except Exception as error:  # noqa: BLE001 - the outcome is compared, whatever it is
        return ("error", type(error).__name__, getattr(error, "message", None) or str(error))


def legacy_read_row(data: bytes):
    with legacy_decoding("PlainBuffer row"):
        return RowChangeReader(data).read_row_change()


def assert_read_alike(data: bytes) -> tuple:
    expected = outcome(legacy_read_row, data)
    assert outcome(responses._read_row, data) == expected
    return expected


def assert_fast_reads(data: bytes) -> None:
    """The fast reader itself handles the row, and reads what RowChangeReader reads."""
    row = fast.read_put_row(data)
    assert row is not None
    assert described(row) == described(RowChangeReader(data).read_row_change())
    assert_read_alike(data)


def put_row(primary_key, columns) -> bytes:
    return bytes(sdk_serialize_for_put_row(primary_key, columns))


EVERY_TYPE = put_row(
    [("pk", "用户:1"), ("n", -5), ("blob", bytearray(b"\x00\xff")), ("flag", True)],
    [
        ("long", "x" * 600),
        ("empty", ""),
        ("big", INT64_MAX),
        ("small", INT64_MIN),
        ("yes", True),
        ("no", False),
        ("blob", bytearray(b"zz")),
        ("bytes", b"\x00\x01"),
        ("half", 1.5),
        ("nan", math.nan),
        ("inf", -math.inf),
        ("zero", -0.0),
        ("stamped", "用户", 1_764_036_000_000),
        ("negative_stamp", 1, -1),
        ("emoji", "🙂" * 100),
    ],
)


# The CRC-8 is the SDK's own (PlainBufferCrc8), never the writer's.


# ---- rows the fast reader handles ------------------------------------------------------------------


def test_a_row_with_every_type():
    assert_fast_reads(EVERY_TYPE)


def test_rows_without_attributes_or_without_a_primary_key():
    assert_fast_reads(put_row([("id", "a")], []))
    assert_fast_reads(put_row([], [("a", 1)]))
    assert_fast_reads(put_row([], []))
    assert_fast_reads(bytes(PlainBufferBuilder.serialize_primary_key([("id", "a"), ("n", 3)])))


names = st.text(alphabet=st.characters(max_codepoint=127), max_size=10)
texts = st.text(max_size=30) | st.text(min_size=100, max_size=700)
int64s = st.integers(INT64_MIN, INT64_MAX) | st.sampled_from([0, -1, INT64_MIN, INT64_MAX])
binaries = st.binary(max_size=60) | st.binary(min_size=200, max_size=900)
primary_key_values = texts | int64s | binaries.map(bytearray) | st.booleans()
column_values = (
    texts | int64s | st.booleans() | binaries.map(bytearray) | binaries | st.floats(allow_nan=True, allow_infinity=True)
)
columns = st.tuples(names, column_values) | st.tuples(names, column_values, st.none() | int64s)
rows = st.builds(put_row, st.lists(st.tuples(names, primary_key_values), max_size=4), st.lists(columns, max_size=12))


@settings(max_examples=300, deadline=None)
@given(data=rows)
def test_random_put_rows_read_as_row_change_reader_reads_them(data):
    if assert_read_alike(data)[0] == "row":
        assert_fast_reads(data)
    else:  # bytes written as STRING that are not UTF-8: rejected by both
        assert fast.read_put_row(data) is None


@settings(max_examples=300, deadline=None)
@given(
    data=rows,
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
    cut=st.none() | st.integers(0, 10_000),
    tail=st.binary(max_size=4),
)
def test_damaged_rows_get_the_same_answer(data, edits, cut, tail):
    damaged = bytearray(data)
    for position, byte in edits:
        damaged[position % len(damaged)] = byte
    if cut is not None:
        damaged = damaged[: cut % (len(damaged) + 1)]
    assert_read_alike(bytes(damaged) + tail)


@pytest.mark.parametrize(
    "data",
    [
        EVERY_TYPE,
        put_row([("id", "r1"), ("n", 7)], [("status", "DELIVERED"), ("ok", True), ("t", 5, 1_764_036_000_000)]),
    ],
    ids=["every-type", "receipt-like"],
)
@pytest.mark.slow
def test_every_single_byte_change_and_every_cut_gets_the_same_answer(data):
    rejected = 0
    for position in range(len(data)):
        for byte in {data[position] ^ 0x01, data[position] ^ 0x80, 0x00, 0xFF, 0x02}:
            changed = data[:position] + bytes((byte,)) + data[position + 1 :]
            rejected += assert_read_alike(changed)[0] == "error"
        assert_read_alike(data[:position])
    assert rejected > len(data)  # most changes break a checksum or the structure


def test_a_corrupt_checksum_is_still_rejected():
    data = bytearray(put_row([("id", "r1")], [("status", "DELIVERED")]))
    data[-1] ^= 0xFF  # the row checksum
    with pytest.raises(ParameterInvalid, match="row checksum mismatch"):
        responses._read_row(bytes(data))
    data = bytearray(put_row([("id", "r1")], [("status", "DELIVERED")]))
    value = data.index(b"DELIVERED")
    data[value] ^= 0x01  # a value byte: its cell checksum no longer matches
    with pytest.raises(ParameterInvalid, match="cell checksum mismatch in column 'status'"):
        responses._read_row(bytes(data))


def test_a_boolean_byte_other_than_0_or_1_is_read_as_the_sdk_reads_it():
    data = bytearray(put_row([("id", "r1")], [("ok", True)]))
    data[data.index(b"\x02\x01", data.index(b"ok")) + 1] = 0x07  # VT_BOOLEAN 7: True, checksummed as 1
    assert fast.read_put_row(bytes(data)) is None  # left to RowChangeReader
    assert assert_read_alike(bytes(data))[0] == "row"
    assert responses._read_row(bytes(data))[1][0].value is True


# ---- rows left to RowChangeReader --------------------------------------------------------------------


LEFT_TO_THE_SDK_READER = {
    "delete": bytes(PlainBufferBuilder.serialize_for_delete_row([("id", "a")])),
    "inf_min": bytes(PlainBufferBuilder.serialize_primary_key([("id", INF_MIN), ("n", INF_MAX)])),
}


@pytest.mark.parametrize("name", list(LEFT_TO_THE_SDK_READER))
def test_other_shapes_are_left_to_row_change_reader(name):
    data = LEFT_TO_THE_SDK_READER[name]
    assert fast.read_put_row(data) is None
    assert assert_read_alike(data)[0] == "row"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x75",
        b"\x75\x00\x00\x00",
        b"\x75\x00\x00\x00\x01",
        b"\x00" * 12,
        b"\x76\x00\x00\x00\x01\x09\x00",
        b"\x75\x00\x00\x00\x01\x09\x00",
        b"\x75\x00\x00\x00\x01\x09\x01",
        b"\x75\x00\x00\x00\x01\x09\x00trailing",
    ],
)
def test_tiny_and_bare_rows(data):
    assert_read_alike(data)


def test_a_double_primary_key_is_refused_as_before():
    data = bytearray(put_row([("id", 5)], []))
    data[data.index(b"\x05\x09\x00\x00\x00\x00") + 5] = 0x01  # VT_INTEGER -> VT_DOUBLE, checksum now wrong
    assert fast.read_put_row(bytes(data)) is None
    assert assert_read_alike(bytes(data))[0] == "error"


# ---- the cache of repeated cells ---------------------------------------------------------------------


def test_repeated_cells_read_the_same_every_time_and_binary_values_are_not_shared():
    rows_ = [
        put_row(
            [("id", f"r{i}")],
            [
                ("status", "DELIVERED"),
                ("ok", i % 2 == 0),
                ("blob", bytearray(b"ab")),
                ("n", 42),
                ("at", 1, 1_764_036_000_000),
            ],
        )
        for i in range(6)
    ]
    first_blob = None
    for data in rows_ * 2:
        assert_fast_reads(data)
        blob = fast.read_put_row(data)[1][2].value
        assert blob == bytearray(b"ab")
        if first_blob is not None:
            assert blob is not first_blob
        first_blob = blob
    first_blob.extend(b"changed")  # a reader changing its copy changes nobody else's
    assert fast.read_put_row(rows_[0])[1][2].value == bytearray(b"ab")


def test_a_cached_cell_followed_by_other_bytes_is_still_checked():
    known = put_row([("id", "r1")], [("status", "DELIVERED")])
    assert_fast_reads(known)  # the cell is cached now
    damaged = bytearray(known)
    damaged[-1] ^= 0x01  # the row checksum after the cached cell
    assert fast.read_put_row(bytes(damaged)) is None
    assert assert_read_alike(bytes(damaged))[0] == "error"


def test_the_fast_reader_is_what_reads_put_rows(monkeypatch):
    def refuse(*args):
        raise AssertionError("RowChangeReader used for a put row")

    monkeypatch.setattr(responses, "RowChangeReader", refuse)
    assert described(responses._read_row(EVERY_TYPE)) == described(fast.read_put_row(EVERY_TYPE))


# ---- the rest of the request path ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"\x0a\xff", b"\xff", b"\x0a\x05abc"])
def test_protobuf_errors_are_reported_as_before(body):
    with pytest.raises(ParameterInvalid) as raised:
        responses._parse(pb2.BatchWriteRowRequest, body)
    assert raised.value.message == "Failed to parse the ProtoBuf message."


def test_condition_value_errors_are_reported_as_before():
    with pytest.raises(ParameterInvalid) as raised:
        responses._decode_variant(b"\x03\x10\x00\x00\x00ab")
    assert raised.value.message == "Failed to parse the condition value: value shorter than its length."
    with pytest.raises(ParameterInvalid, match="Failed to parse the condition value: unsupported value type 9"):
        responses._decode_variant(b"\x09")


def test_enum_names_are_the_protobuf_names():
    for value in filter_pb2.ComparatorType.values():
        assert (
            responses._enum_name(responses._COMPARATORS, filter_pb2.ComparatorType, value, "CT_")
            == filter_pb2.ComparatorType.Name(value)[len("CT_") :]
        )
    for value in pb2.RowExistenceExpectation.values():
        assert responses._enum_name(
            responses._EXPECTATIONS, pb2.RowExistenceExpectation, value
        ) == pb2.RowExistenceExpectation.Name(value)
    with pytest.raises(ValueError):
        responses._enum_name(responses._OPERATORS, filter_pb2.LogicalOperator, 99, "LO_")
