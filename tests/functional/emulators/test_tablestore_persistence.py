"""The emulators' SQLite store: typed key order, restarts, durability of acknowledged writes, migration."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tablestore import (
    INF_MAX,
    INF_MIN,
    CapacityUnit,
    Direction,
    ReservedThroughput,
    Row,
    TableMeta,
    TableOptions,
)
from tablestore.retry import NoRetryPolicy

from sms_receipts_dev.emulators.mns import MnsEmulator
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator
from sms_receipts_dev.emulators.tablestore.persistence import decode_key, encode_key

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF, blacklist_categories=("Cs",)))
BLOB = st.binary(max_size=12)


def typed_order(values: tuple) -> tuple:
    """The service's order: INTEGER numerically, STRING (as UTF-8) and BINARY bytewise."""
    return tuple(value.encode("utf-8") if isinstance(value, str) else value for value in values)


@given(st.lists(st.tuples(INT64, TEXT, BLOB), min_size=2, max_size=30, unique=True))
def test_encoded_keys_sort_in_typed_order_and_decode_back(keys):
    def primary_key(values):
        return [("n", values[0]), ("s", values[1]), ("b", bytearray(values[2]))]

    by_blob = sorted(keys, key=lambda values: encode_key(primary_key(values)))
    assert by_blob == sorted(keys, key=typed_order)
    for values in keys:
        decoded = decode_key(encode_key(primary_key(values)), ["INTEGER", "STRING", "BINARY"])
        assert decoded == [values[0], values[1], bytearray(values[2])]


def test_infinite_bounds_enclose_every_value_of_their_column():
    low, high = encode_key([("a", "x"), ("n", INF_MIN)]), encode_key([("a", "x"), ("n", INF_MAX)])
    for n in (-(2**63), -1, 0, 2**63 - 1):
        assert low < encode_key([("a", "x"), ("n", n)]) < high
    assert high < encode_key([("a", "x\x00"), ("n", -(2**63))])  # the next first-column value comes after
    assert encode_key([("a", INF_MAX)]) > encode_key([("a", "\U0010ffff" * 10)])


def create(client, name, schema):
    client.create_table(TableMeta(name, schema), TableOptions(), ReservedThroughput(CapacityUnit(0, 0)))


def range_keys(client, table, direction, start, end, limit=None):
    keys, next_start = [], start
    while next_start:
        _, next_start, rows, _ = client.get_range(table, direction, next_start, end, limit=limit, max_version=1)
        keys.extend(tuple(value for _, value in row.primary_key) for row in rows)
    return keys


def test_get_range_is_in_typed_order_across_a_restart(tmp_path):
    numbers = [5, -1, 0, -(2**63), 2**63 - 1, 42, -42, 256, -256]
    blobs = [b"\xff", b"\x00", b"\x00\x00", b"\x00\x01", b"a", b"", b"\x7f\xff", b"\x80"]
    with TablestoreEmulator(data_dir=tmp_path) as first:
        client = first.client(retry_policy=NoRetryPolicy())
        create(client, "numbers", [("n", "INTEGER")])
        create(client, "blobs", [("g", "STRING"), ("b", "BINARY")])
        for n in numbers:
            client.put_row("numbers", Row([("n", n)], [("v", n)]))
        for blob in blobs:
            for group in ("a", "a\x00", "b"):
                client.put_row("blobs", Row([("g", group), ("b", bytearray(blob))], [("v", 1)]))

    with TablestoreEmulator(data_dir=tmp_path) as second:
        client = second.client(retry_policy=NoRetryPolicy())
        everything = [("n", INF_MIN)], [("n", INF_MAX)]
        assert range_keys(client, "numbers", Direction.FORWARD, *everything, limit=2) == [(n,) for n in sorted(numbers)]
        backward = range_keys(client, "numbers", Direction.BACKWARD, [("n", INF_MAX)], [("n", INF_MIN)], limit=3)
        assert backward == [(n,) for n in sorted(numbers, reverse=True)]
        assert range_keys(client, "numbers", Direction.FORWARD, [("n", -256)], [("n", 5)]) == [
            (-256,),
            (-42,),
            (-1,),
            (0,),
        ]
        expected = [(group, bytearray(blob)) for group in ("a", "a\x00", "b") for blob in sorted(blobs)]
        start, end = [("g", INF_MIN), ("b", INF_MIN)], [("g", INF_MAX), ("b", INF_MAX)]
        assert range_keys(client, "blobs", Direction.FORWARD, start, end, limit=5) == expected
        one_group = range_keys(
            client, "blobs", Direction.BACKWARD, [("g", "a"), ("b", INF_MAX)], [("g", "a"), ("b", INF_MIN)]
        )
        assert one_group == [("a", bytearray(blob)) for blob in sorted(blobs, reverse=True)]


def test_an_acknowledged_write_is_committed_before_the_reply(tmp_path):
    with TablestoreEmulator(data_dir=tmp_path) as emulator:
        client = emulator.client(retry_policy=NoRetryPolicy())
        create(client, "receipts", [("id", "STRING")])
        client.put_row("receipts", Row([("id", "r1")], [("v", 1)]))
        # Another connection sees it while the emulator still runs: it is in the WAL, not in a buffer.
        with closing(sqlite3.connect(tmp_path / "tablestore.sqlite3")) as reader:
            assert reader.execute("SELECT count(*) FROM rows").fetchone() == (1,)
            assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)


LEGACY_TABLESTORE = {
    "format": 1,
    "tables": {
        "receipts": {
            "schema": [["id", "STRING", False], ["n", "INTEGER", False]],
            "defined_columns": [],
            "settings": {"time_to_live": -1, "max_versions": 1, "max_time_deviation": 86400, "allow_update": True},
            "reserved": [0, 0],
            "created_at": 1764036000.0,
            "auto_increment_last": 0,
            "rows": [
                {
                    "pk": [["id", ["s", "a"]], ["n", ["i", -3]]],
                    "columns": [["blob", ["b", "AP8="], 1764036000000], ["text", ["s", "回执"], 1764036000000]],
                },
                {"pk": [["id", ["s", "a"]], ["n", ["i", 2]]], "columns": [["v", ["i", 7], 1764036000001]]},
            ],
        }
    },
}


def test_an_old_json_snapshot_is_migrated_once(tmp_path):
    (tmp_path / "tablestore.json").write_text(json.dumps(LEGACY_TABLESTORE), encoding="utf-8")
    with TablestoreEmulator(data_dir=tmp_path) as emulator:
        client = emulator.client(retry_policy=NoRetryPolicy())
        assert client.list_table() == ("receipts",)
        keys = range_keys(
            client, "receipts", Direction.FORWARD, [("id", INF_MIN), ("n", INF_MIN)], [("id", INF_MAX), ("n", INF_MAX)]
        )
        assert keys == [("a", -3), ("a", 2)]
        assert emulator.state.row("receipts", [("id", "a"), ("n", -3)]) == {
            "blob": bytearray(b"\x00\xff"),
            "text": "回执",
        }
        client.put_row("receipts", Row([("id", "b"), ("n", 1)], [("v", 1)]))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tablestore.json.migrated", "tablestore.sqlite3"]
    with TablestoreEmulator(data_dir=tmp_path) as restarted:  # the database, not the snapshot again
        assert restarted.state.row_count("receipts") == 3


def test_an_unreadable_snapshot_or_database_is_refused_with_its_path(tmp_path):
    (tmp_path / "tablestore.json").write_text('{"format": 9, "tables": {}}', encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"cannot migrate Tablestore emulator snapshot .*tablestore.json"):
        TablestoreEmulator(data_dir=tmp_path)
    (tmp_path / "tablestore.json").unlink()
    (tmp_path / "tablestore.sqlite3").unlink(missing_ok=True)
    with closing(sqlite3.connect(tmp_path / "tablestore.sqlite3")) as future:
        future.execute("PRAGMA user_version=99")
    with pytest.raises(RuntimeError, match=r"format 99, this emulator reads format 2; move the data dir away"):
        TablestoreEmulator(data_dir=tmp_path)


def test_an_old_mns_snapshot_is_migrated_with_messages_in_flight(tmp_path):
    attributes = {
        "visibility_timeout": 30,
        "maximum_message_size": 65536,
        "message_retention_period": 345600,
        "delay_seconds": 0,
        "polling_wait_seconds": 0,
        "logging_enabled": False,
    }
    message = {
        "message_id": "M-1",
        "body": "aGk=",
        "body_md5": "8EE2B2A4C5E4A1F8E1B3A7F2A7E0B3C1",
        "priority": 8,
        "enqueue_time": 1_800_000_000_000,
        "next_visible_time": 1_800_000_000_000,
    }
    snapshot = {
        "format": 1,
        "next_sequence": 8,
        "queues": {
            "receipts": {
                "attributes": attributes,
                "create_time": 1_800_000_000,
                "last_modify_time": 1_800_000_000,
                "messages": [
                    {**message, "sequence": 6, "priority": 9},
                    {**message, "sequence": 7, "message_id": "M-2", "dequeue_count": 1, "receipt_handle": "1-x"},
                ],
            }
        },
    }
    (tmp_path / "mns.json").write_text(json.dumps(snapshot), encoding="utf-8")
    with MnsEmulator(data_dir=tmp_path, clock=lambda: 1_800_000_001.0) as mns:
        assert [(view.message_id, view.dequeue_count) for view in mns.state.message_views("receipts")] == [
            ("M-2", 1),
            ("M-1", 0),
        ]
        assert mns.enqueue("receipts", "next").message_id.endswith("-200000008")  # the sequence goes on
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mns.json.migrated", "mns.sqlite3"]
