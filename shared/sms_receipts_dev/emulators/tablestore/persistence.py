"""Snapshot persistence: the whole state as one JSON file, rewritten atomically after each change.

The file is `<data_dir>/tablestore.json`. Values are tagged so every type round-trips exactly:
["i", 5], ["f", 1.5], ["t", true], ["s", "text"], ["b", "<base64>"] (BINARY comes back as `bytearray`).
Loading and the atomic rewrite are `sms_receipts_dev.emulators.snapshot`'s.
"""

from __future__ import annotations

import base64
from typing import Any

from ..snapshot import JsonSnapshotStore
from .models import PrimaryKeyColumn, StoredRow, Table, TableSettings, TablestoreState

SNAPSHOT_NAME = "tablestore.json"
FORMAT_VERSION = 1


def _encode_value(value: Any) -> list:
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


def _decode_value(tagged: list) -> Any:
    tag, raw = tagged
    if tag == "b":
        return bytearray(base64.b64decode(raw))
    if tag in ("t", "i", "f", "s"):
        return {"t": bool, "i": int, "f": float, "s": str}[tag](raw)
    raise ValueError(f"unknown value tag {tag!r}")


def _encode_table(table: Table) -> dict:
    return {
        "schema": [[column.name, column.type, False] for column in table.schema],  # False: was auto-increment
        "defined_columns": [list(column) for column in table.defined_columns],
        "settings": vars(table.settings),
        "reserved": list(table.reserved),
        "created_at": table.created_at,
        "auto_increment_last": 0,  # kept so snapshots stay format 1
        "rows": [
            {
                "pk": [[name, _encode_value(value)] for name, value in row.primary_key],
                "columns": [
                    [name, _encode_value(value), timestamp] for name, (value, timestamp) in row.columns.items()
                ],
            }
            for row in table.rows.values()
        ],
    }


def _decode_table(name: str, data: dict) -> Table:
    table = Table(
        name,
        [PrimaryKeyColumn(column, kind) for column, kind, _ in data["schema"]],
        [tuple(column) for column in data["defined_columns"]],
        TableSettings(**data["settings"]),
        tuple(data["reserved"]),
        data["created_at"],
    )
    for row in data["rows"]:
        table.put(
            StoredRow(
                tuple((column, _decode_value(value)) for column, value in row["pk"]),
                {column: (_decode_value(value), timestamp) for column, value, timestamp in row["columns"]},
            )
        )
    return table


class SnapshotStore(JsonSnapshotStore[TablestoreState]):
    file_name, service_title, format_version = SNAPSHOT_NAME, "Tablestore", FORMAT_VERSION

    def encode(self, state: TablestoreState) -> dict[str, Any]:
        return {"tables": {name: _encode_table(table) for name, table in state.tables.items()}}

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"tables": {name: _decode_table(name, table) for name, table in data["tables"].items()}}
