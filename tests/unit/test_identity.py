"""Identity: the idempotency key and the entity key of every receipt type."""

from __future__ import annotations

import re
from hashlib import blake2b

import pytest

from sms_receipts.parsing import (
    MODELS,
    MessageType,
    SmsReport,
    SmsUp,
    detect_message_type,
    entity_key,
    entity_parts,
    idempotency_key,
)
from sms_receipts.parsing.identity import identify

from helpers import load_json


def record(item: dict):
    return MODELS[detect_message_type(item)].model_validate(item)


def key(item: dict) -> str:
    return idempotency_key(record(item))


def test_idempotency_key_is_the_documented_blake2b_digest():
    r = record(load_json("http/sms_report_single.json")[0])
    fields = ["900619746936498440^0", "13800138000", "1", "DELIVERED", "1630914595000", "1630914598000"]
    text = "\x1f".join(["SmsReport", *fields])
    assert idempotency_key(r) == blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", idempotency_key(r))
    assert identify(r) == (idempotency_key(r), entity_key(r))


@pytest.mark.parametrize(
    ("http", "mns", "entity"),
    [
        ("http/sms_report_single.json", "alicom/sms_report.json", "SmsReport:900619746936498440^0|13800138000"),
        ("http/sms_up_sequence_id_string.json", "alicom/sms_up.json", "SmsUp:13800138000|1234|1234567890"),
        ("http/sign_sms_report_approved.json", "alicom/sign_sms_report.json", "SignSmsReport:阿里云短信测试"),
        (
            "http/template_sms_report_approved.json",
            "alicom/template_sms_report.json",
            "TemplateSmsReport:SMS_123123242",
        ),
        (
            "http/mns_card_vender_render_status_string.json",
            "alicom/mns_card_vender.json",
            "MnsCardVender:205101|13687451234",
        ),
        ("http/mns_card_template_mixed_states.json", "alicom/mns_card_template.json", "MnsCardTemplate:CARD_SMS_8872"),
        ("http/intl_sms_report_batch.json", "alicom/intl_sms_report.json", "IntlSmsReport:1008030300123456789"),
    ],
)
def test_same_receipt_over_http_and_mns_has_the_same_keys(http, mns, entity):
    over_http, over_mns = record(load_json(http)[0]), record(load_json(mns))
    assert idempotency_key(over_http) == idempotency_key(over_mns)
    assert entity_key(over_http) == entity_key(over_mns) == entity


def test_globe_entity_key():
    assert entity_key(record(load_json("alicom/globe_sms_report.json"))) == "GlobeSmsReport:12441353"


def test_globe_and_intl_reports_with_the_same_id_are_different_receipts():
    globe = record(load_json("alicom/globe_sms_report.json"))
    intl = MODELS[MessageType.INTL_SMS_REPORT].model_validate(
        {
            "MessageId": globe.message_id,
            "To": globe.to,
            "Status": globe.status,
            "ErrorCode": globe.error_code,
            "SendDate": "2021-06-01 10:00:00",
            "ReceiveDate": "2021-06-01 10:00:05",
        }
    )
    assert idempotency_key(globe) != idempotency_key(intl)
    assert entity_key(globe) != entity_key(intl)


def test_number_and_string_spellings_share_keys():
    numeric, text = load_json("http/sms_report_numbers.json")[0], load_json("http/sms_report_strings.json")[0]
    assert key(numeric) == key(text)
    assert entity_key(record(numeric)) == "SmsReport:12345|13800138000"
    assert key(load_json("http/sms_up_sequence_id_number.json")[0]) == key(
        load_json("http/sms_up_sequence_id_string.json")[0]
    )
    assert key(load_json("http/mns_card_vender_render_status_number.json")[0]) == key(
        load_json("http/mns_card_vender_render_status_string.json")[0]
    )


def test_time_spellings_of_one_instant_share_keys():
    dashed = load_json("http/sms_up_sequence_id_string.json")[0]
    assert key(dashed) == key(load_json("http/sms_up_compact_send_time.json")[0])
    assert key(dashed) == key({**dashed, "send_time": "2021-09-06T08:00:00Z"})
    assert key(dashed) != key({**dashed, "send_time": "2021-09-06 16:00:01"})


def test_fields_outside_the_identity_do_not_change_the_key():
    base = load_json("http/sms_report_single.json")[0]
    assert key(base) == key(load_json("http/sms_report_extra_fields.json")[0])
    assert key(base) == key({**base, "err_msg": "另一段描述", "sms_size": "3", "out_id": None})
    sign = load_json("http/sign_sms_report_approved.json")[0]
    assert key(sign) == key({**sign, "remark": "changed", "reason": "x"})
    intl = load_json("http/intl_sms_report_batch.json")[0]
    assert key(intl) == key({k: v for k, v in intl.items() if k != "TaskId"})
    up = load_json("http/sms_up_with_sign_name.json")[0]
    assert key(up) == key({k: v for k, v in up.items() if k != "sign_name"})


def test_missing_null_and_empty_optional_fields_share_keys():
    missing, null, empty = load_json("http/sms_report_optional_fields_absent.json")
    null = {**null, "phone_number": missing["phone_number"], "success": True}
    empty = {**empty, "phone_number": missing["phone_number"]}
    assert key(missing) == key(null) == key(empty)


@pytest.mark.parametrize(
    "change",
    [
        {"success": False, "err_code": "UNDELIV"},
        {"err_code": "DELIVRD"},
        {"report_time": "2021-09-06 15:50:30"},
        {"send_time": "2021-09-06 15:49:56"},
        {"phone_number": "13800138001"},
        {"biz_id": "900619746936498440^1"},
    ],
)
def test_a_different_sms_report_has_a_different_idempotency_key(change):
    base = load_json("http/sms_report_single.json")[0]
    assert key(base) != key({**base, **change})


def test_a_later_status_for_the_same_message_keeps_the_entity_key():
    base = load_json("http/sms_report_single.json")[0]
    later = {**base, "success": False, "err_code": "UNDELIV", "report_time": "2021-09-06 16:00:00"}
    assert key(base) != key(later)
    assert entity_key(record(base)) == entity_key(record(later))


def test_batch_send_shares_biz_id_but_not_entities_or_keys():
    records = [record(i) for i in load_json("http/sms_report_batch_shared_biz_id.json")]
    assert [entity_key(r) for r in records] == [
        "SmsReport:336006646937050335^0|13800138001",
        "SmsReport:336006646937050335^0|13800138002",
        "SmsReport:336006646937050335^0|13800138003",
    ]
    assert len({idempotency_key(r) for r in records}) == 3


@pytest.mark.parametrize(
    ("fixture", "change"),
    [
        ("http/sms_up_sequence_id_string.json", {"content": "不退订"}),
        ("http/sms_up_sequence_id_string.json", {"sequence_id": "1234567891"}),
        ("http/sms_up_sequence_id_string.json", {"dest_code": "1235"}),
        ("http/sign_sms_report_approved.json", {"sign_status": "rejected"}),
        ("http/sign_sms_report_approved.json", {"orderId": "2000015185"}),
        ("http/sign_sms_report_approved.json", {"create_date": "2021-09-02 10:00:00"}),
        ("http/template_sms_report_approved.json", {"template_status": "approving"}),
        ("http/mns_card_vender_render_status_string.json", {"render_status": 1}),
        ("http/mns_card_vender_render_status_string.json", {"desc": "审核不通过"}),
        ("http/mns_card_template_mixed_states.json", {"approval_status": 1}),
        ("http/mns_card_template_mixed_states.json", {"desc": "全部通过"}),
        ("http/intl_sms_report_batch.json", {"Status": "2"}),
        ("http/intl_sms_report_batch.json", {"ErrorCode": "DELIVRD"}),
        ("http/intl_sms_report_batch.json", {"ReceiveDate": "Thu, 25 Nov 2021 10:28:00 +0800"}),
        ("alicom/globe_sms_report.json", {"status": "1"}),
        ("alicom/globe_sms_report.json", {"error_code": "OK"}),
    ],
)
def test_status_changes_give_a_different_idempotency_key_and_the_same_entity(fixture, change):
    loaded = load_json(fixture)
    base = loaded[0] if isinstance(loaded, list) else loaded
    changed = {**base, **change}
    assert key(base) != key(changed)
    if not set(change) & {"sequence_id", "dest_code"}:  # the only entity fields changed above
        assert entity_key(record(base)) == entity_key(record(changed))
    else:
        assert entity_key(record(base)) != entity_key(record(changed))


def test_card_template_key_depends_on_vendor_results_not_their_order():
    base = load_json("alicom/mns_card_template.json")
    reordered = {**base, "tmpOps": list(reversed(base["tmpOps"]))}
    assert key(base) == key(reordered)
    one_changed = {**base, "tmpOps": [{**base["tmpOps"][0], "state": 1}, *base["tmpOps"][1:]]}
    assert key(base) != key(one_changed)
    assert key(base) != key({**base, "tmpOps": base["tmpOps"][:2]})


def test_sms_up_entity_falls_back_to_send_time_without_sequence_id():
    r = record(load_json("http/sms_up_without_sequence_id.json")[0])
    assert entity_parts(r) == ("13800138000", "1234", "1630915500000")
    assert entity_key(r) == "SmsUp:13800138000|1234|1630915500000"


def test_sms_up_entity_with_missing_dest_code_is_an_empty_part():
    r = SmsUp.model_validate({"phone_number": "13800138000", "content": "x", "sequence_id": 7})
    assert entity_key(r) == "SmsUp:13800138000||7"


@pytest.mark.parametrize(
    ("biz_id", "phone", "expected"),
    [
        ("12|34", "138", r"SmsReport:12\|34|138"),
        ("12", "1|38", r"SmsReport:12|1\|38"),
        ("a\\b", "138", r"SmsReport:a\\b|138"),
        ("a\\", "|b", r"SmsReport:a\\|\|b"),
    ],
)
def test_entity_key_escapes_separators_inside_parts(biz_id, phone, expected):
    r = SmsReport.model_validate({"biz_id": biz_id, "phone_number": phone, "success": True})
    assert entity_key(r) == expected
    assert identify(r)[1] == expected  # the hot path's spelling, too
    assert entity_parts(r) == (biz_id, phone)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # A separator in an identity field outside the entity leaves it as it is; inside, it is escaped.
        ({"phone_number": "138", "content": "a|b\\c", "sequence_id": 7, "dest_code": "12"}, "SmsUp:138|12|7"),
        ({"biz_id": "1", "phone_number": "138", "success": False, "err_code": "E|1"}, "SmsReport:1|138"),
        (
            {"phone_number": "1|38", "content": "x", "dest_code": "", "send_time": "2021-09-06 16:05:00"},
            r"SmsUp:1\|38||1630915500000",
        ),
        ({"sign_name": "a\\b", "sign_status": "approved"}, r"SignSmsReport:a\\b"),
        ({"MessageId": "1|2", "Status": "1"}, r"IntlSmsReport:1\|2"),
    ],
)
def test_entity_keys_with_separators_in_their_identity_fields(item, expected):
    r = record(item)
    assert identify(r) == (idempotency_key(r), entity_key(r))
    assert entity_key(r) == expected


def test_entity_keys_of_parts_that_differ_only_in_separators_differ():
    def ek(biz_id, phone):
        return entity_key(SmsReport.model_validate({"biz_id": biz_id, "phone_number": phone, "success": True}))

    assert len({ek("a|b", "c"), ek("a", "b|c"), ek("a\\", "b|c"), ek("a\\|b", "c")}) == 4


# ---------------------------------------------------------------------------------------------
# The legacy international SmsReport, and receipts without phone_number
# ---------------------------------------------------------------------------------------------


def legacy(item: dict):
    from sms_receipts.parsing.models import model_for

    return model_for(MessageType.INTL_SMS_REPORT, item).model_validate(item)


def test_legacy_intl_report_keys_do_not_depend_on_spelling_or_descriptive_fields():
    slashed = load_json("http/intl_sms_report_legacy_2019.json")[0]
    dashed = load_json("http/intl_sms_report_legacy_2020.json")[0]  # "3" as text, yyyy-MM-dd dates
    described = {**slashed, "ExternalId": "other", "ErrorMessage": "x", "SmsQuantity": 3, "Extra": 1}
    keys = {identify(legacy(item)) for item in (slashed, dashed, described)}
    assert keys == {(idempotency_key(legacy(slashed)), "IntlSmsReport:108012345678^0|85212345678")}


@pytest.mark.parametrize(
    "change",
    [
        {"SendStatus": 2},
        {"ErrorCode": "UNDELIV"},
        {"ReceiveDate": "6/1/2017 10:00:06"},
        {"SendDate": "6/1/2017 10:00:01"},
        {"PhoneNumber": "85212345677"},
        {"BizId": "108012345678^1"},
    ],
)
def test_a_different_legacy_intl_report_has_a_different_idempotency_key(change):
    base = load_json("http/intl_sms_report_legacy_2019.json")[0]
    assert idempotency_key(legacy(base)) != idempotency_key(legacy({**base, **change}))


def test_legacy_and_current_intl_reports_never_share_keys():
    current = MODELS[MessageType.INTL_SMS_REPORT].model_validate({"MessageId": "1|2", "Status": "1"})
    old = legacy({"BizId": "1", "PhoneNumber": "2", "SendStatus": 3})
    assert (entity_key(current), entity_key(old)) == (r"IntlSmsReport:1\|2", "IntlSmsReport:1|2")
    assert idempotency_key(current) != idempotency_key(old)
    escaped = legacy({"BizId": "a|b", "PhoneNumber": "c\\", "SendStatus": 3})
    assert identify(escaped) == (idempotency_key(escaped), r"IntlSmsReport:a\|b|c\\")
    assert entity_parts(escaped) == ("a|b", "c\\")


def test_receipts_without_phone_number_have_an_empty_entity_part():
    missing, null, empty = load_json("http/sms_report_without_phone_number.json")
    assert {identify(record(item)) for item in (missing, null, empty)} == {
        (key(missing), "SmsReport:706715193751989145^0|")
    }
    assert entity_parts(record(missing)) == ("706715193751989145^0", "")
    assert key(missing) != key({**missing, "phone_number": "13800138000"})
    reply = record(load_json("http/sms_up_without_phone_number.json")[0])
    assert identify(reply) == (idempotency_key(reply), "SmsUp:|2493559|568585703")
    assert legacy({"BizId": "1", "SendStatus": 1}).type_name == "IntlSmsReport"
    assert entity_key(legacy({"BizId": "1", "SendStatus": 1})) == "IntlSmsReport:1|"
