"""The dysmsapi emulator, driven by the real `alibabacloud_dysmsapi20170525` client over loopback HTTP."""

from __future__ import annotations

import http.client
import json
from datetime import datetime, timedelta

import pytest
from alibabacloud_dysmsapi20170525.models import (
    QuerySendDetailsRequest,
    QuerySendStatisticsRequest,
    SendBatchSmsRequest,
    SendSmsRequest,
)
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from sms_receipts_dev.emulators.dysmsapi import (
    BEIJING,
    DysmsapiEmulator,
    FaultConfig,
    ManualClock,
    RateLimits,
)

NUMBER = "13800000000"
START = datetime(2026, 11, 25, 10, 0, tzinfo=BEIJING).timestamp()
TODAY = "20261125"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sms(clock):
    with DysmsapiEmulator(clock=clock, delivery_delay=5, faults=FaultConfig(seed=20261125)) as running:
        yield running


@pytest.fixture
def client(sms):
    return sms.client()


def send(client, numbers: str = NUMBER, **fields):
    request = SendSmsRequest(phone_numbers=numbers, sign_name="阿里云", template_code="SMS_1", **fields)
    return client.send_sms(request).body


def details(client, number: str = NUMBER, send_date: str = TODAY, page_size: int = 10, page: int = 1, biz_id=None):
    request = QuerySendDetailsRequest(
        phone_number=number, send_date=send_date, page_size=page_size, current_page=page, biz_id=biz_id
    )
    return client.query_send_details(request).body


def statistics(client, start: str = TODAY, end: str = TODAY, is_globe: int = 1, **fields):
    request = QuerySendStatisticsRequest(
        is_globe=is_globe, start_date=start, end_date=end, page_index=1, page_size=50, **fields
    )
    return client.query_send_statistics(request).body


# ---- sending --------------------------------------------------------------------------------------


def test_send_sms_to_one_number(sms, client):
    body = send(client, out_id="order-1", template_param='{"code":"1234"}')
    assert (body.code, body.message) == ("OK", "OK")
    assert "^" in body.biz_id and body.request_id
    [message] = sms.state.messages(body.biz_id)
    assert (message.phone_number, message.sign_name, message.template_code, message.out_id) == (
        NUMBER,
        "阿里云",
        "SMS_1",
        "order-1",
    )
    assert message.content.startswith("【阿里云】") and message.send_time == START


def test_send_sms_to_1000_numbers_and_not_1001(sms, client):
    numbers = [f"139{i:08d}" for i in range(1001)]
    body = send(client, ",".join(numbers[:1000]))
    assert body.code == "OK"
    assert len(sms.state.messages(body.biz_id)) == 1000  # one BizId for every number
    refused = send(client, ",".join(numbers))
    assert refused.code == "isv.MOBILE_COUNT_OVER_LIMIT" and refused.biz_id is None
    assert len(sms.state.messages()) == 1000


def test_send_batch_sms(sms, client):
    request = SendBatchSmsRequest(
        phone_number_json=json.dumps([NUMBER, "13900000001"]),
        sign_name_json=json.dumps(["阿里云", "云通信"]),
        template_code="SMS_2",
        template_param_json=json.dumps([{"name": "A"}, {"name": "B"}]),
    )
    body = client.send_batch_sms(request).body
    assert body.code == "OK"
    assert [(m.phone_number, m.sign_name) for m in sms.state.messages(body.biz_id)] == [
        (NUMBER, "阿里云"),
        ("13900000001", "云通信"),
    ]
    request.sign_name_json = json.dumps(["阿里云"])
    assert client.send_batch_sms(request).body.code == "isv.INVALID_PARAMETERS"
    request.phone_number_json = "not json"
    assert client.send_batch_sms(request).body.code == "isv.INVALID_JSON_PARAM"


def test_bad_numbers_and_templates(sms, client):
    assert send(client, "12345").code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert send(client, f"{NUMBER},abc").code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert send(client, template_param='{"code": 1234}').code == "isv.INVALID_JSON_PARAM"
    sms.state.register_template("SMS_9", "您的验证码为${code}")
    assert send(client).code == "isv.SMS_TEMPLATE_ILLEGAL"
    sms.state.register_sign("其他")
    assert send(client).code == "isv.SMS_SIGNATURE_ILLEGAL"
    with pytest.raises(ClientException) as caught:
        client.send_sms(SendSmsRequest(phone_numbers=NUMBER, template_code="SMS_1"))
    assert (caught.value.code, caught.value.status_code) == ("MissingSignName", 400)


def test_throttling_is_business_limit_control(sms, client, clock):
    sms.state.rate_limits = RateLimits(per_minute=1, per_hour=2)
    assert send(client).code == "OK"
    throttled = send(client)
    assert (throttled.code, throttled.message) == (
        "isv.BUSINESS_LIMIT_CONTROL",
        f"触发分钟级流控Permits:1 ({NUMBER})",
    )
    clock.advance(60)
    assert send(client).code == "OK"
    clock.advance(60)
    assert send(client).message.startswith("触发小时级流控Permits:2")
    assert send(client, "13900000001").code == "OK"  # per number


# ---- gateway flow control ------------------------------------------------------------------------


def test_over_the_qps_limit_the_gateway_answers_throttling_user_and_applies_nothing(clock):
    with DysmsapiEmulator(clock=clock, qps=2) as sms:
        client = sms.client()
        assert [send(client).code, details(client).code] == ["OK", "OK"]  # every action counts
        with pytest.raises(TeaException) as caught:
            send(client)
        assert isinstance(caught.value, ClientException)
        assert (caught.value.code, caught.value.status_code) == ("Throttling.User", 400)
        assert caught.value.data["Message"] == "Request was denied due to user flow control."
        assert len(sms.state.messages()) == 1 and sms.throttled == 1
        clock.advance(0.5)
        with pytest.raises(ClientException):
            send(client)  # still within the second of the first two
        clock.advance(0.5)
        assert send(client).code == "OK"  # the rolling second has moved on
        sms.qps = None
        assert all(send(client).code == "OK" for _ in range(5))
        assert len(sms.state.messages()) == 7 and sms.throttled == 2


def test_a_per_action_limit_leaves_the_other_actions_alone(sms, client, clock):
    sms.action_qps = {"SendSms": 1}
    assert send(client).code == "OK"
    with pytest.raises(ClientException) as caught:
        send(client)
    assert caught.value.code == "Throttling.User"
    assert all(details(client).code == "OK" for _ in range(3))
    clock.advance(1)
    assert send(client).code == "OK" and sms.throttled == 1


# ---- QuerySendDetails -----------------------------------------------------------------------------


def test_status_waits_then_delivers_or_fails(sms, client, clock):
    sms.state.plan("13900000001", err_code="UNDELIV")
    biz_id = send(client, f"{NUMBER},13900000001", out_id="o-7").biz_id
    [waiting] = details(client).sms_send_detail_dtos.sms_send_detail_dto
    assert (waiting.send_status, waiting.err_code, waiting.receive_date) == (1, "", "")
    assert sms.state.due_outcomes() == []
    clock.advance(5)
    [delivered] = details(client, biz_id=biz_id).sms_send_detail_dtos.sms_send_detail_dto
    assert (delivered.send_status, delivered.err_code, delivered.out_id) == (3, "DELIVRD", "o-7")
    assert (delivered.send_date, delivered.receive_date) == ("2026-11-25 10:00:00", "2026-11-25 10:00:05")
    assert delivered.content == "【阿里云】SMS_1" and delivered.template_code == "SMS_1"
    [failed] = details(client, "13900000001").sms_send_detail_dtos.sms_send_detail_dto
    assert (failed.send_status, failed.err_code) == (2, "UNDELIV")
    outcomes = sms.state.due_outcomes()
    assert [(o.phone_number, o.success, o.err_code) for o in outcomes] == [
        (NUMBER, True, "DELIVERED"),
        ("13900000001", False, "UNDELIV"),
    ]
    assert outcomes[0].receipt()["biz_id"] == biz_id and outcomes[0].receipt()["sms_size"] == "1"
    assert sms.state.due_outcomes() == []  # handed out once


def test_query_send_details_pages_of_at_most_50_and_biz_id_filter(client, clock):
    biz_ids = []
    for _ in range(52):
        biz_ids.append(send(client).biz_id)
        clock.advance(1)
    first = details(client, page_size=50)
    assert first.total_count == "52" and isinstance(first.total_count, str)
    assert len(first.sms_send_detail_dtos.sms_send_detail_dto) == 50
    assert len(details(client, page_size=50, page=2).sms_send_detail_dtos.sms_send_detail_dto) == 2
    assert details(client, page_size=51).code == "isv.INVALID_PARAMETERS"
    only = details(client, biz_id=biz_ids[3])
    assert only.total_count == "1"
    assert only.sms_send_detail_dtos.sms_send_detail_dto[0].send_date == "2026-11-25 10:00:03"
    assert details(client, "+86" + NUMBER).total_count == "52"
    assert details(client, f"{NUMBER},13900000001").code == "isv.INVALID_PARAMETERS"


def test_query_send_details_30_day_window(client, clock):
    send(client)
    clock.advance(29 * 86400)
    assert details(client).total_count == "1"  # today and the 29 days before
    clock.advance(86400)
    refused = details(client)
    assert refused.code == "isv.INVALID_PARAMETERS" and "30 days" in refused.message
    tomorrow = (datetime.fromtimestamp(clock(), BEIJING) + timedelta(days=1)).strftime("%Y%m%d")
    assert details(client, send_date=tomorrow).code == "isv.INVALID_PARAMETERS"
    assert details(client, send_date="2026-11-25").code == "isv.INVALID_PARAMETERS"


# ---- QuerySendStatistics --------------------------------------------------------------------------


def test_query_send_statistics_per_day(sms, client, clock):
    sms.state.plan("13900000002", err_code="MBBLACK")
    send(client, f"{NUMBER},13900000001,13900000002")
    clock.advance(86400)
    send(client, "13900000003")
    send(client, "+447700900123")  # international: IsGlobe 2
    body = statistics(client, TODAY, "20261126")
    assert body.code == "OK" and body.data.total_size == 2
    rows = [
        (t.send_date, t.total_count, t.responded_success_count, t.responded_fail_count, t.no_responded_count)
        for t in body.data.target_list
    ]
    assert rows == [("20261125", 3, 2, 1, 0), ("20261126", 1, 0, 0, 1)]
    assert [t.total_count for t in statistics(client, TODAY, "20261126", is_globe=2).data.target_list] == [1]
    assert statistics(client, "20261126", TODAY).code == "isv.INVALID_PARAMETERS"
    assert statistics(client, sign_name="其他").data.total_size == 0


# ---- authentication, faults, unknown actions ------------------------------------------------------


@pytest.mark.parametrize("signature_algorithm", [None, "v2"], ids=["acs3", "v1"])
def test_bad_signature_and_unknown_key(sms, signature_algorithm):
    extra = {} if signature_algorithm is None else {"signature_algorithm": signature_algorithm}
    with pytest.raises(ClientException) as caught:
        send(sms.client(access_key_secret="wrong", **extra))
    assert (caught.value.code, caught.value.status_code) == ("SignatureDoesNotMatch", 400)
    with pytest.raises(ClientException) as caught:
        send(sms.client(access_key_id="LTAI-nobody", **extra))
    assert (caught.value.code, caught.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)
    assert sms.state.messages() == []
    assert send(sms.client(**extra)).code == "OK"


def test_fault_injection(sms, client):
    sms.faults.set(api="SendSms", server_busy=1.0)
    with pytest.raises(ServerException) as caught:
        client.send_sms_with_options(
            SendSmsRequest(phone_numbers=NUMBER, sign_name="阿里云", template_code="SMS_1"),
            RuntimeOptions(autoretry=False),
        )
    assert (caught.value.code, caught.value.status_code) == ("ServiceUnavailable", 503)
    assert sms.state.messages() == []
    sms.faults.set(api="SendSms", server_busy=0.0, lost_response=1.0)
    with pytest.raises(Exception):  # noqa: B017 - the connection closes without a reply
        client.send_sms_with_options(
            SendSmsRequest(phone_numbers=NUMBER, sign_name="阿里云", template_code="SMS_1"),
            RuntimeOptions(autoretry=False),
        )
    assert len(sms.state.messages()) == 1  # a lost response has sent
    assert details(client).total_count == "1"  # other APIs keep the global entry (no faults)
    assert sms.requests["SendSms"] == 2


def test_unknown_action_fails_loudly(sms):
    connection = http.client.HTTPConnection("127.0.0.1", sms.port, timeout=10)
    try:
        connection.request("POST", "/?Action=AddSmsSign&Version=2017-05-25")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert (response.status, body["Code"]) == (404, "InvalidApi.NotFound")
    assert body["HostId"] == "dysmsapi.aliyuncs.com"
