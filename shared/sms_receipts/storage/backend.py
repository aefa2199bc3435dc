"""The small interface between the store's logic and a table service."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .plan import PlannedRow

PrimaryKey = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class RowResult:
    ok: bool
    code: str | None = None  # the service's error code for this row, e.g. OTSConditionCheckFail
    message: str | None = None


class BackendError(Exception):
    """A whole request failed. `code` is the service's error code, or NetworkError when no answer came."""

    def __init__(self, code: str, message: str, http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class StorageBackend(ABC):
    @abstractmethod
    def batch_write(self, rows: list[PlannedRow], timeout: float) -> list[RowResult]:
        """Write (or, for `DeleteRow`, delete) the rows in one request; one result per row, in order.
        Raises BackendError."""

    @abstractmethod
    def batch_get(
        self, table: str, keys: list[PrimaryKey], columns: list[str], timeout: float
    ) -> list[dict[str, Any] | None]:
        """Read rows by primary key; None for a missing row. Raises BackendError."""

    @abstractmethod
    def scan(
        self,
        table: str,
        start: PrimaryKey | None = None,
        end: PrimaryKey | None = None,
        since: tuple[str, int] | None = None,
        *,
        index: str | None = None,
        columns: list[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows of a table (or of a primary-key range, `start` included and `end` not; a key that
        names only the first columns spans the rest, so `start == end == (("day_shard", d),)` is
        every row under that first column) in key order, as dicts; `since` =
        (column, value) keeps only rows whose integer column is at least the value (filtered by the
        service, which still reads every row of the range). `index` names one of the table's
        (`schema.TableSchema.indexes`): its rows instead, keyed and ordered by its key
        (`TableSchema.index_key`), holding its columns only. `columns`: only these attribute columns
        (and the primary key); None or empty, every column. Raises BackendError."""

    def serializer_fallbacks(self) -> int:
        """Rows this process has so far encoded the slow way (a backend with a fast path counts them)."""
        return 0
