"""Property: no body, however hostile, makes the HTTP function answer 5xx while storage is healthy.

A 5xx makes the SMS service push the same body again after 1, 5 and 10 minutes and then give up: a
body that always answers 5xx is retried three times for nothing and then lost, and the receipts
pushed with it too. So every answer must be 200 (stored, or dead-lettered with its raw bytes) or
4xx (refused outright). The real handler module runs on the Tablestore emulator, faults off.

An unhandled exception counts as the 502 FC's front end would answer.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sms_receipts_dev.testing.events import http_event
from sms_receipts_dev.testing.fc import decode_fc_response

from http_support import TOKEN, context

PATHS = (
    "/SmsReport",
    "/SmsUp",
    "/SignSmsReport",
    "/TemplateSmsReport",
    "/MnsCardVender",
    "/MnsCardTemplate",
    "/GlobeSmsReport",
    "/",
    "/no-such-type",
)
LONG = "9" * 2000  # over Tablestore's 1 KB limit for a primary-key column


def answer(index, body: bytes, path: str = "/SmsReport") -> tuple[int, bytes]:
    event = http_event(body, path=path, query={"token": TOKEN})
    try:
        status, _headers, data = decode_fc_response(index.handler(event, context()))
    except Exception as exc:  # noqa: BLE001 - what FC answers for an unhandled error
        return 502, f"unhandled {type(exc).__name__}: {exc}".encode()[:300]
    return status, data


def assert_no_5xx(status: int, data: bytes, body: bytes) -> None:
    assert status == 200 or 400 <= status < 500, (
        f"answered {status} {data[:300]!r} to a body of {len(body)} bytes: {body[:200]!r}"
    )
    if status == 200:
        assert isinstance(json.loads(data)["code"], int)  # what the SMS service checks


def report(**fields) -> dict:
    item = {
        "phone_number": "13800000001",
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "order-1",
    }
    item.update(fields)
    return item


def utf8(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def escaped(value) -> bytes:
    """JSON with every non-ASCII character escaped: a lone surrogate becomes `\\ud800`, valid JSON text."""
    return json.dumps(value, ensure_ascii=True).encode("ascii")


NESTED = 100_000
# Named hostile bodies, one test each, so a failure names its cause.
HOSTILE = {
    "biz_id of 2,000 characters": escaped([report(biz_id=LONG)]),
    "phone_number of 2,000 characters": escaped([report(phone_number=LONG)]),
    "SmsUp phone_number of 2,000 characters": (
        escaped([{"phone_number": LONG, "content": "TD", "send_time": "2026-11-25 10:02:00", "sequence_id": 1}]),
        "/SmsUp",
    ),
    "template_code of 2,000 characters": (
        escaped([{"template_code": "SMS_" + LONG, "template_status": "approved", "order_id": "1"}]),
        "/TemplateSmsReport",
    ),
    "MnsCardVender outId of 2,000 characters": (
        escaped([{"outId": LONG, "mobile": "13800000001", "render_status": 0}]),
        "/MnsCardVender",
    ),
    "an unknown key of 2,000 characters": escaped([{**report(), "k" * 2000: "v"}]),
    "lone surrogate in err_msg (\\ud800)": escaped([report(err_msg="\ud800")]),
    "lone surrogate in biz_id": escaped([report(biz_id="9006\udfff^0")]),
    "lone surrogate in an unknown key": escaped([{**report(), "\ud800": 1}]),
    "lone surrogate in an invalid item": escaped([{"biz_id": "\ud800"}]),
    "lone surrogate as raw bytes (not UTF-8)": json.dumps([report(err_msg="\ud800")], ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    ),
    "NUL in biz_id": escaped([report(biz_id="9006\x00^0")]),
    "err_msg of 600 KB": utf8([report(err_msg="长" * 200_000)]),
    "integer of 5,000 digits as out_id": (
        '[{"biz_id":"1^0","phone_number":"1","success":true,"out_id":1' + "0" * 5000 + "}]"
    ).encode(),
    "integer of 5,000 digits in an invalid item": ('[{"biz_id":1' + "0" * 5000 + "}]").encode(),
    "integer of 5,000 digits as the body": ("1" + "0" * 5000).encode(),
    "1e999 as sms_size": b'[{"biz_id":"1^0","phone_number":"1","success":true,"sms_size":1e999}]',
    "-1e999 as success": b'[{"biz_id":"1^0","phone_number":"1","success":-1e999}]',
    "NaN": b'[{"biz_id":"1^0","phone_number":"1","success":true,"sms_size":NaN}]',
    "sms_size of 2**70": utf8([report(sms_size=2**70)]),
    "sequence_id of 2**80": (
        utf8([{"content": "TD", "sequence_id": 2**80, "send_time": "2026-11-25 10:02:00"}]),
        "/SmsUp",
    ),
    "year 1": utf8([report(report_time="0001-01-01 00:00:00", send_time="0001-01-01 00:00:00")]),
    "year 9999": utf8([report(report_time="9999-12-31 23:59:59")]),
    "year 0": utf8([report(report_time="0000-01-01 00:00:00")]),
    "offset +23:59 at year 1": utf8([report(report_time="0001-01-01T00:00:00+23:59")]),
    "ticket 2**58 - 1": (
        utf8([{"template_code": "SMS_1", "template_status": "approved", "order_id": str(2**58 - 1)}]),
        "/TemplateSmsReport",
    ),
    f"array nested {NESTED} deep": b"[" * NESTED + b"]" * NESTED,
    "object nested 5,000 deep in err_msg": utf8([report()])[:-2]
    + b', "x":'
    + b'{"a":' * 5000
    + b"1"
    + b"}" * 5000
    + b"}]",
    "empty": b"",
    "null": b"null",
    "[]": b"[]",
    "[null]": b"[null]",
    "{}": b"{}",
    "a JSON string": b'"SmsReport"',
    "UTF-8 BOM": b"\xef\xbb\xbf" + utf8([report()]),
    "UTF-16": json.dumps([report()]).encode("utf-16"),
    "duplicate keys": b'[{"biz_id":"1^0","biz_id":"2^0","phone_number":"1","success":true}]',
    "truncated": utf8([report()])[:-7],
    "the same receipt 500 times": utf8([report()] * 500),
    "300 different biz_ids of 2,000 characters": escaped([report(biz_id=f"{i}" + LONG) for i in range(300)]),
}


def _case(value):
    return value if isinstance(value, tuple) else (value, "/SmsReport")


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_body_is_answered_200_or_4xx(index, name):
    body, path = _case(HOSTILE[name])
    status, data = answer(index, body, path)
    assert_no_5xx(status, data, body)


# -- generated bodies ---------------------------------------------------------------------------

WILD_CHARS = st.characters(categories=("Cs", "Cc", "Lo", "Nd", "Zs", "So", "Ll"))
WILD_TEXT = st.one_of(
    st.text(WILD_CHARS, max_size=30),
    st.text(max_size=30),
    st.builds(lambda c, n: c * n, st.text(WILD_CHARS, min_size=1, max_size=3), st.integers(1000, 3000)),
)
TIME_TEXT = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{14}\Z"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}\Z"),
    st.sampled_from(["", "2026-11-25 10:00:05", "Thu, 25 Nov 2021 10:27:00 +0800", "0001-01-01 00:00:00"]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    WILD_TEXT,
)
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WILD_TEXT, inner, max_size=4), max_leaves=12
)


def _field(good):
    return st.one_of(good, SCALARS, JSON)


RECEIPT_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "phone_number": _field(st.from_regex(r"\A1[0-9]{10}\Z")),
        "biz_id": _field(st.from_regex(r"\A[0-9]{18}\^0\Z")),
        "success": _field(st.booleans()),
        "send_time": _field(TIME_TEXT),
        "report_time": _field(TIME_TEXT),
        "err_code": _field(st.sampled_from(["DELIVERED", "UNDELIV", "EXPIRED", ""])),
        "err_msg": WILD_TEXT,
        "sms_size": _field(st.sampled_from(["1", 1, ""])),
        "out_id": _field(st.text(max_size=10)),
        "content": _field(st.text(max_size=10)),
        "sequence_id": _field(st.integers(0, 2**64)),
        "dest_code": _field(st.text(max_size=6)),
        "template_code": _field(st.just("SMS_1")),
        "template_status": _field(st.sampled_from(["approved", "rejected", "approving"])),
        "order_id": _field(st.from_regex(r"\A[0-9]{1,20}\Z")),
        "create_date": _field(TIME_TEXT),
        "sign_name": _field(st.just("阿里云")),
        "sign_status": _field(st.sampled_from(["approved", "rejected"])),
        "outId": _field(st.text(max_size=10)),
        "mobile": _field(st.text(max_size=12)),
        "message_id": _field(st.text(max_size=12)),
        "status": _field(st.sampled_from(["1", "2", "6"])),
        "MessageId": _field(st.text(max_size=12)),
        "Status": _field(st.sampled_from(["1", "2", "6"])),
    },
)


def _encoded(value, how: str) -> bytes:
    if how == "escaped":
        return escaped(value)
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")  # lone surrogates: not UTF-8


def _mangled(body: bytes, cut: int, junk: bytes) -> bytes:
    at = cut % (len(body) + 1)
    return body[:at] + junk + body[at + len(junk) :]


BODIES = st.one_of(
    st.binary(max_size=600),
    st.builds(_encoded, st.lists(RECEIPT_LIKE, max_size=8), st.sampled_from(["escaped", "raw"])),
    st.builds(_encoded, JSON, st.sampled_from(["escaped", "raw"])),
    st.builds(
        _mangled,
        st.builds(escaped, st.lists(RECEIPT_LIKE, min_size=1, max_size=4)),
        st.integers(0, 10_000),
        st.binary(min_size=1, max_size=4),
    ),
    st.builds(
        lambda depth, opener: opener * depth, st.integers(1, 200_000), st.sampled_from([b"[", b'{"a":', b'[{"biz_id":'])
    ),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=BODIES, path=st.sampled_from(PATHS))
@example(body=escaped([report(biz_id=LONG)]), path="/SmsReport")
@example(body=escaped([report(err_msg="\ud800")]), path="/SmsReport")
def test_no_body_makes_the_function_answer_5xx(index, body, path):
    status, data = answer(index, body, path)
    assert_no_5xx(status, data, body)
