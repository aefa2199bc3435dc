"""Message types: names, request paths, queue names and detection from fields."""

from __future__ import annotations

import pytest

from sms_receipts.parsing import (
    MessageType,
    UnknownMessageType,
    detect_message_type,
    message_type_from_name,
    message_type_from_path,
    message_type_from_queue_name,
)
from sms_receipts.parsing.types import resolve_message_type

from helpers import load_json

T = MessageType


def test_every_type_has_its_wire_name_as_value_and_str():
    assert [t.value for t in T] == [
        "SmsReport",
        "SmsUp",
        "SignSmsReport",
        "TemplateSmsReport",
        "MnsCardVender",
        "MnsCardTemplate",
        "GlobeSmsReport",
        "IntlSmsReport",
    ]
    assert str(T.SMS_UP) == "SmsUp"
    assert f"{T.GLOBE_SMS_REPORT}" == "GlobeSmsReport"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SmsReport", T.SMS_REPORT),
        ("smsreport", T.SMS_REPORT),
        ("SMSREPORT", T.SMS_REPORT),
        ("sms-report", T.SMS_REPORT),
        ("SMS_REPORT", T.SMS_REPORT),
        ("sms_up", T.SMS_UP),
        ("sign-sms-report", T.SIGN_SMS_REPORT),
        ("templatesmsreport", T.TEMPLATE_SMS_REPORT),
        ("MnsCardVender", T.MNS_CARD_VENDER),
        ("mns-card-template", T.MNS_CARD_TEMPLATE),
        ("GlobeSmsReport", T.GLOBE_SMS_REPORT),
        ("intl-sms-report", T.INTL_SMS_REPORT),
    ],
)
def test_message_type_from_name_ignores_case_and_separators(name, expected):
    assert message_type_from_name(name) is expected


@pytest.mark.parametrize("name", ["VoiceReport", "", "sms", "SmsReports"])
def test_message_type_from_name_rejects_unknown_names_listing_the_known_ones(name):
    with pytest.raises(UnknownMessageType) as caught:
        message_type_from_name(name)
    assert repr(name) in str(caught.value)
    assert "SmsReport, SmsUp, SignSmsReport" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/SmsReport", T.SMS_REPORT),
        ("/smsreport", T.SMS_REPORT),
        ("/SMSREPORT", T.SMS_REPORT),
        ("/sms-report", T.SMS_REPORT),
        ("/hook/sms-report/", T.SMS_REPORT),
        ("/callbacks/SmsUp", T.SMS_UP),
        ("/SmsReport/2021", T.SMS_REPORT),  # the last segment that names a type counts
        ("/GlobeSmsReport", T.GLOBE_SMS_REPORT),
        ("/sign_sms_report", T.SIGN_SMS_REPORT),
        ("/TemplateSmsReport", T.TEMPLATE_SMS_REPORT),
        ("/card/MnsCardVender", T.MNS_CARD_VENDER),
        ("/MnsCardTemplate", T.MNS_CARD_TEMPLATE),
        ("/SmsUp/SmsReport", T.SMS_REPORT),
        ("/", None),
        ("", None),
        (None, None),
        ("/api/receipts", None),
        ("/SmsReportX", None),
    ],
)
def test_message_type_from_path(path, expected):
    assert message_type_from_path(path) is expected


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("Alicom-Queue-1234567890123456-SmsReport", T.SMS_REPORT),
        ("Alicom-Queue-1234567890123456-SmsUp", T.SMS_UP),
        ("Alicom-Queue-1234567890123456-SignSmsReport", T.SIGN_SMS_REPORT),
        ("Alicom-Queue-1234567890123456-TemplateSmsReport", T.TEMPLATE_SMS_REPORT),
        ("Alicom-Queue-1234567890123456-MnsCardVender", T.MNS_CARD_VENDER),
        ("Alicom-Queue-1234567890123456-MnsCardTemplate", T.MNS_CARD_TEMPLATE),
        ("Alicom-Queue-1234567890123456-GlobeSmsReport", T.GLOBE_SMS_REPORT),
        # the doc's spelling without the last hyphen must not be read as SmsReport
        ("Alicom-Queue-******GlobeSmsReport", T.GLOBE_SMS_REPORT),
        ("acs:mns:cn-hangzhou:1234567890123456:queues/Alicom-Queue-1234567890123456-SmsUp", T.SMS_UP),
        ("sms-receipts-SmsReport", T.SMS_REPORT),
        ("sms-receipts", None),
        ("SmsReport-archive", None),
        ("", None),
        (None, None),
    ],
)
def test_message_type_from_queue_name_reads_the_suffix(queue, expected):
    assert message_type_from_queue_name(queue) is expected


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("http/sms_report_single.json", T.SMS_REPORT),
        ("http/sms_report_optional_fields_absent.json", T.SMS_REPORT),
        ("http/sms_up_sequence_id_string.json", T.SMS_UP),
        ("http/sms_up_without_sequence_id.json", T.SMS_UP),
        ("http/sign_sms_report_rejected.json", T.SIGN_SMS_REPORT),
        ("http/template_sms_report_approving.json", T.TEMPLATE_SMS_REPORT),
        ("http/mns_card_vender_render_status_number.json", T.MNS_CARD_VENDER),
        ("http/mns_card_template_mixed_states.json", T.MNS_CARD_TEMPLATE),
        ("http/intl_sms_report_batch.json", T.INTL_SMS_REPORT),
    ],
)
def test_detect_message_type_from_fields(fixture, expected):
    for item in load_json(fixture):
        assert detect_message_type(item) is expected


def test_detect_message_type_of_each_mns_body():
    expected = {
        "sms_report": T.SMS_REPORT,
        "sms_up": T.SMS_UP,
        "sign_sms_report": T.SIGN_SMS_REPORT,
        "template_sms_report": T.TEMPLATE_SMS_REPORT,
        "mns_card_vender": T.MNS_CARD_VENDER,
        "mns_card_template": T.MNS_CARD_TEMPLATE,
        "globe_sms_report": T.GLOBE_SMS_REPORT,
        "intl_sms_report": T.INTL_SMS_REPORT,
    }
    for name, message_type in expected.items():
        assert detect_message_type(load_json(f"alicom/{name}.json")) is message_type, name


@pytest.mark.parametrize("item", [{}, {"foo": "bar"}, {"phone_number": "13800138000"}, {"biz_id": "1"}])
def test_detect_message_type_gives_none_for_unknown_shapes(item):
    assert detect_message_type(item) is None


def test_declared_sms_report_covers_both_domestic_and_international_schemas():
    intl = load_json("alicom/intl_sms_report.json")
    domestic = load_json("alicom/sms_report.json")
    assert resolve_message_type(T.SMS_REPORT, intl) is T.INTL_SMS_REPORT
    assert resolve_message_type(T.SMS_REPORT, domestic) is T.SMS_REPORT
    assert resolve_message_type(T.INTL_SMS_REPORT, domestic) is T.SMS_REPORT
    # other declared types are taken as declared, even when the fields say otherwise
    assert resolve_message_type(T.SMS_UP, domestic) is T.SMS_UP
    assert resolve_message_type(None, domestic) is T.SMS_REPORT
    assert resolve_message_type(None, {"foo": 1}) is None


def test_the_legacy_international_schema_is_an_intl_sms_report_by_its_fields():
    from sms_receipts.parsing import LegacyIntlSmsReport
    from sms_receipts.parsing.models import model_for

    for item in load_json("http/intl_sms_report_legacy_2019.json") + load_json("http/intl_sms_report_legacy_2020.json"):
        assert detect_message_type(item) is T.INTL_SMS_REPORT
        for declared in (T.SMS_REPORT, T.INTL_SMS_REPORT, None):
            assert resolve_message_type(declared, item) is T.INTL_SMS_REPORT
        assert model_for(T.INTL_SMS_REPORT, item) is LegacyIntlSmsReport
    assert resolve_message_type(T.SMS_REPORT, {"BizId": "1"}) is T.INTL_SMS_REPORT
    assert model_for(T.INTL_SMS_REPORT, {"MessageId": "1", "BizId": "1"}) is not LegacyIntlSmsReport
    # a domestic report without phone_number is still domestic
    assert detect_message_type({"biz_id": "1", "success": True}) is T.SMS_REPORT
    assert resolve_message_type(T.SMS_REPORT, {"biz_id": "1", "success": True}) is T.SMS_REPORT
