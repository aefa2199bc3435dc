"""The Tablestore schema: every table, its primary key and its columns, defined once.

`init-tables`, the store, the deployment templates and their tests all read this module.

- `receipt_ledger` (entity_key, idempotency_key): every distinct receipt exactly once, with its type,
  normalised record, raw JSON, source (http / eventbridge / topic / alicom) and times. The
  idempotency key alone identifies a receipt (the same receipt always has the same entity key); the
  entity key in front lets one range read return every receipt about a message, in any case;
- `delivery_state` (biz_id, phone_number): the current delivery status of each number of a send;
- `receipt_state` (entity_key): the current state of every other entity: international reports,
  sign and template audits, card render and card template status;
- `dead_letter` (dead_letter_id): items and bodies that could not be parsed, or that Tablestore
  cannot hold: raw bytes and reason (and, once replayed, when and with what result);
- `send_log` (day_shard, biz_id, phone_number): what was sent, one row per number, for reconciliation
  (`storage.sends`);
- `inbox` (entry_id): receipts accepted but not yet stored (a push that could not be stored inline
  before its deadline): their raw items, until the drain has stored every one and deletes the entry.

A state row holds the status columns of its winning receipt; the full record is in the ledger under
`winner` (rows stay small: on python3.10 the SDK encodes every byte in pure Python). `version` (a
signed 64-bit integer built from the winning receipt's own fields: its event time in ms × 16 + its
status rank, or for an audit with a numeric `order_id` 2**62 + ticket × 16 + rank; see `rules`) and
`winner` (its idempotency key, the tie-break) decide which receipt holds the row, so it never depends
on arrival order; `order_key` holds the pair as one text that sorts the same way, for a one-column
write condition. A SmsReport without `phone_number` keeps its state in `receipt_state` under its
entity key, so that no primary key holds an empty string.

Lookups (`storage.lookups`) read `delivery_state` by phone number and by OutId through two global
secondary indexes (`DELIVERY_STATE_INDEXES`), which Tablestore maintains from the table's writes. An
index column must be a primary-key column or a predefined ("defined") column of the table, so the
table declares the columns its indexes hold; the table needs `max_versions` 1 and TTL -1 (every table
here has both): https://help.aliyun.com/document_detail/117829.htm (创建二级索引, 前提条件). The index's
key is its own columns, then the table's key columns not among them ("系统会自动将未出现在索引列中的
数据表主键补齐到索引表主键中", same page); a row missing an index column is not in the index (稀疏索引,
https://help.aliyun.com/document_detail/91947.html).
"""

from __future__ import annotations

from dataclasses import dataclass

LEDGER = "receipt_ledger"
DELIVERY_STATE = "delivery_state"
RECEIPT_STATE = "receipt_state"
DEAD_LETTER = "dead_letter"
INBOX = "inbox"
SEND_LOG = "send_log"


@dataclass(frozen=True)
class IndexSchema:
    """A global secondary index: read like a table, under its own name; written only by the service."""

    name: str  # without the configured prefix (index names are unique within an instance, as table names are)
    primary_key: tuple[str, ...]  # the index columns; the service appends the table's key columns not among them
    columns: tuple[str, ...]  # predefined columns copied into the index, so a lookup never reads the table back
    description: str

    def full_name(self, prefix: str) -> str:
        return prefix + self.name


@dataclass(frozen=True)
class TableSchema:
    name: str  # without the configured prefix
    primary_key: tuple[tuple[str, str], ...]  # (column, STRING | INTEGER | BINARY)
    columns: tuple[tuple[str, str], ...]  # attribute columns written by the store, for documentation
    description: str
    defined_columns: tuple[tuple[str, str], ...] = ()  # predefined columns (name, type): those its indexes use
    indexes: tuple[IndexSchema, ...] = ()

    def full_name(self, prefix: str) -> str:
        return prefix + self.name

    def index(self, name: str) -> IndexSchema:
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"{self.name} has no index {name!r}")

    def index_key(self, index: IndexSchema) -> tuple[str, ...]:
        """The index's whole primary key, as the service completes it: its columns, then the table's others."""
        return index.primary_key + tuple(name for name, _ in self.primary_key if name not in index.primary_key)


_STATE_COLUMNS = (
    ("order_key", "STRING"),
    ("version", "INTEGER"),
    ("winner", "STRING"),
    ("message_type", "STRING"),
    ("status", "STRING"),
    ("is_final", "BOOLEAN"),
    ("event_time", "INTEGER"),
    ("source", "STRING"),
    ("updated_at", "INTEGER"),
)

# What the lookups print of a delivery state, copied into both indexes (a covering index: no read-back).
_LOOKUP_COLUMNS = ("status", "is_final", "success", "err_code", "event_time", "updated_at", "source")

# Even load: Tablestore splits a table, an index table too, into partitions by ranges of its first key
# column, and splits a range that grows hot; a column whose values are "业务上比较分散" (UserId, DeviceId,
# OrderId...) first "一般无太大问题", while one that grows with time puts every write at the end of the
# table, where no split helps (https://help.aliyun.com/document_detail/142533.htm, 表设计最佳实践).
# - by phone: phone numbers are many and written in the carriers' report order, not in key order, so
#   no hash prefix. A prefix would be a column the writer adds to every state row and each reader
#   recomputes, for no gain; (phone_number, biz_id) also holds every state row (both are key columns:
#   a dense index), `unknown` verdicts included, which carry no event time, so it is not keyed by time.
# - by OutId: the sender's own id, often unique per send: one short range per send (its numbers). A
#   sender whose OutIds grow with time (order numbers) makes that index's tail hot; its load is one
#   index row per state change, far below the "几万行/秒" a single partition takes (same page), and the
#   service writes the index after acknowledging the table's write (asynchronous, "同步延迟达到毫秒级别":
#   https://help.aliyun.com/document_detail/91947.html), so a hot index tail would show as index lag,
#   not as slower function writes [inferred]. No hash prefix; worth one only past the page's own
#   threshold (1,000 writes/s) with growing OutIds. Rows without `out_id` are not in it (sparse).
BY_PHONE = "delivery_state_by_phone"
BY_OUT_ID = "delivery_state_by_out_id"
DELIVERY_STATE_INDEXES = (
    IndexSchema(
        name=BY_PHONE,
        primary_key=("phone_number",),  # then biz_id
        columns=(*_LOOKUP_COLUMNS, "out_id"),
        description="delivery states by phone number, across sends",
    ),
    IndexSchema(
        name=BY_OUT_ID,
        primary_key=("out_id",),  # then biz_id, phone_number
        columns=_LOOKUP_COLUMNS,
        description="delivery states by the sender's OutId",
    ),
)

# The ledger by the time it received each receipt, for `stats` and `report`: a time range is one range
# read per shard and day instead of a scan of the whole ledger (whose key is by entity). `time_bucket`
# is `<h>-<yyyyMMdd>`: the receipt's China-time day of receipt after the first hex digit of its
# idempotency key (a hash), so that a day's writes spread over 16 key ranges instead of landing at one
# growing end (the same page as above: a key that grows with time makes one hot partition); a day is
# 16 reads, each from the range's `received_at`. The small columns the statistics need are copied in:
# no `record` JSON to read or parse. Receipts stored before this index have no `time_bucket` and are
# not in it (sparse), so `stats` counts from the upgrade on.
BY_TIME = "receipt_ledger_by_time"
TIME_SHARDS = 16
LEDGER_INDEXES = (
    IndexSchema(
        name=BY_TIME,
        primary_key=("time_bucket", "received_at"),  # then entity_key, idempotency_key
        columns=("message_type", "status", "source", "event_time", "err_code", "send_time", "spilled"),
        description="receipts by the day and time they were received, for statistics",
    ),
)

TABLES: dict[str, TableSchema] = {
    LEDGER: TableSchema(
        name=LEDGER,
        primary_key=(("entity_key", "STRING"), ("idempotency_key", "STRING")),
        columns=(
            ("message_type", "STRING"),
            ("status", "STRING"),
            ("event_time", "INTEGER"),
            ("record", "STRING"),
            ("raw", "STRING"),
            ("source", "STRING"),
            ("message_id", "STRING"),
            ("received_at", "INTEGER"),
            ("write_id", "STRING"),
            ("time_bucket", "STRING"),
            ("err_code", "STRING"),
            ("send_time", "INTEGER"),
            ("spilled", "BOOLEAN"),
        ),
        description="every distinct receipt exactly once",
        defined_columns=(
            ("time_bucket", "STRING"),
            ("received_at", "INTEGER"),
            ("message_type", "STRING"),
            ("status", "STRING"),
            ("source", "STRING"),
            ("event_time", "INTEGER"),
            ("err_code", "STRING"),
            ("send_time", "INTEGER"),
            ("spilled", "BOOLEAN"),
        ),
        indexes=LEDGER_INDEXES,
    ),
    DELIVERY_STATE: TableSchema(
        name=DELIVERY_STATE,
        primary_key=(("biz_id", "STRING"), ("phone_number", "STRING")),
        columns=(*_STATE_COLUMNS, ("success", "BOOLEAN"), ("err_code", "STRING"), ("out_id", "STRING")),
        description="current delivery status per (biz_id, phone_number)",
        defined_columns=(
            ("out_id", "STRING"),
            ("status", "STRING"),
            ("is_final", "BOOLEAN"),
            ("success", "BOOLEAN"),
            ("err_code", "STRING"),
            ("event_time", "INTEGER"),
            ("updated_at", "INTEGER"),
            ("source", "STRING"),
        ),
        indexes=DELIVERY_STATE_INDEXES,
    ),
    RECEIPT_STATE: TableSchema(
        name=RECEIPT_STATE,
        primary_key=(("entity_key", "STRING"),),
        columns=_STATE_COLUMNS,
        description="current state of international reports, audits and card receipts",
    ),
    DEAD_LETTER: TableSchema(
        name=DEAD_LETTER,
        primary_key=(("dead_letter_id", "STRING"),),
        columns=(
            ("reason", "STRING"),
            ("raw", "BINARY"),
            ("source", "STRING"),
            ("message_type", "STRING"),
            ("message_id", "STRING"),
            ("position", "INTEGER"),
            ("received_at", "INTEGER"),
            ("replayed_at", "INTEGER"),
            ("replay_result", "STRING"),
        ),
        description="items and bodies that could not be parsed or stored, for replay",
    ),
    INBOX: TableSchema(
        name=INBOX,
        primary_key=(("entry_id", "STRING"),),
        columns=(
            ("payload", "BINARY"),
            ("message_type", "STRING"),
            ("source", "STRING"),
            ("message_id", "STRING"),
            ("items", "INTEGER"),
            ("received_at", "INTEGER"),
        ),
        description="receipts accepted but not yet stored, until the drain stores them",
    ),
    SEND_LOG: TableSchema(
        name=SEND_LOG,
        primary_key=(("day_shard", "STRING"), ("biz_id", "STRING"), ("phone_number", "STRING")),
        columns=(
            ("send_time", "INTEGER"),
            ("out_id", "STRING"),
            ("template_code", "STRING"),
            ("sign_name", "STRING"),
            ("source", "STRING"),
            ("recorded_at", "INTEGER"),
        ),
        description="what was sent, one row per number, for reconciliation",
    ),
}


def _check_indexes() -> None:
    """Each index names only its table's key or predefined columns, with the type the store writes."""
    for table in TABLES.values():
        key = {name for name, _ in table.primary_key}
        defined = dict(table.defined_columns)
        written = dict(table.columns)
        if any(written.get(name) != kind for name, kind in table.defined_columns):
            raise TypeError(f"{table.name}: a predefined column is not written, or with another type")
        for index in table.indexes:
            if not set(index.primary_key) <= key | set(defined) or not set(index.columns) <= set(defined):
                raise TypeError(f"{index.name} names a column {table.name} neither keys nor predefines")


_check_indexes()
