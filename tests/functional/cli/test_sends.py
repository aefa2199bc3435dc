"""The send log through the real SDKs: a send made with the official SMS SDK (against the dysmsapi
emulator) recorded with `SendLog.record_sdk_call`, and `sms-receipts sends import`."""

from __future__ import annotations

import json

import pytest
from alibabacloud_dysmsapi20170525.models import SendSmsRequest

from sms_receipts import cli, instance
from sms_receipts.storage.schema import SEND_LOG
from sms_receipts.storage.sends import SendError, SendLog, sends_from_sdk
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator


def rows() -> list[dict]:
    return list(instance.current().storage().backend.scan(SEND_LOG))


def test_a_send_through_the_sdk_is_recorded_once_per_number(storage_env):
    with DysmsapiEmulator() as sms:
        request = SendSmsRequest(
            phone_numbers="13800000001,13800000002", sign_name="阿里云", template_code="SMS_1", out_id="order-7"
        )
        response = sms.client().send_sms(request)
    log = SendLog(instance.current().store())
    assert log.record_sdk_call(request, response).confirmed
    stored = rows()
    assert sorted(r["phone_number"] for r in stored) == ["13800000001", "13800000002"]
    assert {(r["biz_id"], r["out_id"], r["template_code"], r["source"]) for r in stored} == {
        (response.body.biz_id, "order-7", "SMS_1", "sdk")
    }
    again = log.record(sends_from_sdk(request, response, sent_at=stored[0]["send_time"] / 1000))
    assert again.confirmed and len(rows()) == 2  # recorded again: the same rows


def test_a_send_over_tablestores_limits_is_refused_whole(storage_env):
    with pytest.raises(SendError, match="1024-byte limit"):
        SendLog(instance.current().store()).record(
            sends_from_sdk({"PhoneNumbers": "13800000001"}, {"Code": "OK", "BizId": "9" * 2000})
        )
    assert rows() == []


def test_import_records_good_lines_and_names_bad_ones(storage_env, tmp_path, capsys):
    path = tmp_path / "sends.jsonl"
    path.write_text(
        '{"biz_id": "1^0", "phone_numbers": ["13800000001", "13800000002"], "send_time": "2026-12-01 08:00:00"}\n'
        "{oops\n",
        encoding="utf-8",
    )
    assert cli.main(["sends", "import", str(path)]) == cli.EXIT_REJECTED  # a line was bad
    out, err = capsys.readouterr()
    assert json.loads(out) == {"recorded": 2, "confirmed": True, "errors": 1}
    assert "line 2:" in err and len(rows()) == 2
    assert cli.main(["sends", "import", str(path)]) == cli.EXIT_REJECTED and len(rows()) == 2  # idempotent
    capsys.readouterr()
    assert cli.main(["sends", "import", str(tmp_path / "missing.csv")]) == cli.EXIT_USAGE
    assert "cannot read" in capsys.readouterr().err
