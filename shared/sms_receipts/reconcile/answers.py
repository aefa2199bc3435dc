"""What a QuerySendDetails answer says, as the SmsReport receipt the report would have been.

Pure functions: the reconciler stores what they return through the same parser and idempotent store
as every push, so a query answer and the real report converge on one state whichever comes first:

- a detail with `SendStatus` 3 (发送成功) or 2 (发送失败) becomes a SmsReport with the send's `biz_id`
  (the detail has none: the query named it) and number (as logged and asked about), `send_time` from
  `SendDate`, `report_time` from `ReceiveDate`, `out_id` from `OutId`, `success` from the status and
  `err_code` from `ErrCode`, except that success's `DELIVRD` becomes the receipt's `DELIVERED`
  (reconciliation.md §5: the two spell it differently). Those are the fields that make a receipt's
  idempotency key, so where the service's two records agree the query answer *is* the report: one
  ledger row, whichever came first. Where they differ (a time a second apart), the two rows order
  by time and rank like any two reports;
- `SendStatus` 1 (等待回执, awaiting the report) becomes nothing: the send is queried again on a later
  run, and no pending answer ever lands on a final state;
- a send still unresolved when its window closes gets `unresolved_receipt`: status `unknown`
  (`err_code` `UNRESOLVED_ERR_CODE`), the reason in `err_msg`, and no time, so that it ranks below
  every report about the send: a real report or answer arriving later still replaces it.

Each receipt keeps the detail it came from under `query` (an unknown field, kept in the ledger's raw
JSON, where `repair` and `replay` read it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..parsing.models import UNRESOLVED_ERR_CODE

SEND_STATUS_WAITING = 1  # 等待回执
SEND_STATUS_FAILED = 2  # 发送失败
SEND_STATUS_DELIVERED = 3  # 发送成功
DETAIL_SUCCESS_CODE = "DELIVRD"  # QuerySendDetails' ErrCode on success
RECEIPT_SUCCESS_CODE = "DELIVERED"  # the receipt's err_code on success


def send_status(detail: Mapping[str, Any]) -> int | None:
    try:
        return int(detail.get("SendStatus"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def answer_receipt(biz_id: str, phone_number: str, detail: Mapping[str, Any]) -> dict[str, Any] | None:
    """The SmsReport a final detail (`SendStatus` 2 or 3, by its API names) of the send of `biz_id` to
    `phone_number` stands for; None while the detail still awaits its report."""
    status = send_status(detail)
    if status not in (SEND_STATUS_DELIVERED, SEND_STATUS_FAILED):
        return None
    delivered = status == SEND_STATUS_DELIVERED
    code = detail.get("ErrCode") or None
    if delivered and code in (None, DETAIL_SUCCESS_CODE):
        code = RECEIPT_SUCCESS_CODE
    return {
        # The number as logged and asked about, which keys its state row (`PhoneNum` may spell it with
        # a country code); the detail itself is kept under `query`.
        "phone_number": phone_number,
        "send_time": detail.get("SendDate") or None,
        "report_time": detail.get("ReceiveDate") or None,
        "success": delivered,
        "err_code": code,
        "biz_id": biz_id,
        "out_id": detail.get("OutId") or None,
        "query": dict(detail),
    }


def unresolved_receipt(biz_id: str, phone_number: str, reason: str, out_id: str | None = None) -> dict[str, Any]:
    """The `unknown` verdict for a send that nothing resolved in its window; `reason` says why."""
    return {
        "phone_number": phone_number,
        "success": False,
        "err_code": UNRESOLVED_ERR_CODE,
        "err_msg": reason,
        "biz_id": biz_id,
        "out_id": out_id or None,
    }
