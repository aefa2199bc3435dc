"""What a receipt does to the current state: which state row, at which version, with which columns.

The version orders reports by their own times, never by arrival: `event_time_ms * 16 + rank`. A
later report wins; at the same time the higher status rank wins (for delivery a failure outranks a
success, since one failed segment fails the message; a final audit result outranks "approving");
at the same version the larger idempotency key wins, so every replica of the same set of receipts
converges on the same row. SmsUp replies have no state: the ledger is their record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..parsing import (
    GlobeSmsReport,
    IntlSmsReport,
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

_DELIVERY_RANK = {"unknown": 0, "delivered": 1, "expired": 2, "failed": 3}
_AUDIT_RANK = {"approving": 1, "approved": 2, "rejected": 2}
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


def event_time(record: Receipt) -> int | None:
    """The receipt's own time in epoch ms: when the carrier reported, or when the audit was filed."""
    if isinstance(record, SmsReport):
        return _ms(record.reported_at or record.sent_at)
    if isinstance(record, (GlobeSmsReport, IntlSmsReport)):
        return _ms(record.received_at or record.sent_at)
    if isinstance(record, (SignSmsReport, TemplateSmsReport)):
        return _ms(record.created_at)
    return None


def normalized_status(record: Receipt) -> str | None:
    if isinstance(record, (SmsReport, GlobeSmsReport, IntlSmsReport)):
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
    if isinstance(record, SmsReport):
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
    if isinstance(record, (GlobeSmsReport, IntlSmsReport)):
        rank, final = _DELIVERY_RANK[status], record.is_final
    elif isinstance(record, (SignSmsReport, TemplateSmsReport, MnsCardTemplate)):
        rank = _AUDIT_RANK.get(status, 0)
        final = rank == 2
    elif isinstance(record, MnsCardVender):
        rank, final = 1, True
    else:
        return None
    return StateChange(
        table=RECEIPT_STATE,
        primary_key=(("entity_key", item.entity_key),),
        version=_version(when, rank),
        status=status,
        is_final=final,
        event_time=when,
    )
