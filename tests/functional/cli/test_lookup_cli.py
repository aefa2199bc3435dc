"""`sms-receipts lookup ...` on the Tablestore emulator: what each lookup prints, and "nothing found"
(exit 1) for what is not there."""

from __future__ import annotations

import json

import pytest

from sms_receipts import cli, instance
from sms_receipts.parsing import MessageType, Source, decode_items

PHONE = "13800000042"


def report(biz_id: str, report_time: str, success: bool = True, err_code: str = "DELIVERED", out_id: str = "o-1"):
    return {
        "phone_number": PHONE,
        "send_time": "2026-11-25 08:59:59",
        "report_time": report_time,
        "success": success,
        "err_code": err_code,
        "biz_id": biz_id,
        "out_id": out_id,
    }


@pytest.fixture
def stored(storage_env):
    store = instance.current().store()
    items = [
        report("send-1", "2026-11-25 09:00:00"),
        report("send-2", "2026-11-25 10:00:00", success=False, err_code="MK:0001", out_id="o-2"),
    ]
    decoded = decode_items(items, MessageType.SMS_REPORT, Source.HTTP)
    assert store.write(decoded.items).confirmed
    return storage_env


def run(capsys, *argv) -> tuple[int, list[dict], str]:
    status = cli.main([*argv, "-o", "jsonl"])
    captured = capsys.readouterr()
    return status, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_by_phone_lists_the_numbers_states_newest_first(stored, capsys):
    status, rows, _ = run(capsys, "lookup", "phone", PHONE)
    assert status == 0 and [(r["biz_id"], r["status"]) for r in rows] == [("send-2", "failed"), ("send-1", "delivered")]


def test_by_out_id_and_history(stored, capsys):
    status, rows, _ = run(capsys, "lookup", "out-id", "o-2")
    assert status == 0 and [(r["biz_id"], r["err_code"]) for r in rows] == [("send-2", "MK:0001")]
    status, rows, _ = run(capsys, "lookup", "history", "send-1", "--phone", PHONE)
    assert status == 0 and len(rows) == 1 and rows[0]["source"] == "http"


@pytest.mark.parametrize(
    "argv",
    [
        ["lookup", "phone", "13900000000"],
        ["lookup", "out-id", "nobody"],
        ["lookup", "history", "no-such-send"],
        ["lookup", "dead-letters", "--since", "1h"],
        ["lookup", "pending", "--days", "2"],
    ],
)
def test_nothing_found_is_one_line_and_exit_1(stored, capsys, argv):
    status, rows, err = run(capsys, *argv)
    assert status == 1 and rows == [] and "nothing found" in err and "Traceback" not in err
