"""Snapshot persistence: every queue and message as one JSON file, rewritten atomically after each change.

The file is `<data_dir>/mns.json`. Messages keep their whole state (dequeue count, next visible time,
current receipt handle), so a message that was received but not deleted before a restart comes back
when its visibility timeout ends, as it would on the service. Loading and the atomic rewrite are
`sms_receipts_dev.emulators.snapshot`'s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..snapshot import JsonSnapshotStore
from .models import MnsState, Queue, QueueAttributes, StoredMessage

SNAPSHOT_NAME = "mns.json"
FORMAT_VERSION = 1


def _encode_queue(queue: Queue) -> dict:
    return {
        "attributes": dataclasses.asdict(queue.attributes),
        "create_time": queue.create_time,
        "last_modify_time": queue.last_modify_time,
        "messages": [dataclasses.asdict(message) for message in queue.messages.values()],
    }


def _decode_queue(name: str, data: dict) -> Queue:
    queue = Queue(name, QueueAttributes(**data["attributes"]), data["create_time"], data["last_modify_time"])
    for item in data["messages"]:
        message = StoredMessage(**item)
        queue.messages[message.sequence] = message
    return queue


class SnapshotStore(JsonSnapshotStore[MnsState]):
    file_name, service_title, format_version = SNAPSHOT_NAME, "MNS", FORMAT_VERSION
    ensure_ascii = False

    def encode(self, state: MnsState) -> dict[str, Any]:
        return {
            "next_sequence": state.next_sequence,
            "queues": {name: _encode_queue(queue) for name, queue in state.queues.items()},
        }

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "queues": {name: _decode_queue(name, queue) for name, queue in data["queues"].items()},
            "next_sequence": int(data["next_sequence"]),
        }
