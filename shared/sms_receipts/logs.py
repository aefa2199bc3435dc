"""Structured log lines (one JSON object each) with phone numbers masked.

Every line goes through `mask_phone_numbers`, which keeps a phone number's last 4 digits and stars
the rest. What it takes for a phone number, by spelling:

- a mainland mobile number, `1[3-9]` and 9 more digits, alone or after `+86`, `0086` or `86`, written
  together or as 3-4-4 with spaces or hyphens (`138 0013 8000`);
- an international (E.164) number: `+`, then 7 to 15 digits, optionally grouped by spaces or hyphens;
- whatever a phone field holds (`phone_number`, `PhoneNumber`, `PhoneNum`, `to`, `To`, `mobile`, ...,
  in JSON, or in JSON quoted inside a JSON string): the receipts' international numbers
  (`"To": "85212345678"`) carry no `+`, and a bare digit run is told from an id only by its field.

A digit the sender already masked (`*`, as in `1381111****`) counts as a digit. Digit runs of other
lengths are left alone, so ids keep their digits: the account id in a queue name
(`Alicom-Queue-1234567890123456-SmsReport`), a BizId (`900619746936498440^0`), request ids and
timestamps in milliseconds. A bare international number without its `+` in free text (not in a phone
field) cannot be told from an id, and is not masked: no log line writes one.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_DIGIT = r"[0-9*]"  # a digit, or one the sender masked already
_GAP = r"[ \-]?"  # numbers written in groups: `138 0013 8000`, `+86-138-0013-8000`
# Not inside a longer run of letters, digits or masks, nor a BizId's `^n` part.
_BEFORE = r"(?<![0-9A-Za-z*+^])"
_AFTER = r"(?![0-9A-Za-z*^])"
_MAINLAND = rf"(?:(?:\+|00)?86{_GAP})?1[3-9]{_DIGIT}{_GAP}{_DIGIT}{{4}}{_GAP}{_DIGIT}{{4}}"
_INTERNATIONAL = rf"\+[1-9](?:{_GAP}{_DIGIT}){{6,14}}"
_PHONE_LIKE = re.compile(rf"{_BEFORE}(?:{_INTERNATIONAL}|{_MAINLAND}){_AFTER}")

# A phone field's value, in JSON (`"to":"852..."`, `"phone_number":138...`) or in JSON inside a JSON
# string (`\"to\":\"852...\"`): the receipts' names for a number.
_PHONE_KEYS = r"(?:phone_?numbers?|phone_?num|phone|mobile|to)"
_PHONE_FIELD = re.compile(
    rf'(?i:(\\?"{_PHONE_KEYS}\\?"\s*:\s*))(\\?"[^"\\]*\\?"|[0-9]+)',
)


def _star_all_but_last_four_digits(text: str) -> str:
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    kept = set(digits[-4:])
    return "".join(ch if i in kept or not (ch.isdigit() or ch == "+") else "*" for i, ch in enumerate(text))


def _mask_field(match: re.Match) -> str:
    return match.group(1) + _star_all_but_last_four_digits(match.group(2))


def mask_phone_numbers(text: str) -> str:
    masked = _PHONE_FIELD.sub(_mask_field, text)
    return _PHONE_LIKE.sub(lambda m: _star_all_but_last_four_digits(m.group(0)), masked)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    line = json.dumps({"event": event, **fields}, ensure_ascii=False, default=str, separators=(",", ":"))
    logger.log(level, mask_phone_numbers(line))
