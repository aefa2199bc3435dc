"""Property-based tests: identity is a property of the receipt, not of its spelling or delivery path;
and no input, however malformed, raises out of a decoder or loses its bytes."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_receipts.parsing import (
    CHINA_TZ,
    MODELS,
    DecodeResult,
    MessageType,
    decode_alicom_message,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_topic_event,
    detect_message_type,
    entity_key,
    entity_parts,
)
from sms_receipts.parsing.identity import identify
from sms_receipts_dev.testing import events

T = MessageType
PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------------
# Receipts in a canonical form: text values, naive China-time datetimes, None for an absent field
# ---------------------------------------------------------------------------------------------

digits = st.from_regex(r"[1-9][0-9]{0,19}", fullmatch=True)
phone = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
opaque_id = digits | st.from_regex(r"[0-9]{6,18}\^[0-9]", fullmatch=True) | st.sampled_from(["1234^345", "007", "-37"])
chinese = st.sampled_from(["用户接收成功", "关机", "空号", "未知异常", "退订", "内容", "审核通过", "驳回", "请回电 😀"])
text = chinese | st.text(st.characters(codec="utf-8"), max_size=12)
name = chinese | st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
moment = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)
optional = st.none().__or__  # optional(strategy) = None or a value


@st.composite
def sms_report(draw):
    return {
        "biz_id": draw(opaque_id),
        "phone_number": draw(phone),
        "success": draw(st.booleans()),
        "send_time": draw(optional(moment)),
        "report_time": draw(optional(moment)),
        "err_code": draw(optional(st.sampled_from(["DELIVERED", "UNDELIV", "-37", "MK:0005", "EXPIRED", "007"]))),
        "err_msg": draw(optional(text)),
        "sms_size": draw(optional(st.sampled_from(["1", "2", "3"]))),
        "out_id": draw(optional(opaque_id | text)),
    }


@st.composite
def sms_up(draw):
    receipt = {
        "phone_number": draw(phone),
        "content": draw(text),
        "send_time": draw(optional(moment)),
        "dest_code": draw(optional(digits)),
        "sequence_id": draw(optional(digits)),
        "sign_name": draw(optional(name)),
    }
    if receipt["send_time"] is None and receipt["sequence_id"] is None:
        receipt["send_time"] = draw(moment)
    return receipt


AUDIT = ["approving", "approved", "rejected"]


@st.composite
def sign_sms_report(draw):
    return {
        "sign_name": draw(name),
        "sign_status": draw(st.sampled_from(AUDIT)),
        "order_id": draw(optional(digits)),
        "reason": draw(optional(text)),
        "sign_source": draw(optional(text)),
        "remark": draw(optional(text)),
        "sign_scene": draw(optional(text)),
        "create_date": draw(optional(moment)),
    }


@st.composite
def template_sms_report(draw):
    return {
        "template_code": "SMS_" + draw(digits),
        "template_status": draw(st.sampled_from(AUDIT)),
        "order_id": draw(optional(digits)),
        "template_name": draw(optional(text)),
        "template_type": draw(optional(st.sampled_from(["验证码", "短信通知", "推广短信"]))),
        "template_content": draw(optional(text)),
        "reason": draw(optional(text)),
        "remark": draw(optional(text)),
        "create_date": draw(optional(moment)),
    }


@st.composite
def mns_card_vender(draw):
    return {
        "outId": draw(digits),
        "mobile": draw(phone),
        "render_status": draw(st.sampled_from(["0", "1", "2"])),
        "desc": draw(optional(text)),
    }


@st.composite
def mns_card_template(draw):
    vendors = draw(st.lists(st.sampled_from(["MEIZU", "OPPO", "XIAOMI", "HUAWEI", "VIVO"]), min_size=1, unique=True))
    return {
        "template_code": "CARD_SMS_" + draw(digits),
        "approval_status": draw(st.sampled_from(["0", "1", "2"])),
        "tmpOps": [
            {"vendorCode": v, "state": draw(st.sampled_from(["0", "1", "2"])), "desc": draw(optional(text))}
            for v in vendors
        ],
        "extData": draw(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2)),
        "desc": draw(optional(text)),
    }


@st.composite
def globe_sms_report(draw):
    return {
        "message_id": draw(digits),
        "status": draw(st.sampled_from(["1", "2"])),
        "to": draw(optional(digits)),
        "send_date": draw(optional(moment)),
        "receive_date": draw(optional(moment)),
        "error_code": draw(optional(st.sampled_from(["SP_UNKNOW_ERROR", "success", "UNDELIV"]))),
        "error_description": draw(optional(text)),
    }


@st.composite
def intl_sms_report(draw):
    return {
        "MessageId": draw(digits),
        "Status": draw(st.sampled_from(["1", "2", "6"])),
        "To": draw(optional(digits)),
        "SmsSize": draw(optional(st.sampled_from(["1", "2"]))),
        "TaskId": draw(optional(digits)),
        "SendDate": draw(optional(moment)),
        "ReceiveDate": draw(optional(moment)),
        "ErrorCode": draw(optional(st.sampled_from(["success", "UNDELIV", "EXPIRED"]))),
        "ErrorDescription": draw(optional(text)),
    }


CANONICAL = {
    T.SMS_REPORT: sms_report(),
    T.SMS_UP: sms_up(),
    T.SIGN_SMS_REPORT: sign_sms_report(),
    T.TEMPLATE_SMS_REPORT: template_sms_report(),
    T.MNS_CARD_VENDER: mns_card_vender(),
    T.MNS_CARD_TEMPLATE: mns_card_template(),
    T.GLOBE_SMS_REPORT: globe_sms_report(),
    T.INTL_SMS_REPORT: intl_sms_report(),
}

# ---------------------------------------------------------------------------------------------
# Spelling a canonical receipt as one of its documented wire variants
# ---------------------------------------------------------------------------------------------

# Fields documented (or seen) as number or string; spelt as a JSON number whenever the digits allow.
NUMBERISH = {
    "biz_id",
    "out_id",
    "err_code",
    "phone_number",
    "sms_size",
    "sequence_id",
    "dest_code",
    "outId",
    "mobile",
    "render_status",
    "approval_status",
    "state",
    "order_id",
    "message_id",
    "status",
    "to",
    "MessageId",
    "Status",
    "To",
    "SmsSize",
    "TaskId",
}
INTEGER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)")
EIGHT_HOURS = timedelta(hours=8)


def plain_time(moment: datetime, intl: bool) -> str:
    if intl:
        return format_datetime(moment.replace(tzinfo=CHINA_TZ))  # Thu, 25 Nov 2021 10:27:00 +0800
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def time_spellings(moment: datetime, intl: bool) -> list[str]:
    utc = moment - EIGHT_HOURS
    spellings = [
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.strftime("%Y%m%d%H%M%S"),
        moment.isoformat() + "+08:00",
        utc.isoformat() + "Z",
        moment.strftime("%Y-%m-%dT%H:%M:%S"),
    ]
    if intl:
        spellings += [
            format_datetime(moment.replace(tzinfo=CHINA_TZ)),
            format_datetime(utc.replace(tzinfo=timezone.utc)),  # +0000
            format_datetime(utc.replace(tzinfo=timezone.utc), usegmt=True),  # GMT
            format_datetime(utc.replace(tzinfo=timezone.utc)).replace("+0000", "-0000"),
        ]
    return spellings


def plain(message_type: MessageType, receipt: dict) -> dict:
    """The receipt in its simplest spelling: absent fields left out, times as documented."""
    intl = message_type is T.INTL_SMS_REPORT
    wire = {}
    for key, value in receipt.items():
        if value is None:
            continue
        wire[key] = plain_time(value, intl) if isinstance(value, datetime) else value
    if message_type is T.MNS_CARD_TEMPLATE:
        wire["tmpOps"] = [{k: v for k, v in op.items() if v is not None} for op in receipt["tmpOps"]]
    return wire


def spell_value(draw, key: str, value: Any, intl: bool) -> Any:
    if isinstance(value, datetime):
        return draw(st.sampled_from(time_spellings(value, intl)))
    if isinstance(value, str) and key in NUMBERISH and INTEGER_TEXT.fullmatch(value) and draw(st.booleans()):
        number = int(value)
        if key == "sequence_id" and abs(number) < 2**53 and draw(st.booleans()):
            return float(number)  # documented as a Double over MNS (Gson writes 1.23456789E9)
        return number
    return value


@st.composite
def spelled(draw, message_type: MessageType, receipt: dict) -> dict:
    """One wire spelling: any key order, number-or-string, any time format, absent as missing/null/"",
    orderId or order_id, TaskId dropped (MNS), unknown extra fields added."""
    intl = message_type is T.INTL_SMS_REPORT
    wire: dict[str, Any] = {}
    for key, value in receipt.items():
        if value is None:
            absent = draw(st.sampled_from(["missing", "null", "empty"]))
            if absent != "missing":
                wire[key] = None if absent == "null" else ""
            continue
        if key == "order_id" and draw(st.booleans()):
            key = "orderId"  # the HTTP docs' spelling (real pushes use order_id)
        if key == "TaskId" and draw(st.booleans()):
            continue  # the international MNS receipt has no TaskId
        if key == "tmpOps":
            ops = []
            for op in draw(st.permutations(value)):
                entry = {"vendorCode": op["vendorCode"], "state": spell_value(draw, "state", op["state"], intl)}
                if op["desc"] is not None:
                    entry["desc"] = op["desc"]
                elif draw(st.booleans()):
                    entry["desc"] = draw(st.sampled_from([None, ""]))
                ops.append(entry)
            wire[key] = ops
            continue
        wire[key] = spell_value(draw, key, value, intl)
    extras = draw(
        st.dictionaries(
            st.from_regex(r"zz_[a-z]{1,6}", fullmatch=True),
            st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
            max_size=3,
        )
    )
    wire.update(extras)
    order = draw(st.permutations(list(wire)))
    return {key: wire[key] for key in order}


@st.composite
def json_text(draw, value: Any) -> str:
    """Any JSON formatting of the value: indentation, separators, escaped or raw non-ASCII, padding."""
    indent = draw(st.sampled_from([None, 0, 1, 2, 4, "\t"]))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : "), (",\n", ":\t")]))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=draw(st.booleans()))
    pad = st.sampled_from(["", " ", "\n", "\r\n", "\t "])
    return draw(pad) + text + draw(pad)


# ---------------------------------------------------------------------------------------------
# Delivering a JSON text over one of the paths
# ---------------------------------------------------------------------------------------------

PATHS = ["http_array", "http_object", "fc_http", "eventbridge", "topic_json", "topic_stream", "alicom"]


def wire_name(message_type: MessageType) -> str:
    # The international site calls its stream SmsReport; the item's shape picks the schema.
    return "SmsReport" if message_type is T.INTL_SMS_REPORT else message_type.value


def kebab(value: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", value).lower()


def b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


@st.composite
def delivered(draw, message_type: MessageType, receipt_text: str, detectable: bool = True):
    """The receipt through one delivery path, its type given by the path, by configuration or by nothing."""
    how = draw(st.sampled_from(["named", "configured", "detected"] if detectable else ["named", "configured"]))
    named = wire_name(message_type)
    configured = None
    if how == "configured":
        configured = draw(st.sampled_from([message_type, message_type.value, kebab(message_type.value)]))
    path = "/"
    if how == "named":
        path = draw(st.sampled_from([f"/{named}", f"/hook/{kebab(named)}/", f"/{named.lower()}"]))
    queue = f"Alicom-Queue-1234567890123456-{named}" if how == "named" else "receipts"
    source = draw(st.sampled_from(PATHS))
    if source == "http_array":
        return source, decode_http_body(f"[{receipt_text}]".encode(), configured, path=path)
    if source == "http_object":
        return source, decode_http_body(receipt_text.encode(), configured, path=path)
    if source == "fc_http":
        event = events.http_event(f"[{receipt_text}]", path=path, base64_body=draw(st.booleans()))
        return source, decode_http_event(event, configured)
    if source == "eventbridge":
        streaming = draw(st.booleans())
        event = events.eventbridge_event(
            [receipt_text], streaming=streaming, queue_name=queue, base64_body=draw(st.booleans())
        )
        return source, decode_eventbridge_event(event, configured)
    body = b64(receipt_text) if draw(st.booleans()) else receipt_text
    if source == "topic_json":
        return source, decode_topic_event(events.topic_event_json(body, topic_name=queue), configured)
    if source == "topic_stream":
        attributes = draw(st.sampled_from([None, {"Extend": '{"key":"value"}'}]))
        event = events.topic_event_stream(body, attributes=attributes)
        return source, decode_topic_event(event, configured, topic_name=queue if how == "named" else None)
    message = body.encode() if draw(st.booleans()) else body  # bytes after the SDK's decoding, or text
    return source, decode_alicom_message(message, configured, queue_name=queue if how == "named" else None)


@st.composite
def identity_via_any_path(draw, message_type: MessageType, receipt: dict) -> tuple[str, str]:
    wire = draw(spelled(message_type, receipt))
    receipt_text = draw(json_text(wire))
    # Detection from the fields is tried only where the fields tell the type (an SmsUp needs dest_code or
    # sequence_id, which both documented formats always carry).
    source, result = draw(delivered(message_type, receipt_text, detectable=detect_message_type(wire) is message_type))
    assert result.rejected == [], (source, receipt_text, [r.reason for r in result.rejected])
    (item,) = result.items
    assert item.message_type is message_type, (source, receipt_text)
    return item.idempotency_key, item.entity_key


def expected_identity(message_type: MessageType, receipt: dict) -> tuple[str, str]:
    return identify(MODELS[message_type].model_validate(plain(message_type, receipt)))


message_types = st.sampled_from(list(MessageType))


@PROPERTIES
@given(data=st.data(), message_type=message_types)
def test_identity_is_the_same_however_the_receipt_is_spelt_and_delivered(data, message_type):
    receipt = data.draw(CANONICAL[message_type])
    expected = expected_identity(message_type, receipt)
    for _ in range(3):
        assert data.draw(identity_via_any_path(message_type, receipt)) == expected


@PROPERTIES
@given(data=st.data(), message_type=message_types)
def test_identity_ignores_key_order_and_formatting_alone(data, message_type):
    receipt = data.draw(CANONICAL[message_type])
    wire = plain(message_type, receipt)
    shuffled = dict(sorted(wire.items(), key=lambda kv: data.draw(st.integers(0, 1000), label=kv[0])))
    first = decode_http_body(json.dumps([wire]).encode(), message_type).items[0]
    second = decode_http_body(data.draw(json_text([shuffled])).encode(), message_type).items[0]
    assert (first.idempotency_key, first.entity_key) == (second.idempotency_key, second.entity_key)


@PROPERTIES
@given(data=st.data(), message_type=message_types)
def test_each_types_entity_spelling_agrees_with_its_entity_parts(data, message_type):
    # The per-type identity functions spell the entity in an f-string; `entity_parts` lists the parts.
    receipt = data.draw(CANONICAL[message_type])
    record = MODELS[message_type].model_validate(plain(message_type, receipt))
    escaped = [part.replace("\\", "\\\\").replace("|", "\\|") for part in entity_parts(record)]
    assert identify(record)[1] == entity_key(record) == f"{message_type.value}:{'|'.join(escaped)}"


# ---------------------------------------------------------------------------------------------
# A genuinely different report gets a different key
# ---------------------------------------------------------------------------------------------


def other(draw, choices, current):
    return draw(st.sampled_from([c for c in choices if c != current]))


def later(draw, moment):
    start = moment or datetime(2021, 9, 6, 15, 49, 55)
    return start + timedelta(seconds=draw(st.integers(1, 10**6)))


def changed(key: str, choices: list[str]):
    """A mutation that sets `key` to one of `choices` other than its current value."""
    return lambda draw, r: {**r, key: other(draw, choices, r[key])}


def moved(key: str):
    """A mutation that moves the time `key` later (or sets it, when absent)."""
    return lambda draw, r: {**r, key: later(draw, r[key])}


def appended(key: str, suffix: str):
    """A mutation that appends to the text `key` (or sets it, when absent)."""
    return lambda draw, r: {**r, key: (r[key] or "") + suffix}


def vendor_state_changed(draw, r):
    first = r["tmpOps"][0]
    return {**r, "tmpOps": [{**first, "state": other(draw, ["0", "1", "2"], first["state"])}, *r["tmpOps"][1:]]}


# (name, change, whether the entity stays the same)
STATES = ["0", "1", "2"]
MUTATIONS = {
    T.SMS_REPORT: [
        ("success", lambda draw, r: {**r, "success": not r["success"]}, True),
        ("err_code", changed("err_code", ["DELIVERED", "UNDELIV", "-37", "DELIVRD", "E:ODDL"]), True),
        ("report_time", moved("report_time"), True),
        ("send_time", moved("send_time"), True),
        ("phone_number", lambda draw, r: {**r, "phone_number": r["phone_number"][:-1] + "x"}, False),
        ("biz_id", appended("biz_id", "^9"), False),
    ],
    T.SMS_UP: [
        ("content", appended("content", "！"), True),
        ("sequence_id", appended("sequence_id", "7"), False),
        ("phone_number", lambda draw, r: {**r, "phone_number": r["phone_number"][:-1] + "x"}, False),
    ],
    T.SIGN_SMS_REPORT: [
        ("sign_status", changed("sign_status", AUDIT), True),
        ("create_date", moved("create_date"), True),
        ("order_id", appended("order_id", "1"), True),
        ("sign_name", appended("sign_name", "2"), False),
    ],
    T.TEMPLATE_SMS_REPORT: [
        ("template_status", changed("template_status", AUDIT), True),
        ("create_date", moved("create_date"), True),
        ("template_code", appended("template_code", "1"), False),
    ],
    T.MNS_CARD_VENDER: [
        ("render_status", changed("render_status", STATES), True),
        ("desc", appended("desc", "改"), True),
        ("mobile", lambda draw, r: {**r, "mobile": r["mobile"][:-1] + "x"}, False),
    ],
    T.MNS_CARD_TEMPLATE: [
        ("approval_status", changed("approval_status", STATES), True),
        ("tmpOps.state", vendor_state_changed, True),
        ("desc", appended("desc", "改"), True),
        ("template_code", appended("template_code", "1"), False),
    ],
    T.GLOBE_SMS_REPORT: [
        ("status", changed("status", ["1", "2", "6"]), True),
        ("error_code", changed("error_code", ["OK", "SP_UNKNOW_ERROR", "UNDELIV"]), True),
        ("receive_date", moved("receive_date"), True),
        ("message_id", appended("message_id", "1"), False),
    ],
    T.INTL_SMS_REPORT: [
        ("Status", changed("Status", ["1", "2", "6"]), True),
        ("ErrorCode", changed("ErrorCode", ["success", "UNDELIV", "EXPIRED", "DELIVRD"]), True),
        ("ReceiveDate", moved("ReceiveDate"), True),
        ("MessageId", appended("MessageId", "1"), False),
    ],
}


@PROPERTIES
@given(data=st.data(), message_type=message_types)
def test_a_different_report_has_a_different_idempotency_key(data, message_type):
    receipt = data.draw(CANONICAL[message_type])
    name, mutate, same_entity = data.draw(st.sampled_from(MUTATIONS[message_type]))
    changed = mutate(data.draw, receipt)
    key, entity = data.draw(identity_via_any_path(message_type, receipt))
    changed_key, changed_entity = data.draw(identity_via_any_path(message_type, changed))
    assert key != changed_key, name
    if same_entity and not (message_type is T.SMS_UP and receipt["sequence_id"] is None):
        assert entity == changed_entity, name
    if not same_entity:
        assert entity != changed_entity, name


def test_every_mutation_list_covers_its_type():
    assert set(MUTATIONS) == set(MessageType) == set(CANONICAL)


# ---------------------------------------------------------------------------------------------
# No input raises, and nothing is lost
# ---------------------------------------------------------------------------------------------

DECODERS = [decode_http_body, decode_http_event, decode_eventbridge_event, decode_topic_event, decode_alicom_message]
configured_types = st.none() | message_types | st.sampled_from(["sms-report", "SmsUp"])


def assert_decodes_without_loss(raw: bytes | str, message_type: Any = None) -> None:
    raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else raw
    for decode in DECODERS:
        result = decode(raw, message_type)
        assert isinstance(result, DecodeResult), decode.__name__
        for rejected in result.rejected:
            assert isinstance(rejected.raw, bytes), (decode.__name__, rejected)
            assert rejected.raw or not raw_bytes, (decode.__name__, rejected.reason)
            assert rejected.reason.strip(), decode.__name__
            json.dumps(rejected.to_json_dict(), ensure_ascii=False)
            if rejected.position is None and decode is decode_http_body:
                assert rejected.raw == raw_bytes  # a whole body is kept byte for byte
        for item in result.items:
            json.dumps(item.to_json_dict(), ensure_ascii=False, allow_nan=False)
            assert item.raw is item.batch[item.position]


@FUZZ
@given(raw=st.binary(max_size=400), message_type=configured_types)
def test_arbitrary_bytes_never_raise_and_keep_their_bytes(raw, message_type):
    assert_decodes_without_loss(raw, message_type)


@FUZZ
@given(raw=st.text(max_size=200))
def test_arbitrary_text_never_raises(raw):
    assert_decodes_without_loss(raw)
    assert_decodes_without_loss(raw.encode("utf-8"))


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "",
            "2021-09-06 15:49:55",
            "20210906154955",
            "Thu, 25 Nov 2021 10:27:00 +0800",
            "/SmsReport",
            "acs:mns:cn-hangzhou:1:queues/Alicom-Queue-1-SmsUp",
            "SmsReport",
            "TEST",
            "1.5",
            "-37",
        ]
    )
)
json_values = st.recursive(
    json_leaves, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=5), max_leaves=20
)


@FUZZ
@given(value=json_values, message_type=configured_types)
def test_arbitrary_json_values_never_raise(value, message_type):
    assert_decodes_without_loss(json.dumps(value).encode(), message_type)


# Keys the decoders look for, so that nested values reach the deeper branches.
ENVELOPE_AND_RECEIPT_KEYS = [
    "body",
    "attrs",
    "data",
    "messageBody",
    "messageId",
    "id",
    "subject",
    "Message",
    "MessageId",
    "TopicOwner",
    "TopicName",
    "requestContext",
    "http",
    "path",
    "rawPath",
    "isBase64Encoded",
    "headers",
    "queryParameters",
    "biz_id",
    "phone_number",
    "success",
    "err_code",
    "report_time",
    "send_time",
    "sms_size",
    "out_id",
    "content",
    "sequence_id",
    "dest_code",
    "sign_name",
    "sign_status",
    "orderId",
    "order_id",
    "create_date",
    "template_code",
    "template_status",
    "approval_status",
    "tmpOps",
    "vendorCode",
    "state",
    "outId",
    "mobile",
    "render_status",
    "desc",
    "message_id",
    "to",
    "status",
    "To",
    "Status",
    "SendDate",
    "SmsSize",
    "ReceiveDate",
]


def _nest(children):
    return (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(ENVELOPE_AND_RECEIPT_KEYS) | st.text(max_size=3), children, max_size=6)
        | children.map(lambda v: json.dumps(v, ensure_ascii=False))  # JSON inside a string (messageBody, body)
        | children.map(lambda v: b64(json.dumps(v)))  # base64 of JSON inside a string
    )


nested_json = st.recursive(json_leaves, _nest, max_leaves=30)


@FUZZ
@given(value=nested_json, message_type=configured_types)
def test_arbitrary_nested_envelopes_never_raise(value, message_type):
    assert_decodes_without_loss(json.dumps(value, ensure_ascii=False).encode(), message_type)


finite_leaves = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
)
finite_keys = st.sampled_from(ENVELOPE_AND_RECEIPT_KEYS) | st.text(max_size=3)
finite_json = st.recursive(
    finite_leaves,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(finite_keys, c, max_size=5),
    max_leaves=15,
)


@FUZZ
@given(items=st.lists(finite_json, max_size=8), message_type=configured_types)
def test_an_http_batch_accounts_for_every_item(items, message_type):
    result = decode_http_body(json.dumps(items, ensure_ascii=False).encode(), message_type)
    positions = sorted([i.position for i in result.items] + [r.position for r in result.rejected])
    assert positions == list(range(len(items)))
    for rejected in result.rejected:
        assert json.loads(rejected.raw) == items[rejected.position]  # the item's own JSON, nothing lost
        assert rejected.reason
    for item in result.items:
        assert item.raw == items[item.position]


@FUZZ
@given(
    bodies=st.lists(
        finite_json.map(lambda v: json.dumps(v, ensure_ascii=False)) | st.text(max_size=10), min_size=1, max_size=5
    ),
    base64_body=st.booleans(),
)
def test_an_eventbridge_batch_accounts_for_every_message(bodies, base64_body):
    event = events.eventbridge_event(bodies, base64_body=base64_body)
    message_ids = [e["data"]["messageId"] for e in json.loads(event)]
    result = decode_eventbridge_event(event)
    seen = {i.message_id for i in result.items} | {r.message_id for r in result.rejected}
    # Every message has an outcome (an empty JSON array is rejected: MNS carries one receipt per message).
    assert seen == set(message_ids)
    for rejected in result.rejected:
        assert rejected.raw
