"""Every environment variable is declared once, beside its settings class: the README's tables say the
same, and a value that cannot be read stops with a message naming its variable."""

from __future__ import annotations

import re

import pytest

from sms_receipts import cli
from sms_receipts.http.receiver import ReceiverSettings
from sms_receipts.mns.alicom import AlicomSettings
from sms_receipts.settings import ConfigurationError, declared
from sms_receipts.storage import StorageSettings

from function_support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
STORAGE = {"SMS_RECEIPTS_OTS_ENDPOINT": "http://127.0.0.1:1", "SMS_RECEIPTS_OTS_INSTANCE": "i"}


def variable_rows() -> list[tuple[str, str]]:
    """(variable cell, default cell) of each row of the README's `| variable | meaning | default |`
    tables (the functions' and the storage's; the deployment's table is indented, not among them)."""
    rows, in_table = [], False
    for line in README.splitlines():
        if line.startswith("| variable | meaning | default |"):
            in_table = True
        elif in_table and line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            rows.append((cells[0], cells[-1]))
        elif not line.startswith("|"):
            in_table = False
    return rows


def all_variables():
    return [variable for variables in declared().values() for variable in variables]


@pytest.mark.parametrize("variable", all_variables(), ids=lambda v: v.name)
def test_every_declared_variable_is_in_the_readme_with_its_default(variable):
    (default,) = [default for names, default in variable_rows() if f"`{variable.name}`" in names]
    assert variable.documented_default and variable.documented_default in default


def test_every_variable_in_the_readmes_tables_is_declared():
    named = {name for names, _ in variable_rows() for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names)}
    assert named == {variable.name for variable in all_variables()}


@pytest.mark.parametrize(
    ("settings", "env", "name"),
    [
        (StorageSettings, {**STORAGE, "SMS_RECEIPTS_OTS_TIMEOUT": "ten"}, "SMS_RECEIPTS_OTS_TIMEOUT"),
        (ReceiverSettings, {"SMS_RECEIPTS_MAX_BODY_BYTES": "1MB"}, "SMS_RECEIPTS_MAX_BODY_BYTES"),
        (ReceiverSettings, {"SMS_RECEIPTS_HTTP_DEADLINE_MS": "0.5s"}, "SMS_RECEIPTS_HTTP_DEADLINE_MS"),
        (ReceiverSettings, {"SMS_RECEIPTS_ALLOWED_IPS": "10.0.0.0/33"}, "SMS_RECEIPTS_ALLOWED_IPS"),
        (
            AlicomSettings,
            {"SMS_RECEIPTS_ALICOM_ACCOUNT_ID": "1", "SMS_RECEIPTS_ALICOM_WAIT_SECONDS": "x"},
            "SMS_RECEIPTS_ALICOM_WAIT_SECONDS",
        ),
        (
            AlicomSettings,
            {"SMS_RECEIPTS_ALICOM_ACCOUNT_ID": "1", "SMS_RECEIPTS_ALICOM_POISON_DEQUEUE_COUNT": "?"},
            "SMS_RECEIPTS_ALICOM_POISON_DEQUEUE_COUNT",
        ),
        (
            AlicomSettings,
            {"SMS_RECEIPTS_ALICOM_ACCOUNT_ID": "1", "SMS_RECEIPTS_ALICOM_BATCH_SECONDS": "20s"},
            "SMS_RECEIPTS_ALICOM_BATCH_SECONDS",
        ),
        (cli.PullSettings, {"SMS_RECEIPTS_PULL_SECONDS": "half a minute"}, "SMS_RECEIPTS_PULL_SECONDS"),
    ],
)
def test_a_value_that_is_not_a_number_names_its_variable(settings, env, name):
    with pytest.raises(ConfigurationError, match=name):
        settings.from_env(env)


def test_the_command_line_says_which_variable_is_wrong(storage_env, monkeypatch, capsys):
    monkeypatch.setenv("SMS_RECEIPTS_OTS_TIMEOUT", "ten seconds")
    assert cli.main(["init-tables"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "SMS_RECEIPTS_OTS_TIMEOUT" in err and "Traceback" not in err
