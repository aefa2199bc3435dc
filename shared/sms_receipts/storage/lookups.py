"""What an operator looks up, each reading only what it must. Pure reading on a `StorageBackend`:
plain dataclasses back (`as_dict()` for printing), never output; an empty list when nothing is found.

- `by_phone`: a number's delivery states across sends, newest first: one range read on the
  `delivery_state_by_phone` index (every state row is in it), sorted here, since the index is ordered
  by BizId, not time;
- `by_out_id`: the delivery states of the sender's OutId: one range read on `delivery_state_by_out_id`
  (only states with an OutId are in it);
- `history`: a message's ledger rows (every receipt about one number of a send, or of all its numbers),
  in event-time order with their sources: one range read on the ledger's entity keys
  (`SmsReport:<biz_id>|<phone_number>`, `parsing.identity`);
- `recent_dead_letters`: dead letters received since a time, newest first, with their reasons: the
  dead-letter table has no time order (its key is a hash), so the service filters it by `received_at`
  and sends back the columns printed, never the raw bytes;
- `pending_sends`: logged sends without a final state, as the reconciler finds them
  (`reconcile.reconciler.logged_sends`, `with_states`): 16 range reads a day, then BatchGetRow;
- `received_between`: the receipts received in a time range, for `stats` and `report`: 16 range reads
  a day on the ledger's `receipt_ledger_by_time` index.

The indexes are global, which Tablestore updates milliseconds after a write
(https://help.aliyun.com/document_detail/91947.html): a state written this instant may not be found yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from ..parsing.identity import escape_entity_part
from ..parsing.models import MessageType
from ..parsing.times import CHINA_TZ
from .backend import StorageBackend
from .schema import BY_OUT_ID, BY_PHONE, BY_TIME, DEAD_LETTER, DELIVERY_STATE, LEDGER, TIME_SHARDS

_SMS_REPORT = MessageType.SMS_REPORT.value
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class DeliveryState:
    biz_id: str
    phone_number: str
    status: str | None
    is_final: bool | None
    success: bool | None
    err_code: str | None
    out_id: str | None
    event_time: int | None  # epoch ms: the winning report's time (none for an `unknown` verdict)
    updated_at: int | None  # epoch ms: when the state was last written
    source: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeliveryState:
        return cls(
            row["biz_id"],
            row["phone_number"],
            row.get("status"),
            row.get("is_final"),
            row.get("success"),
            row.get("err_code"),
            row.get("out_id"),
            row.get("event_time"),
            row.get("updated_at"),
            row.get("source"),
        )

    @property
    def moment(self) -> int:
        """What "newest" orders by: the state's event time, or when written for a state without one."""
        return self.event_time if self.event_time is not None else self.updated_at or 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LedgerEntry:
    biz_id: str
    phone_number: str | None  # None: a report that named no number (`SmsReport:<biz_id>|`)
    idempotency_key: str
    status: str | None
    event_time: int | None  # epoch ms, the receipt's own time
    source: str | None  # http, eventbridge, topic, alicom, query...
    message_id: str | None
    received_at: int | None
    record: dict[str, Any] | None  # the normalised receipt

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeadLetter:
    dead_letter_id: str
    reason: str | None
    source: str | None
    message_type: str | None
    message_id: str | None
    position: int | None
    received_at: int | None
    replayed_at: int | None
    replay_result: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PendingSend:
    biz_id: str
    phone_number: str
    send_time: int  # epoch ms
    send_day: str  # yyyyMMdd, China time, as QuerySendDetails asks
    out_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def by_phone(backend: StorageBackend, phone_number: str, limit: int = 20) -> list[DeliveryState]:
    """The number's delivery states across sends, newest first, at most `limit`. The number as the
    receipts spell it (as sent, e.g. `13800000001`)."""
    key = (("phone_number", phone_number),)
    states = [DeliveryState.from_row(row) for row in backend.scan(DELIVERY_STATE, key, key, index=BY_PHONE)]
    states.sort(key=lambda state: (state.moment, state.biz_id), reverse=True)
    return states[: max(limit, 0)]


def by_out_id(backend: StorageBackend, out_id: str) -> list[DeliveryState]:
    """The delivery states whose send carried this OutId (each number of each such send), newest first."""
    key = (("out_id", out_id),)
    states = [DeliveryState.from_row(row) for row in backend.scan(DELIVERY_STATE, key, key, index=BY_OUT_ID)]
    states.sort(key=lambda state: (state.moment, state.biz_id, state.phone_number), reverse=True)
    return states


_LEDGER_COLUMNS = ["status", "event_time", "source", "message_id", "received_at", "record"]


def history(backend: StorageBackend, biz_id: str, phone_number: str | None = None) -> list[LedgerEntry]:
    """Every receipt stored about the send `biz_id` (to `phone_number` only, when given), in event-time
    order (a receipt without a time, an `unknown` verdict, where it was received), with its source."""
    rows = message_ledger_rows(backend, biz_id, phone_number, columns=_LEDGER_COLUMNS)
    prefix_length = len(_message_prefix(biz_id))
    entries = [_ledger_entry(biz_id, row, prefix_length) for row in rows]
    entries.sort(key=lambda e: (e.event_time if e.event_time is not None else e.received_at or 0, e.received_at or 0))
    return entries


def _message_prefix(biz_id: str) -> str:
    return f"{_SMS_REPORT}:{escape_entity_part(biz_id)}|"


def message_ledger_rows(
    backend: StorageBackend, biz_id: str, phone_number: str | None = None, columns: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The ledger rows of the send `biz_id` (to `phone_number` only, when given), in key order: one
    range read on the entity keys `SmsReport:<biz_id>|<phone_number>`."""
    prefix = _message_prefix(biz_id)
    if phone_number is not None:
        entity = (("entity_key", prefix + escape_entity_part(phone_number)),)
        start, end = entity, entity
    else:  # every entity key starting with the prefix: '}' is the character after '|'
        start, end = (("entity_key", prefix),), (("entity_key", prefix[:-1] + "}"),)
    return backend.scan(LEDGER, start, end, columns=columns)


def message_state_rows(
    backend: StorageBackend, biz_id: str, phone_number: str | None = None
) -> Iterator[dict[str, Any]]:
    """The delivery-state rows of the send `biz_id` (of `phone_number` only, when given)."""
    if phone_number is None:
        key = (("biz_id", biz_id),)
        return backend.scan(DELIVERY_STATE, key, key)
    # The next key after the number's: a range that holds exactly its row.
    start = (("biz_id", biz_id), ("phone_number", phone_number))
    return backend.scan(DELIVERY_STATE, start, (("biz_id", biz_id), ("phone_number", phone_number + "\x00")))


def _ledger_entry(biz_id: str, row: dict[str, Any], prefix_length: int) -> LedgerEntry:
    phone = _unescape(row["entity_key"][prefix_length:])
    try:
        record = json.loads(row["record"]) if row.get("record") else None
    except ValueError:  # never written so, but a lookup must still show the row
        record = None
    return LedgerEntry(
        biz_id,
        phone or None,
        row["idempotency_key"],
        row.get("status"),
        row.get("event_time"),
        row.get("source"),
        row.get("message_id"),
        row.get("received_at"),
        record,
    )


def _unescape(part: str) -> str:
    """An entity part as it was before `escape_entity_part` (`\\` escapes the next character)."""
    out, escaped = [], False
    for char in part:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


_DEAD_LETTER_COLUMNS = [
    "reason",
    "source",
    "message_type",
    "message_id",
    "position",
    "received_at",
    "replayed_at",
    "replay_result",
]


def recent_dead_letters(backend: StorageBackend, since_ms: int, limit: int = 50) -> list[DeadLetter]:
    """Dead letters received at `since_ms` or later, newest first, at most `limit`, with their reasons."""
    rows = backend.scan(DEAD_LETTER, since=("received_at", since_ms), columns=_DEAD_LETTER_COLUMNS)
    letters = [DeadLetter(row["dead_letter_id"], *(row.get(column) for column in _DEAD_LETTER_COLUMNS)) for row in rows]
    letters.sort(key=lambda letter: (letter.received_at or 0, letter.dead_letter_id), reverse=True)
    return letters[: max(limit, 0)]


def pending_sends(backend: StorageBackend, days: int, now: float) -> list[PendingSend]:
    """The sends logged in the last `days` days before `now` (epoch seconds) that have no final state
    yet, oldest first: what the reconciler still has to resolve."""
    from ..reconcile.reconciler import days_between, logged_sends, with_states  # the reconciler's reading

    first = now - days * DAY_SECONDS
    since_ms = int(first * 1000)
    sends = (send for send in logged_sends(backend, days_between(first, now)) if send.send_time >= since_ms)
    pending: dict[tuple[str, str], PendingSend] = {}
    for send, status in with_states(backend, sends):
        key = (send.biz_id, send.phone_number)
        if status is None and (key not in pending or send.send_time < pending[key].send_time):
            # a send recorded twice (two send-log rows) is one send, at its first time
            pending[key] = PendingSend(send.biz_id, send.phone_number, send.send_time, send.day, send.out_id)
    return sorted(pending.values(), key=lambda send: (send.send_time, send.biz_id, send.phone_number))


def received_between(backend: StorageBackend, since_ms: int, until_ms: int) -> Iterator[dict[str, Any]]:
    """The ledger's receipts received in [since_ms, until_ms), from the by-time index (`schema.BY_TIME`):
    one range read per shard and China-time day, each from `since_ms` (or the day's start) to
    `until_ms`; rows carry the index's columns (no `record`, no `raw`). Receipts stored before the
    index existed are not in it."""
    last = max(since_ms, until_ms - 1)
    day = datetime.fromtimestamp(since_ms / 1000, CHINA_TZ).date()
    end = datetime.fromtimestamp(last / 1000, CHINA_TZ).date()
    while day <= end:
        name = day.strftime("%Y%m%d")
        for shard in range(TIME_SHARDS):
            bucket = f"{shard:x}-{name}"
            start = (("time_bucket", bucket), ("received_at", since_ms))
            stop = (("time_bucket", bucket), ("received_at", last))
            for row in backend.scan(LEDGER, start, stop, index=BY_TIME):
                if since_ms <= row["received_at"] < until_ms:
                    yield row
        day += timedelta(days=1)
