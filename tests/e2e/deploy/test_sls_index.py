"""The functions' logs in SLS: template.yml's index uses only what ROS documents, covers the fields FC
writes, and every function logs to its logstore in lines FC starts an entry with; s.yaml's logConfig
is fc3's. The README's queries, run here on the functions' real log lines as FC stores them (the
JSON behind FC's prefix, in `message`), read keys those lines have and find the lines they mean."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
import yaml

from sms_receipts_dev.testing import events
from sms_receipts_dev.testing.fc import fc_context

from deploy_support import ROOT
from function_support import load_function

TEMPLATE = yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))
RESOURCES = TEMPLATE["Resources"]
S_YAML = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))
FC3_SCHEMA = json.loads((ROOT / "deploy" / "fc3-schema.json").read_text(encoding="utf-8"))
INDEX = RESOURCES["LogIndex"]["Properties"]
FUNCTIONS = [name for name, spec in RESOURCES.items() if spec["Type"] == "ALIYUN::FC3::Function"]

# ALIYUN::SLS::Index (https://www.alibabacloud.com/help/en/ros/developer-reference/aliyun-sls-index):
# its properties, FullTextIndex's, KeyIndices', the field types and the delimiters it supports.
INDEX_PROPERTIES = {"ProjectName", "LogstoreName", "FullTextIndex", "KeyIndices", "LogReduce"}
FULL_TEXT_PROPERTIES = {"Enable", "CaseSensitive", "Delimiter", "IncludeChinese"}
KEY_PROPERTIES = {"Name", "EnableAnalytics", "Delimiter", "CaseSensitive", "JsonKeyIndices", "Alias", "IncludeChinese"}
KEY_TYPES = {"text", "long", "double", "json"}
DELIMITERS = set(",'\";=()[]{}?@&<>/:\n\t\r")
# What FC writes: an execution log entry's fields (https://www.alibabacloud.com/help/doc-detail/171396.htm,
# less FC 2.0's serviceName; devsapp/fc3 src/subCommands/logs/index.ts getLogs reads message,
# instanceID, functionName, qualifier and versionId), and the request metrics' fields this index keeps
# (https://help.aliyun.com/zh/sls/function-compute-3-0-log-field-details), numbers as numbers.
FC_LOG_FIELDS = {"message", "functionName", "qualifier", "versionId", "instanceID"}
FC_METRICS = {"requestId": "text", "durationMs": "double", "memoryUsageMB": "double", "isColdStart": "text"}
FC_METRICS |= {"hasFunctionError": "text", "errorType": "text"}
LINE_JSON = r"\{.*\}"  # what the README's queries give regexp_extract: the JSON part of `message`


def keys_by_name() -> dict[str, dict]:
    return {key["Name"]: key for key in INDEX["KeyIndices"]}


def test_the_index_uses_only_what_ros_documents():
    assert set(INDEX) <= INDEX_PROPERTIES and {"ProjectName", "LogstoreName", "FullTextIndex"} <= set(INDEX)
    assert set(INDEX["FullTextIndex"]) <= FULL_TEXT_PROPERTIES and INDEX["FullTextIndex"]["Enable"] is True
    for key in INDEX["KeyIndices"]:
        assert set(key) - {"Type"} <= KEY_PROPERTIES and key["Type"] in KEY_TYPES, key
        assert set(key.get("Delimiter", "")) <= DELIMITERS, key
        assert "Delimiter" not in key or key["Type"] == "text"
    assert len(keys_by_name()) == len(INDEX["KeyIndices"])  # no field twice


def test_the_index_holds_fcs_fields_with_statistics_for_sql():
    keys = keys_by_name()
    assert set(keys) == FC_LOG_FIELDS | set(FC_METRICS)
    assert {name: keys[name]["Type"] for name in FC_METRICS} == FC_METRICS
    assert all(keys[name]["Type"] == "text" for name in FC_LOG_FIELDS)
    assert all(key["EnableAnalytics"] is True for key in keys.values())  # SQL reads only these
    assert set(keys["message"]["Delimiter"]) >= set('"{}[],:')  # JSON's punctuation splits its words


def test_every_function_logs_to_the_indexed_logstore_in_lines_that_start_an_entry():
    assert INDEX["ProjectName"] == {"Fn::GetAtt": ["LogProject", "Name"]}
    assert INDEX["LogstoreName"] == {"Fn::GetAtt": ["Logstore", "LogstoreName"]}
    assert len(FUNCTIONS) == 4
    for name in FUNCTIONS:
        spec = RESOURCES[name]
        config = spec["Properties"]["LogConfig"]
        assert config["Project"] == INDEX["ProjectName"] and config["Logstore"] == INDEX["LogstoreName"]
        assert config["LogBeginRule"] == "DefaultRegex" and config["EnableRequestMetrics"] is True
        assert "LogIndex" in spec["DependsOn"]  # no function logs before its lines can be searched


def test_s_yaml_gives_every_function_fc3s_log_config():
    schema = FC3_SCHEMA["definitions"]["ILogConfig"]
    config = S_YAML["vars"]["logConfig"]
    assert set(config) <= set(schema["properties"]) and set(schema["required"]) <= set(config)
    assert config["logBeginRule"] in schema["properties"]["logBeginRule"]["enum"]
    assert config["logBeginRule"] == "DefaultRegex" and config["enableRequestMetrics"] is True
    for name, resource in S_YAML["resources"].items():
        assert resource["props"]["logConfig"] == config, name


# -- the functions' real log lines, as FC stores them --------------------------------------------


def fc_line(record: logging.LogRecord, request_id: str) -> str:
    """A log record as FC's Python runtime prints it, and so as `message` holds it:
    `2017-07-05T05:13:35.920Z a72df088-... [INFO] hello world`
    (https://www.alibabacloud.com/help/en/functioncompute/fc/logging-2)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
    return f"{stamp} {request_id} [{record.levelname}] {record.getMessage()}"


def report(phone: str, biz_id: str = "900619746936498440^0") -> dict:
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "biz_id": biz_id,
    }


@pytest.fixture
def log_lines(storage_env, fresh_instance, emulator, caplog):
    """`message` of every line the functions log for: a push, a push too big to store inline (spilled),
    a push storage refuses (500), a refused push, an MNS batch and the drain of the spill."""
    env = {**storage_env, "SMS_RECEIPTS_CALLBACK_TOKENS": "t"}
    http = lambda body, token="t": load_function("http_receipt").handler(  # noqa: E731
        events.http_event(body, path="/SmsReport", query={"token": token}), fc_context("1-6543f2a1-push")
    )
    lines = []
    with caplog.at_level(logging.INFO, logger="sms_receipts"):
        fresh_instance(env)
        assert http([report(f"1380000{i:04d}") for i in range(3)])["statusCode"] == 200
        fresh_instance({**env, "SMS_RECEIPTS_HTTP_DEADLINE_MS": "2000", "SMS_RECEIPTS_HTTP_SPILL_MS": "1990"})
        assert http([report(f"1390000{i:04d}", f"b{i // 50}") for i in range(500)])["statusCode"] == 200
        fresh_instance({**env, "SMS_RECEIPTS_HTTP_DEADLINE_MS": "300", "SMS_RECEIPTS_HTTP_SPILL_MS": "100"})
        emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
        try:
            assert http([report("13700000001")])["statusCode"] == 500
        finally:
            emulator.faults.clear()
        assert http([report("13700000002")], token="wrong")["statusCode"] == 403
        fresh_instance({**env, "SMS_RECEIPTS_MNS_MESSAGE_TYPE": "SmsReport"})
        mns = load_function("mns_receipt")
        mns.handler(events.eventbridge_event([report("13600000001"), report("13600000002")]), fc_context("1-mns"))
        mns.handler(events.timer_event("drain", trigger_name="drain"), fc_context("1-drain"))
    for record in caplog.records:
        if record.name.startswith("sms_receipts"):
            lines.append(fc_line(record, "1-6543f2a1-8c2f0d3e4b5a6978"))
    return lines


def json_of(message: str) -> dict | None:
    """What the README's SQL gets from `message`: regexp_extract(message, '\\{.*\\}'), then JSON (null
    when it is none, as json_extract_scalar gives)."""
    match = re.search(LINE_JSON, message)
    try:
        return json.loads(match.group(0)) if match else None
    except ValueError:
        return None


def words(message: str) -> set[str]:
    """The words `message: word` finds: the line split at the index's delimiters (and spaces, which
    split a search's words too), without case."""
    return {
        w.lower()
        for w in re.split("[" + re.escape("".join(keys_by_name()["message"]["Delimiter"]) + " ") + "]", message)
        if w
    }


def test_fc_stores_no_json_but_the_json_is_in_every_line(log_lines):
    events_logged = {json_of(line)["event"] for line in log_lines}
    assert {"push", "push_refused", "mns_batch", "drain"} <= events_logged
    for line in log_lines:
        with pytest.raises(ValueError):
            json.loads(line)  # what a json index would parse: nothing, the prefix comes first
        assert isinstance(json_of(line), dict), line
        assert "13800000001" not in line and "13900000499" not in line  # masked


def readme_queries() -> list[str]:
    """The README's SLS queries: its ```sql blocks that read `message`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)\n```", readme, re.DOTALL)
    queries = [block.strip() for block in blocks if "regexp_extract(message" in block]
    assert len(queries) == 3, "README, 'Logs': the three SLS queries (failures, p99 push latency, spilled)"
    return queries


def run_query(query: str, lines: list[str]) -> list[dict]:
    """The lines a README query reads: those its search finds (`message: a or message: b`), as the JSON
    its SQL takes out of them, kept by its `WHERE json_extract_scalar(line, '$.event') = '...'` or
    `WHERE cast(json_extract_scalar(line, '$.key') AS bigint) > 0`."""
    search, sql = (part.strip() for part in query.split("|", 1))
    wanted = [term.lower() for term in re.findall(r"message: (\w+)", search)]
    assert wanted and re.fullmatch(r"message: \w+( or message: \w+)*", search), search
    assert f"regexp_extract(message, '{LINE_JSON}')" in sql, sql
    found = [json_of(line) for line in lines if words(line) & set(wanted)]
    found = [line for line in found if line is not None]
    event = re.search(r"WHERE json_extract_scalar\(line, '\$\.event'\) = '(\w+)'", sql)
    if event:
        found = [line for line in found if line.get("event") == event.group(1)]
    positive = re.search(r"WHERE cast\(json_extract_scalar\(line, '\$\.(\w+)'\) AS bigint\) > 0", sql)
    if positive:
        found = [line for line in found if (line.get(positive.group(1)) or 0) > 0]
    return found


def test_each_readme_query_reads_keys_its_lines_have_and_finds_them(log_lines):
    failures, latency, spilled = readme_queries()
    for query in (failures, latency, spilled):
        found = run_query(query, log_lines)
        assert found, query
        for key in re.findall(r"'\$\.(\w+)'", query):
            assert any(key in line for line in found), (key, query)

    failed = run_query(failures, log_lines)
    assert {(line["event"], line.get("status")) for line in failed} >= {("push", 500), ("push_refused", 403)}
    assert all(line["event"] != "push" or line["status"] != 200 for line in failed)  # no success among them

    pushes = run_query(latency, log_lines)
    assert {line["event"] for line in pushes} == {"push"} and len(pushes) == 3  # refused ones are not pushes
    assert all(isinstance(line["latency_ms"], (int, float)) for line in pushes)

    spills = run_query(spilled, log_lines)
    assert [line["event"] for line in spills] == ["push"] and spills[0]["spilled"] > 0


def test_the_readmes_index_for_s_yaml_users_is_the_templates():
    """README, "With s.yaml": the body for `aliyunlog log create_index` (SLS CreateIndex: `keys`, each
    with type, doc_value (statistics), caseSensitive and token; https://help.aliyun.com/zh/sls/developer-reference/create-index)
    holds the fields of template.yml's LogIndex, alike."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (body,) = [
        json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if '"keys"' in b and '"line"' in b
    ]
    expected = {}
    for key in INDEX["KeyIndices"]:
        entry = {"type": key["Type"], "doc_value": key["EnableAnalytics"]}
        if key["Type"] == "text":
            entry |= {"caseSensitive": key["CaseSensitive"], "token": list(key["Delimiter"])}
        expected[key["Name"]] = entry
    assert body["keys"] == expected
    assert body["line"]["token"] and set(body["line"]["token"]) <= DELIMITERS | {" "}
