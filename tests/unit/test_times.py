"""Receipt times: every documented spelling becomes an aware datetime."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sms_receipts.parsing import CHINA_TZ, SmsUp, parse_receipt_time
from sms_receipts.parsing.times import TIME_PATTERN, ReceiptTimeError, epoch_ms

EIGHT_HOURS = timedelta(hours=8)


def test_china_tz_is_a_fixed_plus_eight_named_asia_shanghai():
    assert CHINA_TZ.utcoffset(None) == EIGHT_HOURS
    assert CHINA_TZ.tzname(None) == "Asia/Shanghai"


def test_domestic_text_is_china_standard_time():
    parsed = parse_receipt_time("2017-01-01 00:00:00")
    assert parsed == datetime(2017, 1, 1, 0, 0, 0, tzinfo=CHINA_TZ)
    assert parsed.utcoffset() == EIGHT_HOURS
    assert parsed.isoformat() == "2017-01-01T00:00:00+08:00"
    assert parsed == datetime(2016, 12, 31, 16, 0, 0, tzinfo=timezone.utc)


def test_compact_smsup_time_is_the_same_instant_as_the_dashed_one():
    compact = parse_receipt_time("20170901000000")
    assert compact == parse_receipt_time("2017-09-01 00:00:00")
    assert compact.utcoffset() == EIGHT_HOURS
    assert compact.isoformat() == "2017-09-01T00:00:00+08:00"


def test_international_rfc1123_dates_keep_their_offset():
    parsed = parse_receipt_time("Thu, 25 Nov 2021 10:27:00 +0800")
    assert parsed == datetime(2021, 11, 25, 10, 27, 0, tzinfo=CHINA_TZ)
    assert parsed.utcoffset() == EIGHT_HOURS
    other_zone = parse_receipt_time("Thu, 25 Nov 2021 02:27:00 +0000")
    assert other_zone == parsed
    assert other_zone.utcoffset() == timedelta(0)
    assert parse_receipt_time("Thu, 25 Nov 2021 02:27:00 GMT") == parsed


def test_rfc1123_minus_zero_zone_is_utc_not_china_time():
    # RFC 5322 §3.3: "-0000" is a UTC time whose local zone is unknown.
    assert parse_receipt_time("Thu, 25 Nov 2021 02:27:00 -0000") == parse_receipt_time(
        "Thu, 25 Nov 2021 10:27:00 +0800"
    )


def test_rfc1123_date_without_zone_is_china_time():
    assert parse_receipt_time("Thu, 25 Nov 2021 10:27:00") == datetime(2021, 11, 25, 10, 27, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-01-01T00:00:00", datetime(2017, 1, 1, tzinfo=CHINA_TZ)),
        ("2016-12-31T16:00:00Z", datetime(2017, 1, 1, tzinfo=CHINA_TZ)),
        ("2017-01-01T00:00:00+08:00", datetime(2017, 1, 1, tzinfo=CHINA_TZ)),
        ("2017-01-01 00:00:00.250", datetime(2017, 1, 1, 0, 0, 0, 250000, tzinfo=CHINA_TZ)),
        ("  2017-01-01 00:00:00 ", datetime(2017, 1, 1, tzinfo=CHINA_TZ)),
    ],
)
def test_iso_and_padded_texts(text, expected):
    parsed = parse_receipt_time(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("value", [None, ""])
def test_missing_or_empty_time_is_none(value):
    assert parse_receipt_time(value) is None


def test_datetimes_pass_through_and_naive_ones_become_china_time():
    aware = datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert parse_receipt_time(aware) is aware
    naive = parse_receipt_time(datetime(2021, 1, 1, 8, 0))
    assert naive == aware
    assert naive.tzinfo is CHINA_TZ


@pytest.mark.parametrize(
    "text",
    [
        "2017-13-01 00:00:00",
        "2017-02-30 00:00:00",
        "2017/01/01 00:00:00",
        "yesterday",
        "20171301000000",
        "2017-01-01 25:00:00",
        "Thu, 32 Nov 2021 10:27:00 +0800",
        "12",
    ],
)
def test_unreadable_text_names_the_value_and_the_accepted_formats(text):
    with pytest.raises(ReceiptTimeError) as caught:
        parse_receipt_time(text)
    message = str(caught.value)
    assert repr(text.strip()) in message
    assert "yyyy-MM-dd HH:mm:ss" in message and "yyyyMMddHHmmss" in message


@pytest.mark.parametrize("value", [1630914595, 1630914595.0, True, ["2017-01-01 00:00:00"]])
def test_non_text_time_is_an_error(value):
    with pytest.raises(ReceiptTimeError, match="time must be a string"):
        parse_receipt_time(value)


def test_epoch_ms():
    assert epoch_ms(None) is None
    assert epoch_ms(parse_receipt_time("1970-01-01 08:00:00")) == 0
    assert epoch_ms(parse_receipt_time("2021-09-06 15:49:55")) == 1630914595000


# ---------------------------------------------------------------------------------------------
# TIME_PATTERN: the shapes the models accept, checked in pydantic-core
# ---------------------------------------------------------------------------------------------

TIME_TEXT = re.compile(TIME_PATTERN)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2017-01-01 00:00:00",
        "2017-01-01T00:00:00",
        "20170901000000",
        "2016-12-31T16:00:00Z",
        "2017-01-01T00:00:00+08:00",
        "2017-01-01 00:00:00.250",
        "2017-01-01 00:00:00.250000-05:30",
        "Thu, 25 Nov 2021 10:27:00 +0800",
        "Thu, 5 Nov 2021 02:27:00 -0000",
        "Thu, 25 Nov 2021 02:27:00 GMT",
        "Thu, 25 Nov 2021 10:27:00",
    ],
)
def test_the_pattern_admits_every_documented_spelling_and_each_reads(text):
    assert TIME_TEXT.match(text)
    assert SmsUp.model_validate({"phone_number": "1", "content": "x", "sequence_id": 1, "send_time": text})
    parsed = parse_receipt_time(text)
    assert parsed is None if text == "" else parsed.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(text=st.from_regex(TIME_PATTERN, fullmatch=True))
def test_a_text_the_pattern_admits_reads_as_an_aware_time_or_fails_as_a_receipt_time(text):
    try:
        parsed = parse_receipt_time(text)
    except ReceiptTimeError:
        return  # the right shape for a day that does not exist
    assert parsed is None if text == "" else parsed.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789-: T+ZGMTh,uNov.", max_size=32) | st.text(max_size=32))
def test_pydantic_core_checks_exactly_the_pattern(text):
    # pydantic-core runs the pattern with Rust's regex engine; it must agree with the pattern as written.
    item = {"phone_number": "1", "content": "x", "sequence_id": 1, "send_time": text}
    try:
        SmsUp.model_validate(item)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == bool(TIME_TEXT.fullmatch(text))
