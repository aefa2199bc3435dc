"""The SMS service's rules and state: sends, the delivery outcome of each message, the queries over them.

- **Sends.** `SendSms` sends one template to 1..1,000 comma-separated numbers; `SendBatchSms` to 1..100
  numbers from JSON arrays, one signature (and template parameters) per number. Either call is one
  `Send` with one `BizId` covering all its messages (one `Message` per number). Sending is not
  idempotent: a retried call sends again, with a new BizId.
- **Outcomes.** The emulator decides each message's outcome when it is sent: delivered, or failed with
  a carrier code (`UNDELIV` by default), due `delivery_delay` seconds later. `plan(number, err_code=...,
  delay=...)` fixes the outcome of later sends to a number; otherwise `failure_rate` (seeded) picks
  failures from `failure_codes`. Before the outcome is due QuerySendDetails says `SendStatus` 1 (awaiting
  report), after it 3 with `ErrCode` `DELIVRD`, or 2 with the failure code. A receipt reports success as
  `err_code` `DELIVERED` (not `DELIVRD`): `Outcome.receipt()` is the SmsReport the receipt would carry.
- **Hook for a simulator.** `due_outcomes(now)` hands out, once each, the outcomes that are due, in the
  order they fall due: what an SMS-service simulator pushes as receipts.
- **Time** is the injected `clock` (epoch seconds; `ManualClock` for tests): outcome delays, the
  30-day window of QuerySendDetails, send dates and frequency limits all read it. Dates are Beijing
  time (UTC+8), whatever the host's TZ.
- **Frequency control** (throttling): `RateLimits(per_minute, per_hour, per_day)` per signature and
  number, rolling windows, off by default. A call that would exceed one is refused whole (nothing is
  sent) with `isv.BUSINESS_LIMIT_CONTROL` `触发分钟级流控Permits:N` (小时级, 天级).
- **Signatures and templates** are accepted whatever they are, unless registered (`register_sign`,
  `register_template`): then an unknown one is `isv.SMS_SIGNATURE_ILLEGAL` / `isv.SMS_TEMPLATE_ILLEGAL`.
  A registered template's `${name}` placeholders are filled from the parameters into `Content`.
- **QuerySendDetails**: one number (domestic numbers match with or without +86/0086/86), one `SendDate`
  (`yyyyMMdd`, Beijing) within the last 30 days counting today, pages of 1..50 from page 1, optional
  `BizId`; messages in send order. **QuerySendStatistics**: per Beijing day from `StartDate` to
  `EndDate`, days with sends only, ascending, paged by `PageIndex`/`PageSize` (1..50); `TotalCount` is
  that day's messages (submissions), the others split them by status at `now`. `IsGlobe` 1 counts
  domestic numbers, 2 the others; `TemplateType` matches a registered template's type (unregistered
  templates are type 1, notification).

**Persistence.** The state is kept in memory (it is small locally) and every change is also written to
the emulators' SQLite `Database` (`<data_dir>/dysmsapi.sqlite3`; in memory without a data dir, so tests and
the local stack run the same code) in one transaction committed before the call returns: a send with its
messages and their decided outcomes, and the `handed_out` mark of the outcomes `due_outcomes()` hands out.
A state opened on the same data dir loads them back: QuerySendDetails and QuerySendStatistics answer for
earlier sends, outcomes not handed out before are still due (once), and BizIds continue their sequence.
Registered signatures and templates, plans, `rate_limits` and the frequency-control history are not
stored: register and plan again after a restart (an unregistered template counts as type 1 in
QuerySendStatistics), and frequency control starts afresh.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import random
import re
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from operator import attrgetter
from typing import Any

from ..credentials import Credential
from ..database import Database
from .exceptions import (
    BusinessLimitControl,
    InvalidJsonParam,
    InvalidParameters,
    MobileCountOverLimit,
    MobileNumberIllegal,
    SmsSignatureIllegal,
    SmsTemplateIllegal,
)

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_SEND_NUMBERS = 1000  # SendSms PhoneNumbers
MAX_BATCH_NUMBERS = 100  # SendBatchSms PhoneNumberJson
MAX_PAGE_SIZE = 50  # QuerySendDetails, QuerySendStatistics
QUERY_WINDOW_DAYS = 30  # QuerySendDetails SendDate: today and the 29 days before
MAX_OUT_ID_LENGTH = 256
DEFAULT_DELIVERY_DELAY = 5.0  # seconds from send to the outcome (receipt) being due

SEND_STATUS_WAITING = 1  # 等待回执
SEND_STATUS_FAILED = 2  # 发送失败
SEND_STATUS_DELIVERED = 3  # 发送成功
RECEIPT_SUCCESS_CODE = "DELIVERED"  # a receipt's err_code on success
DETAIL_SUCCESS_CODE = "DELIVRD"  # QuerySendDetails ErrCode on success
SUCCESS_MESSAGE = "用户接收成功"
# Carrier codes the old official receipt error-code list names (research receipt-formats §11.3); the
# texts are the emulator's.
FAILURE_MESSAGES = {
    "UNDELIV": "用户接收失败",
    "REJECTD": "运营商拒绝",
    "MBBLACK": "黑名单号码",
    "-37": "关机",
    "-95": "空号",
}
DEFAULT_FAILURE_CODES = ("UNDELIV",)
TEMPLATE_TYPE_NOTIFICATION = 1  # QuerySendStatistics TemplateType: 0 code, 1 notify, 2 promo, 3 intl, 7 digital

Clock = Callable[[], float]
_NUMBER = re.compile(r"(?:\+|00)?\d{7,15}")
_DOMESTIC = re.compile(r"(?:\+86|0086|86)?(1\d{10})")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")

FORMAT_VERSION = 1
# `seq` is the position in `DysmsapiState.sends` / `_messages`: rows are never deleted, so it continues.
SCHEMA = """
CREATE TABLE sends (
    seq INTEGER PRIMARY KEY, biz_id TEXT NOT NULL, action TEXT NOT NULL, caller TEXT NOT NULL,
    template_code TEXT NOT NULL, out_id TEXT NOT NULL, send_time REAL NOT NULL, phone_numbers TEXT NOT NULL
);
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY, biz_id TEXT NOT NULL, action TEXT NOT NULL, phone_number TEXT NOT NULL,
    sign_name TEXT NOT NULL, template_code TEXT NOT NULL, template_param TEXT NOT NULL, content TEXT NOT NULL,
    out_id TEXT NOT NULL, sms_up_extend_code TEXT NOT NULL, send_time REAL NOT NULL, success INTEGER NOT NULL,
    err_code TEXT NOT NULL, err_msg TEXT NOT NULL, report_time REAL NOT NULL, sms_size INTEGER NOT NULL,
    handed_out INTEGER NOT NULL
)
"""
_OUTCOME_COLUMNS = ("success", "err_code", "err_msg", "report_time", "sms_size")  # the rest are the message's


def beijing_time(epoch_seconds: float) -> str:
    """`yyyy-MM-dd HH:mm:ss` in UTC+8, independent of the host's time zone."""
    return datetime.fromtimestamp(int(epoch_seconds), BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def beijing_day(epoch_seconds: float) -> str:
    """`yyyyMMdd` in UTC+8."""
    return datetime.fromtimestamp(epoch_seconds, BEIJING).strftime("%Y%m%d")


def parse_day(text: str | None, name: str) -> date:
    try:
        if not text or len(text) != 8 or not text.isdigit():
            raise ValueError
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise InvalidParameters(f"{name} {text!r} is not a yyyyMMdd date") from None


def parse_int(text: str | None, name: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise InvalidParameters(f"{name} {text!r} is not a number") from None
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidParameters(f"{name} {value} is not in {bound}")
    return value


def domestic_number(phone_number: str) -> str | None:
    """The 11-digit mainland number, or None for an international one."""
    match = _DOMESTIC.fullmatch(phone_number)
    return match.group(1) if match else None


def number_key(phone_number: str) -> str:
    """What identifies a number: mainland numbers without their country code."""
    return domestic_number(phone_number) or phone_number.lstrip("+").removeprefix("00")


def check_number(phone_number: str) -> str:
    number = phone_number.strip()
    if not _NUMBER.fullmatch(number) or (len(number) == 11 and not number.startswith("1")):
        raise MobileNumberIllegal(f"{phone_number!r} is not a mobile number")
    return number


def sms_size(content: str) -> int:
    """Billing units: 70 characters in one SMS, 67 per part of a longer one."""
    return 1 if len(content) <= 70 else math.ceil(len(content) / 67)


class ManualClock:
    """A clock tests move by hand: `clock.advance(seconds)`."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass(frozen=True)
class RateLimits:
    """Sends allowed per signature and number in a rolling minute, hour and day (None: no limit)."""

    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None

    def windows(self) -> list[tuple[str, float, int]]:
        limits = (("分钟", 60.0, self.per_minute), ("小时", 3600.0, self.per_hour), ("天", 86400.0, self.per_day))
        return [(name, seconds, permits) for name, seconds, permits in limits if permits is not None]


@dataclass(frozen=True)
class Template:
    code: str
    text: str
    template_type: int = TEMPLATE_TYPE_NOTIFICATION


@dataclass(frozen=True)
class Plan:
    """The outcome of later sends to a number: `err_code` None is delivered; `delay` None the default."""

    err_code: str | None = None
    delay: float | None = None


@dataclass(frozen=True)
class Outcome:
    """A message's delivery outcome, as its receipt (SmsReport) tells it."""

    biz_id: str
    phone_number: str
    success: bool
    err_code: str  # DELIVERED on success, else the carrier's code
    err_msg: str
    send_time: float
    report_time: float
    out_id: str
    sms_size: int
    sign_name: str
    template_code: str

    def receipt(self) -> dict[str, Any]:
        """The SmsReport body: `success` a JSON boolean, `sms_size` text, times in Beijing time."""
        return {
            "phone_number": self.phone_number,
            "send_time": beijing_time(self.send_time),
            "report_time": beijing_time(self.report_time),
            "success": self.success,
            "err_code": self.err_code,
            "err_msg": self.err_msg,
            "sms_size": str(self.sms_size),
            "biz_id": self.biz_id,
            "out_id": self.out_id,
        }


@dataclass
class Message:
    """One number of one send."""

    seq: int
    biz_id: str
    action: str
    phone_number: str
    sign_name: str
    template_code: str
    template_param: str
    content: str
    out_id: str
    sms_up_extend_code: str
    send_time: float
    outcome: Outcome
    handed_out: bool = False

    @property
    def outcome_at(self) -> float:
        return self.outcome.report_time

    def send_status(self, now: float) -> int:
        if now < self.outcome_at:
            return SEND_STATUS_WAITING
        return SEND_STATUS_DELIVERED if self.outcome.success else SEND_STATUS_FAILED

    def err_code(self, now: float) -> str:
        """QuerySendDetails ErrCode: empty while awaiting the report, DELIVRD on success."""
        status = self.send_status(now)
        if status == SEND_STATUS_WAITING:
            return ""
        return DETAIL_SUCCESS_CODE if status == SEND_STATUS_DELIVERED else self.outcome.err_code


# A message row is its fields and its outcome's own: a new field needs a SCHEMA column and a FORMAT_VERSION bump.
_MESSAGE_FIELDS = tuple(item.name for item in fields(Message) if item.name != "outcome")
_MESSAGE_COLUMNS = _MESSAGE_FIELDS + _OUTCOME_COLUMNS
_message_values, _outcome_values = attrgetter(*_MESSAGE_FIELDS), attrgetter(*_OUTCOME_COLUMNS)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(_MESSAGE_COLUMNS))})"
)


@dataclass(frozen=True)
class Send:
    """One SendSms or SendBatchSms call: one BizId for all its numbers."""

    biz_id: str
    action: str
    caller: str
    template_code: str
    out_id: str
    send_time: float
    phone_numbers: tuple[str, ...]


@dataclass(frozen=True)
class DayStatistics:
    send_date: str  # yyyyMMdd
    total_count: int
    responded_success_count: int
    responded_fail_count: int
    no_responded_count: int


@dataclass
class _Request:
    """One number of a send being prepared."""

    phone_number: str
    sign_name: str
    template_param: str
    sms_up_extend_code: str = ""
    params: dict[str, str] = field(default_factory=dict)


class DysmsapiState:
    """The SMS service of one account. Thread-safe; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        delivery_delay: float = DEFAULT_DELIVERY_DELAY,
        failure_rate: float = 0.0,
        failure_codes: Iterable[str] = DEFAULT_FAILURE_CODES,
        seed: int | None = None,
        rate_limits: RateLimits | None = None,
        data_dir: str | os.PathLike | None = None,
    ):
        if delivery_delay < 0:
            raise ValueError(f"delivery_delay must not be negative, not {delivery_delay}")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be between 0 and 1, not {failure_rate}")
        self.clock = clock
        self.delivery_delay = delivery_delay
        self.failure_rate = failure_rate
        self.failure_codes = tuple(failure_codes) or DEFAULT_FAILURE_CODES
        self.rate_limits = rate_limits or RateLimits()
        self.signs: set[str] | None = None  # None: any signature
        self.templates: dict[str, Template] | None = None  # None: any template
        self.sends: list[Send] = []
        self.lock = threading.Lock()
        self._random = random.Random(seed)
        self._plans: dict[str, Plan] = {}
        self._messages: list[Message] = []
        self._by_number_day: dict[tuple[str, str], list[Message]] = defaultdict(list)
        self._due: list[tuple[float, int, Message]] = []  # heap of outcomes not yet handed out
        self._history: dict[tuple[str, str], deque[float]] = defaultdict(deque)  # (sign, number) -> send times
        self._database = Database(data_dir, "dysmsapi", SCHEMA, FORMAT_VERSION, "dysmsapi")
        self._load()

    def _load(self) -> None:
        connection = self._database.connection
        for biz_id, action, caller, template_code, out_id, send_time, numbers in connection.execute(
            "SELECT biz_id, action, caller, template_code, out_id, send_time, phone_numbers FROM sends ORDER BY seq"
        ):
            self.sends.append(
                Send(biz_id, action, caller, template_code, out_id, send_time, tuple(json.loads(numbers)))
            )
        for row in connection.execute(f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages ORDER BY seq"):
            self._index(_message_from_row(row))

    def close(self) -> None:
        """Close the database file (the next use reopens it)."""
        with self.lock:
            self._database.close()

    # ---- configuration --------------------------------------------------------------------------

    def register_sign(self, sign_name: str) -> None:
        """Accept only registered signatures from now on (this one and any registered later)."""
        with self.lock:
            self.signs = (self.signs or set()) | {sign_name}

    def register_template(
        self, template_code: str, text: str, template_type: int = TEMPLATE_TYPE_NOTIFICATION
    ) -> Template:
        """Accept only registered templates from now on; `${name}` in `text` is filled from TemplateParam."""
        template = Template(template_code, text, template_type)
        with self.lock:
            self.templates = {**(self.templates or {}), template_code: template}
        return template

    def plan(self, phone_number: str, *, err_code: str | None = None, delay: float | None = None) -> Plan:
        """Fix the outcome of later sends to `phone_number`: failed with `err_code`, or delivered (None)."""
        plan = Plan(err_code, delay)
        with self.lock:
            self._plans[number_key(phone_number)] = plan
        return plan

    def clear_plans(self) -> None:
        with self.lock:
            self._plans.clear()

    # ---- sending --------------------------------------------------------------------------------

    def send_sms(
        self,
        caller: Credential,
        phone_numbers: str | None,
        sign_name: str | None,
        template_code: str | None,
        template_param: str | None = None,
        out_id: str | None = None,
        sms_up_extend_code: str | None = None,
    ) -> Send:
        numbers = [number.strip() for number in (phone_numbers or "").split(",")]
        if len(numbers) > MAX_SEND_NUMBERS:
            raise MobileCountOverLimit(f"{len(numbers)} numbers, at most {MAX_SEND_NUMBERS} per call")
        params = _template_params(template_param, "TemplateParam")
        requests = [
            _Request(check_number(number), sign_name or "", template_param or "", sms_up_extend_code or "", params)
            for number in numbers
        ]
        return self._send(caller, "SendSms", requests, template_code or "", out_id or "")

    def send_batch_sms(
        self,
        caller: Credential,
        phone_number_json: str | None,
        sign_name_json: str | None,
        template_code: str | None,
        template_param_json: str | None = None,
        sms_up_extend_code_json: str | None = None,
        out_id: str | None = None,
    ) -> Send:
        numbers = _json_strings(phone_number_json, "PhoneNumberJson")
        if not numbers:
            raise MobileNumberIllegal("PhoneNumberJson holds no number")
        if len(numbers) > MAX_BATCH_NUMBERS:
            raise MobileCountOverLimit(f"{len(numbers)} numbers, at most {MAX_BATCH_NUMBERS} per call")
        signs = _json_strings(sign_name_json, "SignNameJson")
        if len(signs) != len(numbers):
            raise InvalidParameters(f"SignNameJson has {len(signs)} signatures for {len(numbers)} numbers")
        params: list[dict[str, str]] = [{} for _ in numbers]
        param_texts = ["" for _ in numbers]
        if template_param_json:
            raw = _json_array(template_param_json, "TemplateParamJson")
            if len(raw) != len(numbers):
                raise InvalidParameters(f"TemplateParamJson has {len(raw)} entries for {len(numbers)} numbers")
            param_texts = [json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in raw]
            params = [_template_params(text, "TemplateParamJson") for text in param_texts]
        extend_codes = ["" for _ in numbers]
        if sms_up_extend_code_json:
            extend_codes = _json_strings(sms_up_extend_code_json, "SmsUpExtendCodeJson")
            if len(extend_codes) != len(numbers):
                raise InvalidParameters(
                    f"SmsUpExtendCodeJson has {len(extend_codes)} entries for {len(numbers)} numbers"
                )
        requests = [
            _Request(check_number(numbers[i]), signs[i], param_texts[i], extend_codes[i], params[i])
            for i in range(len(numbers))
        ]
        return self._send(caller, "SendBatchSms", requests, template_code or "", out_id or "")

    def _send(self, caller: Credential, action: str, requests: list[_Request], template_code: str, out_id: str) -> Send:
        if len(out_id) >= MAX_OUT_ID_LENGTH:
            raise InvalidParameters(f"OutId has {len(out_id)} characters, fewer than {MAX_OUT_ID_LENGTH} allowed")
        with self.lock:
            now = self.clock()
            for request in requests:
                if not request.sign_name or (self.signs is not None and request.sign_name not in self.signs):
                    raise SmsSignatureIllegal(f"sign {request.sign_name!r}")
            template = None if self.templates is None else self.templates.get(template_code)
            if not template_code or (self.templates is not None and template is None):
                raise SmsTemplateIllegal(f"template {template_code!r}")
            self._check_rate_limits(requests, now)
            seq = len(self.sends)
            biz_id = f"{100000 + seq}{int(now * 1000) % 10**9:09d}^0"
            messages = [
                self._new_message(
                    len(self._messages) + i, biz_id, action, request, template_code, template, out_id, now
                )
                for i, request in enumerate(requests)
            ]
            numbers = tuple(request.phone_number for request in requests)
            send = Send(biz_id, action, caller.access_key_id, template_code, out_id, now, numbers)
            # Stored before the reply names the BizId; memory changes only once the commit succeeded.
            with self._database.transaction() as connection:
                _insert_send(connection, seq, send, messages)
            self._record_history(requests, now)
            self.sends.append(send)
            for message in messages:
                self._index(message)
            return send

    def _check_rate_limits(self, requests: list[_Request], now: float) -> None:
        windows = self.rate_limits.windows()
        if not windows:
            return
        longest = max(seconds for _, seconds, _ in windows)
        pending: dict[tuple[str, str], int] = defaultdict(int)
        for request in requests:
            key = (request.sign_name, number_key(request.phone_number))
            history = self._history[key]
            while history and now - history[0] >= longest:
                history.popleft()
            pending[key] += 1
            for name, seconds, permits in windows:
                if sum(1 for sent in history if now - sent < seconds) + pending[key] > permits:
                    raise BusinessLimitControl(name, permits, request.phone_number)

    def _record_history(self, requests: list[_Request], now: float) -> None:
        if not self.rate_limits.windows():
            return
        for request in requests:
            self._history[(request.sign_name, number_key(request.phone_number))].append(now)

    def _new_message(
        self,
        seq: int,
        biz_id: str,
        action: str,
        request: _Request,
        template_code: str,
        template: Template | None,
        out_id: str,
        now: float,
    ) -> Message:
        if template is not None:
            text = _PLACEHOLDER.sub(lambda m: request.params.get(m.group(1), m.group(0)), template.text)
        else:
            text = template_code + (f" {request.template_param}" if request.template_param else "")
        content = f"【{request.sign_name}】{text}"
        plan = self._plans.get(number_key(request.phone_number))
        if plan is not None:
            err_code = plan.err_code
            delay = self.delivery_delay if plan.delay is None else plan.delay
        else:
            failed = self.failure_rate > 0 and self._random.random() < self.failure_rate
            err_code = self._random.choice(self.failure_codes) if failed else None
            delay = self.delivery_delay
        outcome = Outcome(
            biz_id=biz_id,
            phone_number=request.phone_number,
            success=err_code is None,
            err_code=RECEIPT_SUCCESS_CODE if err_code is None else err_code,
            err_msg=SUCCESS_MESSAGE if err_code is None else FAILURE_MESSAGES.get(err_code, "发送失败"),
            send_time=now,
            report_time=now + delay,
            out_id=out_id,
            sms_size=sms_size(content),
            sign_name=request.sign_name,
            template_code=template_code,
        )
        return Message(
            seq=seq,
            biz_id=biz_id,
            action=action,
            phone_number=request.phone_number,
            sign_name=request.sign_name,
            template_code=template_code,
            template_param=request.template_param,
            content=content,
            out_id=out_id,
            sms_up_extend_code=request.sms_up_extend_code,
            send_time=now,
            outcome=outcome,
        )

    def _index(self, message: Message) -> None:
        self._messages.append(message)
        self._by_number_day[(number_key(message.phone_number), beijing_day(message.send_time))].append(message)
        if not message.handed_out:
            heapq.heappush(self._due, (message.outcome_at, message.seq, message))

    # ---- the simulator's hook -------------------------------------------------------------------

    def due_outcomes(self, now: float | None = None) -> list[Outcome]:
        """The outcomes due by `now` (default: the clock) not handed out before, in the order they fell due."""
        with self.lock:
            now = self.clock() if now is None else now
            due: list[tuple[float, int, Message]] = []
            while self._due and self._due[0][0] <= now:
                due.append(heapq.heappop(self._due))
            if not due:
                return []
            try:  # marked on disk in this call, so a restart never hands an outcome out twice
                with self._database.transaction() as connection:
                    connection.executemany(
                        "UPDATE messages SET handed_out = 1 WHERE seq = ?", [(seq,) for _, seq, _ in due]
                    )
            except BaseException:
                for entry in due:  # not handed out after all: still due
                    heapq.heappush(self._due, entry)
                raise
            for _, _, message in due:
                message.handed_out = True
            return [message.outcome for _, _, message in due]

    def messages(self, biz_id: str | None = None) -> list[Message]:
        with self.lock:
            return [message for message in self._messages if biz_id is None or message.biz_id == biz_id]

    # ---- queries --------------------------------------------------------------------------------

    def query_send_details(
        self,
        phone_number: str | None,
        send_date: str | None,
        page_size: str | None,
        current_page: str | None,
        biz_id: str | None = None,
    ) -> tuple[int, list[Message], float]:
        """(TotalCount, the page's messages, now) for one number and one day."""
        number = (phone_number or "").strip()
        if "," in number:
            raise InvalidParameters("PhoneNumber takes one number only")
        check_number(number)
        day = parse_day(send_date, "SendDate")
        size = parse_int(page_size, "PageSize", 1, MAX_PAGE_SIZE)
        page = parse_int(current_page, "CurrentPage", 1)
        with self.lock:
            now = self.clock()
            today = datetime.fromtimestamp(now, BEIJING).date()
            if day > today or (today - day).days >= QUERY_WINDOW_DAYS:
                raise InvalidParameters(
                    f"SendDate {send_date} is not within the last {QUERY_WINDOW_DAYS} days (today is {today:%Y%m%d})"
                )
            matches = [
                message
                for message in self._by_number_day.get((number_key(number), day.strftime("%Y%m%d")), [])
                if not biz_id or message.biz_id == biz_id
            ]
        start = (page - 1) * size
        return len(matches), matches[start : start + size], now

    def query_send_statistics(
        self,
        is_globe: str | None,
        start_date: str | None,
        end_date: str | None,
        page_index: str | None,
        page_size: str | None,
        template_type: str | None = None,
        sign_name: str | None = None,
    ) -> tuple[int, list[DayStatistics]]:
        """(TotalSize: days with sends, the page of days)."""
        globe = parse_int(is_globe, "IsGlobe", 1, 2)
        start = parse_day(start_date, "StartDate").strftime("%Y%m%d")
        end = parse_day(end_date, "EndDate").strftime("%Y%m%d")
        if start > end:
            raise InvalidParameters(f"StartDate {start} is after EndDate {end}")
        index = parse_int(page_index, "PageIndex", 1)
        size = parse_int(page_size, "PageSize", 1, MAX_PAGE_SIZE)
        wanted_type = parse_int(template_type, "TemplateType", 0) if template_type else None
        with self.lock:
            now = self.clock()
            templates = self.templates or {}
            counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
            for message in self._messages:
                day = beijing_day(message.send_time)
                if not start <= day <= end or (sign_name and message.sign_name != sign_name):
                    continue
                if (domestic_number(message.phone_number) is not None) != (globe == 1):
                    continue
                if wanted_type is not None:
                    template = templates.get(message.template_code)
                    kind = template.template_type if template else TEMPLATE_TYPE_NOTIFICATION
                    if kind != wanted_type:
                        continue
                row = counts[day]
                row[0] += 1
                row[
                    {SEND_STATUS_DELIVERED: 1, SEND_STATUS_FAILED: 2, SEND_STATUS_WAITING: 3}[message.send_status(now)]
                ] += 1
        days = [DayStatistics(day, *counts[day]) for day in sorted(counts)]
        first = (index - 1) * size
        return len(days), days[first : first + size]


def _insert_send(connection: sqlite3.Connection, seq: int, send: Send, messages: list[Message]) -> None:
    connection.execute(
        "INSERT INTO sends VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seq,
            send.biz_id,
            send.action,
            send.caller,
            send.template_code,
            send.out_id,
            send.send_time,
            json.dumps(send.phone_numbers),
        ),
    )
    connection.executemany(_INSERT_MESSAGE, (_message_values(m) + _outcome_values(m.outcome) for m in messages))


def _message_from_row(row: tuple[Any, ...]) -> Message:
    values = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
    values["success"], values["handed_out"] = bool(values["success"]), bool(values["handed_out"])  # stored 0/1
    outcome = Outcome(**{item.name: values[item.name] for item in fields(Outcome)})
    return Message(**{name: values[name] for name in _MESSAGE_FIELDS}, outcome=outcome)


def _json_array(text: str | None, name: str) -> list[Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        raise InvalidJsonParam(f"{name} is not JSON") from None
    if not isinstance(value, list):
        raise InvalidJsonParam(f"{name} is not a JSON array")
    return value


def _json_strings(text: str | None, name: str) -> list[str]:
    value = _json_array(text, name)
    if not all(isinstance(item, str) for item in value):
        raise InvalidJsonParam(f"{name} must be an array of strings")
    return value


def _template_params(text: str | None, name: str) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidJsonParam(f"{name} is not JSON") from None
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise InvalidJsonParam(f"{name} must be a JSON object of string values")
    return value
