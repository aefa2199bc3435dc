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
class TableSchema:
    name: str  # without the configured prefix
    primary_key: tuple[tuple[str, str], ...]  # (column, STRING | INTEGER | BINARY)
    columns: tuple[tuple[str, str], ...]  # attribute columns written by the store, for documentation
    description: str

    def full_name(self, prefix: str) -> str:
        return prefix + self.name


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
        ),
        description="every distinct receipt exactly once",
    ),
    DELIVERY_STATE: TableSchema(
        name=DELIVERY_STATE,
        primary_key=(("biz_id", "STRING"), ("phone_number", "STRING")),
        columns=(*_STATE_COLUMNS, ("success", "BOOLEAN"), ("err_code", "STRING"), ("out_id", "STRING")),
        description="current delivery status per (biz_id, phone_number)",
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
