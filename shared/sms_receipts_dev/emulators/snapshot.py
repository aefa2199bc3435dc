"""Snapshot persistence shared by the emulators: a backend as one JSON file, rewritten atomically after each change.

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


class SnapshotBackend(Protocol):
    mutations: int  # moves on every change, so an unchanged backend is not rewritten

    @property
    def lock(self) -> AbstractContextManager[Any]: ...


_Backend = TypeVar("_Backend", bound=SnapshotBackend)


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


class JsonSnapshotStore(Generic[_Backend]):
    """Loads a backend from `data_dir` and saves it whenever its mutation counter has moved."""

    file_name: str
    service_title: str  # names the service in load errors
    format_version = 1
    ensure_ascii = True  # part of each service's file format

    def __init__(self, data_dir: str | os.PathLike):
        self.directory = Path(data_dir)
        self.path = self.directory / self.file_name
        self._saved_mutations: int | None = None

    def encode(self, backend: _Backend) -> dict[str, Any]:
        """The backend's state as JSON-ready data (called under the backend lock)."""
        raise NotImplementedError

    def decode(self, data: dict[str, Any]) -> dict[str, Any]:
        """The backend attributes a snapshot restores, by name; raises ValueError, KeyError or TypeError."""
        raise NotImplementedError

    def load(self, backend: _Backend) -> None:
        """Fill an empty backend from the snapshot, if there is one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != self.format_version:
                raise ValueError(f"unsupported snapshot format {data.get('format')!r}")
            state = self.decode(data)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RuntimeError(f"cannot load {self.service_title} emulator snapshot {self.path}: {error}") from error
        with backend.lock:
            for name, value in state.items():
                setattr(backend, name, value)
            self._saved_mutations = backend.mutations

    def save_if_changed(self, backend: _Backend) -> bool:
        # Serialise and write under the backend lock so snapshots land in mutation order.
        with backend.lock:
            if backend.mutations == self._saved_mutations:
                return False
            data = {"format": self.format_version, **self.encode(backend)}
            write_atomically(self.path, json.dumps(data, ensure_ascii=self.ensure_ascii, separators=(",", ":")))
            self._saved_mutations = backend.mutations
            return True
