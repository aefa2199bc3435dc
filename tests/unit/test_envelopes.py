"""Envelope decoders: bytes in, parsed and rejected items out, for every delivery path."""

from __future__ import annotations

import base64
import gc
import json
import re

import pytest

from sms_receipts.parsing import (
    DECODERS,
    BodyError,
    EventError,
    MessageType,
    ParsedItem,
    Source,
    decode_alicom_message,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_items,
    decode_topic_event,
    read_http_event,
    read_message_body,
)
from sms_receipts.parsing import envelopes as envelopes_module
from sms_receipts.parsing.identity import identify
from sms_receipts.parsing.items import Delivery
from sms_receipts_dev.testing import events

from helpers import event_names, load_event, load_json

T = MessageType
# tests/events/alicom/<name>.json (one decoded message) and <name>.txt (its base64 body), by type.
ALICOM_TYPES = {
    "sms_report": T.SMS_REPORT,
    "sms_up": T.SMS_UP,
    "sign_sms_report": T.SIGN_SMS_REPORT,
    "template_sms_report": T.TEMPLATE_SMS_REPORT,
    "mns_card_vender": T.MNS_CARD_VENDER,
    "mns_card_template": T.MNS_CARD_TEMPLATE,
    "globe_sms_report": T.GLOBE_SMS_REPORT,
    "intl_sms_report": T.INTL_SMS_REPORT,
}
ALICOM_NAMES = list(ALICOM_TYPES)
# The queue each Alicom body comes from (the international SmsReport shares the name `SmsReport`).
ALICOM_QUEUES = {
    name: "Alicom-Queue-1234567890123456-" + ("SmsReport" if t is T.INTL_SMS_REPORT else t.value)
    for name, t in ALICOM_TYPES.items()
}


def keys(result) -> list[str]:
    return [item.idempotency_key for item in result.items]


def http_key(fixture: str, position: int = 0) -> str:
    result = decode_http_body(load_event(fixture))
    assert not result.rejected
    return result.items[position].idempotency_key


def only_rejection(result):
    assert result.items == []
    assert len(result.rejected) == 1
    return result.rejected[0]


# ---------------------------------------------------------------------------------------------
# HTTP push bodies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", event_names("http", ".json"))
def test_every_http_fixture_parses_completely_by_its_fields(name):
    body = load_event(name)
    result = decode_http_body(body)
    expected = json.loads(body.decode("utf-8-sig"))
    assert result.rejected == []
    assert [item.raw for item in result.items] == expected
    assert [item.position for item in result.items] == list(range(len(expected)))
    for item in result.items:
        assert item.source is Source.HTTP
        assert item.message_id is None
        assert item.batch == expected
        assert item.raw_json == json.dumps(expected[item.position], ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    ("name", "path", "message_type"),
    [
        ("http/sms_report_batch_shared_biz_id.json", "/SmsReport", T.SMS_REPORT),
        ("http/sms_report_batch_shared_biz_id.json", "/smsreport", T.SMS_REPORT),
        ("http/sms_report_batch_shared_biz_id.json", "/sms-report", T.SMS_REPORT),
        ("http/sms_up_batch.json", "/receipts/SMSUP", T.SMS_UP),
        ("http/sign_sms_report_rejected.json", "/sign-sms-report/", T.SIGN_SMS_REPORT),
        ("http/template_sms_report_rejected.json", "/TemplateSmsReport", T.TEMPLATE_SMS_REPORT),
        ("http/mns_card_vender_render_status_number.json", "/MnsCardVender", T.MNS_CARD_VENDER),
        ("http/mns_card_template_mixed_states.json", "/MnsCardTemplate", T.MNS_CARD_TEMPLATE),
        # the international site reuses the path name SmsReport; the shape picks the schema
        ("http/intl_sms_report_batch.json", "/SmsReport", T.INTL_SMS_REPORT),
    ],
)
def test_http_type_from_the_request_path(name, path, message_type):
    result = decode_http_body(load_event(name), path=path)
    assert result.rejected == []
    assert {item.message_type for item in result.items} == {message_type}
    assert len(result.items) == len(load_json(name))


def test_http_batch_of_one_sms_report():
    result = decode_http_body(load_event("http/sms_report_single.json"), path="/SmsReport")
    (item,) = result.items
    assert item.entity_key == "SmsReport:900619746936498440^0|13800138000"
    assert item.record.err_msg == "用户接收成功"
    assert item.to_json_dict()["type"] == "SmsReport"
    assert item.to_json_dict()["record"]["send_time"] == "2021-09-06T15:49:55+08:00"
    assert result.all_parsed


def test_http_batch_sharing_one_biz_id():
    result = decode_http_body(load_event("http/sms_report_batch_shared_biz_id.json"), "SmsReport")
    assert [i.record.phone_number for i in result.items] == ["13800138001", "13800138002", "13800138003"]
    assert [i.record.delivery_status for i in result.items] == ["delivered", "delivered", "failed"]
    assert len(set(keys(result))) == 3
    assert len({i.entity_key for i in result.items}) == 3


def test_http_explicit_type_wins_over_the_path():
    body = load_event("http/sms_up_sequence_id_string.json")
    result = decode_http_body(body, T.SMS_UP, path="/SmsReport")
    assert [i.message_type for i in result.items] == [T.SMS_UP]
    assert decode_http_body(body, "sms-up").items[0].message_type is T.SMS_UP


def test_every_type_in_one_push_is_told_by_its_fields():
    result = decode_http_body(load_event("http/detect_every_type.json"), path="/")
    assert result.rejected == []
    assert [i.message_type for i in result.items] == [
        T.SMS_REPORT,
        T.SMS_UP,
        T.SIGN_SMS_REPORT,
        T.TEMPLATE_SMS_REPORT,
        T.MNS_CARD_VENDER,
        T.MNS_CARD_TEMPLATE,
        T.GLOBE_SMS_REPORT,
        T.INTL_SMS_REPORT,
    ]


def test_http_single_object_body_is_accepted():
    body = json.dumps(load_json("http/sms_report_single.json")[0], ensure_ascii=False).encode()
    result = decode_http_body(body)
    assert keys(result) == [http_key("http/sms_report_single.json")]
    assert result.items[0].position == 0


def test_http_empty_array_gives_nothing():
    result = decode_http_body(b"[]", path="/SmsReport")
    assert (result.items, result.rejected, result.all_parsed) == ([], [], True)


def test_http_utf8_bom_is_tolerated():
    assert keys(decode_http_body(load_event("http/sms_report_utf8_bom.json"))) == [
        http_key("http/sms_report_single.json")
    ]


def test_http_body_of_the_wrong_type_names_the_missing_fields():
    result = decode_http_body(load_event("http/sms_up_batch.json"), path="/SmsReport")
    assert result.items == []
    assert [r.position for r in result.rejected] == [0, 1, 2]
    for rejected in result.rejected:
        assert rejected.message_type is T.SMS_REPORT
        assert "biz_id: Field required" in rejected.reason
        assert "success: Field required" in rejected.reason


def test_http_mixed_batch_keeps_the_valid_items_and_explains_each_invalid_one():
    body = load_event("bad/mixed_valid_invalid.json")
    pushed = json.loads(body)
    result = decode_http_body(body, path="/SmsReport")
    assert [i.position for i in result.items] == [0, 9]
    assert [i.record.phone_number for i in result.items] == ["13800138000", "13800138014"]
    by_position = {r.position: r for r in result.rejected}
    assert sorted(by_position) == [1, 2, 3, 4, 5, 6, 7, 8]
    reasons = {p: r.reason for p, r in by_position.items()}
    assert reasons[1] == "SmsReport item 1: biz_id: Field required"
    assert reasons[2].startswith("SmsReport item 2: success: ")
    assert "report_time" in reasons[3] and "'2021/09/06 15:49'" in reasons[3]
    assert reasons[4] == "item 4 is a JSON int, not a receipt object"
    assert reasons[5] == "item 5 is a JSON str, not a receipt object"
    assert reasons[6] == "item 6 is a JSON list, not a receipt object"
    assert reasons[7].startswith("SmsReport item 7: sms_size: ")
    # phone_number is optional (the older official table, developer.aliyun.com/ask/217930): not named
    assert "biz_id" in reasons[8] and "success" in reasons[8] and "phone_number" not in reasons[8]
    for position, rejected in by_position.items():
        assert json.loads(rejected.raw) == pushed[position]  # the item's JSON, nothing lost
        assert rejected.raw == json.dumps(pushed[position], ensure_ascii=False, separators=(",", ":")).encode()
        assert rejected.source is Source.HTTP
    assert by_position[1].message_type is T.SMS_REPORT
    assert by_position[4].message_type is T.SMS_REPORT
    assert not result.all_parsed


def test_http_mixed_batch_without_a_type_says_the_type_cannot_be_told():
    result = decode_http_body(load_event("bad/mixed_valid_invalid.json"))
    assert [i.position for i in result.items] == [0, 9]
    unknown = next(r for r in result.rejected if r.position == 8)
    assert unknown.message_type is None
    assert "cannot tell the message type" in unknown.reason and "/SmsReport" in unknown.reason
    assert json.loads(unknown.raw) == {"foo": "bar", "备注": "未知类型"}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad/not_json.txt", "body is not JSON ("),
        ("bad/truncated.json", "body is not JSON ("),
        ("bad/card_vender_trailing_comma.json", "body is not JSON ("),
        ("bad/intl_missing_comma.json", "body is not JSON ("),
        ("bad/nan_literal.json", "body is not JSON ("),
        ("bad/empty.json", "body is empty"),
        ("bad/scalar_number.json", "body is a JSON int, not a JSON array of receipts"),
        ("bad/scalar_string.json", "body is a JSON str, not a JSON array of receipts"),
        ("bad/scalar_null.json", "body is a JSON NoneType, not a JSON array of receipts"),
    ],
)
def test_http_whole_body_rejections_keep_the_exact_bytes(name, reason):
    body = load_event(name)
    rejected = only_rejection(decode_http_body(body, path="/SmsReport"))
    assert rejected.reason.startswith(reason)
    assert rejected.raw == body
    assert rejected.position is None
    assert rejected.source is Source.HTTP
    assert rejected.message_type is T.SMS_REPORT


def test_http_body_that_is_not_utf8_names_the_offset_and_keeps_the_bytes():
    body = load_event("bad/not_utf8.bin")
    rejected = only_rejection(decode_http_body(body))
    with pytest.raises(UnicodeDecodeError) as strict:
        body.decode("utf-8")
    offset = strict.value.start
    assert body[:offset].decode("utf-8").endswith('"err_msg": "')  # the first GBK-encoded character
    assert rejected.reason == f"body is not UTF-8 text (bad byte at offset {offset})"
    assert rejected.raw == body
    assert rejected.to_json_dict() == {"error": rejected.reason, "raw_base64": base64.b64encode(body).decode()}


def test_http_body_given_as_text_keeps_bytes_when_rejected():
    rejected = only_rejection(decode_http_body("不是 JSON"))
    assert rejected.raw == "不是 JSON".encode()
    assert rejected.to_json_dict() == {"error": rejected.reason, "raw": "不是 JSON"}


def test_rejected_item_json_dict_keeps_utf8_text():
    result = decode_http_body(load_event("bad/mixed_valid_invalid.json"))
    rejected = next(r for r in result.rejected if r.position == 8)
    assert rejected.to_json_dict() == {"error": rejected.reason, "raw": '{"foo":"bar","备注":"未知类型"}'}


def test_an_unknown_configured_type_is_reported_not_raised():
    rejected = only_rejection(decode_http_body(load_event("http/sms_report_single.json"), "VoiceReport"))
    assert "unknown message type 'VoiceReport'" in rejected.reason
    assert rejected.raw == load_event("http/sms_report_single.json")


def test_an_unforeseen_error_becomes_a_rejection(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(envelopes_module, "decode_items", broken)
    body = load_event("http/sms_report_single.json")
    rejected = only_rejection(decode_http_body(body))
    assert rejected.reason == "could not decode (RuntimeError: boom)"
    assert rejected.raw == body
    assert rejected.source is Source.HTTP
    event = load_event("eventbridge/sms_report_streaming_raw.json")
    rejected = only_rejection(decode_eventbridge_event(event))
    assert (rejected.raw, rejected.source) == (event, Source.EVENTBRIDGE)


# A time of the right shape for a day that does not exist: pydantic-core's pattern lets it through, and
# reading it for the identity rejects it, naming the field.
IMPOSSIBLE_TIMES = [
    ("report_time", "2021-02-30 10:00:00"),
    ("send_time", "2021-13-06 15:49:55"),
    ("send_time", "20211301000000"),
    ("report_time", "2021-09-06 24:00:00"),
]


def impossible_time_reason(position: int, field: str, text: str) -> str:
    return (
        f"SmsReport item {position}: {field}: unreadable time {text!r}: "
        "expected 'yyyy-MM-dd HH:mm:ss', 'yyyyMMddHHmmss' or 'Thu, 25 Nov 2021 10:27:00 +0800'"
    )


@pytest.mark.parametrize(("field", "text"), IMPOSSIBLE_TIMES)
@pytest.mark.parametrize("declared", [T.SMS_REPORT, None])
def test_http_time_of_a_day_that_does_not_exist_is_rejected_naming_the_field(field, text, declared, monkeypatch):
    parse_one_by_one, handed_over = envelopes_module._parse_one_by_one, []

    def spy(*args):
        handed_over.append(args)
        return parse_one_by_one(*args)

    monkeypatch.setattr(envelopes_module, "_parse_one_by_one", spy)
    pushed = load_json("http/sms_report_batch_shared_biz_id.json")
    pushed[1] = {**pushed[1], field: text}
    result = decode_http_body(json.dumps(pushed, ensure_ascii=False).encode(), declared)
    # With a declared type the whole-array fast path runs first, then hands the push over; without, the
    # push goes one by one from the start.
    assert len(handed_over) == 1
    assert [i.position for i in result.items] == [0, 2]
    assert keys(result) == [
        keys(decode_http_body(load_event("http/sms_report_batch_shared_biz_id.json")))[p] for p in (0, 2)
    ]
    (rejected,) = result.rejected
    assert rejected.reason == impossible_time_reason(1, field, text)
    assert (rejected.position, rejected.message_type, rejected.source) == (1, T.SMS_REPORT, Source.HTTP)
    assert json.loads(rejected.raw) == pushed[1]


def test_http_international_time_of_a_day_that_does_not_exist_names_the_wire_field():
    pushed = load_json("http/intl_sms_report_batch.json")
    pushed[2] = {**pushed[2], "ReceiveDate": "Wed, 31 Nov 2021 10:27:00 +0800"}
    result = decode_http_body(json.dumps(pushed).encode(), path="/SmsReport")
    assert [i.position for i in result.items] == [0, 1]
    (rejected,) = result.rejected
    assert rejected.reason.startswith("IntlSmsReport item 2: ReceiveDate: unreadable time 'Wed, 31 Nov 2021 10:27:00")


@pytest.mark.parametrize(("field", "text"), IMPOSSIBLE_TIMES)
def test_mns_time_of_a_day_that_does_not_exist_is_rejected_naming_the_field(field, text):
    message = json.dumps({**load_json("alicom/sms_report.json"), field: text}, ensure_ascii=False)
    body = base64.b64encode(message.encode())
    rejected = only_rejection(decode_alicom_message(body, queue_name=ALICOM_QUEUES["sms_report"], message_id="M3"))
    assert rejected.reason == impossible_time_reason(0, field, text)
    assert (rejected.raw, rejected.message_id, rejected.source) == (body, "M3", Source.ALICOM)
    event = events.eventbridge_event([message], queue_name=ALICOM_QUEUES["sms_report"])
    rejected = only_rejection(decode_eventbridge_event(event))
    assert rejected.reason == impossible_time_reason(0, field, text)
    assert rejected.raw == message.encode()


def test_http_time_of_another_shape_names_the_field_and_the_text():
    item = {**load_json("http/sms_report_single.json")[0], "send_time": 1630914595}
    for declared in (T.SMS_REPORT, None):
        rejected = only_rejection(decode_http_body(json.dumps([item]).encode(), declared))
        assert rejected.reason == (
            "SmsReport item 0: send_time: unreadable time 1630914595: "
            "expected 'yyyy-MM-dd HH:mm:ss', 'yyyyMMddHHmmss' or 'Thu, 25 Nov 2021 10:27:00 +0800'"
        )


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("name", ["http/sms_report_batch_shared_biz_id.json", "bad/mixed_valid_invalid.json"])
def test_decoding_leaves_the_garbage_collector_as_it_was(name, enabled):
    # A pure decoder leaves the process's collector alone.
    was_enabled = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        decode_http_body(load_event(name), T.SMS_REPORT)
        pushed = load_json("http/sms_report_single.json")
        decode_http_body(json.dumps([{**pushed[0], "send_time": "2021-02-30 10:00:00"}]).encode(), T.SMS_REPORT)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was_enabled else gc.disable()


# ---------------------------------------------------------------------------------------------
# FC 3.0 HTTP trigger events
# ---------------------------------------------------------------------------------------------


def test_read_http_event_reads_the_request():
    request = read_http_event(load_event("fc_http/sms_report.json"))
    assert request.method == "POST"
    assert request.path == "/SmsReport"
    assert request.headers["content-type"] == "application/json;charset=utf-8"
    assert request.headers["user-agent"] == "Alibaba-Dysms-Push"
    assert request.query == {"token": "s3cr3t-callback-token"}
    assert request.source_ip == "47.97.0.12"
    assert request.request_id == "1-6135c7a1-8e0f1e2d3c4b5a697880001"
    assert json.loads(request.body) == load_json("http/sms_report_batch_shared_biz_id.json")


def test_read_http_event_decodes_a_base64_body():
    plain = read_http_event(load_event("fc_http/sms_report.json"))
    encoded = read_http_event(load_event("fc_http/sms_report_base64.json"))
    assert encoded.path == "/sms-report"
    assert json.loads(encoded.body) == json.loads(plain.body)


def test_read_http_event_accepts_a_decoded_dict_and_falls_back_to_raw_path():
    request = read_http_event({"rawPath": "/SmsUp", "body": "[]"})
    assert (request.path, request.body, request.method, request.headers) == ("/SmsUp", b"[]", "", {})


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (b"not json", "the HTTP trigger event is not JSON"),
        (b"[1, 2]", "the HTTP trigger event is not a JSON object"),
        (b'{"body": {"a": 1}}', "the event's body is a JSON dict, not a string"),
        (b'{"body": "%%%", "isBase64Encoded": true}', "isBase64Encoded is true but the body is not base64"),
        (b'{"body": "[]", "headers": "Content-Type: json"}', "the event's headers is a JSON str, not an object"),
        (b'{"body": "[]", "requestContext": "ctx"}', "the event's requestContext is a JSON str, not an object"),
        (
            b'{"body": "[]", "requestContext": {"http": ["POST"]}}',
            "the event's requestContext.http is a JSON list, not an object",
        ),
        (b'{"body": "[]", "queryParameters": [["a"]]}', "the event's queryParameters is a JSON list, not an object"),
    ],
)
def test_read_http_event_rejects_events_of_the_wrong_shape(event, message):
    with pytest.raises(EventError, match="^" + re.escape(message)):
        read_http_event(event)


@pytest.mark.parametrize(
    ("name", "message_type", "count"),
    [
        ("fc_http/sms_report.json", T.SMS_REPORT, 3),
        ("fc_http/sms_report_base64.json", T.SMS_REPORT, 3),
        ("fc_http/sms_up_kebab_path.json", T.SMS_UP, 1),
        ("fc_http/sign_sms_report_lowercase_path.json", T.SIGN_SMS_REPORT, 1),
        ("fc_http/template_sms_report_untyped_path.json", T.TEMPLATE_SMS_REPORT, 1),
        ("fc_http/sms_report_single_object_body.json", T.SMS_REPORT, 1),
        ("fc_http/intl_sms_report.json", T.INTL_SMS_REPORT, 1),
    ],
)
def test_decode_http_event(name, message_type, count):
    result = decode_http_event(load_event(name))
    assert result.rejected == []
    assert [i.message_type for i in result.items] == [message_type] * count
    assert all(i.source is Source.HTTP for i in result.items)


def test_http_event_base64_body_gives_the_same_items_as_the_plain_one_and_the_raw_push():
    plain = decode_http_event(load_event("fc_http/sms_report.json"))
    encoded = decode_http_event(load_event("fc_http/sms_report_base64.json"))
    raw = decode_http_body(load_event("http/sms_report_batch_shared_biz_id.json"))
    assert keys(plain) == keys(encoded) == keys(raw)
    assert [i.entity_key for i in plain.items] == [i.entity_key for i in raw.items]
    assert [i.raw for i in encoded.items] == load_json("http/sms_report_batch_shared_biz_id.json")


def test_http_event_explicit_type_wins_over_the_path():
    result = decode_http_event(load_event("fc_http/sms_up_kebab_path.json"), T.SMS_REPORT)
    assert result.items == [] and result.rejected[0].message_type is T.SMS_REPORT


def test_http_event_with_a_body_that_is_not_base64_keeps_the_event():
    event = load_event("fc_http/invalid_base64_body.json")
    rejected = only_rejection(decode_http_event(event))
    assert rejected.reason.startswith("isBase64Encoded is true but the body is not base64")
    assert rejected.raw == event


def test_http_event_with_an_empty_body_keeps_the_event_not_empty_bytes():
    event = load_event("fc_http/empty_body.json")
    rejected = only_rejection(decode_http_event(event))
    assert rejected.reason == "body is empty"
    assert rejected.raw == event
    assert rejected.message_type is T.SMS_REPORT


@pytest.mark.parametrize("event", [b"not json", "not json", bytearray(b"[1]"), b"\xff\xfe"])
def test_http_event_that_is_not_an_event_keeps_its_bytes(event):
    rejected = only_rejection(decode_http_event(event))
    expected = event.encode() if isinstance(event, str) else bytes(event)
    assert rejected.raw == expected
    assert rejected.reason.startswith("the HTTP trigger event is not")


def test_http_event_carrying_a_bad_batch_rejects_per_item():
    from sms_receipts_dev.testing.events import http_event

    event = http_event(load_event("bad/mixed_valid_invalid.json"), path="/SmsReport")
    result = decode_http_event(event)
    assert [i.position for i in result.items] == [0, 9]
    assert sorted(r.position for r in result.rejected) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_http_event_carrying_non_utf8_bytes_rejects_the_body_exactly():
    from sms_receipts_dev.testing.events import http_event

    body = load_event("bad/not_utf8.bin")
    rejected = only_rejection(decode_http_event(http_event(body, path="/SmsReport")))
    assert rejected.reason.startswith("body is not UTF-8 text")
    assert rejected.raw == body


# ---------------------------------------------------------------------------------------------
# Message bodies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALICOM_NAMES)
def test_read_message_body_reads_json_base64_bytes_and_text(name):
    expected = load_json(f"alicom/{name}.json")
    encoded = load_event(f"alicom/{name}.txt")
    assert base64.b64decode(encoded) == load_event(f"alicom/{name}.json").rstrip(b"\n")
    assert read_message_body(encoded) == expected
    assert read_message_body(encoded.decode()) == expected
    assert read_message_body(load_event(f"alicom/{name}.json")) == expected
    assert read_message_body(expected) is expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "message body is empty"),
        (b"   \n", "message body is empty"),
        (b"hello topic", "message body is neither JSON nor base64 of JSON"),
        # the doc's sample body "TEST" happens to be valid base64 (of 3 bytes that are not UTF-8)
        (b"TEST", "base64-decoded message body is not UTF-8 text (bad byte at offset 2)"),
        (b"\xff\xfe", "message body is not UTF-8 text (bad byte at offset 0)"),
        (base64.b64encode("用户".encode("gbk")), "base64-decoded message body is not UTF-8 text"),
        (base64.b64encode(b"hello"), "base64-decoded message body is not JSON"),
        (b'{"a": ', "message body is not JSON"),
        (42, "message body is a JSON int, not text"),
    ],
)
def test_read_message_body_errors(body, message):
    with pytest.raises(BodyError, match="^" + re.escape(message)):
        read_message_body(body)


# ---------------------------------------------------------------------------------------------
# Alicom queue messages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALICOM_NAMES)
def test_alicom_message_typed_by_queue_name(name):
    result = decode_alicom_message(
        load_event(f"alicom/{name}.txt"), queue_name=ALICOM_QUEUES[name], message_id="C6DB60D1574661357FA2272774400001"
    )
    assert result.rejected == []
    (item,) = result.items
    assert item.message_type is ALICOM_TYPES[name]
    assert item.source is Source.ALICOM
    assert item.message_id == "C6DB60D1574661357FA2272774400001"
    assert item.raw == load_json(f"alicom/{name}.json")


@pytest.mark.parametrize("name", ALICOM_NAMES)
def test_alicom_base64_text_sdk_decoded_bytes_and_detection_agree(name):
    as_base64 = decode_alicom_message(load_event(f"alicom/{name}.txt"), queue_name=ALICOM_QUEUES[name])
    as_bytes = decode_alicom_message(load_event(f"alicom/{name}.json"), ALICOM_TYPES[name])
    as_text = decode_alicom_message(load_event(f"alicom/{name}.txt").decode("ascii"))
    assert keys(as_base64) == keys(as_bytes) == keys(as_text)
    assert len(keys(as_base64)) == 1


@pytest.mark.parametrize(
    ("http", "name"),
    [
        ("http/sms_report_single.json", "sms_report"),
        ("http/sms_up_sequence_id_string.json", "sms_up"),
        ("http/sign_sms_report_approved.json", "sign_sms_report"),
        ("http/template_sms_report_approved.json", "template_sms_report"),
        ("http/mns_card_vender_render_status_string.json", "mns_card_vender"),
        ("http/mns_card_template_mixed_states.json", "mns_card_template"),
        ("http/intl_sms_report_batch.json", "intl_sms_report"),
    ],
)
def test_alicom_message_and_http_push_of_one_receipt_share_keys(http, name):
    over_http = decode_http_body(load_event(http)).items[0]
    over_mns = decode_alicom_message(load_event(f"alicom/{name}.txt"), queue_name=ALICOM_QUEUES[name]).items[0]
    assert over_http.idempotency_key == over_mns.idempotency_key
    assert over_http.entity_key == over_mns.entity_key


def test_alicom_chinese_text_survives_base64():
    result = decode_alicom_message(load_event("alicom/globe_sms_report.txt"), "GlobeSmsReport")
    assert result.items[0].record.error_description == "运营商未知错误"
    result = decode_alicom_message(load_event("alicom/sms_up.txt"), queue_name=ALICOM_QUEUES["sms_up"])
    assert result.items[0].record.content == "退订 谢谢"
    assert result.items[0].record.sequence_id == "1234567890"


def test_alicom_doc_queue_name_spelling_for_globe():
    body = load_event("alicom/globe_sms_report.txt")
    result = decode_alicom_message(body, queue_name="Alicom-Queue-******GlobeSmsReport")
    assert [i.message_type for i in result.items] == [T.GLOBE_SMS_REPORT]


def test_alicom_invalid_receipt_keeps_the_message_exactly_as_it_came():
    body = base64.b64encode(json.dumps({"biz_id": "1234^345", "err_msg": "关机"}, ensure_ascii=False).encode())
    rejected = only_rejection(decode_alicom_message(body, queue_name=ALICOM_QUEUES["sms_report"], message_id="M1"))
    assert rejected.raw == body
    assert "success: Field required" in rejected.reason and "phone_number" not in rejected.reason  # optional
    assert (rejected.message_type, rejected.message_id, rejected.position) == (T.SMS_REPORT, "M1", 0)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not base64!", "message body is neither JSON nor base64 of JSON"),
        (base64.b64encode(b"42"), "message body is a JSON int, not a receipt object"),
        (base64.b64encode('{"content": "用户"}'.encode("gbk")), "base64-decoded message body is not UTF-8 text"),
        (b"", "message body is empty"),
    ],
)
def test_alicom_whole_message_rejections_keep_the_exact_bytes(body, reason):
    rejected = only_rejection(decode_alicom_message(body, message_id="M2"))
    assert rejected.reason.startswith(reason)
    assert rejected.raw == body
    assert rejected.message_id == "M2"
    assert rejected.source is Source.ALICOM


def test_alicom_type_from_configuration_wins_over_fields():
    result = decode_alicom_message(load_event("alicom/sms_up.txt"), T.SMS_REPORT)
    rejected = only_rejection(result)
    assert rejected.message_type is T.SMS_REPORT and "biz_id" in rejected.reason


# ---------------------------------------------------------------------------------------------
# EventBridge (FC MNS queue trigger)
# ---------------------------------------------------------------------------------------------


def test_eventbridge_streaming_raw_bodies():
    result = decode_eventbridge_event(load_event("eventbridge/sms_report_streaming_raw.json"))
    assert result.rejected == []
    assert [i.message_type for i in result.items] == [T.SMS_REPORT, T.SMS_REPORT]
    assert [i.message_id for i in result.items] == [
        "C6DB60D1574661357FA2272774400001",
        "C6DB60D1574661357FA2272774400002",
    ]
    assert [i.source for i in result.items] == [Source.EVENTBRIDGE] * 2
    assert [i.record.delivery_status for i in result.items] == ["delivered", "failed"]
    assert result.items[0].idempotency_key == http_key("http/sms_report_single.json")


def test_eventbridge_base64_bodies_give_the_same_items_as_raw_ones():
    raw = decode_eventbridge_event(load_event("eventbridge/sms_report_streaming_raw.json"))
    encoded = decode_eventbridge_event(load_event("eventbridge/sms_report_streaming_base64.json"))
    assert keys(raw) == keys(encoded)
    assert [i.record for i in raw.items] == [i.record for i in encoded.items]
    assert [i.raw for i in raw.items] == [i.raw for i in encoded.items]


@pytest.mark.parametrize("name", ["eventbridge/sms_up_driven_raw.json", "eventbridge/sms_up_driven_base64.json"])
def test_eventbridge_single_cloud_event(name):
    result = decode_eventbridge_event(load_event(name))
    assert result.rejected == []
    (item,) = result.items
    assert item.message_type is T.SMS_UP  # from the queue name in `subject`
    assert item.message_id == load_json(name)["data"]["messageId"]
    assert item.idempotency_key == http_key("http/sms_up_sequence_id_string.json")


def test_eventbridge_international_report_on_an_sms_report_queue():
    result = decode_eventbridge_event(load_event("eventbridge/intl_sms_report_streaming.json"))
    assert [i.message_type for i in result.items] == [T.INTL_SMS_REPORT]
    assert result.items[0].idempotency_key == http_key("http/intl_sms_report_batch.json")


def test_eventbridge_untyped_queue_detects_every_type():
    result = decode_eventbridge_event(load_event("eventbridge/untyped_queue_every_type.json"))
    assert result.rejected == []
    assert [i.message_type for i in result.items] == list(ALICOM_TYPES.values())


def test_eventbridge_configured_type_and_queue_name_win_over_the_subject():
    event = load_event("eventbridge/sms_up_driven_raw.json")
    for result in (
        decode_eventbridge_event(event, T.SMS_REPORT),
        decode_eventbridge_event(event, queue_name="Alicom-Queue-1-SmsReport"),
    ):
        assert only_rejection(result).message_type is T.SMS_REPORT


def test_eventbridge_partial_failure_keeps_the_good_messages_and_explains_the_bad():
    event = load_event("eventbridge/streaming_partial_failure.json")
    cloud_events = json.loads(event)
    result = decode_eventbridge_event(event)
    assert [i.message_id for i in result.items] == [
        "C6DB60D1574661357FA2272774400020",
        "C6DB60D1574661357FA2272774400025",
    ]
    not_json, no_body, bad_receipt, not_utf8 = result.rejected
    assert not_json.reason == "base64-decoded message body is not UTF-8 text (bad byte at offset 2)"
    assert not_json.raw == b"TEST"  # the doc's sample body, taken for base64
    assert not_json.message_id == "C6DB60D1574661357FA2272774400021"
    assert no_body.reason == "CloudEvent 2 has no data.messageBody"
    assert json.loads(no_body.raw) == cloud_events[2]
    assert bad_receipt.reason.startswith("SmsReport item 0: success: ")
    assert bad_receipt.raw == cloud_events[3]["data"]["messageBody"].encode()  # the message exactly
    assert bad_receipt.message_id == "C6DB60D1574661357FA2272774400023"
    assert not_utf8.reason.startswith("base64-decoded message body is not UTF-8 text")
    assert not_utf8.raw == cloud_events[4]["data"]["messageBody"].encode()
    assert all(r.source is Source.EVENTBRIDGE for r in result.rejected)
    assert [r.message_type for r in result.rejected] == [T.SMS_REPORT, None, T.SMS_REPORT, T.SMS_REPORT]


def test_eventbridge_message_body_already_decoded_or_raw_data():
    report = load_json("alicom/sms_report.json")
    as_object = json.dumps({"data": {"messageId": "M", "messageBody": report}}).encode()
    raw_data = json.dumps({"id": "E1", "data": load_event("alicom/sms_report.txt").decode()}).encode()
    expected = [http_key("http/sms_report_single.json")]
    assert keys(decode_eventbridge_event(as_object)) == expected
    result = decode_eventbridge_event(raw_data)
    assert keys(result) == expected
    assert result.items[0].message_id == "E1"  # no data.messageId: the CloudEvent id


def test_eventbridge_message_body_holding_an_array_gives_each_item():
    body = json.dumps(load_json("http/sms_report_batch_shared_biz_id.json"), ensure_ascii=False)
    event = json.dumps([{"data": {"messageId": "M", "messageBody": body}}]).encode()
    assert keys(decode_eventbridge_event(event)) == keys(
        decode_http_body(load_event("http/sms_report_batch_shared_biz_id.json"))
    )


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (b"TEST", "EventBridge event is not JSON"),
        (b"", "EventBridge event is empty"),
        (b"\xff", "EventBridge event is not UTF-8 text"),
    ],
)
def test_eventbridge_event_that_is_not_json_keeps_its_bytes(event, reason):
    rejected = only_rejection(decode_eventbridge_event(event))
    assert rejected.reason.startswith(reason)
    assert rejected.raw == event


@pytest.mark.parametrize("event", [b"42", b'"x"', b"[1]", b'[{"data": {}}]', b'{"data": null}', b"[[]]"])
def test_eventbridge_cloud_event_without_a_message_body_keeps_its_json(event):
    rejected = only_rejection(decode_eventbridge_event(event))
    assert rejected.reason == "CloudEvent 0 has no data.messageBody"
    cloud_event = json.loads(event)
    cloud_event = cloud_event[0] if isinstance(cloud_event, list) else cloud_event
    assert json.loads(rejected.raw) == cloud_event


def test_eventbridge_empty_message_body_keeps_the_cloud_event():
    cloud_event = {"id": "E1", "data": {"messageId": "M1", "messageBody": ""}}
    rejected = only_rejection(decode_eventbridge_event(json.dumps([cloud_event]).encode()))
    assert rejected.reason == "message body is empty"
    assert json.loads(rejected.raw) == cloud_event
    assert rejected.message_id == "M1"


def test_eventbridge_malformed_envelope_fields_do_not_sink_the_batch():
    good = load_json("eventbridge/sms_report_streaming_raw.json")[0]
    odd = {"id": 7, "subject": 42, "data": {"messageId": {"n": 1}, "messageBody": good["data"]["messageBody"]}}
    result = decode_eventbridge_event(json.dumps([odd, good]).encode())
    assert result.rejected == []
    assert keys(result) == [http_key("http/sms_report_single.json")] * 2
    assert all(isinstance(i.message_id, str) for i in result.items)


# ---------------------------------------------------------------------------------------------
# MNS topic trigger
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["topic/sms_report_json.json", "topic/sms_report_json_base64.json", "topic/sms_report_json_attrs.json"]
)
def test_topic_json_format(name):
    result = decode_topic_event(load_event(name))
    assert result.rejected == []
    (item,) = result.items
    assert item.message_type is T.SMS_REPORT  # from TopicName
    assert item.message_id == load_json(name)["MessageId"]
    assert item.source is Source.TOPIC
    assert item.idempotency_key == http_key("http/sms_report_single.json")
    assert item.raw == load_json("alicom/sms_report.json")


def test_topic_json_format_on_an_untyped_topic_detects_the_type():
    (item,) = decode_topic_event(load_event("topic/sign_sms_report_json_untyped.json")).items
    assert item.message_type is T.SIGN_SMS_REPORT
    assert item.record.order_id == "2000015184"
    assert item.idempotency_key == http_key("http/sign_sms_report_approved.json")


@pytest.mark.parametrize("name", ["topic/sms_report_stream.json", "topic/sms_report_stream_base64.txt"])
def test_topic_stream_format_raw_body(name):
    for result in (
        decode_topic_event(load_event(name)),
        decode_topic_event(load_event(name), topic_name="sms-receipts-SmsReport"),
        decode_topic_event(load_event(name), "SmsReport"),
    ):
        assert result.rejected == []
        (item,) = result.items
        assert (item.message_type, item.message_id, item.source) == (T.SMS_REPORT, None, Source.TOPIC)
        assert item.idempotency_key == http_key("http/sms_report_single.json")


def test_topic_stream_format_with_attributes():
    (item,) = decode_topic_event(load_event("topic/sms_up_stream_attrs.json")).items
    assert item.message_type is T.SMS_UP
    assert item.record.sequence_id == "1234567890"
    assert item.idempotency_key == http_key("http/sms_up_sequence_id_string.json")


def test_topic_stream_body_that_is_not_json_keeps_the_exact_bytes():
    event = load_event("topic/stream_not_json.txt")
    rejected = only_rejection(decode_topic_event(event, "SmsReport"))
    assert rejected.reason == "message body is neither JSON nor base64 of JSON"
    assert rejected.raw == event == b"hello topic"
    assert rejected.message_type is T.SMS_REPORT


def test_topic_json_format_invalid_receipt_keeps_the_message_text():
    message = json.dumps({"biz_id": "1234^345", "phone_number": "13800138000", "success": "也许"}, ensure_ascii=False)
    event = json.dumps({"TopicOwner": "1", "TopicName": "t-SmsReport", "MessageId": "M9", "Message": message}).encode()
    rejected = only_rejection(decode_topic_event(event))
    assert rejected.raw == message.encode()
    assert rejected.reason.startswith("SmsReport item 0: success: ")
    assert rejected.message_id == "M9"


@pytest.mark.parametrize(
    "event",
    [
        b'{"TopicOwner": "1", "TopicName": "t", "MessageId": "M1", "Message": ""}',
        b'{"body": "", "attrs": {"a": "b"}}',
    ],
)
def test_topic_empty_message_keeps_the_event(event):
    rejected = only_rejection(decode_topic_event(event))
    assert rejected.reason == "message body is empty"
    assert rejected.raw == event


def test_topic_malformed_envelope_fields_still_parse_the_message():
    message = load_event("alicom/sms_report.json").decode().strip()
    event = json.dumps({"TopicOwner": 1, "TopicName": 5, "MessageId": 123, "Message": message}).encode()
    (item,) = decode_topic_event(event).items
    assert item.message_id == "123"
    assert item.idempotency_key == http_key("http/sms_report_single.json")


@pytest.mark.parametrize("event", [b"", b"\xff\xfe", b"123"])
def test_topic_bad_events_keep_their_bytes(event):
    rejected = only_rejection(decode_topic_event(event))
    assert rejected.raw == event
    assert rejected.source is Source.TOPIC


# ---------------------------------------------------------------------------------------------
# One receipt, every path
# ---------------------------------------------------------------------------------------------


def test_one_receipt_has_one_identity_over_every_delivery_path():
    expected_key = http_key("http/sms_report_single.json")
    results = [
        decode_http_event(load_event("fc_http/sms_report_single_object_body.json")),
        decode_alicom_message(load_event("alicom/sms_report.txt"), queue_name=ALICOM_QUEUES["sms_report"]),
        decode_eventbridge_event(load_event("eventbridge/sms_report_streaming_raw.json")),
        decode_eventbridge_event(load_event("eventbridge/sms_report_streaming_base64.json")),
        decode_topic_event(load_event("topic/sms_report_json.json")),
        decode_topic_event(load_event("topic/sms_report_json_base64.json")),
        decode_topic_event(load_event("topic/sms_report_stream.json")),
        decode_topic_event(load_event("topic/sms_report_stream_base64.txt")),
    ]
    for result in results:
        assert result.items[0].idempotency_key == expected_key
        assert result.items[0].entity_key == "SmsReport:900619746936498440^0|13800138000"


def test_decoders_table():
    assert {
        Source.HTTP: decode_http_body,
        Source.EVENTBRIDGE: decode_eventbridge_event,
        Source.TOPIC: decode_topic_event,
        Source.ALICOM: decode_alicom_message,
    } == DECODERS
    assert [str(v) for v in Source] == ["http", "eventbridge", "topic", "alicom", "query"]
    assert decode_http_body.__name__ == "decode_http_body"
    assert decode_http_body.__doc__.startswith("A raw HTTP push body")


def test_items_made_in_bulk_equal_items_made_one_at_a_time():
    pushed = load_json("http/sms_report_batch_shared_biz_id.json")
    result = decode_http_body(json.dumps(pushed).encode(), T.SMS_REPORT)  # the whole array in one validation
    records = [item.record for item in result.items]
    delivery = Delivery(pushed, Source.HTTP, "M1")
    one_at_a_time = [ParsedItem(r, *identify(r), delivery, position) for position, r in enumerate(records)]
    assert decode_items(pushed, T.SMS_REPORT, Source.HTTP, "M1").items == one_at_a_time
    shared = [(i.batch, i.source, i.message_id, i.raw) for i in one_at_a_time]
    assert shared == [(pushed, Source.HTTP, "M1", receipt) for receipt in pushed]
