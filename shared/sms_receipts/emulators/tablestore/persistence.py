"""Snapshot persistence: the whole backend as one JSON file, rewritten atomically after each change.

The file is `<data_dir>/tablestore.json`. Values are tagged so every type round-trips exactly:
["i", 5], ["f", 1.5], ["t", true], ["s", "text"], ["b", "<base64>"] (BINARY comes back as `bytearray`).
A write goes to a temporary file in the same directory, is fsynced, then replaces the snapshot, so a
crash leaves either the old or the new state, never a torn file.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .models import PrimaryKeyColumn, StoredRow, Table, TableSettings, TablestoreBackend

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
        "schema": [[column.name, column.type, column.auto_increment] for column in table.schema],
        "defined_columns": [list(column) for column in table.defined_columns],
        "settings": vars(table.settings),
        "reserved": list(table.reserved),
        "created_at": table.created_at,
        "auto_increment_last": table.auto_increment_last,
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
        [PrimaryKeyColumn(column, kind, bool(auto)) for column, kind, auto in data["schema"]],
        [tuple(column) for column in data["defined_columns"]],
        TableSettings(**data["settings"]),
        tuple(data["reserved"]),
        data["created_at"],
    )
    table.auto_increment_last = data["auto_increment_last"]
    for row in data["rows"]:
        table.put(
            StoredRow(
                [(column, _decode_value(value)) for column, value in row["pk"]],
                {column: (_decode_value(value), timestamp) for column, value, timestamp in row["columns"]},
            )
        )
    return table


class SnapshotStore:
    """Loads a backend from `data_dir` and saves it whenever its mutation counter has moved."""

    def __init__(self, data_dir: str | os.PathLike):
        self.directory = Path(data_dir)
        self.path = self.directory / SNAPSHOT_NAME
        self._saved_mutations: int | None = None

    def load(self, backend: TablestoreBackend) -> None:
        """Fill an empty backend from the snapshot, if there is one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
            tables = {name: _decode_table(name, table) for name, table in data["tables"].items()}
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"cannot load Tablestore emulator snapshot {self.path}: {error}") from error
        with backend.lock:
            backend.tables = tables
            self._saved_mutations = backend.mutations

    def save_if_changed(self, backend: TablestoreBackend) -> bool:
        # Serialise and write under the backend lock so snapshots land in mutation order.
        with backend.lock:
            if backend.mutations == self._saved_mutations:
                return False
            data = {
                "format": FORMAT_VERSION,
                "tables": {name: _encode_table(table) for name, table in backend.tables.items()},
            }
            self._write_atomically(json.dumps(data, separators=(",", ":")))
            self._saved_mutations = backend.mutations
            return True

    def _write_atomically(self, text: str) -> None:
        descriptor, temporary = tempfile.mkstemp(prefix=SNAPSHOT_NAME, suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
