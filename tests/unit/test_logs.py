"""Log lines never carry a full phone number, and keep every id whole."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from sms_receipts.logs import log_event, mask_phone_numbers

# (text, masked): phone numbers in each spelling a receipt or a person writes them.
PHONE_NUMBERS = [
    ('"13812345678"', '"*******5678"'),  # SmsReport / SmsUp phone_number
    ("to 13812345678, ok", "to *******5678, ok"),
    ("号码13812345678发送失败", "号码*******5678发送失败"),  # next to Chinese text
    ('"+8613812345678"', '"**********5678"'),
    ('"008613812345678"', '"***********5678"'),
    ('"8613812345678"', '"*********5678"'),  # GlobeSmsReport `to`: country code, no plus
    ("+86 138 1234 5678", "*** *** **** 5678"),
    ("+86-138-1234-5678", "***-***-****-5678"),
    ("138 1234 5678", "*** **** 5678"),
    ("138-1234-5678", "***-****-5678"),
    ("+85212345678", "********5678"),  # E.164, any country
    ("+1 650 555 0100", "** *** *** 0100"),
    ('"1381111****"', '"***1111****"'),  # already masked by the sender: its digits stay hidden
    ('"159****6532"', '"*******6532"'),
    # A phone field's value, whatever its shape: the international reports' numbers carry no plus.
    ('{"To":"85212345678"}', '{"To":"*******5678"}'),
    ('{"to":"86134235****"}', '{"to":"****4235****"}'),
    ('{"PhoneNumber":"6281234567890"}', '{"PhoneNumber":"*********7890"}'),
    ('{"phone_number":13812345678}', '{"phone_number":*******5678}'),
    ('{"PhoneNum": "85212345678"}', '{"PhoneNum": "*******5678"}'),
    # Numbers inside a JSON string, and JSON quoted inside a JSON string.
    ('{"error":"no answer for 13812345678"}', '{"error":"no answer for *******5678"}'),
    ('{"errors":["{\\"To\\":\\"85212345678\\"}"]}', '{"errors":["{\\"To\\":\\"*******5678\\"}"]}'),
]


@pytest.mark.parametrize(("text", "masked"), PHONE_NUMBERS)
def test_phone_numbers_keep_only_their_last_four_digits(text, masked):
    assert mask_phone_numbers(text) == masked


@pytest.mark.parametrize(("text", "_masked"), PHONE_NUMBERS)
def test_no_masked_text_still_holds_the_full_number(text, _masked):
    number = re.sub(r"[^0-9]", "", text)[-11:]
    assert number not in re.sub(r"[^0-9*]", "", mask_phone_numbers(text))


# Ids and numbers that are not phone numbers, left as they are.
NOT_PHONE_NUMBERS = [
    "Alicom-Queue-1234567890123456-SmsReport",  # the account id in an Alicom queue's name
    "Alicom-Queue-1384567890123456-SmsUp",  # even one that starts like a mobile number
    "900619746936498440^0",  # BizIds
    "13812345678^0",
    '{"biz_id":"336006646937050335^0"}',
    "1-64f6cd87-0123456789ab",  # FC request ids
    "1-65362416-68afb557d64a2e283eccebce",
    "C293BB03-B6AD-46C2-80D1-19C8FB573916",  # an API request id
    "0005f7d1-9f2b-3c4a-1381234567-8abc",
    '{"received_at":1764038405123}',  # timestamps in ms
    '{"event_time":1381234567890}',  # ... even one that starts like a mobile number
    "1764038405",  # in seconds
    "2026-11-25 10:00:05",
    "latency 12.5 ms",
    "count 1000",
    "status 200",
    '{"latency_ms":138.5,"stored":13812}',
    "2938123456789",  # 13 digits that are no mainland number with its 86
    "a13812345678b",  # inside a hex id
    '{"message_id":"12441353"}',  # ids in fields that are not phone fields
    '{"out_id":"67890123456"}',
]


@pytest.mark.parametrize("text", NOT_PHONE_NUMBERS)
def test_ids_and_other_numbers_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_log_event_writes_one_masked_json_line(caplog):
    with caplog.at_level(logging.INFO, logger="sms_receipts.test"):
        log_event(
            logging.getLogger("sms_receipts.test"),
            "push",
            phone="13812345678",
            items=3,
            queue="Alicom-Queue-1234567890123456-SmsReport",
            error="QuerySendDetails +8613812345678: throttled",
        )
    (record,) = caplog.records
    assert json.loads(record.getMessage()) == {
        "event": "push",
        "phone": "*******5678",
        "items": 3,
        "queue": "Alicom-Queue-1234567890123456-SmsReport",
        "error": "QuerySendDetails **********5678: throttled",
    }


def fixture_numbers() -> set[str]:
    """Every phone number the receipt fixtures (tests/events) hold, as they spell it."""
    numbers: set[str] = set()

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in {"phone_number", "PhoneNumber", "to", "To"} and re.fullmatch(r"[0-9*]{7,}", str(item)):
                    numbers.add(str(item))
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for path in (Path(__file__).resolve().parents[1] / "events").rglob("*.json"):
        try:
            collect(json.loads(path.read_text(encoding="utf-8-sig")))
        except ValueError:
            continue  # the fixtures of bad input
    return numbers


def test_every_number_in_the_receipt_fixtures_is_masked_in_a_log_line():
    """The receipts' own numbers: in a phone field always; in free text, every mainland number (with or
    without its 86) and every one written with its plus."""
    numbers = fixture_numbers()
    assert {"13800138000", "1381111****", "8613423512345", "85212345678"} <= numbers, numbers
    for number in sorted(numbers):
        digits = number.replace("*", "")
        in_field = json.loads(mask_phone_numbers(json.dumps({"event": "x", "phone_number": number})))
        assert in_field["phone_number"].endswith(number[-4:]) and digits not in in_field["phone_number"]
        for spelling in (number, "+" + number) if re.match(r"(86)?1[3-9]", number) else ("+" + number,):
            text = mask_phone_numbers(f"no answer for {spelling}")
            assert digits not in text.replace("*", ""), text
            assert text.endswith(number[-4:]), text
