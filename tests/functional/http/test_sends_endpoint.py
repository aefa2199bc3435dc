"""`POST /sends` on the HTTP function: the send log for senders in any language."""

from __future__ import annotations

import json

import pytest

from sms_receipts.storage.schema import SEND_LOG

from function_support import load_function
from test_http_function import call, rows

SENDS_TOKEN = "sends-token-0123456789"


@pytest.fixture
def sends_index(backend, reconfigure):  # after `backend`, whose instance this one replaces
    reconfigure(SMS_RECEIPTS_SENDS_TOKENS=f"old-token-abcdefghij,{SENDS_TOKEN}", SMS_RECEIPTS_ALLOWED_IPS="10.0.0.1")
    return load_function("http_receipt")


def post(index, body, token=SENDS_TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return call(
        index, body if isinstance(body, str) else json.dumps(body), path="/sends", token=None, headers=headers, **kwargs
    )


SEND = {"biz_id": "900619746936498440^0", "phone_numbers": ["13800000001", "13800000002"], "send_time": 1796083200}


def test_sends_are_recorded_once_with_their_own_token_from_any_address(sends_index, backend):
    assert post(sends_index, [SEND, {**SEND, "biz_id": "2^0", "phone_numbers": "13800000003", "out_id": "o"}]) == (
        200,
        {"code": 0, "recorded": 3},
    )
    stored = rows(backend, SEND_LOG)  # the callback IP allow-list (10.0.0.1) did not apply
    assert len(stored) == 3 and {r["source"] for r in stored} == {"http"}
    assert post(sends_index, SEND) == (200, {"code": 0, "recorded": 2}) and len(rows(backend, SEND_LOG)) == 3


@pytest.mark.parametrize("token", [None, "wrong-token", "sends-token-0123456789x"])
def test_without_the_right_token_nothing_is_recorded(sends_index, backend, token):
    status, body = post(sends_index, SEND, token=token)
    assert status == 401 and "Bearer" in body["msg"] and rows(backend, SEND_LOG) == []


def test_the_callback_token_is_not_a_sends_token(sends_index, backend):
    assert post(sends_index, SEND, token="test-token-0123456789")[0] == 401


def test_with_no_token_configured_the_endpoint_is_off(index, backend):
    assert post(index, SEND)[0] == 401 and rows(backend, SEND_LOG) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not JSON"),
        ([], "give 1 to"),
        ([SEND, 5], "send 1: a JSON int"),
        ([SEND, {**SEND, "biz_id": ""}], "send 1: biz_id is empty"),
        ([{**SEND, "send_time": "soon"}], "send_time 'soon'"),
        ([{**SEND, "biz_id": "9" * 2000}], "1024-byte limit"),
    ],
)
def test_bad_input_is_a_clear_400_and_records_nothing(sends_index, backend, body, message):
    status, answer = post(sends_index, body)
    assert status == 400 and message in answer["msg"] and rows(backend, SEND_LOG) == []


def test_a_body_over_the_limit_is_413(sends_index, reconfigure, backend):
    reconfigure(SMS_RECEIPTS_SENDS_TOKENS=SENDS_TOKEN, SMS_RECEIPTS_MAX_BODY_BYTES="1000")
    assert post(load_function("http_receipt"), [SEND] * 20)[0] == 413
