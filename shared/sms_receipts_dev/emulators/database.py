"""The emulators' embedded store: one SQLite database per service, written incrementally.

With a data directory the database is `<data_dir>/<file_name>` in WAL mode; without one it lives in
memory, so tests and the local stack run the same code. A service's state runs every change of one
request in one `transaction()`, committed before the emulator replies: an acknowledged write is on
disk, not just in memory.

Why SQLite rather than an append-only journal: the Tablestore emulator needs its rows out of the Python
heap *and* read back in primary-key order (GetRange, forward and backward) without an index in memory;
a journal gives durability but still needs an in-memory index, its own compaction and its own recovery of
a torn tail. SQLite (standard library) gives an on-disk B-tree ordered by a BLOB key, bounded memory
(its page cache, `CACHE_KIB`), crash recovery and cheap commits in WAL mode.

Durability: WAL with `synchronous=NORMAL` fsyncs only at checkpoints, so a commit is one write to the
WAL file. That write is in the operating system's page cache when the call returns, which survives the
process being killed (`kill -9` of the whole stack loses nothing that was acknowledged). A power loss or
kernel crash may lose the last commits; that is out of scope for a local stack.

A database carries its format in `PRAGMA user_version`. A data directory still holding a service's old
JSON snapshot (written by earlier versions, after every change) is loaded into the new database once by
the service's `migrate` function, then renamed `<snapshot>.migrated`.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FILE_SUFFIX = ".sqlite3"
CACHE_KIB = 8 * 1024  # SQLite's page cache per database: what the emulator keeps of its data in memory
MIGRATED_SUFFIX = ".migrated"

Migration = Callable[[sqlite3.Connection, dict[str, Any]], None]


class Database:
    """One service's SQLite database. Not thread-safe on its own: callers hold their state's lock.

    `schema` is the DDL run on a new database; `format_version` goes into `user_version`. `legacy` names
    an old JSON snapshot in `data_dir` and `migrate` loads its parsed content into a new database.
    `close()` (the emulator's `stop()`) checkpoints the WAL into the file; the next use reopens it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike | None,
        name: str,
        schema: str,
        format_version: int,
        service_title: str,
        *,
        legacy: str | None = None,
        migrate: Migration | None = None,
    ):
        self.path = None if data_dir is None else Path(data_dir) / f"{name}{FILE_SUFFIX}"
        self.legacy_path = None if data_dir is None or legacy is None else Path(data_dir) / legacy
        self._schema = schema
        self._format_version = format_version
        self._service_title = service_title
        self._migrate = migrate
        self._connection: sqlite3.Connection | None = None
        self._depth = 0  # nested transaction() calls join the outermost one
        self.connection  # noqa: B018 - open now, so a bad data dir fails at construction

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._open()
        return self._connection

    def _open(self) -> sqlite3.Connection:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; `transaction()` says where each one starts and ends.
        connection = sqlite3.connect(
            ":memory:" if self.path is None else str(self.path), isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")  # memory databases keep their own journal mode
            connection.execute("PRAGMA synchronous=NORMAL")  # see the module docstring: durable against kill -9
            connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._create(connection)
            elif version != self._format_version:
                raise RuntimeError(
                    f"cannot open {self._service_title} emulator database {self.path}: format {version}, this "
                    f"emulator reads format {self._format_version}; move the data dir away to start afresh"
                )
        except BaseException:
            connection.close()
            raise
        return connection

    def _create(self, connection: sqlite3.Connection) -> None:
        legacy = self._read_legacy()
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, self._schema.split(";")):  # executescript() would commit midway
                connection.execute(statement)
            if legacy is not None and self._migrate is not None:
                try:
                    self._migrate(connection, legacy)
                except (ValueError, KeyError, TypeError) as error:
                    raise RuntimeError(
                        f"cannot migrate {self._service_title} emulator snapshot {self.legacy_path}: {error!r}"
                    ) from error
            connection.execute(f"PRAGMA user_version={int(self._format_version)}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if legacy is not None and self.legacy_path is not None:
            self.legacy_path.replace(self.legacy_path.with_name(self.legacy_path.name + MIGRATED_SUFFIX))
            logger.info("migrated %s into %s", self.legacy_path, self.path)

    def _read_legacy(self) -> dict[str, Any] | None:
        if self.legacy_path is None or not self.legacy_path.exists():
            return None
        try:
            data = json.loads(self.legacy_path.read_text(encoding="utf-8"))
            found = data.get("format") if isinstance(data, dict) else None
            if found != 1:
                raise ValueError(f"unsupported snapshot format {found!r}")
        except (OSError, ValueError) as error:
            raise RuntimeError(
                f"cannot migrate {self._service_title} emulator snapshot {self.legacy_path}: {error}"
            ) from error
        return data

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block's changes as one transaction: committed when it ends, rolled back if it raises."""
        connection = self.connection
        if self._depth:
            self._depth += 1
            try:
                yield connection
            finally:
                self._depth -= 1
            return
        connection.execute("BEGIN")
        self._depth = 1
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")
        finally:
            self._depth = 0

    def close(self) -> None:
        """Close a file database (SQLite folds the WAL into it); a memory one stays, or its data would go."""
        if self.path is not None and self._connection is not None:
            self._connection.close()
            self._connection = None
