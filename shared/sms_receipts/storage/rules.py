"""What a receipt does to the current state: which state row, at which version, with which columns.

The version orders reports by what they carry, never by arrival; at the same version the larger
idempotency key wins, so every replica of the same set of receipts converges on the same row. It is
one non-negative signed 64-bit integer (Tablestore's INTEGER; `plan.order_key` pads it to 19 digits):

- delivery reports: `event_time_ms * 16 + rank`. A later report wins; at the same time the higher
  status rank wins (a failure outranks a success, since one failed segment fails the message; pending
  and unknown rank lowest);
- Sign and Template audits with a numeric `order_id`: `2**62 + order_id * 16 + rank`. The docs define
  `create_date` as the sign's or template's *creation* time (签名/模板创建日期和时间, D-120998, D-120999,
  D-128742, D-128743), and a rejected one that is modified and resubmitted (ModifySmsTemplate /
  UpdateSmsTemplate, D-419287: 修改未通过审核的模板…重新提交审核) keeps its code and its create_date, so
  create_date cannot tell a rejection from the later approval. Each submission gets a new audit ticket,
  `order_id`, numbered upwards (real ones 136924819, 136945221; the docs number a sign 205100 and the
  next template 205101): the latest submission has the highest ticket and wins, whatever the arrival
  order; within one ticket a final result outranks "approving". create_date is left out: it is the same
  for every submission of one code, and (create_date, ticket, rank) does not fit 63 bits (seconds need
  32 bits, tickets already 28 and the docs show 10 digits). The 2**62 band puts every ticketed version
  above every time-based one (those stay below 2**62 until the year 9000), including rows written before
  tickets counted; tickets up to 2**58 - 1 (about 2.9e17: every number of up to 17 digits) fit;
- audits without a numeric ticket (missing, empty, masked like `200****5184`, or above 2**58 - 1):
  `create_date_ms * 16 + rank`, so any ticketed receipt for the same sign or template outranks them;
- MnsCardTemplate carries no time and no ticket (D-436128, D-436114): the rank alone.

Audit ranks: approved 3 > rejected 2 > approving 1 > an undocumented status 0. Where a ticket orders
the submissions, the rank only orders one ticket's "approving" before its result. Where nothing else
orders them, "approved" outranks "rejected" because only a rejected template is modified and
resubmitted (D-419287; assumed alike for signs and card templates): an approval ends the documented
flow, a rejection may be followed by an approval. A card template in review again after a rejection
shows "rejected" until its next result arrives.

SmsUp replies have no state: the ledger is their record. A SmsReport without `phone_number` (optional
in the older official table, https://developer.aliyun.com/ask/217930) keeps its state in
`receipt_state` under its entity key `SmsReport:<biz_id>|`, not in `delivery_state`: Tablestore
documents empty strings for attribute columns only, not for primary-key columns, so no state row is
keyed by an empty phone_number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..parsing import ParsedItem, Receipt
from ..parsing.models import ALL_MODELS
from ..parsing.times import epoch_ms
from .schema import RECEIPT_STATE, TABLES

RANKS = 16  # status ranks are 0..15
TICKET_BAND = 1 << 62  # every version ordered by an audit ticket is at least this
MAX_TICKET = (TICKET_BAND >> 4) - 1  # the highest ticket whose version fits a signed 64-bit integer
_MAX_TICKET_DIGITS = len(str(MAX_TICKET))

# The state table a spec's `state.key` names: the one whose primary key is exactly those columns.
_TABLE_KEYED_BY = {tuple(column for column, _ in table.primary_key): name for name, table in TABLES.items()}
for _model in ALL_MODELS:
    if _model.spec.state and _model.spec.state.key and _model.spec.state.key not in _TABLE_KEYED_BY:
        raise TypeError(f"no table is keyed by {_model.__name__}'s state key {_model.spec.state.key}")


@dataclass(frozen=True)
class StateChange:
    table: str  # logical table name (schema)
    primary_key: tuple[tuple[str, Any], ...]
    version: int
    status: str
    is_final: bool
    event_time: int | None
    extra_columns: tuple[tuple[str, Any], ...] = ()


def _version(event_time: int | None, rank: int) -> int:
    return (event_time or 0) * RANKS + rank


def audit_ticket(order_id: str | None) -> int | None:
    """The audit ticket as a number when it is one that orders (ASCII digits, at most MAX_TICKET)."""
    if order_id and len(order_id) <= _MAX_TICKET_DIGITS and order_id.isascii() and order_id.isdigit():
        ticket = int(order_id)
        if ticket <= MAX_TICKET:
            return ticket
    return None


def audit_version(order_id: str | None, event_time: int | None, rank: int) -> int:
    """A Sign or Template audit's version: by its ticket when numeric, else by create_date (see above)."""
    ticket = audit_ticket(order_id)
    if ticket is None:
        return _version(event_time, rank)
    return TICKET_BAND + ticket * RANKS + rank


def event_time(record: Receipt) -> int | None:
    """The receipt's own time in epoch ms: when the carrier reported, or when the audit was filed."""
    for name in record.spec.event_time:
        moment = record.moment(name)
        if moment is not None:
            return epoch_ms(moment)
    return None


def normalized_status(record: Receipt) -> str | None:
    """The receipt's status in this project's words; None for a type without one (SmsUp)."""
    status = record.spec.status
    return None if status is None else status(record)


def state_change(item: ParsedItem) -> StateChange | None:
    record = item.record
    spec = record.spec
    rule = spec.state
    if rule is None or spec.status is None:
        return None
    status = spec.status(record)
    when = event_time(record)
    rank = rule.rank(status)
    # Without a ticket, by the event time; without a time either (MnsCardTemplate), the rank alone.
    ticket = rule.ticket
    version = audit_version(getattr(record, ticket), when, rank) if ticket is not None else _version(when, rank)
    key = tuple((name, getattr(record, name)) for name in rule.key)
    if key and all(value for _, value in key):
        table = _TABLE_KEYED_BY[rule.key]
        # An empty text is kept on the record, and stored as absent.
        columns = tuple((name, None if getattr(record, name) == "" else getattr(record, name)) for name in rule.columns)
    else:  # no key of its own, or a part missing (an empty string is no primary key): by entity key
        table, key, columns = RECEIPT_STATE, (("entity_key", item.entity_key),), ()
    return StateChange(
        table=table,
        primary_key=key,
        version=version,
        status=status,
        is_final=rule.is_final(status),
        event_time=when,
        extra_columns=columns,
    )
