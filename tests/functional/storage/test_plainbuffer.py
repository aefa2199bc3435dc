"""The fast PlainBuffer writer writes exactly the SDK's bytes, and falls back to the SDK for the rest."""

from __future__ import annotations

import enum
import json
import math
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tablestore import (
    INF_MAX,
    INF_MIN,
    PK_AUTO_INCR,
    BatchWriteRowRequest,
    ComparatorType,
    CompositeColumnCondition,
    Condition,
    LogicalOperator,
    PutRowItem,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    TableInBatchWriteRowItem,
)
from tablestore.encoder import OTSProtoBufferEncoder
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.plainbuffer.plain_buffer_crc8 import PlainBufferCrc8

from sms_receipts.parsing import MessageType, decode_http_body
from sms_receipts.storage import Storage, StorageSettings, plainbuffer
from sms_receipts.storage.crc8 import crc8
from sms_receipts.storage.plan import plan_writes
from sms_receipts.storage.tablestore import _condition, make_client

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def use_the_sdks_own_serializers() -> None:
    PlainBufferBuilder.serialize_for_put_row = staticmethod(plainbuffer.sdk_serialize_for_put_row)
    PlainBufferBuilder.serialize_column_value = staticmethod(plainbuffer.sdk_serialize_column_value)


@pytest.fixture
def sdk_builder():
    """The SDK's own serializers on the class for the test, whatever was installed before."""
    saved = dict(PlainBufferBuilder.__dict__)
    use_the_sdks_own_serializers()
    yield
    for name in ("serialize_for_put_row", "serialize_column_value"):
        setattr(PlainBufferBuilder, name, saved[name])


def sdk_outcome(function, *args):
    """What a serializer returns (type and bytes) or raises (type and message)."""
    try:
        result = function(*args)
    except Exception as error:  # noqa: BLE001 - the outcome is compared, whatever it is
        return ("raises", type(error), str(error))
    return ("returns", type(result), bytes(result))


def assert_same_row(primary_key, columns):
    expected = plainbuffer.sdk_serialize_for_put_row(primary_key, columns)
    handled = plainbuffer._serialize(primary_key, columns)  # the fast path itself, no fallback
    assert type(handled) is bytearray
    assert bytes(handled) == bytes(expected)
    assert bytes(plainbuffer.serialize_for_put_row(primary_key, columns)) == bytes(expected)


# ---- CRC-8 -------------------------------------------------------------------------------------------

CRC_LENGTHS = [
    *range(70),
    126,
    127,
    128,
    253,
    254,
    255,
    256,
    600,
    1015,
    1016,
    1017,
    4064,
    4065,
    8127,
    8128,
    8129,
    16256,
    16257,
    40_000,
]


@pytest.mark.parametrize("length", CRC_LENGTHS)
def test_crc8_is_the_sdks(length):
    rnd = random.Random(length)
    data = bytes(rnd.getrandbits(8) for _ in range(length))
    for start in (0, 1, 0x7F, 0xFF, rnd.randrange(256)):
        expected = PlainBufferCrc8.crc_bytes(start, data)
        assert crc8(data, start) == expected
        assert crc8(bytearray(data), start) == expected
        assert crc8(memoryview(data), start) == expected


@given(data=st.binary(max_size=3000), start=st.integers(0, 255))
def test_crc8_property(data, start):
    assert crc8(data, start) == PlainBufferCrc8.crc_bytes(start, data)


def test_crc8_of_all_zero_and_all_ones_long_inputs():
    for data in (bytes(9000), b"\xff" * 9000, b"\x80" + bytes(9000)):
        assert crc8(data, 0x5A) == PlainBufferCrc8.crc_bytes(0x5A, data)


# ---- rows: the project's own, then random ones ---------------------------------------------------


def sms_reports(count: int) -> list[dict]:
    """Delivery reports as a batch send produces them (the shape of the benchmark's pushes)."""
    return [
        {
            "phone_number": f"138{i:08d}",
            "send_time": "2026-11-25 10:00:00",
            "report_time": f"2026-11-25 10:00:{i % 60:02d}",
            "success": i % 10 != 0,
            "err_code": "DELIVERED" if i % 10 else "UNDELIV",
            "err_msg": "用户接收成功" if i % 10 else "用户接收失败",
            "sms_size": "1",
            "biz_id": f"9006197469364984{i // 100:02d}^0",
            "out_id": f"order-{i}",
        }
        for i in range(count)
    ]


def project_rows():
    """The store's rows for a 100-item push (ledger and state rows), plus dead-letter rows (BINARY)."""
    decoded = decode_http_body(json.dumps(sms_reports(100), ensure_ascii=False).encode(), MessageType.SMS_REPORT)
    rows = plan_writes(decoded.items, decoded.rejected, received_at=1_764_036_000_000).rows
    broken = decode_http_body('[{"phone_number": 1}, "x", {"biz_id": "中"}]'.encode(), MessageType.SMS_REPORT)
    assert broken.rejected
    rows += plan_writes(decoded.items[:3], broken.rejected, received_at=1_764_036_000_001).rows
    return rows


def test_the_projects_rows_are_written_as_the_sdk_writes_them():
    rows = project_rows()
    assert {row.table for row in rows} >= {"receipt_ledger", "delivery_state", "dead_letter"}
    for row in rows:
        assert_same_row(list(row.primary_key), list(row.columns))


def test_a_handwritten_row_with_every_type():
    primary_key = [("pk", "用户:1"), ("n", -5), ("blob", bytearray(b"\x00\xff")), ("raw", b"as string")]
    columns = [
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
        ("unstamped", 7, None),
        ("negative_stamp", 1, -1),
        ("emoji", "🙂" * 100),
    ]
    assert_same_row(primary_key, columns)
    assert_same_row(primary_key, [])
    assert_same_row([], columns)
    assert_same_row([], [])
    assert_same_row(primary_key, tuple(columns))
    assert_same_row([list(column) for column in primary_key], [list(column) for column in columns])


names = st.text(alphabet=st.characters(max_codepoint=127), max_size=12)
texts = st.text(max_size=40) | st.text(min_size=200, max_size=900)
int64s = st.integers(INT64_MIN, INT64_MAX) | st.sampled_from([0, -1, 1, INT64_MIN, INT64_MAX])
binaries = st.binary(max_size=80) | st.binary(min_size=300, max_size=1200)
primary_key_values = texts | int64s | binaries.map(bytearray) | binaries
column_values = (
    texts | int64s | st.booleans() | binaries.map(bytearray) | binaries | st.floats(allow_nan=True, allow_infinity=True)
)
timestamps = st.none() | int64s
columns = st.tuples(names, column_values) | st.tuples(names, column_values, timestamps)


@settings(max_examples=400, deadline=None)
@given(
    primary_key=st.lists(st.tuples(names, primary_key_values), max_size=4),
    attribute_columns=st.lists(columns, max_size=14),
)
def test_random_rows_are_written_as_the_sdk_writes_them(primary_key, attribute_columns):
    assert_same_row(primary_key, attribute_columns)


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["status", "source", "ok"]), st.sampled_from(["a", "b", "", True, False, 1])),
            max_size=6,
        ),
        min_size=2,
        max_size=6,
    )
)
def test_repeated_short_cells_from_the_cache_are_the_sdks(rows):
    for attribute_columns in rows:  # the same (name, value) pairs again and again: cache hits
        assert_same_row([("id", "x")], attribute_columns)
        assert_same_row([("id", "x")], [(name, value, 5) for name, value in attribute_columns])


# ---- what the fast path leaves to the SDK ------------------------------------------------------------


class Kind(enum.IntEnum):
    A = 3


class Label(str):
    pass


@pytest.mark.parametrize(
    ("primary_key", "attribute_columns"),
    [
        ([("id", INF_MIN)], []),
        ([("id", INF_MAX)], [("a", 1)]),
        ([("id", "a"), ("seq", PK_AUTO_INCR)], [("a", 1)]),
        ([("id", True)], [("a", 1)]),
        ([("id", 1.5)], [("a", 1)]),
        ([("id", None)], []),
        ([("id", 2**63)], []),
        ([("id", Kind.A)], [("a", Kind.A)]),
        ([("id", Label("x"))], [("a", Label("y"))]),
        ([("clé", "x")], [("a", 1)]),
        ([("id", "x")], [("clé", 1)]),
        ([(b"id", "x")], [(b"a", 1)]),
        ([("id", "x")], [("a", None)]),
        ([("id", "x")], [("a", 2**63)]),
        ([("id", "x")], [("a", -(2**63) - 1)]),
        ([("id", "x")], [("a", 1, 1.5)]),
        ([("id", "x")], [("a", 1, 2**63)]),
        ([("id", "x")], [("a", 1, True)]),
        ([("id", "x")], [("a",)]),
        ([("id", "x")], [("a", 1, 2, 3)]),
        ([("id", "x")], [("a", [1])]),
        ([("id", "x")], [("a", memoryview(b"x"))]),
        ([("id", "x")], [("a", "\ud800")]),
        ([("id", "x", "extra")], [("a", 1)]),
        ((("id", "x"),), [("a", 1)]),
        ([("id", "x")], None),
        ([("id", "x")], {"a": 1}),
        ([["id"]], []),
    ],
)
def test_other_inputs_get_the_sdks_own_outcome(primary_key, attribute_columns):
    expected = sdk_outcome(plainbuffer.sdk_serialize_for_put_row, primary_key, attribute_columns)
    assert sdk_outcome(plainbuffer.serialize_for_put_row, primary_key, attribute_columns) == expected


# ---- condition values --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(value=column_values | st.none() | st.just(2**64) | st.just(Kind.A) | st.just([1]))
def test_condition_values_are_written_as_the_sdk_writes_them(value):
    expected = sdk_outcome(plainbuffer.sdk_serialize_column_value, value)
    assert sdk_outcome(plainbuffer.serialize_column_value, value) == expected


# ---- the seam ----------------------------------------------------------------------------------------


def batch_write_request(rows) -> BatchWriteRowRequest:
    request = BatchWriteRowRequest()
    by_table: dict[str, list] = {}
    for row in rows:
        by_table.setdefault(row.table, []).append(
            PutRowItem(Row(list(row.primary_key), list(row.columns)), _condition(row.condition))
        )
    for table, items in by_table.items():
        request.add(TableInBatchWriteRowItem("t_" + table, items))
    return request


def encode(request) -> bytes:
    return OTSProtoBufferEncoder("utf-8").encode_request("BatchWriteRow", request).SerializeToString()


def test_installing_makes_the_encoder_use_it_and_changes_no_byte(sdk_builder, monkeypatch):
    rows = project_rows()[:200]
    request = batch_write_request(rows)
    with_sdk = encode(request)

    assert plainbuffer.install_fast_put_row_serializer() is True
    assert plainbuffer.install_fast_put_row_serializer() is False  # idempotent
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.serialize_for_put_row
    assert PlainBufferBuilder.serialize_column_value is plainbuffer.serialize_column_value
    fast, calls = plainbuffer._serialize, []

    def counting(*args):
        calls.append(args)
        return fast(*args)

    monkeypatch.setattr(plainbuffer, "_serialize", counting)
    monkeypatch.setattr(plainbuffer, "sdk_serialize_for_put_row", None)  # no fallback taken
    assert encode(request) == with_sdk
    assert len(calls) == len(rows)  # every row went through the fast path


def test_conditions_and_single_puts_encode_the_same(sdk_builder):
    condition = CompositeColumnCondition(LogicalOperator.OR)
    condition.add_sub_condition(SingleColumnCondition("version", 5, ComparatorType.LESS_THAN))
    condition.add_sub_condition(SingleColumnCondition("winner", "用户", ComparatorType.EQUAL))
    condition.add_sub_condition(SingleColumnCondition("flag", True, ComparatorType.EQUAL))
    condition.add_sub_condition(SingleColumnCondition("blob", bytearray(b"\x00"), ComparatorType.EQUAL))
    row = Row([("id", "a")], [("v", 1.25), ("s", "x" * 300)])
    encoder = OTSProtoBufferEncoder("utf-8")

    def both():
        put = encoder.encode_request(
            "PutRow", "t", row, Condition(RowExistenceExpectation.IGNORE, condition), None, None
        )
        return put.SerializeToString()

    with_sdk = both()
    plainbuffer.install_fast_put_row_serializer()
    assert both() == with_sdk


def test_the_store_handle_installs_it_and_make_client_does_not(sdk_builder):
    # The composition root installs it (tests/functional/storage/test_sdk_seam.py); a bare client changes no SDK state.
    make_client("http://127.0.0.1:1", "instance", "id", "secret")
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.sdk_serialize_for_put_row
    Storage(StorageSettings("http://127.0.0.1:1", "instance", access_key_id="id", access_key_secret="secret"))
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.serialize_for_put_row
    Storage(StorageSettings("http://127.0.0.1:1", "instance", access_key_id="id", access_key_secret="secret"))
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.serialize_for_put_row  # still installed once


def test_uninstalling_gives_the_sdk_its_own_back(sdk_builder):
    plainbuffer.install_fast_put_row_serializer()
    use_the_sdks_own_serializers()
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.sdk_serialize_for_put_row
    assert PlainBufferBuilder.serialize_column_value is plainbuffer.sdk_serialize_column_value


def test_the_installed_function_carries_the_sdks_for_a_later_import_to_find():
    plainbuffer.install_fast_put_row_serializer()
    installed = PlainBufferBuilder.serialize_for_put_row
    assert installed.sdk_serialize_for_put_row is plainbuffer.sdk_serialize_for_put_row
    assert plainbuffer.sdk_serialize_for_put_row is not plainbuffer.serialize_for_put_row


def test_values_out_of_int64_range_raise_as_in_the_sdk():
    with pytest.raises(struct.error):
        plainbuffer.serialize_for_put_row([("id", "x")], [("a", 2**63)])
