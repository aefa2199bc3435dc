"""The Tablestore emulator, driven by the real `tablestore.OTSClient` over loopback HTTP."""

from __future__ import annotations

import http.client
import logging
import signal
import socket
import sqlite3
import threading
import time
from contextlib import closing

import pytest
import urllib3
from tablestore import (
    INF_MAX,
    INF_MIN,
    PK_AUTO_INCR,
    BatchGetRowRequest,
    BatchWriteRowRequest,
    CapacityUnit,
    ComparatorType,
    CompositeColumnCondition,
    Condition,
    DeleteRowItem,
    Direction,
    LogicalOperator,
    OTSClient,
    OTSClientError,
    OTSServiceError,
    PutRowItem,
    ReservedThroughput,
    ReturnType,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
    UpdateRowItem,
)
from tablestore.auth import RequestContext, SignV2
from tablestore.credentials import Credentials
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder
from tablestore.protobuf import table_store_pb2 as pb2
from tablestore.protocol import OTSProtocol
from tablestore.retry import NoDelayRetryPolicy, NoRetryPolicy

from sms_receipts_dev.emulators.tablestore import FaultConfig, FaultRates, TablestoreEmulator, TablestoreState
from sms_receipts_dev.emulators.tablestore.models import (
    Cell,
    ColumnCheck,
    PrimaryKeyColumn,
    ReadOptions,
    RowChange,
    TableSettings,
)

from helpers import standalone_emulator

IGNORE = RowExistenceExpectation.IGNORE
EXPECT_EXIST = RowExistenceExpectation.EXPECT_EXIST
EXPECT_NOT_EXIST = RowExistenceExpectation.EXPECT_NOT_EXIST
ALL = [("id", INF_MIN)], [("id", INF_MAX)]


def pk(receipt_id: str) -> list:
    return [("id", receipt_id)]


def columns(row: Row | None) -> dict | None:
    return None if row is None else {name: value for name, value, _ in row.attribute_columns}


def read(client: OTSClient, table: str, receipt_id: str) -> dict | None:
    return columns(client.get_row(table, pk(receipt_id), max_version=1)[1])


def service_error(call, *args, **kwargs) -> OTSServiceError:
    with pytest.raises(OTSServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


def assert_condition_fails(call, *args) -> None:
    error = service_error(call, *args)
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        403,
        "OTSConditionCheckFail",
        "Condition check failed.",
    )


def raw_post(
    emulator: TablestoreEmulator,
    path: str,
    *,
    body: bytes = b"",
    secret: str | None = None,
    api: str = "ListTable",
    tamper=None,
) -> tuple[int, pb2.Error]:
    """A request signed by the SDK's own protocol code, optionally tampered with, sent with http.client."""
    protocol = OTSProtocol(emulator.instance_name, "utf8", logging.getLogger("raw-test"))
    credentials = Credentials(emulator.access_key_id, secret or emulator.access_key_secret)
    _, headers, signed_body = protocol.make_request(api, SignV2("utf8"), RequestContext(credentials))
    body = body or signed_body
    if tamper:
        tamper(headers)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        error = pb2.Error()
        error.ParseFromString(response.read())
        return response.status, error
    finally:
        connection.close()


# ---- tables ---------------------------------------------------------------------------------------


def test_create_and_list_tables(client, make_table):
    make_table("events", [("pk", "STRING"), ("seq", "INTEGER")], TableOptions(time_to_live=86400, max_version=1))
    assert client.list_table() == ("events",)

    error = service_error(make_table, "events", [("pk", "STRING")])
    assert (error.get_http_status(), error.get_error_code()) == (409, "OTSObjectAlreadyExist")


@pytest.mark.parametrize(
    "schema, options",
    [
        ([("pk", "STRING")], TableOptions(max_version=3)),
        ([("a", "STRING"), ("b", "STRING"), ("c", "STRING"), ("d", "STRING"), ("e", "STRING")], None),
        ([("pk", "STRING"), ("pk", "INTEGER")], None),
    ],
)
def test_create_table_rejects_invalid_definitions(make_table, schema, options):
    error = service_error(make_table, "bad", schema, options)
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


# ---- single rows ----------------------------------------------------------------------------------


def test_put_and_get_round_trip_every_type(client, receipts):
    before_ms = int(time.time() * 1000)
    an_hour_ago = before_ms - 3_600_000
    client.put_row(
        receipts,
        Row(
            pk("r1"),
            [
                ("text", "回执 ok"),
                ("count", -7),
                ("ratio", 0.25),
                ("delivered", True),
                ("payload", bytearray(b"\x00\xffraw")),
                ("legacy", b"bytes-are-strings"),
                ("stamped", "x", an_hour_ago),
            ],
        ),
    )
    _, row, _ = client.get_row(receipts, pk("r1"), max_version=1)
    assert row.primary_key == pk("r1")
    assert columns(row) == {
        "text": "回执 ok",
        "count": -7,
        "ratio": 0.25,
        "delivered": True,
        "payload": bytearray(b"\x00\xffraw"),
        "legacy": "bytes-are-strings",
        "stamped": "x",
    }
    stamps = {name: timestamp for name, _, timestamp in row.attribute_columns}
    assert stamps["stamped"] == an_hour_ago
    assert before_ms - 60_000 <= stamps["text"] <= int(time.time() * 1000) + 60_000
    assert client.get_row(receipts, pk("missing"), max_version=1)[1] is None


def test_put_replaces_the_row(client, receipts):
    client.put_row(receipts, Row(pk("r1"), [("a", 1), ("b", 2)]))
    client.put_row(receipts, Row(pk("r1"), [("c", 3)]))
    assert read(client, receipts, "r1") == {"c": 3}


def test_timestamps_must_be_within_the_table_deviation(client, receipts):
    two_days_ago = int(time.time() * 1000) - 2 * 86_400_000
    error = service_error(client.put_row, receipts, Row(pk("r1"), [("v", 1, two_days_ago)]))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


def test_get_row_columns_to_get_and_filter(client, receipts):
    client.put_row(receipts, Row(pk("r1"), [("a", 1), ("b", 2)]))
    _, row, _ = client.get_row(receipts, pk("r1"), columns_to_get=["b", "zzz"], max_version=1)
    assert columns(row) == {"b": 2}
    assert client.get_row(receipts, pk("r1"), columns_to_get=["zzz"], max_version=1)[1] is None
    passing = SingleColumnCondition("a", 1, ComparatorType.EQUAL)
    failing = SingleColumnCondition("a", 2, ComparatorType.EQUAL)
    _, row, _ = client.get_row(receipts, pk("r1"), column_filter=passing, max_version=1)
    assert columns(row) == {"a": 1, "b": 2}
    assert client.get_row(receipts, pk("r1"), column_filter=failing, max_version=1)[1] is None


def test_delete_row(client, receipts):
    client.put_row(receipts, Row(pk("r1"), [("a", 1)]))
    client.delete_row(receipts, Row(pk("r1")), Condition(EXPECT_EXIST))
    assert client.get_row(receipts, pk("r1"), max_version=1)[1] is None
    assert_condition_fails(client.delete_row, receipts, Row(pk("r1")), Condition(EXPECT_EXIST))
    client.delete_row(receipts, Row(pk("r1")), Condition(IGNORE))  # deleting a missing row is fine


@pytest.mark.parametrize(
    "primary_key",
    [
        [("other", "r1")],  # wrong name
        [("id", 5)],  # wrong type
        [("id", "r1"), ("extra", 1)],  # too many columns
        [("id", "x" * 1025)],  # longer than 1 KB
    ],
)
def test_primary_key_is_checked_against_the_schema(client, receipts, primary_key):
    for call, args in (
        (client.put_row, (receipts, Row(primary_key, [("a", 1)]))),
        (client.get_row, (receipts, primary_key)),
    ):
        error = service_error(call, *args)
        assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


def test_missing_table_is_object_not_exist(client):
    calls = [
        (client.put_row, ("nope", Row(pk("r1"), [("a", 1)]))),
        (client.get_row, ("nope", pk("r1"))),
        (client.delete_row, ("nope", Row(pk("r1")), Condition(IGNORE))),
        (client.get_range, ("nope", Direction.FORWARD, *ALL)),
    ]
    for call, args in calls:
        error = service_error(call, *args)
        assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
            404,
            "OTSObjectNotExist",
            "Requested table does not exist.",
        )


# ---- conditions -----------------------------------------------------------------------------------


EXPECTATIONS = [  # expectation, row exists, passes
    (IGNORE, False, True),
    (IGNORE, True, True),
    (EXPECT_EXIST, False, False),
    (EXPECT_EXIST, True, True),
    (EXPECT_NOT_EXIST, False, True),
    (EXPECT_NOT_EXIST, True, False),
]


@pytest.mark.parametrize(
    "operation, expectation, row_exists, passes",
    [
        (operation, *case)
        for operation in ("put", "delete")
        for case in EXPECTATIONS
        if not (operation == "delete" and case[0] == EXPECT_NOT_EXIST)  # rejected, see the next test
    ],
)
def test_row_existence_expectations(client, receipts, operation, expectation, row_exists, passes):
    if row_exists:
        client.put_row(receipts, Row(pk("r1"), [("v", "old")]))
    call = {
        "put": lambda: client.put_row(receipts, Row(pk("r1"), [("v", "new")]), Condition(expectation)),
        "delete": lambda: client.delete_row(receipts, Row(pk("r1")), Condition(expectation)),
    }[operation]
    before = read(client, receipts, "r1")
    if passes:
        call()
        assert read(client, receipts, "r1") == (None if operation == "delete" else {"v": "new"})
    else:
        assert_condition_fails(call)
        assert read(client, receipts, "r1") == before


def test_delete_row_rejects_expect_not_exist(client, receipts):
    error = service_error(client.delete_row, receipts, Row(pk("r1")), Condition(EXPECT_NOT_EXIST))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")


COMPARISONS = [  # comparator, condition value (stored value is 5), passes
    (ComparatorType.EQUAL, 5, True),
    (ComparatorType.EQUAL, 4, False),
    (ComparatorType.NOT_EQUAL, 4, True),
    (ComparatorType.NOT_EQUAL, 5, False),
    (ComparatorType.GREATER_THAN, 4, True),
    (ComparatorType.GREATER_THAN, 5, False),
    (ComparatorType.GREATER_EQUAL, 5, True),
    (ComparatorType.GREATER_EQUAL, 6, False),
    (ComparatorType.LESS_THAN, 6, True),
    (ComparatorType.LESS_THAN, 5, False),
    (ComparatorType.LESS_EQUAL, 5, True),
    (ComparatorType.LESS_EQUAL, 4, False),
]


@pytest.mark.parametrize("comparator, value, passes", COMPARISONS)
def test_single_column_condition_comparators(client, receipts, comparator, value, passes):
    client.put_row(receipts, Row(pk("r1"), [("version", 5)]))
    condition = Condition(IGNORE, SingleColumnCondition("version", value, comparator))
    change = Row(pk("r1"), [("version", 5), ("touched", True)])
    if passes:
        client.put_row(receipts, change, condition)
        assert read(client, receipts, "r1") == {"version": 5, "touched": True}
    else:
        assert_condition_fails(client.put_row, receipts, change, condition)
        assert read(client, receipts, "r1") == {"version": 5}


@pytest.mark.parametrize(
    "stored, compared, comparator, passes",
    [
        ("B", "a", ComparatorType.LESS_THAN, True),  # STRING compares bytewise
        ("é", "z", ComparatorType.GREATER_THAN, True),  # UTF-8 bytes, not locale
        (bytearray(b"\x01"), bytearray(b"\xff"), ComparatorType.LESS_THAN, True),
        (1.5, 1.25, ComparatorType.GREATER_THAN, True),
        (True, True, ComparatorType.EQUAL, True),
        (5, "5", ComparatorType.EQUAL, False),  # different types are never equal
        (5, "5", ComparatorType.NOT_EQUAL, True),
    ],
)
def test_condition_compares_typed_values(client, receipts, stored, compared, comparator, passes):
    client.put_row(receipts, Row(pk("r1"), [("c", stored)]))
    condition = Condition(IGNORE, SingleColumnCondition("c", compared, comparator))
    change = Row(pk("r1"), [("c", stored), ("ok", 1)])
    if passes:
        client.put_row(receipts, change, condition)
    else:
        assert_condition_fails(client.put_row, receipts, change, condition)


@pytest.mark.parametrize("row_exists", [True, False])
@pytest.mark.parametrize("pass_if_missing", [True, False])
def test_pass_if_missing_decides_for_a_missing_column(client, receipts, row_exists, pass_if_missing):
    if row_exists:
        client.put_row(receipts, Row(pk("r1"), [("other", 1)]))
    check = SingleColumnCondition("version", 3, ComparatorType.LESS_THAN, pass_if_missing)
    condition = Condition(IGNORE, check)
    change = Row(pk("r1"), [("version", 3)])
    if pass_if_missing:
        client.put_row(receipts, change, condition)
        assert read(client, receipts, "r1")["version"] == 3
    else:
        assert_condition_fails(client.put_row, receipts, change, condition)


def test_exist_and_not_exist_comparators_in_the_model():
    # The SDK's SingleColumnCondition refuses EXIST/NOT_EXIST although the protocol has them.
    state = TablestoreState()
    state.create_table("t", [PrimaryKeyColumn("id", "STRING")])
    state.write_row("t", RowChange("put", [("id", "a")], [Cell("v", 1)]))
    for comparator, column, passes in (
        ("EXIST", "v", True),
        ("EXIST", "w", False),
        ("NOT_EXIST", "w", True),
        ("NOT_EXIST", "v", False),
    ):
        check = ColumnCheck(column, comparator, None)
        filtered = state.get_row("t", [("id", "a")], ReadOptions(column_filter=check))[0]
        assert (filtered is not None) == passes


def composite(operator, *checks):
    condition = CompositeColumnCondition(operator)
    for check in checks:
        condition.add_sub_condition(check)
    return condition


def equal(column, value):
    return SingleColumnCondition(column, value, ComparatorType.EQUAL, pass_if_missing=False)


@pytest.mark.parametrize(
    "column_condition, passes",
    [
        (composite(LogicalOperator.AND, equal("a", 1), equal("b", 2)), True),
        (composite(LogicalOperator.AND, equal("a", 1), equal("b", 3)), False),
        (composite(LogicalOperator.OR, equal("a", 9), equal("b", 2)), True),
        (composite(LogicalOperator.OR, equal("a", 9), equal("b", 9)), False),
        (composite(LogicalOperator.NOT, equal("a", 9)), True),
        (composite(LogicalOperator.NOT, equal("a", 1)), False),
        (
            composite(
                LogicalOperator.AND,
                equal("a", 1),
                composite(LogicalOperator.OR, equal("missing", 1), composite(LogicalOperator.NOT, equal("b", 3))),
            ),
            True,
        ),
    ],
)
def test_composite_column_conditions(client, receipts, column_condition, passes):
    client.put_row(receipts, Row(pk("r1"), [("a", 1), ("b", 2)]))
    row = Row(pk("r1"), [("a", 1), ("b", 2), ("c", 3)])
    args = (receipts, row, Condition(EXPECT_EXIST, column_condition))
    if passes:
        client.put_row(*args)
        assert read(client, receipts, "r1")["c"] == 3
    else:
        assert_condition_fails(client.put_row, *args)


# ---- batches --------------------------------------------------------------------------------------


def batch(*tables: tuple[str, list]) -> BatchWriteRowRequest:
    request = BatchWriteRowRequest()
    for table, items in tables:
        request.add(TableInBatchWriteRowItem(table, items))
    return request


def test_batch_write_reports_per_row_results(client, receipts, make_table):
    make_table("audit", [("id", "STRING")])
    client.put_row(receipts, Row(pk("dup"), [("v", "first")]))
    response = client.batch_write_row(
        batch(
            (
                receipts,
                [
                    PutRowItem(Row(pk("a"), [("v", 1)]), Condition(EXPECT_NOT_EXIST)),
                    PutRowItem(Row(pk("dup"), [("v", "second")]), Condition(EXPECT_NOT_EXIST)),
                    PutRowItem(Row(pk("b"), [("v", 2)]), Condition(EXPECT_EXIST)),
                    DeleteRowItem(Row(pk("c")), Condition(IGNORE)),
                ],
            ),
            ("audit", [PutRowItem(Row(pk("x"), [("v", 3)]), Condition(IGNORE))]),
        )
    )
    assert not response.is_all_succeed()
    puts = response.get_put_by_table(receipts)
    assert [(item.index, item.is_ok, item.error_code) for item in puts] == [
        (0, True, None),
        (1, False, "OTSConditionCheckFail"),
        (2, False, "OTSConditionCheckFail"),
    ]
    assert puts[1].error_message == "Condition check failed."
    assert [(item.index, item.is_ok) for item in response.get_delete_by_table(receipts)] == [(3, True)]
    assert response.get_put_by_table("audit")[0].is_ok
    assert read(client, receipts, "dup") == {"v": "first"}
    assert read(client, receipts, "a") == {"v": 1}
    assert read(client, "audit", "x") == {"v": 3}


def test_batch_write_accepts_200_rows_and_rejects_201(client, emulator, receipts):
    rows = [PutRowItem(Row(pk(f"r{n:03}"), [("n", n)]), Condition(IGNORE)) for n in range(201)]
    error = service_error(client.batch_write_row, batch((receipts, rows)))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert emulator.state.row_count(receipts) == 0
    assert client.batch_write_row(batch((receipts, rows[:200]))).is_all_succeed()
    assert emulator.state.row_count(receipts) == 200


def test_batch_write_rejects_more_than_4_mb(client, emulator, receipts):
    blob = "x" * (900 * 1024)
    rows = [PutRowItem(Row(pk(f"big{n}"), [("blob", blob)]), Condition(IGNORE)) for n in range(5)]
    error = service_error(client.batch_write_row, batch((receipts, rows)))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert "4194304" in error.get_error_message()
    assert emulator.state.row_count(receipts) == 0


def test_batch_write_rejects_duplicate_primary_keys_in_one_table(client, emulator, receipts, make_table):
    make_table("audit", [("id", "STRING")])
    duplicated = batch(
        (
            receipts,
            [
                PutRowItem(Row(pk("same"), [("v", 1)]), Condition(IGNORE)),
                DeleteRowItem(Row(pk("same")), Condition(IGNORE)),
            ],
        ),
    )
    error = service_error(client.batch_write_row, duplicated)
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert emulator.state.row_count(receipts) == 0
    # the same key in two different tables is fine
    assert client.batch_write_row(
        batch(
            (receipts, [PutRowItem(Row(pk("same"), [("v", 1)]), Condition(IGNORE))]),
            ("audit", [PutRowItem(Row(pk("same"), [("v", 1)]), Condition(IGNORE))]),
        )
    ).is_all_succeed()


def test_batch_write_to_a_missing_table_fails_whole(client, emulator, receipts):
    error = service_error(
        client.batch_write_row,
        batch(
            (receipts, [PutRowItem(Row(pk("a"), [("v", 1)]), Condition(IGNORE))]),
            ("nope", [PutRowItem(Row(pk("a"), [("v", 1)]), Condition(IGNORE))]),
        ),
    )
    assert (error.get_http_status(), error.get_error_code()) == (404, "OTSObjectNotExist")
    assert emulator.state.row_count(receipts) == 0


def test_batch_get_row(client, receipts, make_table):
    make_table("audit", [("id", "STRING")])
    client.put_row(receipts, Row(pk("a"), [("v", 1), ("w", 2)]))
    client.put_row("audit", Row(pk("x"), [("v", 3)]))
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem(receipts, [pk("a"), pk("missing")], columns_to_get=["w"], max_version=1))
    request.add(TableInBatchGetRowItem("audit", [pk("x")], max_version=1))
    response = client.batch_get_row(request)
    assert response.is_all_succeed()
    first, missing = response.get_result_by_table(receipts)
    assert (first.row.primary_key, columns(first.row)) == (pk("a"), {"w": 2})
    assert missing.is_ok and missing.row is None
    assert columns(response.get_result_by_table("audit")[0].row) == {"v": 3}


# ---- ranges ---------------------------------------------------------------------------------------


def range_keys(client, table, direction, start, end, limit=None):
    _, next_start, rows, _ = client.get_range(table, direction, start, end, limit=limit, max_version=1)
    return [row.primary_key for row in rows], next_start


def test_get_range_orders_typed_keys_and_pages(client, make_table):
    make_table("ordered", [("kind", "STRING"), ("n", "INTEGER")])
    numbers = [100, -5, 2, 10, 0]
    for kind in ("B", "a", "é"):
        for n in numbers:
            client.put_row("ordered", Row([("kind", kind), ("n", n)], [("v", f"{kind}{n}")]))
    everything = [("kind", INF_MIN), ("n", INF_MIN)], [("kind", INF_MAX), ("n", INF_MAX)]
    expected = [[("kind", kind), ("n", n)] for kind in ("B", "a", "é") for n in sorted(numbers)]

    keys, next_start = range_keys(client, "ordered", Direction.FORWARD, *everything, limit=4)
    assert keys == expected[:4] and next_start == expected[4]
    keys, next_start = range_keys(client, "ordered", Direction.FORWARD, next_start, everything[1], limit=4)
    assert keys == expected[4:8] and next_start == expected[8]

    pages = []
    start = everything[0]
    while start:
        keys, start = range_keys(client, "ordered", Direction.FORWARD, start, everything[1], limit=6)
        pages.append(keys)
    assert [len(page) for page in pages] == [6, 6, 3]
    assert [key for page in pages for key in page] == expected

    keys, next_start = range_keys(client, "ordered", Direction.BACKWARD, everything[1], everything[0], limit=3)
    assert keys == expected[::-1][:3] and next_start == expected[::-1][3]

    # bounds: start inclusive, end exclusive; within one partition
    keys, next_start = range_keys(
        client, "ordered", Direction.FORWARD, [("kind", "a"), ("n", 0)], [("kind", "a"), ("n", 100)]
    )
    assert keys == [[("kind", "a"), ("n", n)] for n in (0, 2, 10)] and next_start is None
    keys, _ = range_keys(client, "ordered", Direction.BACKWARD, [("kind", "a"), ("n", 100)], [("kind", "a"), ("n", 0)])
    assert keys == [[("kind", "a"), ("n", n)] for n in (100, 10, 2)]


def test_get_range_next_start_only_when_rows_remain(client, receipts):
    for name in ("a", "b"):
        client.put_row(receipts, Row(pk(name), [("v", 1)]))
    assert range_keys(client, receipts, Direction.FORWARD, *ALL, limit=2) == ([pk("a"), pk("b")], None)
    assert range_keys(client, receipts, Direction.FORWARD, *ALL, limit=1) == ([pk("a")], pk("b"))
    error = service_error(client.get_range, receipts, Direction.FORWARD, pk("b"), pk("a"), max_version=1)
    assert error.get_error_code() == "OTSParameterInvalid"


def test_get_range_binary_keys_compare_bytewise(client, make_table):
    make_table("blobs", [("key", "BINARY")])
    for raw in (b"\xff", b"\x00\x01", b"\x00", b"a"):
        client.put_row("blobs", Row([("key", bytearray(raw))], [("v", 1)]))
    keys, _ = range_keys(client, "blobs", Direction.FORWARD, [("key", INF_MIN)], [("key", INF_MAX)])
    assert [bytes(key[0][1]) for key in keys] == [b"\x00", b"\x00\x01", b"a", b"\xff"]


def test_xget_range_iterates_every_page(client, receipts):
    for n in range(12):
        client.put_row(receipts, Row(pk(f"r{n:02}"), [("n", n)]))
    consumed = CapacityUnit(0, 0)
    rows = list(client.xget_range(receipts, Direction.FORWARD, *ALL, consumed, max_version=1, count=None))
    assert [columns(row)["n"] for row in rows] == list(range(12))


def test_a_filtered_get_range_pages_by_rows_scanned_as_the_service_does(client, receipts):
    for first in range(0, 12_000, 200):
        request = BatchWriteRowRequest()
        items = [PutRowItem(Row(pk(f"r{n:05}"), [("n", n)]), Condition("IGNORE")) for n in range(first, first + 200)]
        request.add(TableInBatchWriteRowItem(receipts, items))
        client.batch_write_row(request)
    last_only = SingleColumnCondition("n", 11_999, ComparatorType.EQUAL)
    _, next_key, rows, _ = client.get_range(receipts, Direction.FORWARD, *ALL, column_filter=last_only, max_version=1)
    assert rows == [] and next_key == pk("r05000")  # 5,000 scanned, none matched: an empty page, and go on
    consumed = CapacityUnit(0, 0)
    found = list(client.xget_range(receipts, Direction.FORWARD, *ALL, consumed, column_filter=last_only, max_version=1))
    assert [columns(row)["n"] for row in found] == [11_999]


# ---- unknown APIs, signatures ---------------------------------------------------------------------


def test_unknown_api_fails_loudly(client, emulator):
    error = service_error(client.list_search_index, "receipts")
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSUnsupportOperation",
        "Unsupported operation: 'ListSearchIndex'.",
    )
    status, body = raw_post(emulator, "/HelloWorld", api="ListTable")
    assert (status, body.code, body.message) == (400, "OTSUnsupportOperation", "Unsupported operation: 'HelloWorld'.")
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    connection.request("GET", "/ListTable")
    assert connection.getresponse().status == 405
    connection.close()


@pytest.mark.parametrize(
    "api, call",
    [
        ("UpdateRow", lambda c: c.update_row("receipts", Row(pk("r1"), {"put": [("v", 1)]}), Condition(IGNORE))),
        ("DeleteTable", lambda c: c.delete_table("receipts")),
        ("UpdateTable", lambda c: c.update_table("receipts", TableOptions(max_version=1))),
        ("DropIndex", lambda c: c.delete_secondary_index("receipts", "receipts_by_v")),
    ],
)
def test_operations_the_project_does_not_use_fail_loudly(client, receipts, api, call):
    error = service_error(call, client)
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        400,
        "OTSUnsupportOperation",
        f"Unsupported operation: '{api}'.",
    )


def test_features_the_project_does_not_use_fail_loudly(client, receipts, make_table):
    error = service_error(make_table, "events", [("pk", "STRING"), ("seq", "INTEGER", PK_AUTO_INCR)])
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSUnsupportOperation")
    assert "Auto-increment" in error.get_error_message()
    update = UpdateRowItem(Row(pk("b"), {"put": [("v", 2)]}), Condition(IGNORE))
    error = service_error(client.batch_write_row, batch((receipts, [update])))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSUnsupportOperation")
    assert "UpdateRow" in error.get_error_message()
    error = service_error(client.put_row, receipts, Row(pk("r1"), [("v", 1)]), return_type=ReturnType.RT_PK)
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSUnsupportOperation")
    assert client.list_table() == (receipts,) and read(client, receipts, "r1") is None


@pytest.mark.parametrize("corrupt", ["row checksum", "cell checksum"])
def test_a_wrong_checksum_is_rejected_by_the_sdks_crc(client, emulator, receipts, monkeypatch, corrupt):
    # The emulator checks checksums with the SDK's own CRC-8, never the product writer's.
    serialize = PlainBufferBuilder.serialize_for_put_row

    def corrupted(primary_key, attribute_columns):
        data = bytearray(serialize(primary_key, attribute_columns))
        data[-1 if corrupt == "row checksum" else -3] ^= 0x01  # the row's, or the last cell's, checksum byte
        return data

    monkeypatch.setattr(PlainBufferBuilder, "serialize_for_put_row", staticmethod(corrupted))
    error = service_error(client.put_row, receipts, Row(pk("r1"), [("v", 1)]))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert "checksum" in error.get_error_message().lower()
    assert emulator.state.row_count(receipts) == 0


def test_wrong_secret_is_rejected(emulator):
    intruder = OTSClient(
        emulator.endpoint, emulator.access_key_id, "wrong-secret", emulator.instance_name, retry_policy=NoRetryPolicy()
    )
    error = service_error(intruder.list_table)
    assert (error.get_http_status(), error.get_error_code(), error.get_error_message()) == (
        403,
        "OTSAuthFailed",
        "Signature mismatch.",
    )
    stranger = OTSClient(
        emulator.endpoint,
        "LTAI-unknown",
        emulator.access_key_secret,
        emulator.instance_name,
        retry_policy=NoRetryPolicy(),
    )
    assert service_error(stranger.list_table).get_error_message() == "The AccessKeyID does not exist."


def test_client_rejects_a_reply_signed_with_another_secret():
    with TablestoreEmulator(verify_signatures=False) as lax:
        intruder = OTSClient(
            lax.endpoint, lax.access_key_id, "wrong-secret", "any-instance", retry_policy=NoRetryPolicy()
        )
        with pytest.raises(OTSClientError, match="Invalid signature in response"):
            intruder.list_table()
        assert lax.client(retry_policy=NoRetryPolicy()).list_table() == ()


@pytest.mark.parametrize(
    "tamper, message",
    [
        (
            lambda headers: headers.update({"x-ots-contentmd5": "AAAAAAAAAAAAAAAAAAAAAA=="}),
            "Mismatch between MD5 value of request body and x-ots-contentmd5 in header.",
        ),
        (lambda headers: headers.update({"x-ots-signature": "forged"}), "Signature mismatch."),
        (
            lambda headers: headers.update({"x-ots-date": "2000-01-01T00:00:00.000Z"}),
            "Mismatch between system time and x-ots-date: 2000-01-01T00:00:00.000Z.",
        ),
    ],
)
def test_tampered_requests_are_rejected(emulator, tamper, message):
    status, body = raw_post(emulator, "/ListTable", tamper=tamper)
    assert (status, body.code, body.message) == (403, "OTSAuthFailed", message)


def test_tampered_body_is_rejected(emulator):
    status, body = raw_post(emulator, "/ListTable", body=b"\x08\x01")
    assert (status, body.code) == (403, "OTSAuthFailed")


def test_v4_signing_and_sts_token(emulator, receipts):
    v4 = emulator.client(region="cn-hangzhou", sts_token="sts-token-from-ram", retry_policy=NoRetryPolicy())
    v4.put_row(receipts, Row(pk("r1"), [("v", 1)]), Condition(EXPECT_NOT_EXIST))
    assert read(v4, receipts, "r1") == {"v": 1}
    # an error reply other than OTSAuthFailed is signed with the V4-derived key, and the client checks it
    assert_condition_fails(v4.put_row, receipts, Row(pk("r1"), [("v", 2)]), Condition(EXPECT_NOT_EXIST))
    wrong = OTSClient(
        emulator.endpoint, emulator.access_key_id, "wrong", "x", region="cn-hangzhou", retry_policy=NoRetryPolicy()
    )
    assert service_error(wrong.list_table).get_error_code() == "OTSAuthFailed"


# ---- counters, lifecycle, persistence -------------------------------------------------------------


def test_request_counter(client, emulator, receipts):
    emulator.reset_counters()
    client.put_row(receipts, Row(pk("r1"), [("v", 1)]))
    client.get_row(receipts, pk("r1"), max_version=1)
    client.get_row(receipts, pk("r1"), max_version=1)
    service_error(client.list_search_index, receipts)
    assert emulator.requests == {"PutRow": 1, "GetRow": 2, "ListSearchIndex": 1}
    emulator.reset_counters()
    assert emulator.requests == {}


def test_stop_leaves_nothing_running():
    threads_before = set(threading.enumerate())
    emulator = TablestoreEmulator().start()
    port = emulator.port
    client = emulator.client(retry_policy=NoRetryPolicy())
    client.list_table()  # leaves an idle keep-alive connection in the client's pool
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 10
    assert not emulator.running
    assert set(threading.enumerate()) - threads_before == set()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    emulator.stop()  # idempotent


def test_data_dir_survives_a_restart(tmp_path):
    data_dir = tmp_path / "ots"
    with TablestoreEmulator(data_dir=data_dir) as first:
        client = first.client(retry_policy=NoRetryPolicy())
        client.create_table(
            TableMeta("receipts", [("id", "STRING"), ("n", "INTEGER")]),
            TableOptions(),
            ReservedThroughput(CapacityUnit(0, 0)),
        )
        client.put_row(
            "receipts",
            Row(
                [("id", "a"), ("n", 1)],
                [("blob", bytearray(b"\x00\xff")), ("ratio", 0.5), ("flag", False), ("text", "回执"), ("big", 2**62)],
            ),
        )
        client.put_row("receipts", Row([("id", "b"), ("n", 2)], [("v", 1)]))
        client.delete_row("receipts", Row([("id", "b"), ("n", 2)]), Condition(IGNORE))
    assert sorted(path.name for path in data_dir.iterdir()) == ["tablestore.sqlite3"]  # stop() folded the WAL in
    with closing(sqlite3.connect(data_dir / "tablestore.sqlite3")) as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    with TablestoreEmulator(data_dir=data_dir) as second:
        client = second.client(retry_policy=NoRetryPolicy())
        assert client.list_table() == ("receipts",)
        _, row, _ = client.get_row("receipts", [("id", "a"), ("n", 1)], max_version=1)
        assert columns(row) == {
            "blob": bytearray(b"\x00\xff"),
            "ratio": 0.5,
            "flag": False,
            "text": "回执",
            "big": 2**62,
        }
        assert client.get_row("receipts", [("id", "b"), ("n", 2)], max_version=1)[1] is None
        assert_condition_fails(
            client.put_row, "receipts", Row([("id", "a"), ("n", 1)], [("v", 1)]), Condition(EXPECT_NOT_EXIST)
        )


# ---- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, code", [("server_busy", "OTSServerBusy"), ("timeout", "OTSTimeout")])
def test_busy_and_timeout_faults_are_503_and_apply_nothing(client, emulator, receipts, kind, code):
    emulator.faults.set(api="PutRow", **{kind: 1.0})
    error = service_error(client.put_row, receipts, Row(pk("r1"), [("v", 1)]))
    assert (error.get_http_status(), error.get_error_code()) == (503, code)
    assert client.get_row(receipts, pk("r1"), max_version=1)[1] is None  # other APIs unaffected
    emulator.faults.clear(api="PutRow")
    client.put_row(receipts, Row(pk("r1"), [("v", 1)]))
    assert emulator.requests["PutRow"] == 2  # faulted requests are counted too


def test_slow_fault_delays_but_succeeds(client, emulator, receipts):
    emulator.faults.slow_delay = 0.3
    emulator.faults.set(slow=1.0)
    started = time.monotonic()
    client.put_row(receipts, Row(pk("r1"), [("v", 1)]))
    assert time.monotonic() - started >= 0.3
    assert emulator.state.row(receipts, pk("r1")) == {"v": 1}


def test_dropped_connection_applies_nothing(client, emulator, receipts):
    emulator.faults.set(api="PutRow", drop=1.0)
    with pytest.raises(urllib3.exceptions.HTTPError):
        client.put_row(receipts, Row(pk("r1"), [("v", 1)]))
    assert emulator.state.row(receipts, pk("r1")) is None


def test_lost_response_write_lands_although_the_client_fails(tmp_path):
    faults = FaultConfig(seed=1, lost_response_hang=0.0)
    with TablestoreEmulator(faults=faults, data_dir=tmp_path) as emulator:
        client = emulator.client(retry_policy=NoRetryPolicy())
        client.create_table(
            TableMeta("receipts", [("id", "STRING")]), TableOptions(), ReservedThroughput(CapacityUnit(0, 0))
        )
        faults.set(api="PutRow", lost_response=1.0)
        with pytest.raises(urllib3.exceptions.HTTPError):  # dropped after applying
            client.put_row("receipts", Row(pk("r1"), [("v", 1)]), Condition(EXPECT_NOT_EXIST))
        assert emulator.state.row("receipts", pk("r1")) == {"v": 1}

        faults.lost_response_hang = 5.0  # longer than the client's socket timeout
        impatient = emulator.client(retry_policy=NoRetryPolicy(), socket_timeout=0.5)
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            impatient.put_row("receipts", Row(pk("r2"), [("v", 2)]), Condition(EXPECT_NOT_EXIST))
        assert emulator.state.row("receipts", pk("r2")) == {"v": 2}

        faults.clear()  # a conditional retry tells the caller the first attempt landed
        retry = Row(pk("r2"), [("v", 2)])
        assert_condition_fails(client.put_row, "receipts", retry, Condition(EXPECT_NOT_EXIST))
    with TablestoreEmulator(data_dir=tmp_path) as restarted:  # the lost writes were persisted
        assert restarted.state.row("receipts", pk("r2")) == {"v": 2}


def test_sdk_retries_busy_reads_until_they_succeed(emulator, receipts):
    emulator.faults.set(api="GetRow", server_busy=0.5)
    retrying = emulator.client(retry_policy=NoDelayRetryPolicy())
    for _ in range(5):
        assert retrying.get_row(receipts, pk("r1"), max_version=1)[1] is None
    assert emulator.requests["GetRow"] > 5  # some attempts were busy and retried


def test_fault_draws_are_seeded_and_proportional():
    def draws(seed):
        faults = FaultConfig(seed=seed)
        faults.set(**vars(FaultRates.spread(0.5)))
        faults.set(api="GetRow", server_busy=0.2)
        return [faults.draw("PutRow") for _ in range(2000)], [faults.draw("GetRow") for _ in range(2000)]

    put_draws, get_draws = draws(7)
    assert (put_draws, get_draws) == draws(7)
    assert 800 < sum(kind is not None for kind in put_draws) < 1200
    assert {kind for kind in put_draws if kind} == {"server_busy", "timeout", "slow", "drop", "lost_response"}
    assert {kind for kind in get_draws if kind} == {"server_busy"}
    assert 300 < get_draws.count("server_busy") < 500


def test_fault_config_validation():
    faults = FaultConfig()
    with pytest.raises(ValueError):
        faults.set(server_busy=0.8, drop=0.5)
    with pytest.raises(ValueError):
        faults.set(timeout=-0.1)
    with pytest.raises(TypeError):
        faults.set(meteor_strike=0.1)
    assert faults.rates_for("PutRow") == FaultRates()


# ---- the model on its own -------------------------------------------------------------------------


def test_ttl_hides_expired_cells():
    now = [1_800_000_000.0]
    state = TablestoreState(clock=lambda: now[0])
    state.create_table("t", [PrimaryKeyColumn("id", "STRING")], settings=TableSettings(time_to_live=60))
    state.write_row("t", RowChange("put", [("id", "a")], []))
    state.write_row("t", RowChange("put", [("id", "b")], [Cell("v", 1)]))
    now[0] += 61
    assert state.get_row("t", [("id", "b")], ReadOptions())[0] is None
    assert state.get_row("t", [("id", "a")])[0].primary_key == [("id", "a")]


# ---- standalone command ---------------------------------------------------------------------------


def test_standalone_main_prints_connection_json_and_stops_on_sigterm(tmp_path):
    with standalone_emulator("tablestore", ["--port", "0", "--data-dir", str(tmp_path), "--seed", "3"]) as (
        process,
        info,
    ):
        assert set(info) == {"endpoint", "instance_name", "access_key_id", "access_key_secret"}
        assert info["endpoint"].startswith("http://127.0.0.1:")
        client = OTSClient(
            info["endpoint"],
            info["access_key_id"],
            info["access_key_secret"],
            info["instance_name"],
            retry_policy=NoRetryPolicy(),
        )
        assert client.list_table() == ()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
