"""Global secondary indexes in the Tablestore emulator, through the real `tablestore.OTSClient`.

A table `sends` keyed by (biz, phone) predefines `out_id`, `status` and `at`; its index `sends_by_out`
is keyed by `out_id` (then biz, phone, as the service completes it) and copies `status`. The emulator
updates an index within the write (the service: milliseconds later), so every test reads it at once.
"""

from __future__ import annotations

import pytest
from tablestore import (
    INF_MAX,
    INF_MIN,
    BatchGetRowRequest,
    BatchWriteRowRequest,
    CapacityUnit,
    ComparatorType,
    Condition,
    DeleteRowItem,
    Direction,
    OTSServiceError,
    PutRowItem,
    ReservedThroughput,
    Row,
    RowExistenceExpectation,
    SecondaryIndexMeta,
    SecondaryIndexType,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
)
from tablestore.retry import NoRetryPolicy

from sms_receipts.storage.tablestore import ADD_DEFINED_COLUMN, _teach_add_defined_column, add_defined_column_body
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator
from sms_receipts_dev.emulators.tablestore.responses import AddDefinedColumnRequest

IGNORE = RowExistenceExpectation.IGNORE
KEY = [("biz", "STRING"), ("phone", "STRING")]
DEFINED = [("out_id", "STRING"), ("status", "STRING"), ("at", "INTEGER")]
BY_OUT = SecondaryIndexMeta("sends_by_out", ["out_id"], ["status"])
WHOLE = (
    [("out_id", INF_MIN), ("biz", INF_MIN), ("phone", INF_MIN)],
    [
        ("out_id", INF_MAX),
        ("biz", INF_MAX),
        ("phone", INF_MAX),
    ],
)


def service_error(call, *args) -> OTSServiceError:
    with pytest.raises(OTSServiceError) as caught:
        call(*args)
    return caught.value


def create(client, name="sends", defined=DEFINED, indexes=(BY_OUT,), options=None) -> None:
    client.create_table(
        TableMeta(name, KEY, list(defined)),
        options or TableOptions(),
        ReservedThroughput(CapacityUnit(0, 0)),
        list(indexes),
    )


def put(client, biz, phone, **columns) -> None:
    client.put_row("sends", Row([("biz", biz), ("phone", phone)], list(columns.items())))


def index_rows(client, index="sends_by_out", start_end=WHOLE, **kwargs) -> list[tuple[tuple, dict]]:
    """(key values, columns) of every index row in the range, through GetRange on the index's name."""
    rows = client.xget_range(index, Direction.FORWARD, *start_end, CapacityUnit(0, 0), **kwargs)
    return [(tuple(v for _, v in row.primary_key), {n: v for n, v, _ in row.attribute_columns}) for row in rows]


@pytest.fixture
def sends(client):
    create(client)
    return "sends"


# ---- tables with indexes ---------------------------------------------------------------------------


def test_describe_table_lists_the_predefined_columns_and_the_index_with_its_completed_key(client, sends):
    described = client.describe_table("sends")
    assert described.table_meta.schema_of_primary_key == KEY
    assert described.table_meta.defined_columns == DEFINED
    assert (described.table_options.time_to_live, described.table_options.max_version) == (-1, 1)
    (index,) = described.secondary_indexes
    # the index's own column first, then the table's key columns not in it (索引列补齐)
    assert (index.index_name, index.primary_key_names, index.defined_column_names) == (
        "sends_by_out",
        ["out_id", "biz", "phone"],
        ["status"],
    )
    assert index.index_type == SecondaryIndexType.GLOBAL_INDEX
    assert client.list_table() == ("sends",)  # an index is not a table of the list


def test_index_rows_appear_move_and_disappear_with_the_tables_rows(client, sends):
    put(client, "b1", "p1", out_id="o1", status="pending", at=1)
    put(client, "b1", "p2", out_id="o1", status="delivered", at=2)
    put(client, "b2", "p1", status="pending")  # no out_id: not in the index (稀疏索引)
    assert index_rows(client) == [
        (("o1", "b1", "p1"), {"status": "pending"}),  # `at` is not copied: only the index's columns
        (("o1", "b1", "p2"), {"status": "delivered"}),
    ]
    put(client, "b1", "p1", out_id="o2", status="failed", at=3)  # the indexed column changed: the row moves
    put(client, "b2", "p1", out_id="o0", status="pending")  # gains the column: it appears
    assert index_rows(client) == [
        (("o0", "b2", "p1"), {"status": "pending"}),
        (("o1", "b1", "p2"), {"status": "delivered"}),
        (("o2", "b1", "p1"), {"status": "failed"}),
    ]
    put(client, "b1", "p2", out_id="o1")  # PutRow replaces the row: the copied column goes too
    client.delete_row("sends", Row([("biz", "b2"), ("phone", "p1")]), Condition(IGNORE))
    assert index_rows(client) == [(("o1", "b1", "p2"), {}), (("o2", "b1", "p1"), {"status": "failed"})]


def test_batch_writes_maintain_the_index_row_by_row(client, sends):
    put(client, "b1", "p1", out_id="o1", status="pending")
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem(
            "sends",
            [
                PutRowItem(Row([("biz", "b1"), ("phone", "p2")], [("out_id", "o1")]), Condition(IGNORE)),
                # refused by its condition: neither the table nor the index changes
                PutRowItem(
                    Row([("biz", "b1"), ("phone", "p1")], [("out_id", "o9")]),
                    Condition(RowExistenceExpectation.EXPECT_NOT_EXIST),
                ),
                DeleteRowItem(Row([("biz", "b0"), ("phone", "p0")]), Condition(IGNORE)),
            ],
        )
    )
    response = client.batch_write_row(request)
    assert [r.is_ok for r in response.get_put_by_table("sends")] == [True, False]
    assert [key for key, _ in index_rows(client)] == [("o1", "b1", "p1"), ("o1", "b1", "p2")]
    request = BatchWriteRowRequest()
    request.add(
        TableInBatchWriteRowItem("sends", [DeleteRowItem(Row([("biz", "b1"), ("phone", "p1")]), Condition(IGNORE))])
    )
    assert client.batch_write_row(request).is_all_succeed()
    assert [key for key, _ in index_rows(client)] == [("o1", "b1", "p2")]


def test_get_range_on_an_index_reads_a_prefix_pages_and_filters(client, sends):
    for n in range(7):
        put(client, f"b{n % 2}", f"p{n}", out_id="o1" if n < 5 else "o2", status="delivered" if n % 3 else "failed")
    one = (
        [("out_id", "o1"), ("biz", INF_MIN), ("phone", INF_MIN)],
        [("out_id", "o1"), ("biz", INF_MAX), ("phone", INF_MAX)],
    )
    keys = [key for key, _ in index_rows(client, start_end=one)]
    assert keys == [("o1", "b0", "p0"), ("o1", "b0", "p2"), ("o1", "b0", "p4"), ("o1", "b1", "p1"), ("o1", "b1", "p3")]
    _, next_key, rows, _ = client.get_range("sends_by_out", Direction.FORWARD, *one, limit=2, max_version=1)
    assert len(rows) == 2 and next_key == [("out_id", "o1"), ("biz", "b0"), ("phone", "p4")]
    backward = client.get_range("sends_by_out", Direction.BACKWARD, one[1], one[0], limit=1, max_version=1)[2]
    assert backward[0].primary_key == [("out_id", "o1"), ("biz", "b1"), ("phone", "p3")]
    failed = SingleColumnCondition("status", "failed", ComparatorType.EQUAL)
    assert [key for key, _ in index_rows(client, start_end=one, column_filter=failed)] == [
        ("o1", "b0", "p0"),
        ("o1", "b1", "p3"),
    ]
    _, row, _ = client.get_row("sends_by_out", [("out_id", "o2"), ("biz", "b1"), ("phone", "p5")], max_version=1)
    assert row.attribute_columns[0][:2] == ("status", "delivered")


def test_an_index_is_read_only_and_read_by_get_row_and_get_range_only(client, sends):
    put(client, "b1", "p1", out_id="o1")
    key = [("out_id", "o1"), ("biz", "b1"), ("phone", "p1")]
    error = service_error(client.put_row, "sends_by_out", Row(key, [("status", "x")]))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    request = BatchGetRowRequest()
    request.add(TableInBatchGetRowItem("sends_by_out", [key], max_version=1))
    assert service_error(client.batch_get_row, request).get_error_code() == "OTSUnsupportOperation"
    assert service_error(client.describe_table, "sends_by_out").get_error_code() == "OTSUnsupportOperation"


def test_an_index_key_may_name_the_tables_key_columns_and_takes_their_order_after_its_own(client):
    by_phone = SecondaryIndexMeta("sends_by_phone", ["phone"], ["status", "out_id"])
    create(client, indexes=[by_phone])
    put(client, "b2", "p1", status="delivered")
    put(client, "b1", "p1", status="failed", out_id="o1")
    put(client, "b1", "p0")
    whole = [("phone", INF_MIN), ("biz", INF_MIN)], [("phone", INF_MAX), ("biz", INF_MAX)]
    # every row is in it: both its key columns are the table's
    assert index_rows(client, "sends_by_phone", whole) == [
        (("p0", "b1"), {}),
        (("p1", "b1"), {"out_id": "o1", "status": "failed"}),
        (("p1", "b2"), {"status": "delivered"}),
    ]


# ---- creating indexes and predefined columns later --------------------------------------------------


def test_create_index_on_existing_rows_with_and_without_them(client):
    create(client, indexes=())
    put(client, "b1", "p1", out_id="o1", status="pending")
    client.create_secondary_index("sends", SecondaryIndexMeta("later", ["out_id"], []), False)
    client.create_secondary_index("sends", BY_OUT, True)
    assert index_rows(client, "later") == []  # include_base_data=False: only what is written from now on
    assert index_rows(client) == [(("o1", "b1", "p1"), {"status": "pending"})]
    put(client, "b1", "p2", out_id="o2")
    assert [key for key, _ in index_rows(client, "later")] == [("o2", "b1", "p2")]
    assert [i.index_name for i in client.describe_table("sends").secondary_indexes] == ["later", "sends_by_out"]
    again = service_error(client.create_secondary_index, "sends", BY_OUT, True)
    assert (again.get_http_status(), again.get_error_code()) == (409, "OTSObjectAlreadyExist")


def test_add_defined_column_then_index_it(client):
    create(client, defined=[], indexes=())
    put(client, "b1", "p1", out_id="o1", status="pending")
    _teach_add_defined_column(client)
    client._request_helper(ADD_DEFINED_COLUMN, "sends", [("out_id", "STRING"), ("status", "STRING")])
    assert client.describe_table("sends").table_meta.defined_columns == [("out_id", "STRING"), ("status", "STRING")]
    client.create_secondary_index("sends", BY_OUT, True)
    assert index_rows(client) == [(("o1", "b1", "p1"), {"status": "pending"})]
    twice = service_error(client._request_helper, ADD_DEFINED_COLUMN, "sends", [("status", "STRING")])
    assert (twice.get_http_status(), twice.get_error_code()) == (400, "OTSParameterInvalid")
    missing = service_error(client._request_helper, ADD_DEFINED_COLUMN, "nothing", [("x", "STRING")])
    assert missing.get_error_code() == "OTSObjectNotExist"


def test_the_add_defined_column_body_is_the_documented_message():
    # the store's hand-encoded body, read by the emulator's message built from the API reference
    message = AddDefinedColumnRequest()
    message.ParseFromString(add_defined_column_body("回执", [("out_id", "STRING"), ("n", "INTEGER"), ("b", "BINARY")]))
    assert message.table_name == "回执"
    assert [(c.name, c.type) for c in message.columns] == [("out_id", 4), ("n", 1), ("b", 7)]


@pytest.mark.parametrize(
    "index, code",
    [
        (SecondaryIndexMeta("bad", ["at_all"], []), "OTSParameterInvalid"),  # not a key or predefined column
        (SecondaryIndexMeta("bad", ["out_id"], ["phone"]), "OTSParameterInvalid"),  # copies a key column
        (SecondaryIndexMeta("bad", ["out_id"], ["out_id"]), "OTSParameterInvalid"),  # copies its own column
        (SecondaryIndexMeta("sends", ["out_id"], []), "OTSObjectAlreadyExist"),  # a table's name
        (SecondaryIndexMeta("bad", ["biz"], [], SecondaryIndexType.LOCAL_INDEX), "OTSUnsupportOperation"),
    ],
)
def test_invalid_or_unsupported_indexes_are_refused(client, sends, index, code):
    assert service_error(client.create_secondary_index, "sends", index, False).get_error_code() == code
    assert [i.index_name for i in client.describe_table("sends").secondary_indexes] == ["sends_by_out"]


def test_an_index_needs_a_table_without_ttl_and_a_defined_column_its_type(client):
    error = service_error(create, client, "expiring", DEFINED, [BY_OUT], TableOptions(time_to_live=86400))
    assert (error.get_error_code(), client.list_table()) == ("OTSParameterInvalid", ())
    create(client)
    error = service_error(lambda: put(client, "b1", "p1", out_id=7))
    assert (error.get_http_status(), error.get_error_code()) == (400, "OTSParameterInvalid")
    assert "defined as STRING" in error.get_error_message() and index_rows(client) == []


# ---- persistence -----------------------------------------------------------------------------------


def test_indexes_survive_a_restart_and_keep_following_the_table(tmp_path):
    with TablestoreEmulator(data_dir=tmp_path) as first:
        client = first.client(retry_policy=NoRetryPolicy())
        create(client)
        put(client, "b1", "p1", out_id="o1", status="pending")
    with TablestoreEmulator(data_dir=tmp_path) as second:
        client = second.client(retry_policy=NoRetryPolicy())
        assert [i.index_name for i in client.describe_table("sends").secondary_indexes] == ["sends_by_out"]
        put(client, "b1", "p1", out_id="o2", status="delivered")
        assert index_rows(client) == [(("o2", "b1", "p1"), {"status": "delivered"})]
        assert second.state.index_rows("sends_by_out") == [
            ([("out_id", "o2"), ("biz", "b1"), ("phone", "p1")], {"status": "delivered"})
        ]
