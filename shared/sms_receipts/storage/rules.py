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
from datetime import datetime
from typing import Any

from ..parsing import (
    GlobeSmsReport,
    IntlSmsReport,
    LegacyIntlSmsReport,
    MnsCardTemplate,
    MnsCardVender,
    ParsedItem,
    Receipt,
    SignSmsReport,
    SmsReport,
    TemplateSmsReport,
)
from .schema import DELIVERY_STATE, RECEIPT_STATE

RANKS = 16  # status ranks are 0..15
TICKET_BAND = 1 << 62  # every version ordered by an audit ticket is at least this
MAX_TICKET = (TICKET_BAND >> 4) - 1  # the highest ticket whose version fits a signed 64-bit integer
_MAX_TICKET_DIGITS = len(str(MAX_TICKET))

_DELIVERY_RANK = {"unknown": 0, "pending": 0, "delivered": 1, "expired": 2, "failed": 3}
_AUDIT_RANK = {"approving": 1, "rejected": 2, "approved": 3}
_FINAL_AUDIT = frozenset({"approved", "rejected"})
# MnsCardTemplate approval_status: 0 审核中 (in review), 1 通过 (approved), 2 未通过 (rejected)
_CARD_TEMPLATE_STATUS = {0: "approving", 1: "approved", 2: "rejected"}


@dataclass(frozen=True)
class StateChange:
    table: str  # logical table name (schema)
    primary_key: tuple[tuple[str, Any], ...]
    version: int
    status: str
    is_final: bool
    event_time: int | None
    extra_columns: tuple[tuple[str, Any], ...] = ()


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


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
    if isinstance(record, SmsReport):
        return _ms(record.reported_at or record.sent_at)
    if isinstance(record, (GlobeSmsReport, IntlSmsReport, LegacyIntlSmsReport)):
        return _ms(record.received_at or record.sent_at)
    if isinstance(record, (SignSmsReport, TemplateSmsReport)):
        return _ms(record.created_at)
    return None


def normalized_status(record: Receipt) -> str | None:
    if isinstance(record, (SmsReport, GlobeSmsReport, IntlSmsReport, LegacyIntlSmsReport)):
        return record.delivery_status
    if isinstance(record, SignSmsReport):
        return record.sign_status.lower()
    if isinstance(record, TemplateSmsReport):
        return record.template_status.lower()
    if isinstance(record, MnsCardTemplate):
        return _CARD_TEMPLATE_STATUS.get(record.approval_status, f"status-{record.approval_status}")
    if isinstance(record, MnsCardVender):
        return "rendered" if record.render_status in (0, None) else f"render-{record.render_status}"
    return None


def state_change(item: ParsedItem) -> StateChange | None:
    record = item.record
    status = normalized_status(record)
    when = event_time(record)
    if isinstance(record, SmsReport) and record.phone_number:
        return StateChange(
            table=DELIVERY_STATE,
            primary_key=(("biz_id", record.biz_id), ("phone_number", record.phone_number)),
            version=_version(when, _DELIVERY_RANK[status]),
            status=status,
            is_final=record.is_final,
            event_time=when,
            extra_columns=(  # an empty text is kept on the record, and stored as absent
                ("success", record.success),
                ("err_code", record.err_code or None),
                ("out_id", record.out_id or None),
            ),
        )
    if isinstance(record, (SmsReport, GlobeSmsReport, IntlSmsReport, LegacyIntlSmsReport)):
        rank, final = _DELIVERY_RANK[status], record.is_final
        version = _version(when, rank)
    elif isinstance(record, (SignSmsReport, TemplateSmsReport)):
        rank, final = _AUDIT_RANK.get(status, 0), status in _FINAL_AUDIT
        version = audit_version(record.order_id, when, rank)
    elif isinstance(record, MnsCardTemplate):
        rank, final = _AUDIT_RANK.get(status, 0), status in _FINAL_AUDIT
        version = _version(when, rank)  # no time, no ticket: the rank alone
    elif isinstance(record, MnsCardVender):
        rank, final = 1, True
        version = _version(when, rank)
    else:
        return None
    return StateChange(
        table=RECEIPT_STATE,
        primary_key=(("entity_key", item.entity_key),),
        version=version,
        status=status,
        is_final=final,
        event_time=when,
    )
