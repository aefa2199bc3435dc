"""Output for people and for machines: `-o table|json|jsonl|csv` on the commands that print rows or a
report, JSON lines when stdout is not a terminal (as before `-o` existed), a table when it is; progress
bars on a terminal's stderr only; `--version`, `--help` examples and shell completion."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import os
import pty
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sms_receipts import cli, instance
from sms_receipts.output import INTERNAL_COLUMNS, progress
from sms_receipts.parsing import MessageType, RejectedItem, Source, decode_http_body
from sms_receipts.storage import DELIVERY_STATE, LEDGER
from sms_receipts_dev import cli as dev_cli

from helpers import load_event

SCRIPT = Path(sys.executable).with_name("sms-receipts")
REPORTS = "http/sms_report_batch_shared_biz_id.json"  # three numbers of one send, the third failed
BIZ_ID = "336006646937050335^0"


@pytest.fixture
def stored(storage_env, monkeypatch):
    items = decode_http_body(load_event(REPORTS), MessageType.SMS_REPORT).items
    assert instance.current().store().write(items).confirmed
    monkeypatch.setenv("COLUMNS", "250")  # rich's width when stdout is not a terminal
    return items


def command(capsys, *argv: str) -> tuple[int, str]:
    code = dev_cli.main(list(argv))
    return code, capsys.readouterr().out


def scanned(table: str) -> list[dict]:
    return list(instance.current().storage().backend.scan(table))


def test_piped_output_is_the_json_lines_it_always_was(stored, capsys):
    code, out = command(capsys, "query", "--biz-id", BIZ_ID)
    assert code == 0
    expected = [{"table": DELIVERY_STATE, **row} for row in scanned(DELIVERY_STATE)]
    expected += [{"table": LEDGER, **row} for row in scanned(LEDGER)]
    assert out == "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in expected)
    assert command(capsys, "query", "--biz-id", BIZ_ID, "-o", "jsonl") == (0, out)


def test_json_is_the_same_rows_as_one_document(stored, capsys):
    _, lines = command(capsys, "query", "--biz-id", BIZ_ID)
    code, document = command(capsys, "query", "--biz-id", BIZ_ID, "-o", "json")
    assert code == 0 and json.loads(document) == [json.loads(line) for line in lines.splitlines()]
    code, report = command(capsys, "drain", "-o", "json")  # one report: the object itself
    assert code == 0 and json.loads(report)["drained"] == 0


def test_csv_decodes_the_record_drops_internal_columns_and_dates_the_times(stored, capsys):
    code, out = command(capsys, "export", "--table", "ledger", "-o", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3 and not INTERNAL_COLUMNS & set(rows[0])
    failed = next(row for row in rows if row["record.err_code"] == "MK:0005")
    assert failed["status"] == "failed" and failed["record.success"] == "false"
    assert failed["event_time"].endswith("+08:00")  # a receipt's own time: China time, with its offset
    assert failed["record.phone_number"] == "13800138003"
    assert json.loads(failed["raw"])["err_code"] == "MK:0005"  # the receipt as it came, as JSON text


def test_a_table_shows_local_times_statuses_in_words_and_no_internal_columns(stored, capsys):
    code, out = command(capsys, "query", "--biz-id", BIZ_ID, "-o", "table")
    assert code == 0
    assert "event time (China)" in out and "updated at (" in out
    state = scanned(DELIVERY_STATE)[2]
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(state["event_time"] / 1000 + 8 * 3600)) in out
    assert "failed" in out and "delivered" in out and "MK:0005" in out
    for column in ("order key", "order_key", "winner", "write id", "write_id", str(state["version"])):
        assert column not in out
    assert str(state["event_time"]) not in out  # epoch milliseconds, nowhere


def test_a_table_too_wide_for_the_terminal_becomes_a_block_per_row(stored, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "60")
    code, out = command(capsys, "query", "--biz-id", BIZ_ID, "--phone", "13800138003", "-o", "table")
    assert code == 0
    assert "record.err msg" in out and "MK:0005" in out and "1/1" in out  # record spread out
    assert max(len(line) for line in out.splitlines()) <= 60


def test_a_dead_letters_raw_body_is_text_in_a_table_and_cut(storage_env, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "250")
    raw = b'{"phone_number": 13' + b"x" * 500
    rejected = RejectedItem("body is not JSON", raw, Source.HTTP, MessageType.SMS_REPORT, None, 0)
    assert instance.current().store().write([], [rejected]).confirmed
    code, out = command(capsys, "export", "--table", "dead-letter", "-o", "table")
    assert code == 0 and "body is not JSON" in out and '{"phone_number": 13xxx' in out
    assert "x" * 100 not in out and "…" in out


def test_reports_print_as_pairs_in_a_table(stored, capsys):
    code, out = command(capsys, "repair", "--since", "1h", "--dry-run", "-o", "table")
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines() if line.startswith(("ledger rows", "dry run"))] == [
        ["dry", "run"],
        ["ledger", "rows"],
    ]
    assert "yes" in out.splitlines()[1]  # dry run: yes, in words


def test_parse_prints_its_rows_in_any_format(capsys):
    path = str(Path(__file__).parents[2] / "events" / REPORTS)
    code, lines = command(capsys, "parse", path)
    code_csv, table = command(capsys, "parse", path, "-o", "csv")
    assert code == code_csv == 0
    assert [row["entity_key"] for row in csv.DictReader(io.StringIO(table))] == [
        json.loads(line)["entity_key"] for line in lines.splitlines()
    ]


def test_the_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as done:
        dev_cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"sms-receipts {importlib.metadata.version('sms-receipts')}\n"


def subcommands(parser):
    for action in parser._actions:
        if hasattr(action, "choices") and isinstance(action.choices, dict):
            for name, sub in action.choices.items():
                yield name, sub
                yield from subcommands(sub)


def test_every_commands_help_ends_with_an_example():
    for name, parser in subcommands(dev_cli.build_parser()):
        text = parser.format_help()
        assert "\nexample" in text and "  sms-receipts " in text.split("\nexample", 1)[1], name


def test_every_command_that_prints_rows_or_a_report_takes_output():
    # Their own output (a stack's log, a script), or a group of subcommands.
    quiet = {"dev", "emulator", "completion", "sends", "lookup"}
    for name, parser in subcommands(dev_cli.build_parser()):
        options = {option for action in parser._actions for option in action.option_strings}
        assert ("-o" in options) == (name not in quiet), name


@pytest.mark.parametrize("shell", ["bash", "zsh", "tcsh"])
def test_completion_scripts_name_every_command(shell):
    done = subprocess.run([str(SCRIPT), "completion", shell], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    names = ("query", "export", "sends", "push") + (("--biz-id", "--profile") if shell != "tcsh" else ())
    for name in names:  # tcsh's script completes the commands and their choices, not options
        assert name in done.stdout
    checker = shutil.which(shell)
    if shell == "bash" and checker:
        assert subprocess.run([checker, "-n"], input=done.stdout, text=True).returncode == 0  # it parses


def terminal_run(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The console script with stdout and stderr on a pseudo-terminal, as a person runs it."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(SCRIPT), *argv], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_on_a_terminal_the_default_is_a_table(stored):
    code, screen = terminal_run(["query", "--biz-id", BIZ_ID], {**os.environ, "COLUMNS": "250"})
    assert code == 0
    assert "┃" in screen and "event time (China)" in screen and '"table"' not in screen


def test_progress_goes_to_a_terminals_stderr_with_a_count_and_a_rate(monkeypatch):
    leader, follower = pty.openpty()
    with (
        os.fdopen(follower, "w", encoding="utf-8") as terminal,
        progress("export receipt_ledger", err=terminal) as advance,
    ):
        for _ in range(3):
            advance()
            time.sleep(0.3)  # past rich's refresh
    screen = os.read(leader, 65536).decode("utf-8", "replace")
    os.close(leader)
    assert "export receipt_ledger" in screen and "/s" in screen


def test_no_progress_when_stderr_is_not_a_terminal(stored, capsys):
    code = cli.main(["export", "--table", "ledger"])
    assert code == 0 and capsys.readouterr().err == ""


WITHOUT_RICH = "import sys; sys.modules['rich'] = None; from sms_receipts_dev.cli import console_main; console_main()"


def test_without_the_cli_extra_a_terminal_gets_json_lines_and_a_table_says_what_to_install(stored):
    env = {**os.environ, "COLUMNS": "250"}
    leader, follower = pty.openpty()
    command = [sys.executable, "-c", WITHOUT_RICH, "query", "--biz-id", BIZ_ID]
    done = subprocess.run(command, stdout=follower, stderr=subprocess.PIPE, env=env, timeout=60)
    os.close(follower)
    screen = os.read(leader, 65536).decode("utf-8")
    os.close(leader)
    assert done.returncode == 0 and json.loads(screen.splitlines()[0])["table"] == DELIVERY_STATE
    done = subprocess.run([*command, "-o", "table"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "sms-receipts query: -o table needs rich, in the cli extra: pip install 'sms-receipts[cli]'\n"
