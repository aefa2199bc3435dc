"""Where the Tablestore emulator keeps tables and rows: `RowStore`, on the emulators' SQLite `Database`.

`<data_dir>/tablestore.sqlite3` (memory only without a data dir) holds two SQL tables:
- `tables`: one row per Tablestore table or index, its schema and settings as JSON (`meta`; an index's
  names its table under `index_of`, a table's lists its indexes under `indexes`);
- `rows`: (`table_id`, `key`, `columns`) with a unique index on (`table_id`, `key`), so a GetRange is an
  index range scan (not WITHOUT ROWID: there a ledger row of ~1 KB would spill into an overflow page).
  `key` is the primary key encoded so that SQLite's bytewise BLOB order is the service's typed order
  (`encode_key`); `columns` is JSON `[[name, [tag, value], timestamp_ms], ...]`.

Values are tagged so every type round-trips exactly: ["i", 5], ["f", 1.5], ["t", true], ["s", "text"],
["b", "<base64>"] (BINARY comes back as `bytearray`). A data dir holding the old snapshot
(`tablestore.json`, format 1, the same tags) is migrated into the database on first start.

Memory: no row is cached in Python; SQLite's page cache (`database.CACHE_KIB`) is the bound.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import struct
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing
from typing import Any

from tablestore.metadata import INF_MAX, INF_MIN

from ..database import Database

FORMAT_VERSION = 2  # 1 was the JSON snapshot
LEGACY_SNAPSHOT = "tablestore.json"
SCHEMA = """
CREATE TABLE tables (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, meta TEXT NOT NULL);
CREATE TABLE rows (table_id INTEGER NOT NULL, key BLOB NOT NULL, columns TEXT NOT NULL);
CREATE UNIQUE INDEX rows_in_key_order ON rows (table_id, key)
"""

# Key encoding, one part per primary-key column: INF_MIN is 0x00, INF_MAX 0x02 and a value 0x01 then
# its bytes: INTEGER as 8 bytes big-endian offset by 2**63 (so negatives sort first); STRING (UTF-8) and
# BINARY with each 0x00 written 0x00 0xFF and ended by 0x00 0x00, which keeps bytewise order and makes
# every part prefix-free, so a composite key compares column by column.
_INF_MIN, _VALUE, _INF_MAX = b"\x00", b"\x01", b"\x02"
_END = b"\x00\x00"
_INT64 = struct.Struct(">Q")
_INT64_OFFSET = 1 << 63


def encode_key(primary_key: Sequence[tuple[str, Any]]) -> bytes:
    """The order-preserving BLOB of a primary key's values (INF_MIN/INF_MAX allowed)."""
    parts = []
    for _, value in primary_key:
        if value is INF_MIN:
            parts.append(_INF_MIN)
        elif value is INF_MAX:
            parts.append(_INF_MAX)
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(_VALUE + _INT64.pack(value + _INT64_OFFSET))
        else:
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            parts.append(_VALUE + raw.replace(b"\x00", b"\x00\xff") + _END)
    return b"".join(parts)


def decode_key(key: bytes, types: Sequence[str]) -> list:
    """The values of a stored row's key (no INF_MIN/INF_MAX: stored keys hold values), by schema type."""
    values: list = []
    position = 0
    for kind in types:
        position += 1  # the _VALUE tag
        if kind == "INTEGER":
            values.append(_INT64.unpack_from(key, position)[0] - _INT64_OFFSET)
            position += _INT64.size
            continue
        end = key.index(b"\x00", position)
        while key[end + 1] == 0xFF:  # an escaped 0x00 inside the value
            end = key.index(b"\x00", end + 2)
        raw = key[position:end].replace(b"\x00\xff", b"\x00")
        values.append(raw.decode("utf-8") if kind == "STRING" else bytearray(raw))
        position = end + 2
    return values


def encode_value(value: Any) -> list:
    if isinstance(value, bool):
        return ["t", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, float):
        return ["f", value]
    if isinstance(value, str):
        return ["s", value]
    if isinstance(value, (bytes, bytearray)):
        return ["b", base64.b64encode(bytes(value)).decode("ascii")]
    raise TypeError(f"cannot persist a {type(value).__name__} value")


def decode_value(tagged: list) -> Any:
    tag, raw = tagged
    if tag == "b":
        return bytearray(base64.b64decode(raw))
    if tag in ("t", "i", "f", "s"):
        return {"t": bool, "i": int, "f": float, "s": str}[tag](raw)
    raise ValueError(f"unknown value tag {tag!r}")


def _encode_columns(columns: dict) -> str:
    return json.dumps(
        [[name, encode_value(value), timestamp] for name, (value, timestamp) in columns.items()],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode_columns(text: str) -> dict:
    return {name: (decode_value(value), timestamp) for name, value, timestamp in json.loads(text)}


def _migrate(connection: sqlite3.Connection, snapshot: dict[str, Any]) -> None:
    """Load a format-1 snapshot (`tablestore.json`) into a new database."""
    for name, table in snapshot["tables"].items():
        meta = {
            "schema": [[column, kind] for column, kind, *_ in table["schema"]],
            "defined_columns": table["defined_columns"],
            "settings": table["settings"],
            "reserved": table["reserved"],
            "created_at": table["created_at"],
        }
        cursor = connection.execute("INSERT INTO tables (name, meta) VALUES (?, ?)", (name, json.dumps(meta)))
        table_id = cursor.lastrowid
        connection.executemany(
            "INSERT INTO rows (table_id, key, columns) VALUES (?, ?, ?)",
            (
                (
                    table_id,
                    encode_key([(column, decode_value(value)) for column, value in row["pk"]]),
                    json.dumps(row["columns"], ensure_ascii=False, separators=(",", ":")),
                )
                for row in table["rows"]
            ),
        )


class RowStore:
    """Tables and rows of one emulator instance; callers hold the state's lock."""

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.database = Database(
            data_dir, "tablestore", SCHEMA, FORMAT_VERSION, "Tablestore", legacy=LEGACY_SNAPSHOT, migrate=_migrate
        )

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.transaction()

    def close(self) -> None:
        self.database.close()

    # ---- tables ---------------------------------------------------------------------------------

    def tables(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, name, meta) of every table."""
        rows = self.database.connection.execute("SELECT id, name, meta FROM tables ORDER BY id")
        return [(table_id, name, json.loads(meta)) for table_id, name, meta in rows]

    def add_table(self, name: str, meta: dict[str, Any]) -> int:
        with self.transaction() as connection:
            cursor = connection.execute("INSERT INTO tables (name, meta) VALUES (?, ?)", (name, json.dumps(meta)))
            assert cursor.lastrowid is not None  # an INSERT into a rowid table
            return cursor.lastrowid

    def update_table(self, table_id: int, meta: dict[str, Any]) -> None:
        """New schema and settings of a table (predefined columns added, an index created)."""
        with self.transaction() as connection:
            connection.execute("UPDATE tables SET meta = ? WHERE id = ?", (json.dumps(meta), table_id))

    # ---- rows -----------------------------------------------------------------------------------

    def get(self, table_id: int, key: bytes) -> dict | None:
        """{name: (value, timestamp_ms)} of one row, or None."""
        found = self.database.connection.execute(
            "SELECT columns FROM rows WHERE table_id = ? AND key = ?", (table_id, key)
        ).fetchone()
        return None if found is None else _decode_columns(found[0])

    def put(self, table_id: int, key: bytes, columns: dict) -> None:
        self.database.connection.execute(
            "INSERT OR REPLACE INTO rows (table_id, key, columns) VALUES (?, ?, ?)",
            (table_id, key, _encode_columns(columns)),
        )

    def delete(self, table_id: int, key: bytes) -> None:
        self.database.connection.execute("DELETE FROM rows WHERE table_id = ? AND key = ?", (table_id, key))

    def between(self, table_id: int, start: bytes, end: bytes, forward: bool) -> Iterator[tuple[bytes, dict]]:
        """(key, columns) forward: start <= key < end, ascending; backward: end < key <= start, descending."""
        if forward:
            query = "SELECT key, columns FROM rows WHERE table_id = ? AND key >= ? AND key < ? ORDER BY key"
        else:
            query = "SELECT key, columns FROM rows WHERE table_id = ? AND key <= ? AND key > ? ORDER BY key DESC"
        with closing(self.database.connection.execute(query, (table_id, start, end))) as cursor:
            for key, columns in cursor:
                yield key, _decode_columns(columns)

    def count(self, table_id: int) -> int:
        return int(
            self.database.connection.execute("SELECT count(*) FROM rows WHERE table_id = ?", (table_id,)).fetchone()[0]
        )
