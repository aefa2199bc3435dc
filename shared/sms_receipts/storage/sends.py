"""The send log: what was sent, so that a send whose receipts never come can be looked up later.

Reconciliation (QuerySendDetails) needs a number, the send day and the BizId, which no receipt that
failed to arrive can give: senders record each send here. One row per (send, number):

- primary key (`day_shard`, `biz_id`, `phone_number`): `day_shard` is `<h>-<yyyyMMdd>`, the send day in
  China time (QuerySendDetails' `SendDate`) after one hex digit of a hash of the BizId and number.
  The digit first spreads a day's writes over 16 key ranges instead of one hot range; a day's sends
  are 16 range reads. Recording the same send again is a no-op (insert-once);
- columns: `send_time` (epoch ms), `out_id`, `template_code`, `sign_name`, `source` (`sdk`, `http`,
  `import`), `recorded_at`.

Written three ways: `SendLog.record_sdk_call(request, response)` after SendSms / SendBatchSms (the
official SDK's request and response models, or their `to_map()` dicts), `POST /sends` on the HTTP
function (`http.sends`, for senders in any language), and `sms-receipts sends import FILE` (JSON
lines or CSV).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from typing import Any

from ..parsing.times import CHINA_TZ, china_time_ms
from .plan import InsertOnce, PlannedRow, RowKind, limit_problem, planned_row
from .schema import SEND_LOG
from .writer import ReceiptStore, RowsResult

SHARDS = 16
MAX_NUMBERS_PER_SEND = 1000  # SendSms's limit (SendBatchSms: 100)
WRITE_SECONDS = 10.0


class SendError(ValueError):
    """A send that cannot be recorded: says which field is wrong."""


@dataclass(frozen=True)
class Send:
    biz_id: str
    phone_number: str
    send_time: int  # epoch ms
    out_id: str | None = None
    template_code: str | None = None
    sign_name: str | None = None
    source: str = "sdk"

    @property
    def send_day(self) -> str:
        """The send day in China time, as QuerySendDetails' `SendDate` wants it (yyyyMMdd)."""
        return datetime.fromtimestamp(self.send_time / 1000, CHINA_TZ).strftime("%Y%m%d")

    @property
    def day_shard(self) -> str:
        digest = blake2b(f"{self.biz_id}\x1f{self.phone_number}".encode(), digest_size=1).digest()[0]
        return f"{digest % SHARDS:x}-{self.send_day}"


def send_row(send: Send, recorded_at: int) -> PlannedRow:
    return planned_row(
        RowKind.SEND,
        SEND_LOG,
        (("day_shard", send.day_shard), ("biz_id", send.biz_id), ("phone_number", send.phone_number)),
        (
            ("send_time", send.send_time),
            ("out_id", send.out_id),
            ("template_code", send.template_code),
            ("sign_name", send.sign_name),
            ("source", send.source),
            ("recorded_at", recorded_at),
        ),
        InsertOnce(),  # the same send recorded twice is one row
    )


def _fields(value: Any) -> Mapping[str, Any]:
    """An SDK model's fields by their API names (its `to_map()`), or a mapping as it is."""
    if isinstance(value, Mapping):
        return value
    to_map = getattr(value, "to_map", None)
    if to_map is None:
        raise SendError(f"expected an SDK request/response model or a mapping, got {type(value).__name__}")
    fields: Mapping[str, Any] = to_map()
    return fields


def _json_list(text: Any, name: str) -> list[str]:
    try:
        values = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        raise SendError(f"{name} is not a JSON array") from None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SendError(f"{name} must be a JSON array of strings")
    return values


def sends_from_sdk(request: Any, response: Any, sent_at: float | None = None) -> list[Send]:
    """The sends one SendSms or SendBatchSms call made: one per number, all under the response's
    BizId. SendError when the call was refused (its `Code` is not `OK`) or the request is malformed."""
    params, answer = _fields(request), _fields(response)
    body = _fields(answer["body"]) if "body" in answer else answer
    if body.get("Code") != "OK" or not body.get("BizId"):
        raise SendError(f"the send was not accepted (Code {body.get('Code')!r}): there is nothing to record")
    if "PhoneNumbers" in params:
        numbers = [n.strip() for n in str(params["PhoneNumbers"]).split(",") if n.strip()]
        signs: list[Any] = [params.get("SignName")] * len(numbers)
    elif "PhoneNumberJson" in params:
        numbers = _json_list(params["PhoneNumberJson"], "PhoneNumberJson")
        signs = _json_list(params.get("SignNameJson", "[]"), "SignNameJson") or [None] * len(numbers)
        if len(signs) != len(numbers):
            raise SendError("SignNameJson must name one signature per number")
    else:
        raise SendError("the request names no numbers (PhoneNumbers or PhoneNumberJson)")
    return make_sends(
        str(body["BizId"]),
        numbers,
        int((time.time() if sent_at is None else sent_at) * 1000),
        out_id=params.get("OutId"),
        template_code=params.get("TemplateCode"),
        signs=signs,
        source="sdk",
    )


def make_sends(
    biz_id: str,
    numbers: list[str],
    send_time: int,
    *,
    out_id: str | None = None,
    template_code: str | None = None,
    signs: list[Any] | None = None,
    source: str,
) -> list[Send]:
    if not biz_id.strip():
        raise SendError("biz_id is empty")
    if not numbers or len(numbers) > MAX_NUMBERS_PER_SEND:
        raise SendError(f"a send has 1 to {MAX_NUMBERS_PER_SEND} numbers, not {len(numbers)}")
    if any(not n or len(n) > 32 for n in numbers):
        raise SendError("a phone number is empty or longer than 32 characters")
    signs = signs or [None] * len(numbers)
    return [
        Send(biz_id, number, send_time, out_id or None, template_code or None, sign or None, source)
        for number, sign in zip(numbers, signs, strict=True)
    ]


_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def _send_time(value: Any) -> int:
    """Epoch ms from epoch seconds or ms, or a China-time `yyyy-MM-dd HH:mm:ss`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value if value > 10**11 else value * 1000)
    text = str(value or "").strip()
    if text.isdigit():
        return _send_time(int(text))
    moment = china_time_ms(text, _TIME_FORMATS)
    if moment is not None:
        return moment
    raise SendError(f"send_time {text!r}: give epoch seconds or ms, or China time 'yyyy-MM-dd HH:mm:ss'")


def record_sends(record: Mapping[str, Any], source: str = "import") -> list[Send]:
    """The sends of one record (an import line, or one send posted to `/sends`)."""
    numbers = record.get("phone_numbers", record.get("phone_number"))
    if isinstance(numbers, str):
        numbers = [n.strip() for n in numbers.replace(";", ",").split(",") if n.strip()]
    if not isinstance(numbers, list):
        raise SendError("phone_number (or phone_numbers) is missing")
    return make_sends(
        str(record.get("biz_id") or ""),
        [str(n) for n in numbers],
        _send_time(record.get("send_time")),
        out_id=record.get("out_id") or None,
        template_code=record.get("template_code") or None,
        signs=[record.get("sign_name")] * len(numbers),
        source=source,
    )


def read_sends_file(data: bytes) -> tuple[list[Send], list[str]]:
    """Sends from JSON lines (one object per line) or CSV with a header (`biz_id`, `phone_number` or
    `phone_numbers`, `send_time`, and optionally `out_id`, `template_code`, `sign_name`): the sends,
    and one error per line that could not be read, naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"the file is not UTF-8 text (bad byte at offset {exc.start})"]
    sends: list[Send] = []
    errors: list[str] = []
    stripped = text.lstrip()
    if stripped.startswith("{"):
        records: Iterable[tuple[int, Any]] = (
            (number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()
        )
        for number, line in records:
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise SendError("a line must be one JSON object")
                sends.extend(record_sends(record))
            except (ValueError, SendError) as exc:
                errors.append(f"line {number}: {exc}")
        return sends, errors
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "biz_id" not in reader.fieldnames:
        return [], ["not JSON lines, and not CSV with a header naming biz_id, phone_number and send_time"]
    for number, row in enumerate(reader, 2):
        try:
            sends.extend(record_sends(row))
        except SendError as exc:
            errors.append(f"line {number}: {exc}")
    return sends, errors


class SendLog:
    """Records sends through the store's writer (batches of 200, retries, conditional writes)."""

    def __init__(self, store: ReceiptStore) -> None:
        self.store = store

    def record(self, sends: list[Send], *, deadline: float | None = None) -> RowsResult:
        """Write the sends; a send already recorded is confirmed as it is. SendError for a send that
        Tablestore's limits would refuse (nothing of the call is written then)."""
        recorded_at = int(time.time() * 1000)
        rows = [send_row(send, recorded_at) for send in sends]
        problem = limit_problem(rows)
        if problem:
            raise SendError(problem)
        return self.store.write_rows(rows, deadline=deadline or time.monotonic() + WRITE_SECONDS)

    def record_sdk_call(self, request: Any, response: Any, sent_at: float | None = None) -> RowsResult:
        """After `client.send_sms(request)` / `send_batch_sms(request)`: record what it sent."""
        return self.record(sends_from_sdk(request, response, sent_at))
