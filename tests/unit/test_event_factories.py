"""Event factories: the events they build have the documented shapes and decode to the same receipts."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from sms_receipts.parsing import (
    MessageType,
    decode_alicom_message,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_topic_event,
    read_http_event,
)
from sms_receipts_dev.testing import events

from helpers import load_event, load_json

REPORT = load_json("alicom/sms_report.json")
EXPECTED_KEY = decode_http_body(load_event("http/sms_report_single.json")).items[0].idempotency_key


def test_receipt_json_is_compact_utf8_and_passes_text_through():
    assert events.receipt_json({"a": "用户", "b": [1, 2]}) == '{"a":"用户","b":[1,2]}'
    assert events.receipt_json("already text") == "already text"


def test_http_event_shape():
    event = json.loads(
        events.http_event(
            [REPORT],
            path="/SmsReport",
            headers={"X-Token": "t"},
            query={"k": "v"},
            source_ip="47.97.0.12",
            request_id="1-abc",
        )
    )
    assert event["version"] == "v1"
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/SmsReport"
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == [REPORT]
    assert event["headers"] == {"Content-Type": "application/json", "X-Token": "t"}
    assert event["queryParameters"] == {"k": "v"}
    context = event["requestContext"]
    assert context["requestId"] == "1-abc"
    assert context["http"]["method"] == "POST" and context["http"]["sourceIp"] == "47.97.0.12"
    assert context["timeEpoch"].isdigit()


def test_http_event_round_trips_through_the_decoder():
    request = read_http_event(events.http_event(load_event("http/sms_report_single.json"), path="/SmsReport"))
    assert request.body == load_event("http/sms_report_single.json")
    assert request.headers["content-type"] == "application/json"
    assert [i.idempotency_key for i in decode_http_event(events.http_event([REPORT], path="/SmsReport")).items] == [
        EXPECTED_KEY
    ]


def test_http_event_base64_for_binary_bodies_or_on_request():
    binary = load_event("bad/not_utf8.bin")
    event = json.loads(events.http_event(binary))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == binary
    forced = json.loads(events.http_event([REPORT], base64_body=True))
    assert forced["isBase64Encoded"] is True
    assert json.loads(base64.b64decode(forced["body"])) == [REPORT]
    assert decode_http_event(json.dumps(forced).encode(), MessageType.SMS_REPORT).items[0].idempotency_key == (
        EXPECTED_KEY
    )


@pytest.mark.parametrize("base64_body", [False, True])
def test_eventbridge_event_streaming_list(base64_body):
    raw = events.eventbridge_event(
        [REPORT, REPORT], queue_name="q-SmsReport", base64_body=base64_body, region="cn-shanghai"
    )
    cloud_events = json.loads(raw)
    assert isinstance(cloud_events, list) and len(cloud_events) == 2
    first = cloud_events[0]
    assert first["subject"] == "acs:mns:cn-shanghai:1234567890123456:queues/q-SmsReport"
    assert first["type"] == "mns:Queue:SendMessage" and first["specversion"] == "1.0"
    assert set(first["data"]) == {"requestId", "messageId", "messageBody"}
    body = first["data"]["messageBody"]
    assert (json.loads(base64.b64decode(body)) if base64_body else json.loads(body)) == REPORT
    result = decode_eventbridge_event(raw)
    assert [i.idempotency_key for i in result.items] == [EXPECTED_KEY] * 2
    assert [i.message_id for i in result.items] == [e["data"]["messageId"] for e in cloud_events]


def test_eventbridge_event_driven_mode_is_one_object():
    raw = events.eventbridge_event([REPORT], streaming=False, message_id="MID")
    assert isinstance(json.loads(raw), dict)
    (item,) = decode_eventbridge_event(raw, MessageType.SMS_REPORT).items
    assert (item.message_id, item.idempotency_key) == ("MID", EXPECTED_KEY)
    with pytest.raises(ValueError, match="exactly one message"):
        events.eventbridge_event([REPORT, REPORT], streaming=False)


def test_topic_event_json_format():
    raw = events.topic_event_json(REPORT, topic_name="t-SmsReport", attributes={"tag": "x"}, message_id="MID")
    event = json.loads(raw)
    text = events.receipt_json(REPORT)
    assert event["Message"] == text
    assert event["MessageMD5"] == hashlib.md5(text.encode()).hexdigest().upper()
    assert event["tag"] == "x"  # attributes are merged at the top level
    assert event["TopicName"] == "t-SmsReport" and isinstance(event["PublishTime"], int)
    (item,) = decode_topic_event(raw).items
    assert (item.message_id, item.idempotency_key) == ("MID", EXPECTED_KEY)


def test_topic_event_stream_format():
    plain = events.topic_event_stream(REPORT)
    assert plain == events.receipt_json(REPORT).encode()
    with_attrs = events.topic_event_stream(REPORT, attributes={"Extend": "{}"})
    assert json.loads(with_attrs) == {"body": events.receipt_json(REPORT), "attrs": {"Extend": "{}"}}
    for raw in (plain, with_attrs):
        assert [i.idempotency_key for i in decode_topic_event(raw).items] == [EXPECTED_KEY]


def test_alicom_message_body_is_base64_of_utf8_json():
    body = events.alicom_message_body(REPORT)
    assert json.loads(base64.b64decode(body).decode("utf-8")) == REPORT
    assert body == load_event("alicom/sms_report.txt")
    assert [i.idempotency_key for i in decode_alicom_message(body).items] == [EXPECTED_KEY]


def test_timer_event():
    event = json.loads(events.timer_event("pull", trigger_name="alicom-pull"))
    assert event["payload"] == "pull" and event["triggerName"] == "alicom-pull"
    assert event["triggerTime"].endswith("Z")
