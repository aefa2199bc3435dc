"""The send log's pure parts: what a SendSms / SendBatchSms call sent, and send files."""

from __future__ import annotations

import json

import pytest
from alibabacloud_dysmsapi20170525 import models as sms

from sms_receipts.storage.sends import Send, SendError, read_sends_file, send_row, sends_from_sdk

SENT_AT = 1_796_054_400.0  # 2026-12-01 00:00:00 China time


def ok(biz_id="900619746936498440^0"):
    return sms.SendSmsResponse(body=sms.SendSmsResponseBody(code="OK", biz_id=biz_id, message="OK", request_id="r"))


def test_a_send_sms_call_is_one_send_per_number_under_its_biz_id():
    request = sms.SendSmsRequest(
        phone_numbers="13800000001, 13800000002", sign_name="阿里云", template_code="SMS_1", out_id="o-1"
    )
    sends = sends_from_sdk(request, ok(), sent_at=SENT_AT)
    assert [s.phone_number for s in sends] == ["13800000001", "13800000002"]
    assert {(s.biz_id, s.out_id, s.template_code, s.sign_name, s.source) for s in sends} == {
        ("900619746936498440^0", "o-1", "SMS_1", "阿里云", "sdk")
    }
    assert sends[0].send_day == "20261201" and sends[0].send_time == SENT_AT * 1000


def test_a_batch_call_takes_each_numbers_signature():
    request = sms.SendBatchSmsRequest(
        phone_number_json=json.dumps(["13800000001", "13800000002"]),
        sign_name_json=json.dumps(["甲", "乙"]),
        template_code="SMS_2",
    )
    assert [s.sign_name for s in sends_from_sdk(request, ok(), sent_at=SENT_AT)] == ["甲", "乙"]


@pytest.mark.parametrize(
    ("request_fields", "body", "message"),
    [
        ({"PhoneNumbers": "138"}, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "BizId": ""}, "not accepted"),
        ({"SignName": "x"}, {"Code": "OK", "BizId": "1^0"}, "names no numbers"),
        ({"PhoneNumberJson": "[1, 2]"}, {"Code": "OK", "BizId": "1^0"}, "JSON array of strings"),
        ({"PhoneNumberJson": '["1","2"]', "SignNameJson": '["a"]'}, {"Code": "OK", "BizId": "1^0"}, "one signature"),
        ({"PhoneNumbers": ",".join(["138"] * 1001)}, {"Code": "OK", "BizId": "1^0"}, "1 to 1000 numbers"),
    ],
)
def test_what_cannot_be_recorded_says_why(request_fields, body, message):
    with pytest.raises(SendError, match=message):
        sends_from_sdk(request_fields, body)


def test_the_day_shard_spreads_a_days_sends_and_the_row_is_insert_once():
    sends = [Send(f"{i}^0", "13800000001", int(SENT_AT * 1000)) for i in range(200)]
    shards = {s.day_shard for s in sends}
    assert len(shards) == 16 and all(shard.endswith("-20261201") for shard in shards)
    row = send_row(sends[0], recorded_at=1)
    assert [name for name, _ in row.primary_key] == ["day_shard", "biz_id", "phone_number"]
    assert type(row.condition).__name__ == "InsertOnce"


def test_a_json_lines_file_and_a_csv_file_give_the_same_sends():
    lines = (
        b'{"biz_id": "1^0", "phone_numbers": ["13800000001", "13800000002"], "send_time": "2026-12-01 08:00:00"}\n'
        b'{"biz_id": "2^0", "phone_number": "13800000003", "send_time": 1796083200, "out_id": "o"}\n'
    )
    table = (
        b"biz_id,phone_numbers,send_time,out_id\n"
        b"1^0,13800000001;13800000002,2026-12-01 08:00:00,\n"
        b"2^0,13800000003,1796083200,o\n"
    )
    from_lines, errors_lines = read_sends_file(lines)
    from_table, errors_table = read_sends_file(table)
    assert errors_lines == errors_table == []
    assert from_lines == from_table and len(from_lines) == 3
    assert from_lines[0].send_time == from_lines[2].send_time == 1_796_083_200_000


def test_bad_lines_are_named_and_the_good_ones_kept():
    data = (
        b'{"biz_id": "1^0", "phone_number": "13800000001", "send_time": 1796083200}\n'
        b"not json\n"
        b'{"biz_id": "", "phone_number": "1", "send_time": 1}\n'
        b'{"biz_id": "3^0", "phone_number": "1", "send_time": "yesterday"}\n'
    )
    sends, errors = read_sends_file(data)
    assert len(sends) == 1
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3", "line 4"]
    assert "biz_id is empty" in errors[1] and "send_time 'yesterday'" in errors[2]
    assert read_sends_file(b"\xff\xfe")[1] == ["the file is not UTF-8 text (bad byte at offset 0)"]
    assert "not JSON lines" in read_sends_file(b"a,b\n1,2\n")[1][0]
