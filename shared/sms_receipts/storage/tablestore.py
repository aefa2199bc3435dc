"""The Tablestore adapter: translates planned rows into `tablestore` SDK calls and answers back.

It holds no rules: conditions, retries and outcomes are decided in `plan` and `writer`. What it adds
to the SDK: a per-request timeout (the SDK has only one per client, and the HTTP path must stop
inside its 700 ms budget), and network errors reported as `BackendError("NetworkError")` (the SDK
lets urllib3's exceptions through). What it leaves to the caller: the SDK's log level
(`quiet_sdk_logs()`) and the fast PlainBuffer serializer (`plainbuffer.install_fast_put_row_serializer`),
both set once by the composition root, `storage.factory.Storage`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from tablestore import (
    INF_MAX,
    INF_MIN,
    BatchGetRowRequest,
    BatchWriteRowRequest,
    CapacityUnit,
    ComparatorType,
    Condition,
    DeleteRowItem,
    Direction,
    OTSClient,
    OTSClientError,
    OTSServiceError,
    PutRowItem,
    ReservedThroughput,
    Row,
    RowExistenceExpectation,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
)
from tablestore.connection import ConnectionPool
from tablestore.retry import NoRetryPolicy

from . import plainbuffer
from .backend import BackendError, PrimaryKey, RowResult, StorageBackend
from .plan import DeleteRow, InsertOnce, PlannedRow, Replace, SupersedeIfNewer
from .schema import TABLES, TableSchema

SDK_LOGGER = "sms_receipts.tablestore_sdk"  # the clients' logger (`logger_name`), under the package's own
_NETWORK_ERRORS = (urllib3.exceptions.HTTPError, OSError)


def quiet_sdk_logs(level: int = logging.CRITICAL) -> None:
    """Set the level of the SDK clients' logger: the one place it is set (composition root, CLI, dev).

    The SDK logs each failed request at ERROR; the store retries those and logs what matters itself.
    A level also matters for speed: the SDK formats each request's whole protobuf for DEBUG whenever
    its logger's own level is unset (it tests `logger.level`, not the effective level).
    """
    logging.getLogger(SDK_LOGGER).setLevel(level)


class _PerRequestTimeoutConnection(ConnectionPool):
    """The SDK's connection pool, with a timeout per call: `with connection.timeout(seconds):`.

    The timeout is the calling thread's own (a `threading.local`), so threads sharing one client
    (a threaded WSGI server, the dev gateway) never see each other's. The SDK sends a call's request
    from the calling thread, inside `send_receive`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._calls = threading.local()

    @contextmanager
    def timeout(self, seconds: float | None) -> Iterator[None]:
        """Within the block, this thread's requests time out after `seconds` (None: the client's)."""
        outer = getattr(self._calls, "timeout", None)
        self._calls.timeout = seconds
        try:
            yield
        finally:
            self._calls.timeout = outer

    def send_receive(
        self, url: str, request_headers: dict[str, str], request_body: bytes
    ) -> tuple[int, str, dict[str, str], bytes]:
        timeout = getattr(self._calls, "timeout", None)
        response = self.pool.urlopen(
            "POST",
            self.host + self.path + url,
            body=request_body,
            headers=request_headers,
            redirect=False,
            assert_same_host=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout) if timeout else urllib3.Timeout.DEFAULT_TIMEOUT,
            retries=False,  # the store retries, within its deadline
        )
        return response.status, response.reason, dict(response.headers), response.data


def make_client(
    endpoint: str,
    instance_name: str,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None = None,
    region: str | None = None,
    socket_timeout: float = 10.0,
    credentials_provider: Any = None,
) -> OTSClient:
    """An OTSClient whose own retries are off (the store owns retries), logging to `SDK_LOGGER`, with
    a timeout per call. It changes nothing process-wide: a caller that builds one without `Storage`
    sets the SDK up itself (`quiet_sdk_logs()`, `plainbuffer.install_fast_put_row_serializer()`)."""
    kwargs: dict[str, Any] = {
        "sts_token": security_token or None,
        "socket_timeout": socket_timeout,
        "retry_policy": NoRetryPolicy(),
        "logger_name": SDK_LOGGER,
    }
    if region:
        kwargs["region"] = region
    if credentials_provider is not None:
        kwargs["credentials_provider"] = credentials_provider
    client = OTSClient(endpoint, access_key_id, access_key_secret, instance_name, **kwargs)
    client.connection = _PerRequestTimeoutConnection(
        client.host, client.path, timeout=socket_timeout, maxsize=client.max_connection
    )
    return client


def _condition(condition: InsertOnce | SupersedeIfNewer | DeleteRow | Replace) -> Condition:
    if isinstance(condition, InsertOnce):
        return Condition(RowExistenceExpectation.EXPECT_NOT_EXIST)
    if isinstance(condition, (DeleteRow, Replace)):
        return Condition(RowExistenceExpectation.IGNORE)
    newer = SingleColumnCondition("order_key", condition.order_key, ComparatorType.LESS_THAN, pass_if_missing=True)
    return Condition(RowExistenceExpectation.IGNORE, newer)


def _write_item(row: PlannedRow) -> PutRowItem | DeleteRowItem:
    if isinstance(row.condition, DeleteRow):
        return DeleteRowItem(Row(list(row.primary_key)), _condition(row.condition))
    return PutRowItem(Row(list(row.primary_key), list(row.columns)), _condition(row.condition))


class TablestoreBackend(StorageBackend):
    def __init__(self, client: OTSClient, table_prefix: str = ""):
        self.client = client
        self.table_prefix = table_prefix

    def table_name(self, table: str) -> str:
        return self.table_prefix + table

    def serializer_fallbacks(self) -> int:
        return plainbuffer.fallbacks()

    def _call(self, timeout: float | None, method: Callable[..., Any], *args: Any) -> Any:
        connection = self.client.connection
        try:
            if isinstance(connection, _PerRequestTimeoutConnection):
                with connection.timeout(timeout):
                    return method(*args)
            return method(*args)
        except OTSServiceError as exc:
            raise BackendError(exc.get_error_code(), exc.get_error_message(), exc.get_http_status()) from exc
        except OTSClientError as exc:
            raise BackendError("OTSClientError", exc.get_error_message(), exc.get_http_status()) from exc
        except _NETWORK_ERRORS as exc:
            raise BackendError("NetworkError", f"{type(exc).__name__}: {exc}") from exc

    def batch_write(self, rows: list[PlannedRow], timeout: float) -> list[RowResult]:
        by_table: dict[str, list[int]] = {}
        for position, row in enumerate(rows):
            by_table.setdefault(row.table, []).append(position)
        request = BatchWriteRowRequest()
        for table, positions in by_table.items():
            items = [_write_item(rows[p]) for p in positions]
            request.add(TableInBatchWriteRowItem(self.table_name(table), items))
        response = self._call(timeout, self.client.batch_write_row, request)
        results: list[RowResult | None] = [None] * len(rows)
        for table, positions in by_table.items():
            name = self.table_name(table)
            # The SDK sorts a table's results by the kind of each request row; `index` is the row's.
            for result in (*response.get_put_by_table(name), *response.get_delete_by_table(name)):
                results[positions[result.index]] = RowResult(result.is_ok, result.error_code, result.error_message)
        missing = [p for p, r in enumerate(results) if r is None]
        for p in missing:  # never seen from the service, but an unanswered row must not count as written
            results[p] = RowResult(False, "OTSInternalServerError", "no result for this row")
        return results  # type: ignore[return-value]

    def batch_get(
        self, table: str, keys: list[PrimaryKey], columns: list[str], timeout: float
    ) -> list[dict[str, Any] | None]:
        request = BatchGetRowRequest()
        request.add(TableInBatchGetRowItem(self.table_name(table), [list(k) for k in keys], columns, max_version=1))
        response = self._call(timeout, self.client.batch_get_row, request)
        found: list[dict[str, Any] | None] = []
        for result in response.get_result_by_table(self.table_name(table)):
            if not result.is_ok:
                raise BackendError(result.error_code or "OTSError", result.error_message or "row read failed")
            found.append(row_to_dict(result.row) if result.row is not None else None)
        return found

    # -- administration and reading back (CLI) --------------------------------------------------

    def create_missing_tables(self, tables: dict[str, TableSchema] = TABLES) -> list[str]:
        """Create the tables that do not exist yet; return the names created. Safe to repeat."""
        existing = set(self._call(None, self.client.list_table))
        created = []
        for schema in tables.values():
            name = self.table_name(schema.name)
            if name in existing:
                continue
            meta = TableMeta(name, list(schema.primary_key))
            options = TableOptions(time_to_live=-1, max_version=1)
            try:
                self._call(None, self.client.create_table, meta, options, ReservedThroughput(CapacityUnit(0, 0)))
            except BackendError as exc:
                if exc.code != "OTSObjectAlreadyExist":  # created meanwhile by another run
                    raise
            created.append(name)
        return created

    def scan(
        self,
        table: str,
        start: PrimaryKey | None = None,
        end: PrimaryKey | None = None,
        since: tuple[str, int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        schema = TABLES[table]
        # A key's missing trailing columns span their whole range: a prefix names every row under it.
        columns = [name for name, _ in schema.primary_key]
        start_key = list(start or ()) + [(name, INF_MIN) for name in columns[len(start or ()) :]]
        end_key = list(end or ()) + [(name, INF_MAX) for name in columns[len(end or ()) :]]
        column_filter = None
        if since is not None:
            column_filter = SingleColumnCondition(
                since[0], since[1], ComparatorType.GREATER_EQUAL, pass_if_missing=False
            )
        while start_key:
            _, next_key, rows, _ = self._call(
                None,
                self.client.get_range,
                self.table_name(table),
                Direction.FORWARD,
                start_key,
                end_key,
                None,  # every column
                None,  # no row limit: the service pages
                column_filter,
                1,  # max_version
            )
            for row in rows:
                yield row_to_dict(row)
            start_key = next_key


def row_to_dict(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = dict(row.primary_key)
    for column in row.attribute_columns:
        data[column[0]] = column[1]
    return data
