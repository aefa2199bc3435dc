"""Snapshot persistence shared by the emulators: a state as one JSON file, rewritten atomically after each change.

A service subclasses `JsonSnapshotStore` with its file name and its own JSON shape (`encode`/`decode`);
the file is `{"format": <version>, ...}`. A write goes to a temporary file in the same directory, is
fsynced, then replaces the snapshot, so a crash leaves either the old or the new state, never a torn file.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar


class SnapshotState(Protocol):
    mutations: int  # moves on every change, so an unchanged state is not rewritten

    @property
    def lock(self) -> AbstractContextManager[Any]: ...


_State = TypeVar("_State", bound=SnapshotState)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8): the old content or the new, whatever happens midway."""
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class JsonSnapshotStore(Generic[_State]):
    """Loads a state from `data_dir` and saves it whenever its mutation counter has moved."""

    file_name: str
    service_title: str  # names the service in load errors
    format_version = 1
    ensure_ascii = True  # part of each service's file format

    def __init__(self, data_dir: str | os.PathLike):
        self.directory = Path(data_dir)
        self.path = self.directory / self.file_name
        self._saved_mutations: int | None = None

    def encode(self, state: _State) -> dict[str, Any]:
        """The state as JSON-ready data (called under its lock)."""
        raise NotImplementedError

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        """The state attributes a snapshot restores, by name; raises ValueError, KeyError or TypeError."""
        raise NotImplementedError

    def load(self, state: _State) -> None:
        """Fill an empty state from the snapshot, if there is one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != self.format_version:
                raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
            restored = self.decode(data)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"cannot load {self.service_title} emulator snapshot {self.path}: {error}") from error
        with state.lock:
            for name, value in restored.items():
                setattr(state, name, value)
            self._saved_mutations = state.mutations

    def save_if_changed(self, state: _State) -> bool:
        # Serialise and write under the state lock so snapshots land in mutation order.
        with state.lock:
            if state.mutations == self._saved_mutations:
                return False
            data = {"format": self.format_version, **self.encode(state)}
            write_atomically(self.path, json.dumps(data, ensure_ascii=self.ensure_ascii, separators=(",", ":")))
            self._saved_mutations = state.mutations
            return True
