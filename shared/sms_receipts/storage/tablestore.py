"""The Tablestore adapter: translates planned rows into `tablestore` SDK calls and answers back.

It holds no rules: conditions, retries and outcomes are decided in `plan` and `writer`. What it adds
to the SDK: a per-request timeout (the SDK has only one per client, and the HTTP path must stop
inside its 700 ms budget), and network errors reported as `BackendError("NetworkError")` (the SDK
lets urllib3's exceptions through). What it leaves to the caller: the SDK's log level
(`quiet_sdk_logs()`) and the fast PlainBuffer serializer (`plainbuffer.install_fast_put_row_serializer`),
both set once by the composition root, `storage.factory.Storage`.

Administration (`create_missing_tables`, for `init-tables`) also creates the schema's secondary
indexes, and adds the predefined columns they need to a table created before them; the SDK has no
call for that one (AddDefinedColumn), so it is sent here through the SDK's own request path.
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
    SecondaryIndexMeta,
    SecondaryIndexType,
    SingleColumnCondition,
    TableInBatchGetRowItem,
    TableInBatchWriteRowItem,
    TableMeta,
    TableOptions,
)
from tablestore.connection import ConnectionPool
from tablestore.encoder import NativeEncodedBytes
from tablestore.protobuf import table_store_pb2
from tablestore.retry import NoRetryPolicy

from . import plainbuffer
from .backend import BackendError, PrimaryKey, RowResult, StorageBackend
from .plan import DeleteRow, InsertOnce, PlannedRow, Replace, SupersedeIfNewer
from .schema import TABLES, IndexSchema, TableSchema

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


# -- AddDefinedColumn, which the SDK lacks ---------------------------------------------------------
# The service's API (https://help.aliyun.com/zh/tablestore/developer-reference/adddefinedcolumn, the
# Java and Go SDKs call it): `AddDefinedColumnRequest {required string table_name = 1; repeated
# DefinedColumnSchema columns = 2;}`, answered by an empty `AddDefinedColumnResponse`. SDK 6.4.8 has no
# such call nor message (`table_store.proto`), so the body is encoded here (DefinedColumnSchema is the
# SDK's) and the call goes through the SDK's protocol: its `api_list` and encoder and decoder maps
# (`protocol.py` make_request / parse_response; an encoder may return `NativeEncodedBytes`, a body
# already encoded, `encoder.py`), hence its signing, response checks and errors, as for any call.
ADD_DEFINED_COLUMN = "AddDefinedColumn"
_DEFINED_COLUMN_TYPES = {
    "STRING": table_store_pb2.DCT_STRING,
    "INTEGER": table_store_pb2.DCT_INTEGER,
    "DOUBLE": table_store_pb2.DCT_DOUBLE,
    "BOOLEAN": table_store_pb2.DCT_BOOLEAN,
    "BINARY": table_store_pb2.DCT_BLOB,
}


def _varint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _length_delimited(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def add_defined_column_body(table: str, columns: list[tuple[str, str]]) -> bytes:
    """The protobuf body of AddDefinedColumn: the table name (field 1), then each column (field 2)."""
    body = _length_delimited(1, table.encode("utf-8"))
    for name, kind in columns:
        column = table_store_pb2.DefinedColumnSchema(name=name, type=_DEFINED_COLUMN_TYPES[kind])
        body += _length_delimited(2, column.SerializeToString())
    return body


def _teach_add_defined_column(client: OTSClient) -> None:
    """Let this client's protocol send AddDefinedColumn (its own copy of the API list: others keep theirs)."""
    protocol = getattr(client, "protocol", None)
    encode_map = getattr(getattr(protocol, "encoder", None), "api_encode_map", None)
    decode_map = getattr(getattr(protocol, "decoder", None), "api_decode_map", None)
    api_list = getattr(protocol, "api_list", None)
    if not (isinstance(api_list, list) and isinstance(encode_map, dict) and isinstance(decode_map, dict)):
        raise BackendError(
            "OTSClientError",
            "this tablestore SDK release cannot be taught AddDefinedColumn (checked on 6.4.8): add the predefined "
            "columns in the Tablestore console, then run init-tables again",
        )
    if ADD_DEFINED_COLUMN in api_list:
        return
    protocol.api_list = [*api_list, ADD_DEFINED_COLUMN]  # type: ignore[union-attr]
    encode_map[ADD_DEFINED_COLUMN] = lambda table, columns: NativeEncodedBytes(add_defined_column_body(table, columns))
    decode_map[ADD_DEFINED_COLUMN] = lambda body, request_id: (None, None)  # the response is empty


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
        """Create the tables that do not exist yet, with their predefined columns and indexes, and the
        indexes an existing table lacks (a table created before them gets their predefined columns
        first); return the names of the tables and indexes this call created. Safe to repeat.

        An index made for an existing table holds its rows so far (`include_base_data`; the service
        fills it in the background, so a lookup may miss older rows for a while)."""
        existing = set(self._call(None, self.client.list_table))
        created = []
        for schema in tables.values():
            name = self.table_name(schema.name)
            if name not in existing and self._create_table(schema):
                created += [name, *(self.table_name(index.name) for index in schema.indexes)]
            elif schema.indexes:  # there already (made by an earlier version, perhaps, or meanwhile)
                created += self._create_missing_indexes(schema)
        return created

    def _index_meta(self, index: IndexSchema) -> SecondaryIndexMeta:
        # Global: a local index starts with the table's first key column ("本地二级索引时,索引表的第一列主键
        # 必须与数据表的第一列主键相同", https://help.aliyun.com/document_detail/117829.htm), biz_id; these do not.
        return SecondaryIndexMeta(
            self.table_name(index.name), list(index.primary_key), list(index.columns), SecondaryIndexType.GLOBAL_INDEX
        )

    def _create_table(self, schema: TableSchema) -> bool:
        """Create the table with its indexes; False if it was created meanwhile (by another run)."""
        meta = TableMeta(self.table_name(schema.name), list(schema.primary_key), list(schema.defined_columns))
        options = TableOptions(time_to_live=-1, max_version=1)  # what an index needs, too
        indexes = [self._index_meta(index) for index in schema.indexes]
        try:
            self._call(None, self.client.create_table, meta, options, ReservedThroughput(CapacityUnit(0, 0)), indexes)
        except BackendError as exc:
            if exc.code != "OTSObjectAlreadyExist":
                raise
            return False
        return True

    def _create_missing_indexes(self, schema: TableSchema) -> list[str]:
        name = self.table_name(schema.name)
        described = self._call(None, self.client.describe_table, name)
        present = {index.index_name for index in described.secondary_indexes}
        wanted = [index for index in schema.indexes if self.table_name(index.name) not in present]
        if not wanted:
            return []
        options = described.table_options
        if options.max_version != 1 or options.time_to_live != -1:
            raise BackendError(
                "OTSParameterInvalid",
                f"{name} keeps {options.max_version} versions for {options.time_to_live} s: an index needs 1 and -1 "
                "(https://help.aliyun.com/document_detail/117829.htm)",
            )
        defined = dict(described.table_meta.defined_columns)
        clashes = sorted(column for column, kind in schema.defined_columns if defined.get(column, kind) != kind)
        if clashes:
            raise BackendError("OTSParameterInvalid", f"{name} predefines {clashes} with other types than the schema")
        missing = [(column, kind) for column, kind in schema.defined_columns if column not in defined]
        if missing:
            _teach_add_defined_column(self.client)
            self._call(None, self.client._request_helper, ADD_DEFINED_COLUMN, name, missing)
        created = []
        for index in wanted:
            try:  # with the rows so far: an upgraded deployment's history is looked up too
                self._call(None, self.client.create_secondary_index, name, self._index_meta(index), True)
            except BackendError as exc:
                if exc.code != "OTSObjectAlreadyExist":  # created meanwhile [inferred: the code is undocumented]
                    raise
                continue
            created.append(self.table_name(index.name))
        return created

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
        schema = TABLES[table]
        # A key's missing trailing columns span their whole range: a prefix names every row under it.
        key = list(schema.index_key(schema.index(index))) if index else [name for name, _ in schema.primary_key]
        start_key = list(start or ()) + [(name, INF_MIN) for name in key[len(start or ()) :]]
        end_key = list(end or ()) + [(name, INF_MAX) for name in key[len(end or ()) :]]
        column_filter = None
        if since is not None:
            column_filter = SingleColumnCondition(
                since[0], since[1], ComparatorType.GREATER_EQUAL, pass_if_missing=False
            )
        columns_to_get = None
        if columns:  # the filtered column too: a filter sees only the columns read [inferred]
            columns_to_get = list(dict.fromkeys([*columns, *([since[0]] if since else [])]))
        while start_key:
            _, next_key, rows, _ = self._call(
                None,
                self.client.get_range,
                self.table_name(index or table),
                Direction.FORWARD,
                start_key,
                end_key,
                columns_to_get,  # None: every column
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
