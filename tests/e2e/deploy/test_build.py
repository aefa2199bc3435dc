"""`make build`: one directory per function, holding its handler, `sms_receipts` and its pinned runtime
packages, and nothing else; each one runs a sample event end to end in a clean interpreter that sees
only that directory and the standard library (not the development environment's site-packages)."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alibabacloud_dysmsapi20170525.models import SendSmsRequest

from build_functions import normalize
from build_functions import read_pins as read_pins_file
from sms_receipts.parsing.models import UNRESOLVED_ERR_CODE
from sms_receipts.storage import DELIVERY_STATE, LEDGER, ReceiptStore
from sms_receipts.storage.sends import Send, SendLog
from sms_receipts_dev.emulators.credentials import CredentialStore
from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator
from sms_receipts_dev.emulators.mns import MnsEmulator
from sms_receipts_dev.testing import events

from deploy_support import BUILD, FUNCTIONS, ROOT, fresh_tables, read_pins

ACCOUNT_ID = "1234567890123456"
DROPPED = {"numpy": "numpy", "future": "future", "pycryptodome": "Crypto"}  # distribution: import name

# Runs in `python -I -S` with only the built directory added to sys.path: no site-packages at all.
CHILD = r"""
import base64, importlib.util, json, os, sys, sysconfig, types
spec = json.loads(sys.stdin.read())
build_dir = os.path.realpath(spec["build_dir"])
sys.path.insert(0, build_dir)
assert not [p for p in sys.path if "site-packages" in p], sys.path
missing = {name: importlib.util.find_spec(name) is None for name in spec["absent"]}
import index
context = types.SimpleNamespace(
    request_id="deploy-test", account_id=spec["account_id"], region="cn-hangzhou",
    function=types.SimpleNamespace(name=spec["function"], handler="index.handler", memory=512,
                               timeout=spec["timeout"]),
    credentials=types.SimpleNamespace(access_key_id=spec["key_id"], access_key_secret=spec["secret"],
                                      security_token=""),
)
index.initialize(context)
results = [index.handler(base64.b64decode(event), context) for event in spec["events"]]
stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
def shipped_or_stdlib(path):
    path = os.path.realpath(path)
    if path.startswith(build_dir + os.sep):
        return True
    return "site-packages" not in path and any(path.startswith(p + os.sep) for p in stdlib)
outside = sorted(name for name, module in list(sys.modules.items())
                 if getattr(module, "__file__", None) and not shipped_or_stdlib(module.__file__))
cli_only = {"sms_receipts.cli", "sms_receipts.output", "sms_receipts.report", "sms_receipts.stats_model"}
print(json.dumps({"results": results, "absent": missing, "outside": outside,
                  "loaded": sorted({n.split(".")[0] for n in sys.modules}),
                  "cli_loaded": sorted(cli_only & set(sys.modules))}))
"""


def run_built(function: str, event_list: list[bytes], env: dict[str, str], timeout: int = 10) -> dict:
    if sys.version_info[:2] != (3, 10):
        pytest.skip("the packages are built for FC's CPython 3.10; this interpreter cannot load their binaries")
    spec = {
        "build_dir": str(BUILD / function),
        "function": function,
        "account_id": ACCOUNT_ID,
        "timeout": timeout,
        "key_id": "LTAI-local-emulator",
        "secret": "local-emulator-secret",
        "events": [base64.b64encode(e).decode("ascii") for e in event_list],
        # The command line's own packages (the `cli` extra) are never shipped.
        "absent": [*DROPPED.values(), "past", "sms_receipts_dev", "pytest", "rich", "shtab"],
    }
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD],
        input=json.dumps(spec),
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(report["absent"].values()), report["absent"]  # what is not shipped cannot be imported
    assert report["outside"] == [], f"modules loaded from outside build/{function}: {report['outside']}"
    assert report["cli_loaded"] == [], f"a function loaded the command line's modules: {report['cli_loaded']}"
    return report


@pytest.fixture
def storage(emulator):
    """Fresh tables on the emulator; the environment a deployed function gets; the test's own store."""
    return fresh_tables(emulator)


def ledger_types(backend) -> list[str]:
    return sorted(row["message_type"] for row in backend.scan(LEDGER))


REPORTS = [
    {
        "phone_number": "13800000001",
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619^0",
        "out_id": "o-1",
    },
    {
        "phone_number": "13800000002",
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:07",
        "success": False,
        "err_code": "UNDELIV",
        "err_msg": "失败",
        "sms_size": "1",
        "biz_id": "900619^0",
    },
]
REPLY = {
    "phone_number": "13800000003",
    "content": "好的",
    "send_time": "2026-11-25 10:01:00",
    "dest_code": "1",
    "sequence_id": 42,
}


def test_http_receipt_runs_a_push_end_to_end_from_its_directory(built_functions, storage):
    env, backend = storage
    push = events.http_event(REPORTS, path="/SmsReport", query={"token": "deploy-token"})
    report = run_built("http_receipt", [push, push], {**env, "SMS_RECEIPTS_CALLBACK_TOKENS": "deploy-token"})
    for response in report["results"]:
        assert response["statusCode"] == 200
        assert json.loads(response["body"]) == {"code": 0, "msg": "接收成功"}
    assert ledger_types(backend) == ["SmsReport", "SmsReport"]  # the re-push stored nothing twice
    assert {"tablestore", "flatbuffers", "pydantic"} <= set(report["loaded"])
    # shipped for the SDK's async client and timeseries, deferred by sms_receipts.storage (test_cold_start.py)
    assert not {"aiohttp", "asyncio", "crc32c"} & set(report["loaded"])


def test_http_receipt_refuses_a_push_without_the_token(built_functions, storage):
    env, backend = storage
    push = events.http_event(REPORTS, path="/SmsReport", query={"token": "wrong"})
    report = run_built("http_receipt", [push], {**env, "SMS_RECEIPTS_CALLBACK_TOKENS": "deploy-token"})
    assert report["results"][0]["statusCode"] == 403
    assert ledger_types(backend) == []


def test_mns_receipt_runs_a_queue_batch_and_a_topic_message_from_its_directory(built_functions, storage):
    env, backend = storage
    batch = events.eventbridge_event([REPORTS[0], REPLY], queue_name="sms-receipts")
    topic = events.topic_event_json(REPORTS[1], topic_name="sms-receipts-SmsReport")
    report = run_built("mns_receipt", [batch, topic], env)
    assert [r["stored"] for r in report["results"]] == [2, 1]
    assert ledger_types(backend) == ["SmsReport", "SmsReport", "SmsUp"]


def test_alicom_pull_drains_the_queues_from_its_directory(built_functions, storage):
    env, backend = storage
    credentials = CredentialStore()
    with (
        DybaseapiEmulator(
            credentials=credentials, account_id=ACCOUNT_ID, message_types=["SmsReport", "SmsUp"]
        ) as dybaseapi,
        MnsEmulator(credentials=credentials) as mns,
    ):
        for queue in dybaseapi.queue_names().values():
            mns.create_queue(queue, visibility_timeout=5)
        mns.enqueue(f"Alicom-Queue-{ACCOUNT_ID}-SmsUp", json.dumps(REPLY, ensure_ascii=False))
        mns.enqueue(f"Alicom-Queue-{ACCOUNT_ID}-SmsReport", json.dumps(REPORTS[0], ensure_ascii=False))
        # FC's timeout 30 s, not 10: a budget (less the puller's 5 s margin) that a slow machine cannot use up
        report = run_built(
            "alicom_pull",
            [events.timer_event()],
            {
                **env,
                "SMS_RECEIPTS_ALICOM_MNS_ENDPOINT": mns.endpoint,
                "SMS_RECEIPTS_DYBASEAPI_ENDPOINT": dybaseapi.address,
                "SMS_RECEIPTS_DYBASEAPI_PROTOCOL": "http",
                "SMS_RECEIPTS_ALICOM_WAIT_SECONDS": "1",
            },
            timeout=30,
        )
    queues = {q["message_type"]: q for q in report["results"][0]["queues"]}
    assert queues["SmsUp"]["outcomes"]["stored"] == 1 and queues["SmsUp"]["deleted"] == 1
    assert queues["SmsReport"]["outcomes"]["stored"] == 1 and queues["SmsReport"]["status"] == "empty"
    assert ledger_types(backend) == ["SmsReport", "SmsUp"]
    assert {"mns", "alibabacloud_dybaseapi20170525", "cryptography"} <= set(report["loaded"])


def test_reconcile_resolves_logged_sends_from_its_directory(built_functions, storage):
    """The timer event on the built package: two sends the service knows (one delivered, one failed)
    are stored from QuerySendDetails' answers, a send past the maximum age that it has no record of
    gets `unknown`; the Alicom SDKs are not shipped, so they cannot be what ran."""
    env, backend = storage
    log = SendLog(ReceiptStore(backend))
    with DysmsapiEmulator(delivery_delay=0) as sms:
        sms.state.plan("13800000002", err_code="UNDELIV")
        request = SendSmsRequest(phone_numbers="13800000001,13800000002", sign_name="阿里云", template_code="SMS_1")
        response = sms.client().send_sms(request)
        assert log.record_sdk_call(request, response).confirmed
        four_days_ago = int((time.time() - 96 * 3600) * 1000)
        assert log.record([Send("old^0", "13800000003", four_days_ago)]).confirmed
        report = run_built(
            "reconcile",
            [events.timer_event(trigger_name="every-10-minutes", payload="reconcile")],
            {
                **env,
                "SMS_RECEIPTS_SMS_ENDPOINT": sms.address,
                "SMS_RECEIPTS_SMS_PROTOCOL": "http",
                "SMS_RECEIPTS_RECONCILE_GRACE_SECONDS": "0",
            },
            timeout=30,
        )
    (result,) = report["results"]
    assert (result["queried"], result["resolved"], result["unknown"], result["failed"]) == (3, 2, 1, 0), result
    states = {row["phone_number"]: row for row in backend.scan(DELIVERY_STATE)}
    assert {number: row["status"] for number, row in states.items()} == {
        "13800000001": "delivered",
        "13800000002": "failed",
        "13800000003": "unknown",
    }
    assert states["13800000003"]["err_code"] == UNRESOLVED_ERR_CODE
    assert {row["source"] for row in backend.scan(LEDGER)} == {"query"}
    assert {"alibabacloud_dysmsapi20170525", "tablestore", "pydantic"} <= set(report["loaded"])
    assert not {"mns", "alibabacloud_dybaseapi20170525"} & set(report["loaded"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_built_directory_holds_the_handler_the_package_and_the_pinned_packages_only(built_functions, function):
    directory = BUILD / function
    pins = {normalize(name): version for name, version in read_pins(function)}
    shipped = {}
    expected_top = {"index.py", "__pycache__", "sms_receipts"}
    for info in directory.glob("*.dist-info"):
        name, version = info.name[: -len(".dist-info")].rsplit("-", 1)
        shipped[normalize(name)] = version
        expected_top.add(info.name)
        for line in (info / "RECORD").read_text(encoding="utf-8").splitlines():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and top != "..":
                expected_top.add(top)
    assert shipped == pins  # exactly the pinned distributions, at the pinned versions
    assert {p.name for p in directory.iterdir()} <= expected_top
    package = directory / "sms_receipts"
    source = ROOT / "shared" / "sms_receipts"  # the core ships whole; the dev package not at all
    assert {p.name for p in package.iterdir()} == {p.name for p in source.iterdir()} | {"__pycache__"}
    assert not (directory / "sms_receipts_dev").exists()
    assert not list(directory.rglob("tests")) and not list(directory.glob("bin"))
    assert not (directory / "tablestore/ots_sdk/ots_sdk.so").exists()  # CPython 3.12 only
    for distribution, module in DROPPED.items():
        assert normalize(distribution) not in shipped and not (directory / module).exists()
    if sys.version_info[:2] == (3, 10):  # bytecode ships for the runtime's version, by hash, not by time
        pyc = (directory / "sms_receipts/storage/__pycache__/schema.cpython-310.pyc").read_bytes()
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, unchecked


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_pin_is_the_development_environments_version(function):
    """The packages built for FC are the ones the tests ran against: the same pins as requirements.txt."""
    development = dict(read_pins_file(ROOT / "requirements.txt"))
    for name, version in read_pins(function):
        assert development.get(name) == version, f"requirements/{function}.txt: {name}=={version}"
        assert importlib.metadata.version(name) == version


def test_the_dropped_packages_are_really_never_imported():
    """numpy, future and pycryptodome are declared by tablestore and aliyun-mns-sdk; no module of theirs
    (nor ours) imports them, so the build leaves them out. Guard that claim against an SDK upgrade."""
    site = Path(importlib.metadata.distribution("tablestore").locate_file(""))
    pattern = re.compile(r"^\s*(?:import|from)\s+(numpy|future|past|Crypto)\b", re.MULTILINE)
    roots = [site / "tablestore", site / "mns", site / "flatbuffers", ROOT / "shared" / "sms_receipts"]
    offenders = [
        str(p) for root in roots for p in root.rglob("*.py") if pattern.search(p.read_text("utf-8", "replace"))
    ]
    assert offenders == [str(site / "flatbuffers" / "compat.py")] or offenders == []
    compat = (site / "flatbuffers" / "compat.py").read_text(encoding="utf-8")
    assert 'find_spec("numpy") is not None' in compat  # flatbuffers imports numpy only when it is installed


def test_the_build_is_up_to_date_and_reproducible(built_functions):
    done = subprocess.run(
        [sys.executable, "scripts/build_functions.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
