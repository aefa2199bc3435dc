"""What a QuerySendDetails detail becomes (pure), the reconciler's settings, and its rate limiter."""

from __future__ import annotations

import pytest

from sms_receipts.parsing import MessageType, Source, decode_items
from sms_receipts.parsing.models import UNRESOLVED_ERR_CODE
from sms_receipts.reconcile.answers import answer_receipt, unresolved_receipt
from sms_receipts.reconcile.api import RateLimiter, is_throttling
from sms_receipts.reconcile.settings import ReconcileSettings
from sms_receipts.settings import ConfigurationError
from sms_receipts.storage.rules import state_change

REPORT = {  # the receipt the service pushes (receipt-formats.md), for the detail below
    "phone_number": "13800000001",
    "send_time": "2026-12-07 12:00:00",
    "report_time": "2026-12-07 12:00:05",
    "success": True,
    "err_code": "DELIVERED",
    "err_msg": "用户接收成功",
    "sms_size": "1",
    "biz_id": "100000796616000^0",
    "out_id": "order-7",
}
DETAIL = {  # its QuerySendDetails detail (reconciliation.md §5): no BizId, DELIVRD, the same times
    "PhoneNum": "13800000001",
    "SendStatus": 3,
    "ErrCode": "DELIVRD",
    "TemplateCode": "SMS_1",
    "Content": "【阿里云】SMS_1",
    "SendDate": "2026-12-07 12:00:00",
    "ReceiveDate": "2026-12-07 12:00:05",
    "OutId": "order-7",
}


def parsed(receipt: dict, source: Source = Source.QUERY):
    decoded = decode_items([receipt], MessageType.SMS_REPORT, source)
    assert not decoded.rejected, decoded.rejected
    return decoded.items[0]


def test_a_delivered_detail_is_the_report_itself():
    answer = answer_receipt(REPORT["biz_id"], "13800000001", DETAIL)
    assert answer is not None and answer["err_code"] == "DELIVERED" and answer["query"] == DETAIL
    assert parsed(answer).idempotency_key == parsed(REPORT, Source.HTTP).idempotency_key


def test_a_failed_detail_keeps_the_carriers_code_and_the_number_asked_about():
    detail = {**DETAIL, "SendStatus": 2, "ErrCode": "MBBLACK", "PhoneNum": "8613800000001"}
    answer = answer_receipt("1^0", "13800000001", detail)
    assert answer is not None
    item = parsed(answer)
    assert (item.record.success, item.record.err_code, item.record.phone_number) == (False, "MBBLACK", "13800000001")
    assert state_change(item).status == "failed"


@pytest.mark.parametrize("status", [1, "1", None, "x", 4])
def test_a_detail_still_awaiting_its_report_is_no_receipt(status):
    assert answer_receipt("1^0", "13800000001", {**DETAIL, "SendStatus": status, "ErrCode": ""}) is None


def test_unresolved_is_final_unknown_and_ranks_below_every_report():
    verdict = parsed(unresolved_receipt("1^0", "13800000001", "no report within 72 h"))
    change = state_change(verdict)
    assert (change.status, change.is_final, change.version) == ("unknown", True, 0)
    assert verdict.record.err_code == UNRESOLVED_ERR_CODE and verdict.record.err_msg == "no report within 72 h"
    failed = parsed({**REPORT, "success": False, "err_code": "UNDELIV", "report_time": None, "send_time": None})
    assert state_change(failed).version > change.version  # even a report with no time at all


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SMS_RECEIPTS_SMS_ENDPOINT"),
        ({"SMS_RECEIPTS_SMS_PROTOCOL": "ftp"}, "SMS_RECEIPTS_SMS_PROTOCOL"),
        ({"SMS_RECEIPTS_RECONCILE_MAX_AGE_HOURS": "800"}, "SMS_RECEIPTS_RECONCILE_MAX_AGE_HOURS"),
        ({"SMS_RECEIPTS_RECONCILE_GRACE_SECONDS": "-1"}, "SMS_RECEIPTS_RECONCILE_GRACE_SECONDS"),
        ({"SMS_RECEIPTS_RECONCILE_QPS": "fast"}, "SMS_RECEIPTS_RECONCILE_QPS"),
        ({"SMS_RECEIPTS_RECONCILE_CONCURRENCY": "0"}, "SMS_RECEIPTS_RECONCILE_CONCURRENCY"),
    ],
)
def test_a_bad_setting_names_its_variable(env, variable):
    base = {} if variable == "SMS_RECEIPTS_SMS_ENDPOINT" else {"SMS_RECEIPTS_SMS_ENDPOINT": "dysmsapi.aliyuncs.com"}
    with pytest.raises(ConfigurationError, match=variable):
        ReconcileSettings.from_env({**base, **env})


def test_the_defaults():
    settings = ReconcileSettings.from_env({"SMS_RECEIPTS_SMS_ENDPOINT": "dysmsapi.aliyuncs.com"})
    assert (settings.sms_protocol, settings.grace_seconds, settings.max_age_hours) == ("https", 1200, 72)
    assert (settings.concurrency, settings.qps) == (32, 500)


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_limiter_spaces_permits_and_a_pause_holds_them_all():
    time = FakeTime()
    limiter = RateLimiter(10, time, time.sleep)
    for _ in range(5):
        assert limiter.acquire(deadline=100)
    assert time.now == pytest.approx(0.4)  # 10 a second: the fifth waits 0.4 s
    limiter.pause(2.0)
    assert limiter.acquire(deadline=100) and time.now == pytest.approx(2.4)
    assert not limiter.acquire(deadline=time.now)  # the next permit is after the deadline: none taken


@pytest.mark.parametrize(
    ("code", "throttled"),
    [
        ("Throttling.User", True),
        ("Throttling", True),
        ("isv.BUSINESS_LIMIT_CONTROL", True),
        ("ServiceUnavailable", True),
        ("isv.MOBILE_NUMBER_ILLEGAL", False),
        ("Forbidden.RAM", False),
    ],
)
def test_which_codes_back_off(code, throttled):
    assert is_throttling(code) is throttled
