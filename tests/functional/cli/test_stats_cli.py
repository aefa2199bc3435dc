"""`sms-receipts stats` and `report` on the Tablestore emulator: the figures of what was received in
the range, read from the ledger's by-time index (not a scan of the ledger)."""

from __future__ import annotations

import json

import pytest

from sms_receipts import cli, instance
from sms_receipts.parsing import MessageType, Source, decode_items


def report(biz_id: str, phone: str, success: bool = True, err_code: str = "DELIVERED") -> dict:
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 09:00:00",
        "report_time": "2026-11-25 09:00:04",
        "success": success,
        "err_code": err_code,
        "biz_id": biz_id,
    }


@pytest.fixture
def stored(storage_env):
    store = instance.current().store()

    def write(reports, source=Source.HTTP, spilled=False):
        decoded = decode_items(reports, MessageType.SMS_REPORT, source)
        assert store.write(decoded.items, spilled=spilled).confirmed

    write([report("b-1", f"1380000000{i}") for i in range(6)])
    write([report("b-2", "13900000001", False, "MK:0001"), report("b-2", "13900000002", False, "MK:0001")])
    write([report("b-3", "13700000001", False, "UNDELIV")], source=Source.QUERY)  # reconciled
    write([report("b-4", "13600000001")], spilled=True)  # stored by the drain
    return storage_env


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_stats_count_what_was_received_with_rate_latency_and_failures(stored, capsys):
    assert cli.main(["stats", "--since", "1h", "--by", "err_code", "-o", "jsonl"]) == 0
    summary, *rows = lines(capsys)
    assert (summary["receipts"], summary["delivered"], summary["failed"]) == (10, 7, 3)
    assert summary["delivery_rate"] == 0.7 and summary["latency_p50_ms"] == 4000.0
    assert (summary["reconciled"], summary["spilled"]) == (1, 1)
    assert rows == [{"err_code": "MK:0001", "count": 2}, {"err_code": "UNDELIV", "count": 1}]


def test_stats_by_source_and_by_hour(stored, capsys):
    assert cli.main(["stats", "--since", "1h", "--by", "source", "-o", "jsonl"]) == 0
    _, *rows = lines(capsys)
    assert rows == [{"source": "http", "count": 9}, {"source": "query", "count": 1}]
    assert cli.main(["stats", "--since", "2h", "--by", "hour", "-o", "jsonl"]) == 0
    _, *hours = lines(capsys)
    assert sum(hour["receipts"] for hour in hours) == 10 and len(hours) in (2, 3)


def test_nothing_received_in_the_range_is_exit_1(storage_env, capsys):
    assert cli.main(["stats", "--since", "1h", "-o", "jsonl"]) == 1
    (summary, *_) = lines(capsys)
    assert summary["receipts"] == 0


def test_report_writes_one_offline_html_file(stored, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--since", "1h", "--out", str(out), "--data-dir", str(tmp_path / "none")]) == 0
    captured = capsys.readouterr()
    assert "no completeness figures" in captured.err  # no SMS API here: said, not a failure
    html = out.read_text(encoding="utf-8")
    assert "MK:0001" in html and "<svg" in html and "http://" not in html and "https://" not in html
