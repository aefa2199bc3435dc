"""`sms-receipts send`, `reconcile` and `completeness` against the local stack found in --data-dir, and
their errors when there is none: one line and exit status 2, never a traceback."""

from __future__ import annotations

import json
import time

import pytest

from sms_receipts import cli
from sms_receipts.reconcile.settings import RECONCILE_ENV_VARS
from sms_receipts.storage.settings import STORAGE_ENV_VARS
from sms_receipts_dev.local.dev import DevStack, ServiceOptions

from function_support import ROOT


@pytest.fixture(autouse=True)
def no_cloud_settings(monkeypatch):
    monkeypatch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project
    for name in (*STORAGE_ENV_VARS, *RECONCILE_ENV_VARS):
        monkeypatch.delenv(name, raising=False)


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_dropped_report_is_reconciled_from_the_command_line(tmp_path, capsys):
    options = ServiceOptions(delivery_delay=0.1, drop_rate=1.0)  # the service loses every report
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", service=options, drain_seconds=None) as stack:
        data_dir = str(stack.data_dir)
        status = cli.main(
            [
                "send",
                "--phones",
                "13800000001,13800000002",
                "--sign",
                "阿里云",
                "--template",
                "SMS_1",
                "--data-dir",
                data_dir,
            ]
        )
        (sent,) = lines(capsys.readouterr().out)
        assert status == 0 and sent["recorded"] and sent["numbers"] == 2
        assert sent["endpoint"] == stack.dysmsapi.address  # the local emulator: nothing really sent
        time.sleep(0.5)  # the outcomes fall due (and are dropped)

        status = cli.main(["reconcile", "--once", "--grace", "0", "--data-dir", data_dir])
        out = capsys.readouterr().out
        report = [line for line in lines(out) if "scanned" in line][-1]
        assert status == 0 and (report["queried"], report["resolved"], report["calls"]) == (2, 2, 2)
        assert "1380000000" not in out  # logs and output never print a full phone number

        status = cli.main(["completeness", "--days", "2", "--data-dir", data_dir])
        (today,) = [line for line in lines(capsys.readouterr().out) if line["logged"]]
        assert status == 0 and today["service_total"] == today["stored_final"] == 2
        assert today["completeness"] == 1.0


@pytest.mark.parametrize(
    "command", [["reconcile", "--once"], ["completeness"], ["send", "--phones", "1", "--sign", "s", "--template", "t"]]
)
def test_without_a_stack_or_cloud_settings_it_says_what_to_set(command, tmp_path, capsys):
    status = cli.main([*command, "--data-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert "not configured" in err or "make dev" in err


def test_out_of_range_options_are_usage_errors(tmp_path, capsys):
    assert cli.main(["completeness", "--days", "40", "--data-dir", str(tmp_path)]) == 2
    assert "--days" in capsys.readouterr().err


def test_a_send_to_a_stopped_stack_says_so_in_one_line(tmp_path, capsys):
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", drain_seconds=None) as stack:
        data_dir = str(stack.data_dir)
        left = (stack.data_dir / "endpoints.json").read_bytes()
    (tmp_path / "data" / "endpoints.json").write_bytes(left)  # as a killed stack leaves it
    status = cli.main(["send", "--phones", "13800000001", "--sign", "s", "--template", "t", "--data-dir", data_dir])
    (line,) = capsys.readouterr().err.splitlines()
    assert status == 1 and line.startswith(f"sms-receipts send: no local stack running in {data_dir}: start it with")
    assert "the SMS API at 127.0.0.1:" in line and "refused the connection" in line
