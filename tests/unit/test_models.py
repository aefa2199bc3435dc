"""Receipt models: every documented variant validates to the same normalised record."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from sms_receipts.parsing import (
    CHINA_TZ,
    MODELS,
    GlobeSmsReport,
    IntlSmsReport,
    MessageType,
    MnsCardTemplate,
    MnsCardVender,
    SignSmsReport,
    SmsReport,
    SmsUp,
    TemplateSmsReport,
    entity_key,
    idempotency_key,
    record_dict,
)
from sms_receipts.parsing.times import ReceiptTimeError

from helpers import load_json


def china(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ)


def error_locations(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in excinfo.value.errors()}


def test_models_map_each_message_type_to_its_model():
    assert {
        MessageType.SMS_REPORT: SmsReport,
        MessageType.SMS_UP: SmsUp,
        MessageType.SIGN_SMS_REPORT: SignSmsReport,
        MessageType.TEMPLATE_SMS_REPORT: TemplateSmsReport,
        MessageType.MNS_CARD_VENDER: MnsCardVender,
        MessageType.MNS_CARD_TEMPLATE: MnsCardTemplate,
        MessageType.GLOBE_SMS_REPORT: GlobeSmsReport,
        MessageType.INTL_SMS_REPORT: IntlSmsReport,
    } == MODELS
    for message_type, model in MODELS.items():
        assert model.message_type is message_type


# ---------------------------------------------------------------------------------------------
# SmsReport
# ---------------------------------------------------------------------------------------------


def test_sms_report_fields():
    r = SmsReport.model_validate(load_json("http/sms_report_single.json")[0])
    assert r.biz_id == "900619746936498440^0"
    assert r.phone_number == "13800138000"
    assert r.success is True
    assert (r.send_time, r.report_time) == ("2021-09-06 15:49:55", "2021-09-06 15:49:58")  # the receipt's text
    assert r.moment("send_time") == r.sent_at == china(2021, 9, 6, 15, 49, 55)
    assert r.moment("report_time") == r.reported_at == china(2021, 9, 6, 15, 49, 58)
    assert r.sent_at.utcoffset().total_seconds() == 8 * 3600
    assert r.err_code == "DELIVERED"
    assert r.err_msg == "用户接收成功"
    assert r.sms_size == 1
    assert r.out_id == "order-20210906-0001"
    assert r.delivery_status == "delivered"
    assert r.is_final is True
    assert r.model_extra == {}


def test_sms_report_http_and_mns_spellings_validate_to_equal_records():
    http = SmsReport.model_validate(load_json("http/sms_report_single.json")[0])
    mns = SmsReport.model_validate(load_json("alicom/sms_report.json"))
    assert http == mns


def test_sms_report_failures_keep_the_carrier_code_as_text():
    undeliv, powered_off = (SmsReport.model_validate(i) for i in load_json("http/sms_report_failed.json"))
    assert (undeliv.success, undeliv.err_code, undeliv.err_msg) == (False, "UNDELIV", "用户未接收")
    assert (powered_off.err_code, powered_off.err_msg) == ("-37", "关机")
    assert undeliv.delivery_status == powered_off.delivery_status == "failed"
    assert undeliv.is_final and powered_off.is_final


def test_sms_report_expired_codes_in_either_spelling_and_case():
    expired, expird = (SmsReport.model_validate(i) for i in load_json("http/sms_report_expired.json"))
    assert expired.err_code == "EXPIRED" and expired.delivery_status == "expired"
    assert expird.err_code == "expird" and expird.delivery_status == "expired"
    assert expired.is_final


def test_sms_report_success_wins_over_any_code():
    item = {**load_json("http/sms_report_expired.json")[0], "success": True}
    assert SmsReport.model_validate(item).delivery_status == "delivered"


def test_sms_report_numbers_become_their_exact_digits():
    numeric = SmsReport.model_validate(load_json("http/sms_report_numbers.json")[0])
    text = SmsReport.model_validate(load_json("http/sms_report_strings.json")[0])
    assert numeric.biz_id == "12345"
    assert numeric.out_id == "67890"
    assert numeric.err_code == "-37"
    assert numeric.phone_number == "13800138000"
    assert numeric.sms_size == 2
    assert numeric == text


def test_sms_report_opaque_ids_keep_their_exact_text():
    r = SmsReport.model_validate(load_json("http/sms_report_opaque_ids.json")[0])
    assert r.biz_id == "1234^345"
    assert r.out_id == "007"
    assert r.err_code == "-37"
    assert r.phone_number == "1381111****"
    dumped = record_dict(r)
    assert (dumped["biz_id"], dumped["out_id"], dumped["err_code"]) == ("1234^345", "007", "-37")


def test_sms_report_large_biz_id_number_keeps_every_digit():
    item = {"biz_id": 900619746936498440123, "phone_number": "13800138000", "success": True}
    assert SmsReport.model_validate(item).biz_id == "900619746936498440123"


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("2", 2), (2, 2), (3, 3), ("", None), (None, None)])
def test_sms_report_sms_size_string_or_number(raw, expected):
    item = {"biz_id": "1", "phone_number": "13800138000", "success": True, "sms_size": raw}
    assert SmsReport.model_validate(item).sms_size == expected


def test_sms_report_sms_size_fixture():
    two, three = (SmsReport.model_validate(i) for i in load_json("http/sms_report_sms_size.json"))
    assert (two.sms_size, three.sms_size) == (2, 3)


def test_sms_report_out_id_missing_null_or_empty_is_none():
    records = [SmsReport.model_validate(i) for i in load_json("http/sms_report_out_id_missing_null_empty.json")]
    assert [r.out_id for r in records] == [None, None, ""]  # an empty text stays on the record as it came
    assert [record_dict(r)["out_id"] for r in records] == [None, None, None]
    assert "out_id" not in records[0].model_extra


def test_sms_report_every_optional_field_may_be_missing_null_or_empty():
    optional = ("send_time", "report_time", "err_code", "err_msg", "sms_size", "out_id")
    for item in load_json("http/sms_report_optional_fields_absent.json"):
        r = SmsReport.model_validate(item)
        assert [record_dict(r)[name] for name in optional] == [None] * 6
        assert (r.sent_at, r.reported_at, r.sms_size) == (None, None, None)
        texts = ("send_time", "report_time", "err_code", "err_msg", "out_id")
        assert [getattr(r, name) for name in texts] == ["" if item.get(name) == "" else None for name in texts]
        assert r.biz_id == "777^0"
        assert r.model_extra == {}


def test_sms_report_unknown_fields_are_kept_on_the_record_and_in_its_dump():
    r = SmsReport.model_validate(load_json("http/sms_report_extra_fields.json")[0])
    assert r.model_extra == {"carrier": "中国移动", "x_trace": {"hops": [1, 2], "gateway": "GW-3"}, "retry_count": 0}
    dumped = record_dict(r)
    assert dumped["carrier"] == "中国移动"
    assert dumped["x_trace"] == {"hops": [1, 2], "gateway": "GW-3"}
    assert dumped["retry_count"] == 0


def test_sms_report_success_as_text_is_accepted_leniently():
    base = {"biz_id": "1", "phone_number": "13800138000"}
    assert SmsReport.model_validate({**base, "success": "true"}).success is True
    assert SmsReport.model_validate({**base, "success": "false"}).success is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"biz_id": None}, "biz_id"),
        ({"biz_id": ""}, "biz_id"),
        ({"success": "perhaps"}, "success"),
        ({"success": None}, "success"),
        ({"sms_size": "two"}, "sms_size"),
        ({"biz_id": {"id": 1}}, "biz_id"),
        ({"send_time": 1630914595}, "send_time"),  # a number is no time
        ({"report_time": "2021-09-06 15:49"}, "report_time"),
    ],
)
def test_sms_report_invalid_fields_are_named(change, field):
    item = {**load_json("http/sms_report_single.json")[0], **change}
    with pytest.raises(ValidationError) as caught:
        SmsReport.model_validate(item)
    assert error_locations(caught) == {field}


def test_sms_report_missing_required_fields_are_named():
    with pytest.raises(ValidationError) as caught:
        SmsReport.model_validate({"err_msg": "用户接收成功"})
    assert error_locations(caught) == {"biz_id", "success"}  # phone_number is optional (ask/217930)


def test_sms_report_unreadable_time_names_the_field_and_the_text():
    item = {**load_json("http/sms_report_single.json")[0], "report_time": "2021/09/06 15:49"}
    with pytest.raises(ValidationError) as caught:
        SmsReport.model_validate(item)
    message = str(caught.value)
    assert "report_time" in message and "'2021/09/06 15:49'" in message


def test_validation_leaves_the_callers_dict_untouched():
    item = load_json("http/sms_report_out_id_missing_null_empty.json")[2]
    before = dict(item)
    SmsReport.model_validate(item)
    assert item == before


def test_records_are_frozen():
    r = SmsReport.model_validate(load_json("http/sms_report_single.json")[0])
    with pytest.raises(ValidationError):
        r.biz_id = "other"


# ---------------------------------------------------------------------------------------------
# SmsUp
# ---------------------------------------------------------------------------------------------


def test_sms_up_fields():
    r = SmsUp.model_validate(load_json("http/sms_up_sequence_id_string.json")[0])
    assert r.phone_number == "13800138000"
    assert r.content == "退订 谢谢"
    assert r.send_time == "2021-09-06 16:00:00"
    assert r.moment("send_time") == r.sent_at == china(2021, 9, 6, 16, 0, 0)
    assert r.dest_code == "1234"
    assert r.sequence_id == "1234567890"
    assert r.sign_name is None


def test_sms_up_sequence_id_number_string_and_gson_double_agree():
    as_string = SmsUp.model_validate(load_json("http/sms_up_sequence_id_string.json")[0])
    as_number = SmsUp.model_validate(load_json("http/sms_up_sequence_id_number.json")[0])
    as_double = SmsUp.model_validate(load_json("alicom/sms_up.json"))  # 1.23456789E9, compact send_time
    assert as_string.sequence_id == as_number.sequence_id == as_double.sequence_id == "1234567890"
    assert as_string == as_number
    # The MNS one spells its time `20210906160000`: kept as text, the same instant.
    assert (as_double.send_time, as_double.sent_at) == ("20210906160000", as_string.sent_at)
    assert record_dict(as_string) == record_dict(as_number) == record_dict(as_double)


def test_sms_up_sequence_id_never_goes_through_a_float():
    batch = [SmsUp.model_validate(i) for i in load_json("http/sms_up_batch.json")]
    assert batch[1].sequence_id == "9007199254740993"  # 2**53 + 1: a float would make it ...992
    assert batch[2].sequence_id == "0001234567"  # a string keeps its leading zeros
    big = SmsUp.model_validate({"phone_number": "1", "content": "x", "sequence_id": 123456789012345678901234567890})
    assert big.sequence_id == "123456789012345678901234567890"


@pytest.mark.parametrize("value", [1.5, 1e20, float(2**53)])
def test_sms_up_sequence_id_float_that_is_not_an_exact_whole_number_is_rejected(value):
    with pytest.raises(ValidationError) as caught:
        SmsUp.model_validate({"phone_number": "1", "content": "x", "sequence_id": value})
    assert error_locations(caught) == {"sequence_id"}
    assert "whole number" in str(caught.value)


def test_sms_up_with_and_without_sign_name():
    old = SmsUp.model_validate(load_json("http/sms_up_with_sign_name.json")[0])
    assert old.sign_name == "【阿里云】"
    assert old.sequence_id == "1234567890"
    assert (old.send_time, old.sent_at) == ("2017-09-01 00:00:00", china(2017, 9, 1))
    new = SmsUp.model_validate(load_json("http/sms_up_sequence_id_string.json")[0])
    assert new.sign_name is None


def test_sms_up_send_time_in_both_formats():
    dashed = SmsUp.model_validate(load_json("http/sms_up_sequence_id_string.json")[0])
    compact = SmsUp.model_validate(load_json("http/sms_up_compact_send_time.json")[0])
    assert (dashed.send_time, compact.send_time) == ("2021-09-06 16:00:00", "20210906160000")
    assert dashed.sent_at == compact.sent_at == china(2021, 9, 6, 16, 0, 0)
    assert compact.sent_at.utcoffset().total_seconds() == 8 * 3600
    assert record_dict(dashed)["send_time"] == record_dict(compact)["send_time"] == "2021-09-06T16:00:00+08:00"


def test_sms_up_without_sequence_id_needs_a_send_time():
    r = SmsUp.model_validate(load_json("http/sms_up_without_sequence_id.json")[0])
    assert r.sequence_id is None and r.sent_at == china(2021, 9, 6, 16, 5)
    with pytest.raises(ValidationError, match="sequence_id or send_time"):
        SmsUp.model_validate({"phone_number": "13800138000", "content": "x", "sequence_id": "", "send_time": None})


def test_sms_up_emoji_and_chinese_content_survive():
    r = SmsUp.model_validate(load_json("http/sms_up_batch.json")[2])
    assert r.content == "请回电 😀"
    assert record_dict(r)["content"] == "请回电 😀"


# ---------------------------------------------------------------------------------------------
# Sign / Template audits
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["approving", "approved", "rejected"])
def test_sign_sms_report_statuses_and_http_order_id(status):
    r = SignSmsReport.model_validate(load_json(f"http/sign_sms_report_{status}.json")[0])
    assert r.sign_status == status
    assert r.sign_name == "阿里云短信测试"
    assert r.order_id == "2000015184"
    assert (r.create_date, r.created_at) == ("2021-09-01 10:00:00", china(2021, 9, 1, 10, 0, 0))
    assert r.sign_source == "企事业单位的全称或简称"
    assert r.sign_scene == "通用"
    assert r.remark == "用于登录验证码"
    reason = "签名来源证明材料不清晰，请重新上传" if status == "rejected" else None
    assert r.reason == (reason or "")  # the fixtures send "" when there is no reason
    assert record_dict(r)["reason"] == reason
    assert "orderId" not in r.model_extra and "orderId" not in record_dict(r)


def test_sign_sms_report_mns_order_id_gives_the_same_record():
    http = SignSmsReport.model_validate(load_json("http/sign_sms_report_approved.json")[0])
    mns = SignSmsReport.model_validate(load_json("alicom/sign_sms_report.json"))
    assert mns.order_id == "2000015184"
    assert http == mns
    assert record_dict(mns)["order_id"] == "2000015184"


@pytest.mark.parametrize("status", ["approving", "approved", "rejected"])
def test_template_sms_report_statuses_and_http_order_id(status):
    r = TemplateSmsReport.model_validate(load_json(f"http/template_sms_report_{status}.json")[0])
    assert r.template_status == status
    assert r.template_code == "SMS_123123242"
    assert r.order_id == "205101"
    assert r.template_type == "验证码"
    assert r.template_name == "登录验证码"
    assert r.template_content == "您的验证码为：${code}，5分钟内有效。"
    assert (r.create_date, r.created_at) == ("2021-09-01 10:05:00", china(2021, 9, 1, 10, 5, 0))
    reason = "模板内容含营销信息，请选择推广短信" if status == "rejected" else None
    assert r.reason == (reason or "")  # the fixtures send "" when there is no reason
    assert record_dict(r)["reason"] == reason


def test_template_sms_report_mns_order_id_gives_the_same_record():
    http = TemplateSmsReport.model_validate(load_json("http/template_sms_report_approved.json")[0])
    mns = TemplateSmsReport.model_validate(load_json("alicom/template_sms_report.json"))
    assert mns.order_id == "205101" and http == mns


@pytest.mark.parametrize(
    ("model", "item", "fields"),
    [
        (SignSmsReport, {"sign_name": "x"}, {"sign_status"}),
        (SignSmsReport, {"sign_name": "", "sign_status": "approved"}, {"sign_name"}),
        (TemplateSmsReport, {"template_status": "approved"}, {"template_code"}),
    ],
)
def test_audit_reports_name_their_missing_fields(model, item, fields):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(item)
    assert error_locations(caught) == fields


# ---------------------------------------------------------------------------------------------
# Card SMS
# ---------------------------------------------------------------------------------------------


def test_mns_card_vender_render_status_string_or_number_and_out_id_string_or_number():
    as_string = MnsCardVender.model_validate(load_json("http/mns_card_vender_render_status_string.json")[0])
    as_number = MnsCardVender.model_validate(load_json("http/mns_card_vender_render_status_number.json")[0])
    mns = MnsCardVender.model_validate(load_json("alicom/mns_card_vender.json"))  # outId 205101, "0"
    for r in (as_string, as_number, mns):
        assert (r.outId, r.mobile, r.render_status, r.desc) == ("205101", "13687451234", 0, "审核通过")
    assert as_string == as_number == mns


def test_mns_card_vender_render_status_not_a_number_is_named():
    with pytest.raises(ValidationError) as caught:
        MnsCardVender.model_validate({"outId": "1", "mobile": "1", "render_status": "ok"})
    assert error_locations(caught) == {"render_status"}


def test_mns_card_template_vendor_results():
    r = MnsCardTemplate.model_validate(load_json("http/mns_card_template_mixed_states.json")[0])
    assert r.template_code == "CARD_SMS_8872"
    assert r.approval_status == 2
    assert r.extData == {}
    assert r.desc == "MEIZU不通过:驳回\r\nOPPO通过\r\nXIAOMI审核中"
    assert [(op.vendorCode, op.state, op.desc) for op in r.tmpOps] == [
        ("MEIZU", 2, "驳回：图片不清晰"),
        ("OPPO", 1, "通过"),
        ("XIAOMI", 0, "审核中"),
    ]
    assert record_dict(r)["tmpOps"][0] == {"vendorCode": "MEIZU", "state": 2, "desc": "驳回：图片不清晰"}


def test_mns_card_template_bad_vendor_entry_is_located():
    item = {**load_json("alicom/mns_card_template.json")}
    item["tmpOps"] = [*item["tmpOps"], {"state": 1}]
    with pytest.raises(ValidationError) as caught:
        MnsCardTemplate.model_validate(item)
    assert error_locations(caught) == {"tmpOps.3.vendorCode"}


# ---------------------------------------------------------------------------------------------
# International
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "normalised"), [("1", "delivered"), ("2", "failed"), ("6", "expired")])
def test_intl_sms_report_status(status, normalised):
    items = {i["Status"]: i for i in load_json("http/intl_sms_report_batch.json")}
    r = IntlSmsReport.model_validate(items[status])
    assert r.status == status
    assert r.delivery_status == normalised
    assert r.is_final is True


def test_intl_sms_report_pascal_case_fields():
    r = IntlSmsReport.model_validate(load_json("http/intl_sms_report_batch.json")[0])
    assert r.message_id == "1008030300123456789"
    assert r.to == "85212345678"
    assert r.sms_size == 1
    assert r.task_id == "67890"
    assert (r.send_date, r.receive_date) == ("Thu, 25 Nov 2021 10:27:00 +0800", "Thu, 25 Nov 2021 10:27:33 +0800")
    assert r.moment("send_date") == r.sent_at == china(2021, 11, 25, 10, 27, 0)
    assert r.moment("receive_date") == r.received_at == china(2021, 11, 25, 10, 27, 33)
    assert r.sent_at.utcoffset().total_seconds() == 8 * 3600
    assert (r.error_code, r.error_description) == ("success", "success")
    assert record_dict(r) == {
        "message_id": "1008030300123456789",
        "status": "1",
        "to": "85212345678",
        "sms_size": 1,
        "task_id": "67890",
        "send_date": "2021-11-25T10:27:00+08:00",
        "receive_date": "2021-11-25T10:27:33+08:00",
        "error_code": "success",
        "error_description": "success",
        "delivery_status": "delivered",
        "is_final": True,
    }


def test_intl_sms_report_without_task_id_over_mns():
    r = IntlSmsReport.model_validate(load_json("alicom/intl_sms_report.json"))
    assert r.task_id is None
    assert r.message_id == "1008030300123456789"


def test_intl_unknown_status_is_not_final():
    r = IntlSmsReport.model_validate({"MessageId": "1", "Status": "9"})
    assert (r.delivery_status, r.is_final) == ("unknown", False)


def test_intl_message_id_as_number_keeps_its_digits():
    r = IntlSmsReport.model_validate({"MessageId": 1008030300123456789, "Status": 1})
    assert (r.message_id, r.status, r.delivery_status) == ("1008030300123456789", "1", "delivered")


def test_globe_sms_report_fields():
    r = GlobeSmsReport.model_validate(load_json("alicom/globe_sms_report.json"))
    assert r.to == "8613423512345"
    assert r.message_id == "12441353"
    assert r.status == "2"
    assert (r.send_date, r.sent_at) == ("2021-06-01 10:00:00", china(2021, 6, 1, 10, 0, 0))
    assert (r.receive_date, r.received_at) == ("2021-06-01 10:00:05", china(2021, 6, 1, 10, 0, 5))
    assert (r.error_code, r.error_description) == ("SP_UNKNOW_ERROR", "运营商未知错误")
    assert (r.delivery_status, r.is_final) == ("failed", True)
    delivered = GlobeSmsReport.model_validate({**load_json("alicom/globe_sms_report.json"), "status": 1})
    assert (delivered.status, delivered.delivery_status) == ("1", "delivered")


def test_record_dict_adds_delivery_status_only_to_delivery_reports():
    sign = record_dict(SignSmsReport.model_validate(load_json("alicom/sign_sms_report.json")))
    assert "delivery_status" not in sign and "is_final" not in sign
    report = record_dict(SmsReport.model_validate(load_json("alicom/sms_report.json")))
    assert (report["delivery_status"], report["is_final"]) == ("delivered", True)
    assert report["send_time"] == "2021-09-06T15:49:55+08:00"


# ---------------------------------------------------------------------------------------------
# Times as text, read as aware datetimes
# ---------------------------------------------------------------------------------------------


def test_every_model_lists_its_time_fields():
    assert {model.__name__: model.time_fields for model in MODELS.values()} == {
        "SmsReport": ("send_time", "report_time"),
        "SmsUp": ("send_time",),
        "SignSmsReport": ("create_date",),
        "TemplateSmsReport": ("create_date",),
        "MnsCardVender": (),
        "MnsCardTemplate": (),
        "GlobeSmsReport": ("send_date", "receive_date"),
        "IntlSmsReport": ("send_date", "receive_date"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-06 15:49:55", china(2021, 9, 6, 15, 49, 55)),
        ("2021-09-06T15:49:55", china(2021, 9, 6, 15, 49, 55)),
        ("20210906154955", china(2021, 9, 6, 15, 49, 55)),
        ("2021-09-06T07:49:55Z", datetime(2021, 9, 6, 7, 49, 55, tzinfo=timezone.utc)),
        ("2021-09-06 15:49:55+08:00", china(2021, 9, 6, 15, 49, 55)),
        ("2021-09-06 15:49:55.250", china(2021, 9, 6, 15, 49, 55, 250000)),
        ("Mon, 06 Sep 2021 15:49:55 +0800", china(2021, 9, 6, 15, 49, 55)),
        ("Mon, 6 Sep 2021 07:49:55 GMT", datetime(2021, 9, 6, 7, 49, 55, tzinfo=timezone.utc)),
        ("Mon, 06 Sep 2021 07:49:55 -0000", datetime(2021, 9, 6, 7, 49, 55, tzinfo=timezone.utc)),
        ("Mon, 06 Sep 2021 15:49:55", china(2021, 9, 6, 15, 49, 55)),
    ],
)
def test_a_time_keeps_its_text_and_reads_as_an_aware_datetime(text, expected):
    r = SmsReport.model_validate({"biz_id": "1", "phone_number": "2", "success": True, "report_time": text})
    assert r.report_time == text
    moment = r.moment("report_time")
    assert moment == r.reported_at == expected
    assert moment.utcoffset() == expected.utcoffset()
    assert r.moment("send_time") is r.sent_at is None


def test_record_dict_writes_times_as_aware_iso_8601():
    r = IntlSmsReport.model_validate(
        {"MessageId": "1", "Status": "1", "SendDate": "Thu, 25 Nov 2021 02:27:00 GMT", "ReceiveDate": ""}
    )
    assert (r.sent_at, r.received_at) == (datetime(2021, 11, 25, 2, 27, tzinfo=timezone.utc), None)
    dumped = record_dict(r)
    assert (dumped["send_date"], dumped["receive_date"]) == ("2021-11-25T02:27:00Z", None)
    fraction = SmsUp.model_validate({"phone_number": "1", "content": "x", "send_time": "2017-01-01 00:00:00.250"})
    assert record_dict(fraction)["send_time"] == "2017-01-01T00:00:00.250000+08:00"


@pytest.mark.parametrize(
    "text",
    [
        " 2021-09-06 15:49:55",
        "2021-09-06 15:49:55 ",
        "2021/09/06 15:49:55",
        "2021-09-06 15:49",
        "2021-9-6 15:49:55",
        "202109061549",
        "2021-09-06 15:49:55.25",
        "2021-09-06 15:49:55+0800",
        "thu, 25 Nov 2021 10:27:00 +0800",
        "25 Nov 2021 10:27:00 +0800",
        "Thu, 25 November 2021 10:27:00 +0800",
        "Thu, 25 Nov 2021 10:27:00 CST",
        "２０２１-09-06 15:49:55",
        "yesterday",
        "1630914595",
    ],
)
def test_a_time_of_another_shape_is_rejected_naming_the_field_and_the_text(text):
    with pytest.raises(ValidationError) as caught:
        GlobeSmsReport.model_validate({"message_id": "1", "status": "1", "receive_date": text})
    assert error_locations(caught) == {"receive_date"}
    assert repr(text) in str(caught.value) and "yyyy-MM-dd HH:mm:ss" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "2021-02-30 10:00:00",
        "2021-13-01 10:00:00",
        "20211301000000",
        "2021-09-06 24:00:00",
        "Tue, 31 Feb 2021 10:00:00 +0800",
    ],
)
def test_a_time_of_the_right_shape_that_does_not_exist_fails_when_read_naming_the_field(text):
    # The pattern checks the shape in pydantic-core; reading the time checks the calendar (and the
    # decoders read every time: see test_envelopes).
    r = IntlSmsReport.model_validate({"MessageId": "1", "Status": "1", "SendDate": text})
    assert r.send_date == text
    with pytest.raises(ReceiptTimeError) as caught:
        r.moment("send_date")
    assert str(caught.value).startswith(f"SendDate: unreadable time {text!r}")  # the wire name
    with pytest.raises(ReceiptTimeError, match=r"^SendDate: "):
        idempotency_key(r)


def test_moment_names_the_time_fields_when_asked_for_another():
    r = SmsReport.model_validate(load_json("http/sms_report_single.json")[0])
    with pytest.raises(ValueError, match="'err_code' is not a time field of SmsReport: send_time, report_time"):
        r.moment("err_code")


# ---------------------------------------------------------------------------------------------
# "" for an optional field
# ---------------------------------------------------------------------------------------------


def test_empty_numbers_and_objects_are_none_on_the_record():
    vender = MnsCardVender.model_validate({"outId": "1", "mobile": "2", "render_status": ""})
    intl = IntlSmsReport.model_validate({"MessageId": "1", "Status": "1", "SmsSize": ""})
    template = MnsCardTemplate.model_validate(
        {"template_code": "C", "approval_status": 1, "extData": "", "tmpOps": [{"vendorCode": "OPPO", "state": ""}]}
    )
    assert (vender.render_status, intl.sms_size, template.extData, template.tmpOps[0].state) == (None,) * 4
    assert record_dict(vender)["render_status"] is None and record_dict(intl)["sms_size"] is None
    assert record_dict(template)["tmpOps"] == [{"vendorCode": "OPPO", "state": None, "desc": None}]
    assert MnsCardTemplate.model_validate({"template_code": "C", "approval_status": 1, "tmpOps": ""}).tmpOps == []
    # ... and the same receipt as when the field is missing
    assert vender == MnsCardVender.model_validate({"outId": "1", "mobile": "2"})
    assert idempotency_key(vender) == idempotency_key(MnsCardVender.model_validate({"outId": "1", "mobile": "2"}))


@pytest.mark.parametrize(
    ("model", "item", "field"),
    [
        (MnsCardVender, {"outId": "1", "mobile": "2", "render_status": " "}, "render_status"),
        (IntlSmsReport, {"MessageId": "1", "Status": "1", "SmsSize": "1.5"}, "SmsSize"),
        (MnsCardTemplate, {"template_code": "C", "approval_status": 1, "extData": "x"}, "extData"),
        (MnsCardTemplate, {"template_code": "C", "approval_status": ""}, "approval_status"),  # required
    ],
)
def test_a_number_or_object_that_is_neither_valid_nor_empty_is_named(model, item, field):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(item)
    assert error_locations(caught) == {field}


def test_empty_texts_stay_on_the_record_and_read_as_absent():
    item = {**load_json("http/sms_report_single.json")[0], "err_code": "", "out_id": "", "send_time": ""}
    empty = SmsReport.model_validate(item)
    absent = SmsReport.model_validate({k: v for k, v in item.items() if v != ""})
    assert (empty.err_code, empty.out_id, empty.send_time, empty.sent_at) == ("", "", "", None)
    assert record_dict(empty) == record_dict(absent)
    assert (idempotency_key(empty), entity_key(empty)) == (idempotency_key(absent), entity_key(absent))


# ---------------------------------------------------------------------------------------------
# The legacy international SmsReport (BizId / SendStatus), doc-detail/73871 and doc-detail/162962
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "status", "normalised", "final"),
    [(0, 3, "delivered", True), (1, 2, "failed", True), (2, 1, "pending", False)],
)
def test_legacy_intl_sms_report_statuses(position, status, normalised, final):
    from sms_receipts.parsing import LegacyIntlSmsReport

    r = LegacyIntlSmsReport.model_validate(load_json("http/intl_sms_report_legacy_2019.json")[position])
    assert (r.send_status, r.delivery_status, r.is_final) == (status, normalised, final)
    assert r.message_type is MessageType.INTL_SMS_REPORT and r.type_name == "IntlSmsReport"
    assert LegacyIntlSmsReport.model_validate({"BizId": "1", "SendStatus": 7}).delivery_status == "unknown"


def test_legacy_intl_sms_report_fields_and_both_date_spellings():
    from sms_receipts.parsing import LegacyIntlSmsReport

    slashed = LegacyIntlSmsReport.model_validate(load_json("http/intl_sms_report_legacy_2019.json")[0])
    dashed = LegacyIntlSmsReport.model_validate(load_json("http/intl_sms_report_legacy_2020.json")[0])
    assert (slashed.send_date, dashed.send_date) == ("6/1/2017 10:00:00", "2017-06-01 10:00:00")
    # no offset on the wire: China Standard Time, as for the China site's GlobeSmsReport
    assert slashed.sent_at == dashed.sent_at == china(2017, 6, 1, 10, 0, 0)
    assert slashed.received_at == dashed.received_at == china(2017, 6, 1, 10, 0, 5)
    assert (dashed.send_status, dashed.sms_quantity) == (3, 1)  # "3" and "1" as text are numbers too
    assert record_dict(slashed) == {
        "biz_id": "108012345678^0",
        "send_status": 3,
        "phone_number": "85212345678",
        "external_id": "order-1",
        "send_date": "2017-06-01T10:00:00+08:00",
        "receive_date": "2017-06-01T10:00:05+08:00",
        "error_code": "DELIVERED",
        "error_message": "DELIVERED",
        "sms_quantity": 1,
        "delivery_status": "delivered",
        "is_final": True,
    }
    assert LegacyIntlSmsReport.time_fields == ("send_date", "receive_date")


def test_the_month_first_date_is_the_legacy_reports_alone():
    from sms_receipts.parsing import LegacyIntlSmsReport

    with pytest.raises(ValidationError) as caught:
        SmsReport.model_validate({"biz_id": "1", "success": True, "send_time": "6/1/2017 10:00:00"})
    assert error_locations(caught) == {"send_time"}
    with pytest.raises(ValidationError):
        IntlSmsReport.model_validate({"MessageId": "1", "Status": "1", "SendDate": "6/1/2017 10:00:00"})
    r = LegacyIntlSmsReport.model_validate({"BizId": "1", "SendStatus": 3, "SendDate": "12/31/2017 9:05:00"})
    assert r.sent_at == china(2017, 12, 31, 9, 5, 0)
    no_such_day = LegacyIntlSmsReport.model_validate({"BizId": "1", "SendStatus": 3, "SendDate": "2/30/2017 10:00:00"})
    with pytest.raises(ReceiptTimeError, match="SendDate: unreadable time '2/30/2017 10:00:00'"):
        no_such_day.moment("send_date")


@pytest.mark.parametrize(
    ("item", "fields"),
    [
        ({"BizId": "1"}, {"SendStatus"}),
        ({"SendStatus": 1}, {"BizId"}),
        ({"BizId": "", "SendStatus": "x"}, {"BizId", "SendStatus"}),
    ],
)
def test_legacy_intl_sms_report_required_fields_are_named(item, fields):
    from sms_receipts.parsing import LegacyIntlSmsReport

    with pytest.raises(ValidationError) as caught:
        LegacyIntlSmsReport.model_validate(item)
    assert error_locations(caught) == fields


# ---------------------------------------------------------------------------------------------
# phone_number is optional (older official table, https://developer.aliyun.com/ask/217930)
# ---------------------------------------------------------------------------------------------


def test_sms_report_without_phone_number_missing_null_or_empty_is_one_record():
    missing, null, empty = (SmsReport.model_validate(i) for i in load_json("http/sms_report_without_phone_number.json"))
    assert (missing.phone_number, null.phone_number, empty.phone_number) == (None, None, "")
    assert record_dict(missing) == record_dict(null) == record_dict(empty)
    assert record_dict(empty)["phone_number"] is None
    assert missing.delivery_status == "delivered" and missing.is_final


def test_sms_up_without_phone_number():
    r = SmsUp.model_validate(load_json("http/sms_up_without_phone_number.json")[0])
    assert (r.phone_number, r.sequence_id, r.dest_code) == (None, "568585703", "2493559")
    assert SmsUp.model_validate({"phone_number": "", "content": "x", "sequence_id": 1}).phone_number == ""
