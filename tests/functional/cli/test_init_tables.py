"""`sms-receipts init-tables` warns, in one line on stderr, about a Tablestore instance name that a
deployment trips over: uppercase letters (RAM resources name the instance in lowercase,
https://help.aliyun.com/document_detail/27362.html) or a word CreateInstance rejects (ali, ay, ots,
taobao, admin; api-tablestore-2020-12-09-createinstance). The emulator accepts any instance name, so
the tables are still created and the command still succeeds."""

from __future__ import annotations

import json

import pytest

from sms_receipts import cli
from sms_receipts.storage import settings as storage_settings


def init_tables(monkeypatch, capsys, instance: str):
    monkeypatch.setenv(storage_settings.ENV_INSTANCE, instance)
    code = cli.main(["init-tables"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("instance", "said"),
    [("SmsReceipts", "lowercase"), ("smsrelay", "ay"), ("PayGate", "lowercase"), ("otsadmin", "ots, admin")],
)
def test_a_name_a_deployment_cannot_use_gets_one_warning_line(storage_env, monkeypatch, capsys, instance, said):
    code, out, err = init_tables(monkeypatch, capsys, instance)
    assert code == cli.EXIT_OK and json.loads(out)["instance"] == instance
    (line,) = err.splitlines()
    assert line.startswith("sms-receipts init-tables: warning: ") and instance in line and said in line
    assert "Traceback" not in err


def test_both_problems_are_named_in_the_same_line(storage_env, monkeypatch, capsys):
    _, _, err = init_tables(monkeypatch, capsys, "SmsAlicom")
    (line,) = err.splitlines()
    assert "lowercase" in line and "ali" in line and "CreateInstance" in line and "RAM" in line


def test_a_compliant_name_prints_no_warning(storage_env, monkeypatch, capsys):
    code, out, err = init_tables(monkeypatch, capsys, "smsreceipts")
    assert code == cli.EXIT_OK and err == ""
    assert json.loads(out)["instance"] == "smsreceipts"
