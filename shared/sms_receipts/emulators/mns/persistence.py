"""Snapshot persistence: every queue and message as one JSON file, rewritten atomically after each change.

The file is `<data_dir>/mns.json`. Messages keep their whole state (dequeue count, next visible time,
current receipt handle), so a message that was received but not deleted before a restart comes back
when its visibility timeout ends, as it would on the service. A write goes to a temporary file in the
same directory, is fsynced, then replaces the snapshot: a crash leaves the old or the new state.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path

from .models import MnsBackend, Queue, QueueAttributes, StoredMessage

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


class SnapshotStore:
    """Loads a backend from `data_dir` and saves it whenever its mutation counter has moved."""

    def __init__(self, data_dir: str | os.PathLike):
        self.directory = Path(data_dir)
        self.path = self.directory / SNAPSHOT_NAME
        self._saved_mutations: int | None = None

    def load(self, backend: MnsBackend) -> None:
        """Fill an empty backend from the snapshot, if there is one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
            queues = {name: _decode_queue(name, queue) for name, queue in data["queues"].items()}
            next_sequence = int(data["next_sequence"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"cannot load MNS emulator snapshot {self.path}: {error}") from error
        with backend.lock:
            backend.queues = queues
            backend.next_sequence = next_sequence
            self._saved_mutations = backend.mutations

    def save_if_changed(self, backend: MnsBackend) -> bool:
        # Serialise and write under the backend lock so snapshots land in mutation order.
        with backend.lock:
            if backend.mutations == self._saved_mutations:
                return False
            data = {
                "format": FORMAT_VERSION,
                "next_sequence": backend.next_sequence,
                "queues": {name: _encode_queue(queue) for name, queue in backend.queues.items()},
            }
            self._write_atomically(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
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
