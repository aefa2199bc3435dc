"""Where the MNS emulator keeps queues and messages: `MessageStore`, on the emulators' SQLite `Database`.

`<data_dir>/mns.sqlite3` (memory only without a data dir) holds `queues` (attributes as JSON), `messages`
(one row per message with its whole state: dequeue count, next visible time, current receipt handle, so
a message received but not deleted before a restart comes back when its visibility timeout ends, as it
would on the service) and `counters` (the next message sequence, never reused). A data dir holding the
old snapshot (`mns.json`, format 1) is migrated into the database on first start.

Memory: messages are read per request (at most one receive batch, or one queue for `message_views`), not
kept in Python; SQLite's page cache (`database.CACHE_KIB`) is the bound.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from ..database import Database
from .models import Queue, QueueAttributes, StoredMessage

FORMAT_VERSION = 2  # 1 was the JSON snapshot
LEGACY_SNAPSHOT = "mns.json"
SCHEMA = """
CREATE TABLE queues (
    name TEXT PRIMARY KEY, attributes TEXT NOT NULL, create_time INTEGER NOT NULL, last_modify_time INTEGER NOT NULL
);
CREATE TABLE messages (
    sequence INTEGER PRIMARY KEY, queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
    body_md5 TEXT NOT NULL, priority INTEGER NOT NULL, enqueue_time INTEGER NOT NULL,
    next_visible_time INTEGER NOT NULL, first_dequeue_time INTEGER NOT NULL, dequeue_count INTEGER NOT NULL,
    receipt_handle TEXT NOT NULL
);
CREATE INDEX messages_in_receive_order ON messages (queue, priority, sequence);
CREATE INDEX messages_by_age ON messages (queue, enqueue_time);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('next_sequence', 1)
"""
_FIELDS = [item.name for item in dataclasses.fields(StoredMessage)]
_COLUMNS = ", ".join(["queue", *_FIELDS])
_SELECT = f"SELECT {', '.join(_FIELDS)} FROM messages"


def _put_queue(connection: sqlite3.Connection, queue: Queue) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO queues VALUES (?, ?, ?, ?)",
        (queue.name, json.dumps(dataclasses.asdict(queue.attributes)), queue.create_time, queue.last_modify_time),
    )


def _insert(connection: sqlite3.Connection, queue: str, messages: list[StoredMessage]) -> None:
    connection.executemany(
        f"INSERT INTO messages ({_COLUMNS}) VALUES ({', '.join('?' * (len(_FIELDS) + 1))})",
        ((queue, *dataclasses.astuple(message)) for message in messages),
    )


def _migrate(connection: sqlite3.Connection, snapshot: dict[str, Any]) -> None:
    """Load a format-1 snapshot (`mns.json`) into a new database."""
    for name, data in snapshot["queues"].items():
        queue = Queue(name, QueueAttributes(**data["attributes"]), data["create_time"], data["last_modify_time"])
        _put_queue(connection, queue)
        _insert(connection, name, [StoredMessage(**item) for item in data["messages"]])
    connection.execute("UPDATE counters SET value = ? WHERE name = 'next_sequence'", (int(snapshot["next_sequence"]),))


class MessageStore:
    """Queues and messages of one MNS account; callers hold the state's lock."""

    def __init__(self, data_dir: str | os.PathLike | None = None):
        self.database = Database(
            data_dir, "mns", SCHEMA, FORMAT_VERSION, "MNS", legacy=LEGACY_SNAPSHOT, migrate=_migrate
        )

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.transaction()

    def close(self) -> None:
        self.database.close()

    # ---- queues ---------------------------------------------------------------------------------

    def queues(self) -> list[Queue]:
        rows = self.database.connection.execute("SELECT name, attributes, create_time, last_modify_time FROM queues")
        return [
            Queue(name, QueueAttributes(**json.loads(attributes)), created, modified)
            for name, attributes, created, modified in rows
        ]

    def put_queue(self, queue: Queue) -> None:
        _put_queue(self.database.connection, queue)

    def clear(self, queue: str) -> None:
        self.database.connection.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    # ---- messages -------------------------------------------------------------------------------

    def take_sequence(self) -> int:
        """The next message sequence; the counter moves in the caller's transaction."""
        connection = self.database.connection
        (sequence,) = connection.execute("SELECT value FROM counters WHERE name = 'next_sequence'").fetchone()
        connection.execute("UPDATE counters SET value = ? WHERE name = 'next_sequence'", (sequence + 1,))
        return int(sequence)

    def insert(self, queue: str, message: StoredMessage) -> None:
        _insert(self.database.connection, queue, [message])

    def update(self, message: StoredMessage) -> None:
        self.database.connection.execute(
            "UPDATE messages SET next_visible_time = ?, first_dequeue_time = ?, dequeue_count = ?, receipt_handle = ?"
            " WHERE sequence = ?",
            (
                message.next_visible_time,
                message.first_dequeue_time,
                message.dequeue_count,
                message.receipt_handle,
                message.sequence,
            ),
        )

    def delete(self, sequence: int) -> None:
        self.database.connection.execute("DELETE FROM messages WHERE sequence = ?", (sequence,))

    def expire(self, queue: str, cutoff: int) -> None:
        """Delete the queue's messages enqueued at or before `cutoff` (ms)."""
        self.database.connection.execute("DELETE FROM messages WHERE queue = ? AND enqueue_time <= ?", (queue, cutoff))

    def get(self, queue: str, sequence: int) -> StoredMessage | None:
        row = self.database.connection.execute(
            f"{_SELECT} WHERE sequence = ? AND queue = ?", (sequence, queue)
        ).fetchone()
        return None if row is None else StoredMessage(*row)

    def visible(self, queue: str, now: int, count: int | None = None) -> list[StoredMessage]:
        """Up to `count` messages visible at `now`, in receive order (priority, then enqueue order)."""
        rows = self.database.connection.execute(
            f"{_SELECT} WHERE queue = ? AND next_visible_time <= ? ORDER BY priority, sequence LIMIT ?",
            (queue, now, -1 if count is None else count),
        )
        return [StoredMessage(*row) for row in rows]

    def all(self, queue: str) -> list[StoredMessage]:
        """Every message of a queue in receive order, visible or not."""
        rows = self.database.connection.execute(f"{_SELECT} WHERE queue = ? ORDER BY priority, sequence", (queue,))
        return [StoredMessage(*row) for row in rows]
