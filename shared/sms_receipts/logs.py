"""Structured log lines (one JSON object each) with phone numbers masked.

Every line goes through `mask_phone_numbers`: any run of 7 or more digits (and `*` masks), with an
optional `+`, keeps only its last 4 digits. Ids that happen to be long digit runs are masked too,
which is the safe side of the trade.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

_PHONE_LIKE = re.compile(r"(?<![0-9A-Za-z])\+?[0-9*]{3,}([0-9]{4})(?![0-9A-Za-z])")


def _mask(match: re.Match) -> str:
    text = match.group(0)
    if sum(ch.isdigit() for ch in text) < 7:
        return text
    return "*" * (len(text) - 4) + match.group(1)


def mask_phone_numbers(text: str) -> str:
    return _PHONE_LIKE.sub(_mask, text)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    line = json.dumps({"event": event, **fields}, ensure_ascii=False, default=str, separators=(",", ":"))
    logger.log(level, mask_phone_numbers(line))
