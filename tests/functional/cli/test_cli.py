"""`sms-receipts parse`: the real console script, its output lines and its exit codes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sms_receipts.parsing import decode_http_body

from helpers import EVENTS, load_event, load_json

SCRIPT = Path(sys.executable).with_name("sms-receipts")
ITEM_KEYS = {"type", "idempotency_key", "entity_key", "record"}


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None):
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "sms_receipts_dev.cli"]
    return subprocess.run(
        [*command, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def lines(completed) -> list[dict]:
    text = completed.stdout.decode("utf-8")
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()]


def event(name: str) -> str:
    return str(EVENTS / name)


def test_the_console_script_is_installed():
    assert SCRIPT.exists(), "pip install -e . should install the sms-receipts entry point"


def test_parse_an_http_push_prints_one_line_per_item_and_exits_0():
    completed = run("parse", event("http/sms_report_batch_shared_biz_id.json"))
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == b""
    printed = lines(completed)
    expected = decode_http_body(load_event("http/sms_report_batch_shared_biz_id.json"))
    assert printed == [item.to_json_dict() for item in expected.items]
    assert [set(line) for line in printed] == [ITEM_KEYS] * 3
    assert [line["entity_key"] for line in printed] == [
        "SmsReport:336006646937050335^0|13800138001",
        "SmsReport:336006646937050335^0|13800138002",
        "SmsReport:336006646937050335^0|13800138003",
    ]
    assert printed[2]["record"]["err_code"] == "MK:0005"
    assert printed[2]["record"]["delivery_status"] == "failed"


def test_output_is_utf8_json_with_chinese_kept_readable():
    completed = run("parse", event("http/sms_report_single.json"), env={"PYTHONIOENCODING": "ascii"})
    assert completed.returncode == 0, completed.stderr
    assert "用户接收成功".encode() in completed.stdout
    assert lines(completed)[0]["record"]["err_msg"] == "用户接收成功"


def test_stdin_dash_gives_the_same_lines_as_the_file():
    from_file = run("parse", "--type", "SmsUp", event("http/sms_up_batch.json"))
    from_stdin = run("parse", "--type", "SmsUp", "-", stdin=load_event("http/sms_up_batch.json"))
    assert from_stdin.returncode == from_file.returncode == 0
    assert from_stdin.stdout == from_file.stdout
    assert [line["record"]["sequence_id"] for line in lines(from_stdin)] == [
        "1234567890",
        "9007199254740993",
        "0001234567",
    ]


def test_type_option_in_any_spelling():
    completed = run("parse", "--type", "sign-sms-report", event("http/sign_sms_report_rejected.json"))
    assert completed.returncode == 0
    (line,) = lines(completed)
    assert line["type"] == "SignSmsReport"
    assert line["record"]["reason"] == "签名来源证明材料不清晰，请重新上传"
    assert line["record"]["order_id"] == "2000015184"


def test_international_report_under_type_sms_report():
    completed = run("parse", "--type", "SmsReport", event("http/intl_sms_report_batch.json"))
    assert completed.returncode == 0
    assert [(line["type"], line["record"]["delivery_status"]) for line in lines(completed)] == [
        ("IntlSmsReport", "delivered"),
        ("IntlSmsReport", "failed"),
        ("IntlSmsReport", "expired"),
    ]


def test_a_batch_with_rejected_items_prints_them_in_push_order_and_exits_1():
    completed = run("parse", "--type", "SmsReport", event("bad/mixed_valid_invalid.json"))
    assert completed.returncode == 1
    printed = lines(completed)
    pushed = load_json("bad/mixed_valid_invalid.json")
    assert len(printed) == len(pushed) == 10
    assert [set(line) for line in printed] == [ITEM_KEYS] + [{"error", "raw"}] * 8 + [ITEM_KEYS]
    for position in range(1, 9):
        assert json.loads(printed[position]["raw"]) == pushed[position]
    assert printed[1]["error"] == "SmsReport item 1: biz_id: Field required"
    assert "sms_size" in printed[7]["error"]
    assert printed[4] == {"error": "item 4 is a JSON int, not a receipt object", "raw": "7"}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("bad/not_json.txt", "body is not JSON ("),
        ("bad/truncated.json", "body is not JSON ("),
        ("bad/scalar_number.json", "body is a JSON int, not a JSON array of receipts"),
        ("bad/empty.json", "body is empty"),
    ],
)
def test_a_body_that_cannot_be_read_prints_one_error_with_the_raw_text(name, error):
    completed = run("parse", event(name))
    assert completed.returncode == 1
    (line,) = lines(completed)
    assert set(line) == {"error", "raw"}
    assert line["error"].startswith(error)
    assert line["raw"].encode() == load_event(name)


def test_a_body_that_is_not_utf8_prints_its_bytes_as_base64():
    completed = run("parse", "-", stdin=load_event("bad/not_utf8.bin"))
    assert completed.returncode == 1
    (line,) = lines(completed)
    assert line["error"].startswith("body is not UTF-8 text (bad byte at offset ")
    assert base64.b64decode(line["raw_base64"]) == load_event("bad/not_utf8.bin")


@pytest.mark.parametrize(
    ("source", "name", "types"),
    [
        ("eventbridge", "eventbridge/sms_report_streaming_raw.json", ["SmsReport", "SmsReport"]),
        ("eventbridge", "eventbridge/sms_up_driven_base64.json", ["SmsUp"]),
        ("topic", "topic/sms_report_json.json", ["SmsReport"]),
        ("topic", "topic/sms_report_stream_base64.txt", ["SmsReport"]),
        ("topic", "topic/sms_up_stream_attrs.json", ["SmsUp"]),
        ("alicom", "alicom/globe_sms_report.txt", ["GlobeSmsReport"]),
        ("alicom", "alicom/mns_card_template.txt", ["MnsCardTemplate"]),
    ],
)
def test_via_mns_paths(source, name, types):
    completed = run("parse", "--source", source, event(name))
    assert completed.returncode == 0, completed.stdout
    assert [line["type"] for line in lines(completed)] == types


def test_via_alicom_with_type_and_the_same_identity_as_the_http_push():
    completed = run("parse", "--source", "alicom", "--type", "SmsUp", event("alicom/sms_up.txt"))
    assert completed.returncode == 0
    over_http = lines(run("parse", event("http/sms_up_sequence_id_string.json")))
    assert lines(completed) == over_http


def test_via_eventbridge_partial_failure_exits_1_with_items_and_errors():
    completed = run("parse", "--source", "eventbridge", event("eventbridge/streaming_partial_failure.json"))
    assert completed.returncode == 1
    printed = lines(completed)
    assert [set(line) for line in printed] == [ITEM_KEYS] * 2 + [{"error", "raw"}] * 4
    assert printed[2] == {
        "error": "base64-decoded message body is not UTF-8 text (bad byte at offset 2)",
        "raw": "TEST",
    }
    cloud_events = load_json("eventbridge/streaming_partial_failure.json")
    assert json.loads(printed[3]["raw"]) == cloud_events[2]  # the CloudEvent without data.messageBody
    assert printed[5]["raw"] == cloud_events[4]["data"]["messageBody"]  # the base64 text, as it came


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        ((), b"the following arguments are required"),
        (("parse",), b"the following arguments are required: FILE"),
        (("frobnicate", "x"), b"invalid choice"),
        (("parse", "--type", "VoiceReport", "-"), b"unknown message type 'VoiceReport'"),
        (("parse", "--source", "sms", "-"), b"invalid choice: 'sms'"),
        (("parse", "/nonexistent/receipts.json"), b"cannot read /nonexistent/receipts.json: No such file"),
        (("parse", str(EVENTS)), b"cannot read"),
    ],
)
def test_usage_errors_exit_2_with_a_message_and_no_output(args, stderr):
    completed = run(*args)
    assert completed.returncode == 2
    assert completed.stdout == b""
    assert stderr in completed.stderr


def test_module_entry_point_behaves_like_the_script():
    completed = subprocess.run(
        [sys.executable, "-m", "sms_receipts.cli", "parse", event("http/sms_report_opaque_ids.json")],
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 0
    (line,) = lines(completed)
    record = line["record"]
    assert (record["biz_id"], record["out_id"], record["err_code"]) == ("1234^345", "007", "-37")
    assert line["entity_key"] == "SmsReport:1234^345|1381111****"
