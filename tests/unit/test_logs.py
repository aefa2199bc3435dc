"""Log lines never carry a full phone number."""

from __future__ import annotations

import json
import logging

import pytest

from sms_receipts.logs import log_event, mask_phone_numbers


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ('"13812345678"', '"*******5678"'),
        ('"+8613812345678"', '"**********5678"'),
        ("to 85212345678, ok", "to *******5678, ok"),
        ('"1381111****"', '"***1111****"'),  # already masked by the sender: its digits stay hidden
    ],
)
def test_phone_numbers_keep_only_their_last_four_digits(text, masked):
    assert mask_phone_numbers(text) == masked


@pytest.mark.parametrize("text", ["1-64f6cd87-0123456789ab", "latency 12.5 ms", "count 1000", "status 200"])
def test_ids_and_short_numbers_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_log_event_writes_one_masked_json_line(caplog):
    with caplog.at_level(logging.INFO, logger="sms_receipts.test"):
        log_event(logging.getLogger("sms_receipts.test"), "push", phone="13812345678", items=3)
    (record,) = caplog.records
    assert json.loads(record.getMessage()) == {"event": "push", "phone": "*******5678", "items": 3}
