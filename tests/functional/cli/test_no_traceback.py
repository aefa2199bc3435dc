"""No traceback, ever, for a user's mistake: every command turns bad input, a bad setting, a missing
stack or unreachable service, and missing credentials into one line on stderr, `sms-receipts COMMAND:
...`, and exit status 2 (a usage mistake) or 1 (the operation failed).

The table runs through the console script's own parser (`sms_receipts_dev.cli.main`), and a few rows
again through a real `sms-receipts` process. `{stale}` is the data directory of a local stack that was
killed (its `endpoints.json` left behind), `{none}` one where no stack ever ran."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sms_receipts_dev import cli as dev_cli
from sms_receipts_dev.local.dev import DevStack

from function_support import ROOT

SCRIPT = Path(sys.executable).with_name("sms-receipts")
SAMPLE = str(ROOT / "examples" / "http" / "SmsUp.json")
UNKNOWN_TYPE = "unknown message type 'Foo'; expected one of: SmsReport"
NO_STACK = "no local stack running in {stale}: start it with make dev ("
NOT_CONFIGURED = "or start the local stack (make dev) so that {none}/endpoints.json exists"
CLOUD = {"SMS_RECEIPTS_OTS_ENDPOINT": "http://127.0.0.1:{closed}", "SMS_RECEIPTS_OTS_INSTANCE": "sms"}
KEYS = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-x", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "x"}

# (argv, environment, exit status, what the one line says)
CASES = [
    # unknown types, unreadable and non-JSON files
    (["push", "--type", "Foo", SAMPLE, "--data-dir", "{stale}"], {}, 2, UNKNOWN_TYPE),
    (["pull", "--once", "--type", "Foo", "--data-dir", "{stale}"], {}, 2, UNKNOWN_TYPE),
    (["mns-send", "--type", "Foo", SAMPLE, "--data-dir", "{stale}"], {}, 2, UNKNOWN_TYPE),
    (["parse", "--type", "Foo", SAMPLE], {}, 2, UNKNOWN_TYPE),
    (["mns-send", "{bad}", "--data-dir", "{stale}"], {}, 2, "{bad} is not JSON (Expecting value"),
    (["push", "{bad}", "--data-dir", "{stale}"], {}, 2, "{bad} is not JSON (Expecting value"),
    (["push", "{missing}", "--data-dir", "{stale}"], {}, 2, "cannot read {missing}: No such file"),
    (["mns-send", "{missing}", "--data-dir", "{stale}"], {}, 2, "cannot read {missing}: No such file"),
    (["sends", "import", "{missing}", "--data-dir", "{stale}"], {}, 2, "cannot read {missing}: No such file"),
    (["parse", "{missing}"], {}, 2, "cannot read {missing}: No such file"),
    (["push", "--url", "ftp://127.0.0.1/SmsUp", SAMPLE], {}, 2, "is not an http:// or https:// URL"),
    # bad numbers: in a variable, in an option
    (
        ["pull", "--once", "--data-dir", "{stale}"],
        {"SMS_RECEIPTS_ALICOM_WAIT_SECONDS": "abc"},
        2,
        "SMS_RECEIPTS_ALICOM_WAIT_SECONDS must be a whole number, got 'abc'",
    ),
    (
        ["pull", "--once", "--data-dir", "{stale}"],
        {"SMS_RECEIPTS_PULL_SECONDS": "soon"},
        2,
        "SMS_RECEIPTS_PULL_SECONDS must be a number",
    ),
    (
        ["query", "--biz-id", "1"],
        {**CLOUD, **KEYS, "SMS_RECEIPTS_OTS_TIMEOUT": "ten"},
        2,
        "SMS_RECEIPTS_OTS_TIMEOUT must be a number",
    ),
    (
        ["reconcile", "--once", "--data-dir", "{stale}"],
        {"SMS_RECEIPTS_RECONCILE_QPS": "many"},
        2,
        "SMS_RECEIPTS_RECONCILE_QPS",
    ),
    (["dev", "--fault-rate", "5", "--data-dir", "{none}"], {}, 2, "--fault-rate must be between 0 and 1, got 5"),
    (["dev", "--drop-rate", "-1", "--data-dir", "{none}"], {}, 2, "--drop-rate must be between 0 and 1, got -1"),
    (["repair", "--since", "yesterday", "--data-dir", "{stale}"], {}, 2, "give a span (90m, 24h, 7d)"),
    (["replay", "--since", "soon", "--data-dir", "{stale}"], {}, 2, "give a span (90m, 24h, 7d)"),
    (["completeness", "--days", "40", "--data-dir", "{stale}"], {}, 2, "--days must be from 1 to 30"),
    (
        ["send", "--phones", "1", "--sign", "s", "--template", "t", "--params", "[1]", "--data-dir", "{stale}"],
        {},
        2,
        "--params must be a JSON object",
    ),
    (["reply", "--phone", "1", "--content", "", "--data-dir", "{stale}"], {}, 2, "--content must not be empty"),
    # no stack, and none configured
    (["query", "--biz-id", "1", "--data-dir", "{none}"], {}, 2, NOT_CONFIGURED),
    (["export", "--table", "ledger", "--data-dir", "{none}"], {}, 2, NOT_CONFIGURED),
    (["pull", "--once", "--data-dir", "{none}"], {}, 2, NOT_CONFIGURED),
    (["push", SAMPLE, "--data-dir", "{none}"], {}, 2, "name the callback URL (--url), or start the local stack"),
    (["mns-send", SAMPLE, "--data-dir", "{none}"], {}, 2, "or start the local stack (make dev)"),
    (["reply", "--phone", "1", "--content", "x", "--data-dir", "{none}"], {}, 2, "reply needs the local stack"),
    (["send", "--phones", "1", "--sign", "s", "--template", "t", "--data-dir", "{none}"], {}, 2, "not configured"),
    # a stack that has stopped, its endpoints.json left behind
    (["query", "--biz-id", "1", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at http://127.0.0.1:"),
    (["export", "--table", "ledger", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["init-tables", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["drain", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["repair", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["replay", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["sends", "import", "{sends}", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["reconcile", "--once", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (["completeness", "--data-dir", "{stale}"], {}, 1, NO_STACK + "Tablestore at"),
    (
        ["send", "--phones", "1", "--sign", "s", "--template", "t", "--data-dir", "{stale}"],
        {},
        1,
        NO_STACK + "the SMS API at 127.0.0.1:",
    ),
    (["pull", "--once", "--data-dir", "{stale}"], {}, 1, NO_STACK + "the Alicom queues' token API"),
    (["push", SAMPLE, "--data-dir", "{stale}"], {}, 1, NO_STACK + "the HTTP function at 127.0.0.1:"),
    (["mns-send", SAMPLE, "--data-dir", "{stale}"], {}, 1, NO_STACK + "MNS refused the connection"),
    (["reply", "--phone", "1", "--content", "x", "--data-dir", "{stale}"], {}, 1, NO_STACK + "the HTTP function at"),
    # a cloud Tablestore that does not answer; credentials that are nowhere
    (
        ["query", "--biz-id", "1"],
        {**CLOUD, **KEYS},
        1,
        "cannot reach Tablestore at http://127.0.0.1:{closed}: it refused the connection",
    ),
    (
        ["export", "--table", "state"],
        CLOUD,
        2,
        "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
        "or name a profile of {home}/.aliyun/config.json",
    ),
    (
        ["query", "--biz-id", "1", "--profile", "prod"],
        CLOUD,
        2,
        "--profile prod: there is no {home}/.aliyun/config.json (aliyun configure --profile NAME writes it)",
    ),
    (["--profile", "prod", "init-tables"], CLOUD, 2, "--profile prod: there is no {home}/.aliyun/config.json"),
    # command-line usage (argparse's own messages)
    (["export", "--table", "nope"], {}, 2, "argument --table: invalid choice: 'nope'"),
    (["query", "-o", "yaml", "--biz-id", "1"], {}, 2, "argument -o/--output: invalid choice: 'yaml'"),
    (["query"], {}, 2, "the following arguments are required: --biz-id"),
    (["completion", "fish"], {}, 2, "invalid choice: 'fish'"),
    (["frobnicate"], {}, 2, "invalid choice: 'frobnicate'"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The placeholders' values: a killed stack's data dir, an empty one, files, a port nobody listens on."""
    root = tmp_path_factory.mktemp("places")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)  # the stack serves functions/http_receipt/index.py from the project
        with DevStack(port=0, data_dir=root / "stale", token="t", drain_seconds=None) as stack:
            left = (stack.data_dir / "endpoints.json").read_bytes()
    (root / "stale" / "endpoints.json").write_bytes(left)  # as a killed stack leaves it
    (root / "none").mkdir()
    (root / "home").mkdir()
    (root / "bad.json").write_text("hello\n")
    (root / "sends.jsonl").write_text('{"biz_id": "1^0", "phone_number": "13800000001", "send_time": 1796000000}\n')
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    return {
        "stale": str(root / "stale"),
        "none": str(root / "none"),
        "home": str(root / "home"),
        "bad": str(root / "bad.json"),
        "missing": str(root / "missing.json"),
        "sends": str(root / "sends.jsonl"),
        "closed": str(closed),
    }


def environment(places: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """The process environment without this project's or Alibaba Cloud's variables, HOME empty, the
    ECS metadata service (not on loopback) never asked; then the case's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_RECEIPTS_", "ALIBABA_CLOUD_"))}
    env.update(HOME=places["home"], ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")
    env.update({name: value.format(**places) for name, value in extra.items()})
    return env


def case_id(case) -> str:
    argv, env, _, _ = case
    return " ".join([*(f"{k}=…" for k in env), *argv])[:80]


@pytest.mark.parametrize(("argv", "env", "status", "said"), CASES, ids=[case_id(c) for c in CASES])
def test_a_mistake_is_one_line_and_an_exit_status(places, monkeypatch, capsys, argv, env, status, said):
    monkeypatch.chdir(places["none"])  # no .data here: only --data-dir names a stack
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in environment(places, env).items():
        monkeypatch.setenv(name, value)
    try:
        code = dev_cli.main([part.format(**places) for part in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == status, err
    assert "Traceback" not in err
    lines = err.splitlines()
    if argv[0] not in ("pull", "reconcile"):  # these print their run (its log, its report) before the verdict
        assert out == "" and (len(lines) == 1 or lines[0].startswith("usage: ")), err
    assert said.format(**places) in lines[-1]
    assert lines[-1].startswith(("sms-receipts ", "sms-receipts: error: ", "usage: "))


SUBPROCESS_CASES = [
    (["push", "--type", "Foo", SAMPLE, "--data-dir", "{stale}"], {}, 2, UNKNOWN_TYPE),
    (["mns-send", "{bad}", "--data-dir", "{stale}"], {}, 2, "{bad} is not JSON"),
    (["push", "{bad}", "--data-dir", "{stale}"], {}, 2, "{bad} is not JSON"),
    (
        ["pull", "--once", "--data-dir", "{stale}"],
        {"SMS_RECEIPTS_ALICOM_WAIT_SECONDS": "abc"},
        2,
        "must be a whole number",
    ),
    (["dev", "--fault-rate", "5", "--data-dir", "{none}"], {}, 2, "--fault-rate must be between 0 and 1"),
    (["query", "--biz-id", "1", "--data-dir", "{stale}"], {}, 1, NO_STACK),
    (["export", "--table", "state"], CLOUD, 2, "no Alibaba Cloud credentials"),
]


@pytest.mark.parametrize(
    ("argv", "env", "status", "said"), SUBPROCESS_CASES, ids=[case_id(c) for c in SUBPROCESS_CASES]
)
def test_the_console_script_says_the_same(places, argv, env, status, said):
    done = subprocess.run(
        [str(SCRIPT), *(part.format(**places) for part in argv)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=places["none"],
        env=environment(places, env),
    )
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    assert said.format(**places) in done.stderr.splitlines()[-1]


def test_dev_on_a_port_in_use_is_one_line(places):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(SCRIPT), "dev", "--port", str(port), "--data-dir", places["none"]],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=environment(places, {}),
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"sms-receipts dev: port {port} is in use: stop what uses it or pass --port\n"


def test_query_for_a_biz_id_with_nothing_stored_says_nothing_found(storage_env, capsys):
    assert dev_cli.main(["query", "--biz-id", "nothing"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "sms-receipts query: nothing found for BizId nothing\n"
    assert dev_cli.main(["query", "--biz-id", "nothing", "--phone", "13800000000"]) == 1
    assert capsys.readouterr().err == "sms-receipts query: nothing found for BizId nothing, phone 13800000000\n"
