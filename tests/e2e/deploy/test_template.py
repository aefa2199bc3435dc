"""template.yml (ROS), parsed and cross-checked with the code: handlers, environment variables, the
tables (generated from the store's schema), and a least-privilege policy with no wildcard."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import time
import types

import pytest
import yaml
from alibabacloud_dysmsapi20170525.models import SendSmsRequest

from sms_receipts.mns import fc as mns_fc
from sms_receipts.parsing import MessageType, Source, decode_items
from sms_receipts.parsing.models import UNRESOLVED_ERR_CODE
from sms_receipts.reconcile import reconciler
from sms_receipts.reconcile import settings as reconcile_settings
from sms_receipts.storage import TABLES, inbox, writer
from sms_receipts.storage import schema as table_names
from sms_receipts.storage import settings as storage_settings
from sms_receipts.storage.plan import plan_writes, refusal_row
from sms_receipts.storage.sends import Send, SendLog
from sms_receipts.storage.tablestore import TablestoreBackend
from sms_receipts_dev.emulators.dysmsapi import DysmsapiEmulator
from sms_receipts_dev.testing import events

from deploy_support import (
    CREDENTIALS,
    DOCUMENTED,
    FC3_DELIVERY_OPTION_FIELDS,
    FC3_RUN_OPTIONS_FIELDS,
    FORBIDDEN_INSTANCE_WORDS,
    FUNCTIONS,
    QUERY_TOKEN_ACTIONS,
    RECONCILE_QUERY_ACTIONS,
    ROOT,
)
from function_support import load_function

TEMPLATE = yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
PSEUDO = {"ALIYUN::Region": "cn-hangzhou", "ALIYUN::AccountId": "1234567890123456", "ALIYUN::StackName": "stack"}
GIVEN = {
    "OtsInstanceName": "smsreceipts",
    "CallbackTokens": "0123456789abcdef0123",
    "SendsTokens": "fedcba9876543210fedc",
    "LogProjectName": "sms-logs",
    "CodeBucket": "code-bucket",
}
FUNCTION_RESOURCES = {
    "http_receipt": "HttpReceiptFunction",
    "mns_receipt": "MnsReceiptFunction",
    "alicom_pull": "AlicomPullFunction",
    "reconcile": "ReconcileFunction",
}
ROLE_OF = {
    "http_receipt": "FunctionRole",
    "mns_receipt": "FunctionRole",
    "alicom_pull": "PullerRole",
    "reconcile": "ReconcileRole",
}
ROLES = ["FunctionRole", "PullerRole", "ReconcileRole", "TopicInvocationRole"]
# The statements on Resource "*", the SMS service's, which authorizes per service only (deploy_support
# cites the SMS RAM pages and the query APIs' own; README, "Deploy"): per role, the actions they hold.
ALLOWED_ON_ANY_RESOURCE = {"PullerRole": QUERY_TOKEN_ACTIONS, "ReconcileRole": RECONCILE_QUERY_ACTIONS}
ROS_TYPES = {
    "ALIYUN::OTS::Instance",
    "ALIYUN::OTS::Table",
    "ALIYUN::SLS::Project",
    "ALIYUN::SLS::Logstore",
    "ALIYUN::SLS::Index",
    "ALIYUN::MNS::Queue",
    "ALIYUN::MNS::Topic",
    "ALIYUN::RAM::Role",
    "ALIYUN::FC3::Function",
    "ALIYUN::FC3::Trigger",
    "ALIYUN::FC3::ProvisionConfig",
}


# -- a small evaluator of the intrinsic functions the template uses -------------------------------


def parameter_values() -> dict:
    values = {name: spec["Default"] for name, spec in PARAMETERS.items() if "Default" in spec}
    return {**values, **GIVEN}


def attribute(resource: str, name: str):
    spec = RESOURCES[resource]
    props = resolve(spec["Properties"])
    kind = spec["Type"]
    if kind == "ALIYUN::RAM::Role" and name == "Arn":
        return f"acs:ram::{PSEUDO['ALIYUN::AccountId']}:role/{props['RoleName']}"
    if kind == "ALIYUN::FC3::Trigger" and name in ("UrlInternet", "UrlIntranet"):
        return f"https://{props['FunctionName']}.cn-hangzhou.fcapp.run"
    return props[name]


def resolve(value):
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
        ((function, argument),) = value.items()
        if function == "Ref":
            return parameter_values()[argument] if argument in PARAMETERS else PSEUDO[argument]
        if function == "Fn::GetAtt":
            return attribute(*argument)
        if function == "Fn::Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(sub_variable(m.group(1))), argument)
        raise AssertionError(f"unexpected function {function}")
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return value


def condition(name: str, values: dict) -> bool:
    """A condition of the template, with the parameters `values` (Fn::Equals, Fn::Not, Ref only)."""

    def evaluate(node):
        if isinstance(node, dict):
            ((function, argument),) = node.items()
            if function == "Ref":
                return values[argument]
            if function == "Fn::Equals":
                left, right = (evaluate(item) for item in argument)
                return left == right
            if function == "Fn::Not":
                (inner,) = argument
                return not evaluate(inner)
            raise AssertionError(f"unexpected function {function}")
        return node

    return evaluate(TEMPLATE["Conditions"][name])


def sub_variable(name: str):
    if name in PARAMETERS:
        return parameter_values()[name]
    if name in PSEUDO:
        return PSEUDO[name]
    return attribute(*name.split(".", 1))


def references(value):
    """Every (kind, name) a value refers to: parameters, pseudo parameters, resources."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                yield item
            elif key == "Fn::GetAtt":
                yield item[0]
            elif key == "Fn::Sub":
                for name in re.findall(r"\$\{([^}!]+)\}", item):
                    yield name.split(".", 1)[0]
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def statements(role: str) -> list[dict]:
    policies = resolve(RESOURCES[role]["Properties"]["Policies"])
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# -- the template ---------------------------------------------------------------------------------


def test_it_is_a_ros_template_of_known_resource_types():
    assert TEMPLATE["ROSTemplateFormatVersion"] == "2015-09-01"
    assert {spec["Type"] for spec in RESOURCES.values()} <= ROS_TYPES
    for name, spec in RESOURCES.items():
        for target in references(spec):
            assert target in PARAMETERS or target in RESOURCES or target in PSEUDO, (name, target)
        for dependency in spec.get("DependsOn", []):
            assert dependency in RESOURCES, (name, dependency)
        assert spec.get("Condition", next(iter(TEMPLATE["Conditions"]))) in TEMPLATE["Conditions"], name
    for name, spec in TEMPLATE["Conditions"].items():
        assert set(references(spec)) <= set(PARAMETERS), name


def test_the_instance_name_is_lowercase_and_free_of_the_words_tablestore_rejects():
    """RAM resources name the instance in lowercase (help.aliyun.com/document_detail/27362.html) and the
    table ARNs use the parameter as given; CreateInstance rejects ali, ay, ots, taobao, admin. ROS
    documents no regular-expression dialect for AllowedPattern, so the words are in the Description
    and the names this repository suggests are checked here."""
    spec = PARAMETERS["OtsInstanceName"]

    def allowed(name):
        return re.fullmatch(spec["AllowedPattern"], name) is not None

    assert allowed("smsreceipts") and allowed("sms-receipts-01")
    assert not allowed("SmsReceipts") and not allowed("SMSRECEIPTS") and not allowed("smsReceipts")
    assert not allowed("sms-") and not allowed("1sms") and not allowed("ab") and not allowed("a" * 17)
    assert all(f" {word}" in spec["Description"] for word in FORBIDDEN_INSTANCE_WORDS)
    assert storage_settings.FORBIDDEN_INSTANCE_WORDS == FORBIDDEN_INSTANCE_WORDS
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    suggested = {
        GIVEN["OtsInstanceName"],
        *([spec["Default"]] if "Default" in spec else []),
        *re.findall(r"`(\w+)` works", readme),
    }
    assert "smsreceipts" in suggested
    for name in suggested:
        assert allowed(name) and not [w for w in FORBIDDEN_INSTANCE_WORDS if w in name], name
        assert storage_settings.instance_name_warning(name) is None


def test_warm_http_instances_are_opt_in():
    """HttpMinInstances: an ALIYUN::FC3::ProvisionConfig of the HTTP function's LATEST, only when > 0."""
    spec = RESOURCES["HttpReceiptProvisionConfig"]
    assert spec["Type"] == "ALIYUN::FC3::ProvisionConfig"
    parameter = PARAMETERS["HttpMinInstances"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 0 and parameter["MinValue"] == 0
    assert condition(spec["Condition"], parameter_values()) is False  # the default creates nothing
    assert condition(spec["Condition"], {**parameter_values(), "HttpMinInstances": 2}) is True
    props = resolve(spec["Properties"])
    assert props["FunctionName"] == "sms-receipts-http" and props["Qualifier"] == "LATEST"
    assert spec["Properties"]["DefaultTarget"] == {"Ref": "HttpMinInstances"}
    s_config = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))["resources"]["http_receipt"]["props"][
        "provisionConfig"
    ]
    assert (props["AlwaysAllocateCPU"], props["AlwaysAllocateGPU"]) == (
        s_config["alwaysAllocateCPU"],
        s_config["alwaysAllocateGPU"],
    )


def test_the_generated_parts_are_up_to_date_with_the_schema():
    done = subprocess.run(
        [sys.executable, "scripts/render_template.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_tables_are_the_stores_schema():
    tables = {
        spec["Properties"]["TableName"]["Fn::Sub"]: spec["Properties"]
        for spec in RESOURCES.values()
        if spec["Type"] == "ALIYUN::OTS::Table"
    }
    assert set(tables) == {f"${{TablePrefix}}{name}" for name in TABLES}
    for name, schema in TABLES.items():
        props = resolve(tables[f"${{TablePrefix}}{name}"])
        assert props["TableName"] == schema.full_name("sms_")
        assert [(k["Name"], k["Type"]) for k in props["PrimaryKey"]] == list(schema.primary_key)
        assert props["InstanceName"] == GIVEN["OtsInstanceName"]
        assert props["TimeToLive"] == -1 and props["MaxVersions"] == 1  # as init-tables creates them
    assert PARAMETERS["TablePrefix"]["Default"] == storage_settings.DEFAULT_TABLE_PREFIX


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_an_existing_handler_with_s_yamls_settings(function):
    spec = RESOURCES[FUNCTION_RESOURCES[function]]
    props = resolve(spec["Properties"])
    module = load_function(function)
    assert props["Runtime"] == "python3.10" and props["Handler"] == "index.handler" and callable(module.handler)
    assert props["InstanceLifecycleConfig"]["Initializer"]["Handler"] == "index.initialize"
    assert callable(module.initialize)
    assert props["Code"] == {"OssBucketName": "code-bucket", "OssObjectName": f"sms-receipts/{function}.zip"}
    s_props = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))["resources"][function]["props"]
    for key in ("cpu", "memorySize", "diskSize", "timeout", "internetAccess", "description"):
        assert props[key[0].upper() + key[1:]] == s_props[key], key
    assert (
        props["InstanceLifecycleConfig"]["Initializer"]["Timeout"]
        == (s_props["instanceLifecycleConfig"]["initializer"]["timeout"])
    )
    assert props["Role"].endswith(f":role/{resolve(RESOURCES[ROLE_OF[function]]['Properties'])['RoleName']}")
    assert set(spec["DependsOn"]) >= {name for name, r in RESOURCES.items() if r["Type"] == "ALIYUN::OTS::Table"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_environment_variables_are_documented_and_configure_the_store(function):
    env = resolve(RESOURCES[FUNCTION_RESOURCES[function]]["Properties"]["EnvironmentVariables"])
    assert set(env) <= DOCUMENTED[function] and not set(env) & CREDENTIALS
    keys = {storage_settings.ENV_ACCESS_KEY_ID: "id", storage_settings.ENV_ACCESS_KEY_SECRET: "secret"}
    config = storage_settings.StorageSettings.from_env({**env, **keys})
    assert config.endpoint == "https://smsreceipts.cn-hangzhou.ots.aliyuncs.com"
    assert config.instance_name == GIVEN["OtsInstanceName"] and config.table_prefix == "sms_"
    if function == "http_receipt":
        assert env["SMS_RECEIPTS_CALLBACK_TOKENS"] == GIVEN["CallbackTokens"]
        assert env["SMS_RECEIPTS_SENDS_TOKENS"] == GIVEN["SendsTokens"]
    if function == "reconcile":  # the real SMS API, and the code's defaults for the rest
        assert env["SMS_RECEIPTS_SMS_ENDPOINT"] == "dysmsapi.aliyuncs.com"
        settings = reconcile_settings.ReconcileSettings.from_env(env)
        assert settings == reconcile_settings.ReconcileSettings.from_env(
            {"SMS_RECEIPTS_SMS_ENDPOINT": "dysmsapi.aliyuncs.com"}
        )


def test_the_reconcilers_tunables_are_parameters_with_the_codes_defaults():
    """Grace and maximum age: String parameters (function variables are strings) whose defaults are the
    code's, and whose pattern admits what the code accepts and refuses what it cannot read."""
    env = resolve(RESOURCES["ReconcileFunction"]["Properties"]["EnvironmentVariables"])
    for parameter, variable in (
        ("ReconcileGraceSeconds", reconcile_settings.GRACE),
        ("ReconcileMaxAgeHours", reconcile_settings.MAX_AGE),
    ):
        spec = PARAMETERS[parameter]
        assert RESOURCES["ReconcileFunction"]["Properties"]["EnvironmentVariables"][variable.name] == {"Ref": parameter}
        assert spec["Type"] == "String" and spec["Default"] == variable.default == env[variable.name]
        assert variable.name in spec["Description"]
        assert re.fullmatch(spec["AllowedPattern"], "696") and not re.fullmatch(spec["AllowedPattern"], "1h")
    with_values = {**env, "SMS_RECEIPTS_RECONCILE_GRACE_SECONDS": "600", "SMS_RECEIPTS_RECONCILE_MAX_AGE_HOURS": "24"}
    settings = reconcile_settings.ReconcileSettings.from_env(with_values)
    assert (settings.grace_seconds, settings.max_age_hours) == (600, 24)


def test_secrets_are_noecho_parameters_without_defaults():
    secret = [name for name in PARAMETERS if re.search(r"token|secret|password", name, re.IGNORECASE)]
    assert secret == ["CallbackTokens", "SendsTokens"]
    for name in secret:
        assert PARAMETERS[name].get("NoEcho") is True and "Default" not in PARAMETERS[name]


def test_the_triggers():
    triggers = {
        spec["Properties"]["TriggerType"]: resolve(spec["Properties"])
        for spec in RESOURCES.values()
        if spec["Type"] == "ALIYUN::FC3::Trigger"
    }
    assert triggers["http"]["TriggerConfig"]["authType"] == "anonymous"
    assert triggers["http"]["FunctionName"] == "sms-receipts-http"
    queue = triggers["eventbridge"]["TriggerConfig"]
    assert queue["eventSourceConfig"]["eventSourceParameters"]["sourceMNSParameters"]["QueueName"] == "sms-receipts"
    assert set(queue["eventSinkConfig"]["deliveryOption"]) <= FC3_DELIVERY_OPTION_FIELDS  # FC 3.0 models only
    assert set(queue["runOptions"]) <= FC3_RUN_OPTIONS_FIELDS
    assert queue["runOptions"]["deadLetterQueue"]["Arn"] == (
        "acs:mns:cn-hangzhou:1234567890123456:/queues/sms-receipts-dead-letter"
    )
    assert queue["runOptions"]["batchWindow"] and queue["runOptions"]["retryStrategy"]
    assert RESOURCES["DeadLetterQueue"]["Type"] == "ALIYUN::MNS::Queue"
    topic = triggers["mns_topic"]
    assert topic["SourceArn"] == "acs:mns:cn-hangzhou:1234567890123456:/topics/sms-receipts"
    assert topic["InvocationRole"] == "acs:ram::1234567890123456:role/sms-receipts-mns-invoke"
    timer = resolve(RESOURCES["AlicomPullTimer"]["Properties"])  # three timers: the drain's, this, the reconciler's
    assert timer["FunctionName"] == "sms-receipts-alicom-pull" and timer["TriggerConfig"]["enable"] is False
    reconcile = resolve(RESOURCES["ReconcileTimer"]["Properties"])
    assert reconcile["FunctionName"] == "sms-receipts-reconcile" and reconcile["TriggerConfig"]["enable"] is True
    s_yaml = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))["resources"]
    (s_queue,) = [
        t["triggerConfig"] for t in s_yaml["mns_receipt"]["props"]["triggers"] if t["triggerType"] == "eventbridge"
    ]
    assert queue["runOptions"]["batchWindow"] == s_queue["runOptions"]["batchWindow"]
    assert queue["runOptions"]["retryStrategy"] == s_queue["runOptions"]["retryStrategy"]
    assert queue["eventSinkConfig"] == s_queue["eventSinkConfig"]
    assert set(queue["runOptions"]) == set(s_queue["runOptions"])


# -- least privilege ------------------------------------------------------------------------------


def ots_actions(method: str) -> set[str]:
    """The RAM actions of the Tablestore APIs a backend method calls (its SDK calls, by name)."""
    calls = re.findall(r"self\.client\.(\w+)", inspect.getsource(getattr(TablestoreBackend, method)))
    return {"ots:" + "".join(part.capitalize() for part in call.split("_")) for call in calls}


def store_methods(*modules) -> set[str]:
    """The backend methods the store calls: writer.py (and the drain's inbox.py, for the function
    that drains)."""
    return {
        m for module in (writer, *modules) for m in re.findall(r"self\.backend\.(\w+)\(", inspect.getsource(module))
    }


def sdk_calls_of_the_store(*modules) -> set[str]:
    """The Tablestore APIs behind what the store calls: store method -> backend method -> SDK method."""
    return {action for method in store_methods(*modules) for action in ots_actions(method)}


@pytest.mark.parametrize("role", ROLES)
def test_no_action_or_resource_is_a_wildcard(role):
    for statement in statements(role):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action
        resources = as_list(statement["Resource"])
        if "*" in resources:
            assert resources == ["*"] and set(as_list(statement["Action"])) == ALLOWED_ON_ANY_RESOURCE[role]
        else:
            assert not [resource for resource in resources if "*" in resource]


def test_every_role_is_a_functions_or_the_topic_triggers():
    assert sorted(name for name, spec in RESOURCES.items() if spec["Type"] == "ALIYUN::RAM::Role") == sorted(ROLES)
    assert set(ROLE_OF.values()) == set(ROLES) - {"TopicInvocationRole"}


@pytest.mark.parametrize(
    ("role", "modules", "actions"),
    [
        ("FunctionRole", (inbox,), {"ots:BatchWriteRow", "ots:BatchGetRow", "ots:GetRange"}),  # the MNS one drains
        ("PullerRole", (), {"ots:BatchWriteRow", "ots:BatchGetRow"}),
    ],
)
def test_tablestore_access_is_the_stores_calls_on_the_tables(role, modules, actions):
    ots = [s for s in statements(role) if any(a.startswith("ots:") for a in as_list(s["Action"]))]
    assert len(ots) == 1
    assert set(ots[0]["Action"]) == sdk_calls_of_the_store(*modules) == actions
    assert set(ots[0]["Resource"]) == {
        f"acs:ots:cn-hangzhou:1234567890123456:instance/smsreceipts/table/{schema.full_name('sms_')}"
        for schema in TABLES.values()
    }


OTS_TABLE_ARN = "acs:ots:cn-hangzhou:1234567890123456:instance/smsreceipts/table/sms_"


def granted_on_tables(role: str) -> set[tuple[str, str]]:
    """(RAM action, table) for every Tablestore action the role's statements grant, by table name."""
    pairs = set()
    for statement in statements(role):
        actions = [a for a in as_list(statement["Action"]) if a.startswith("ots:")]
        for resource in as_list(statement["Resource"]) if actions else ():
            assert resource.startswith(OTS_TABLE_ARN), resource
            pairs |= {(action, resource[len(OTS_TABLE_ARN) :]) for action in actions}
    return pairs


def reconciler_needs() -> set[tuple[str, str]]:
    """(RAM action, table) the reconciler's code needs. Its own reads: reconciler.py's backend calls and
    the schema table each names. The store's calls (writer.py: writes, and read-backs of what it wrote)
    on every table a write of what the reconciler stores touches: SmsReport receipts of source `query`,
    delivered, failed, and the `unknown` verdict; a receipt that does not parse; a row the service refuses."""
    pairs = set()
    for method, constant in re.findall(r"backend\.(\w+)\(\s*([A-Z_]+)\b", inspect.getsource(reconciler)):
        pairs |= {(action, getattr(table_names, constant)) for action in ots_actions(method)}
    report = {"biz_id": "900619^0", "phone_number": "13800000001", "send_time": "2026-11-25 10:00:00"}
    receipts = [
        {**report, "success": True, "err_code": "DELIVERED", "report_time": "2026-11-25 10:00:05"},
        {**report, "success": False, "err_code": "UNDELIV", "report_time": "2026-11-25 10:00:06"},
        {**report, "send_time": None, "success": False, "err_code": UNRESOLVED_ERR_CODE, "err_msg": "no report"},
        {"phone_number": {"not": "a number"}},
    ]
    decoded = decode_items(receipts, MessageType.SMS_REPORT, Source.QUERY)
    assert len(decoded.items) == 3 and len(decoded.rejected) == 1
    rows = plan_writes(decoded.items, decoded.rejected, received_at=0).rows
    written = {row.table for row in rows} | {refusal_row(decoded.items[0], "refused", 0).table}
    for method in store_methods():
        pairs |= {(action, table) for action in ots_actions(method) for table in written}
    return pairs


def test_the_reconcilers_tablestore_access_is_what_its_code_calls_on_the_tables_it_touches():
    assert (
        granted_on_tables("ReconcileRole")
        == reconciler_needs()
        == {
            ("ots:GetRange", table_names.SEND_LOG),
            ("ots:BatchGetRow", table_names.DELIVERY_STATE),  # the states, and the read-back
            ("ots:BatchWriteRow", table_names.DELIVERY_STATE),
            ("ots:BatchWriteRow", table_names.LEDGER),
            ("ots:BatchGetRow", table_names.LEDGER),
            ("ots:BatchWriteRow", table_names.DEAD_LETTER),
            ("ots:BatchGetRow", table_names.DEAD_LETTER),
        }
    )


def test_a_reconcile_run_through_the_function_calls_only_what_its_role_allows(
    emulator, storage_env, fresh_instance, monkeypatch
):
    """End to end on the emulators (the real SDKs): every Tablestore call of a run, by API and table,
    and every SMS API action it calls, is granted to ReconcileRole."""
    keys = {"access_key_id": storage_env[storage_settings.ENV_ACCESS_KEY_ID]}
    keys["access_key_secret"] = storage_env[storage_settings.ENV_ACCESS_KEY_SECRET]
    with DysmsapiEmulator(delivery_delay=0, **keys) as sms:
        instance = fresh_instance(
            {
                **storage_env,
                "SMS_RECEIPTS_SMS_ENDPOINT": sms.address,
                "SMS_RECEIPTS_SMS_PROTOCOL": "http",
                "SMS_RECEIPTS_RECONCILE_GRACE_SECONDS": "0",
            }
        )
        sms.state.plan("13800000002", err_code="UNDELIV")
        request = SendSmsRequest(phone_numbers="13800000001,13800000002", sign_name="阿里云", template_code="SMS_1")
        log = SendLog(instance.store())
        assert log.record_sdk_call(request, sms.client().send_sms(request)).confirmed
        four_days_ago = int((time.time() - 96 * 3600) * 1000)  # past the maximum age: no report, no record
        assert log.record([Send("old^0", "13800000003", four_days_ago)]).confirmed

        used: set[tuple[str, str]] = set()
        tables = {
            "batch_write": lambda rows, *_, **__: {row.table for row in rows},
            "batch_get": lambda table, *_, **__: {table},
            "scan": lambda table, *_, **__: {table},
        }
        calling = {m: ots_actions(m) for m in vars(TablestoreBackend) if not m.startswith("_") and ots_actions(m)}
        for method, actions in calling.items():
            real, named = getattr(TablestoreBackend, method), tables.get(method, lambda *_, **__: {"<any>"})

            def recorded(self, *args, _real=real, _actions=actions, _named=named, **kwargs):
                used.update((action, table) for action in _actions for table in _named(*args, **kwargs))
                return _real(self, *args, **kwargs)

            monkeypatch.setattr(TablestoreBackend, method, recorded)
        before = sms.requests
        context = types.SimpleNamespace(function=types.SimpleNamespace(timeout=30))
        result = load_function("reconcile").handler(events.timer_event(trigger_name="every-10-minutes"), context)
        called = {"dysms:" + action for action, count in (sms.requests - before).items() if count}

    assert (result["resolved"], result["unknown"], result["failed"]) == (2, 1, 0), result
    assert used and used <= granted_on_tables("ReconcileRole")
    assert {("ots:GetRange", table_names.SEND_LOG), ("ots:BatchGetRow", table_names.DELIVERY_STATE)} <= used
    assert called == RECONCILE_QUERY_ACTIONS  # QuerySendDetails, then QuerySendStatistics for the window
    assert called <= {a for s in statements("ReconcileRole") for a in as_list(s["Action"])}


@pytest.mark.parametrize("role", ["FunctionRole", "PullerRole", "ReconcileRole"])
def test_logging_goes_to_the_functions_logstore_only(role):
    (log,) = [s for s in statements(role) if any(a.startswith("log:") for a in as_list(s["Action"]))]
    assert log["Action"] == ["log:PostLogStoreLogs"]
    assert log["Resource"] == ["acs:log:cn-hangzhou:1234567890123456:project/sms-logs/logstore/sms-receipts"]
    for resource in FUNCTION_RESOURCES.values():
        config = resolve(RESOURCES[resource]["Properties"]["LogConfig"])
        assert (config["Project"], config["Logstore"]) == ("sms-logs", "sms-receipts")


def test_only_the_puller_may_ask_for_alicom_queue_tokens():
    def actions(role):
        return {a for s in statements(role) for a in as_list(s["Action"])}

    (token,) = [s for s in statements("PullerRole") if set(as_list(s["Action"])) & QUERY_TOKEN_ACTIONS]
    assert set(token["Action"]) == QUERY_TOKEN_ACTIONS and token["Resource"] == "*"  # SERVICE granularity only
    sms_codes = ("dysms:", "dybase:", "dybaseapi:", "cloudcomm:", "sms:")
    assert not {a for a in actions("FunctionRole") if a.startswith(sms_codes)}
    assert {a for a in actions("PullerRole") if a.startswith(sms_codes)} == QUERY_TOKEN_ACTIONS
    assert {a for a in actions("ReconcileRole") if a.startswith(sms_codes)} == RECONCILE_QUERY_ACTIONS
    assert not {a for a in actions("PullerRole") if a.startswith("dybaseapi:")}  # an endpoint, not a RAM code
    assert "acs:dybaseapi" not in (ROOT / "template.yml").read_text(encoding="utf-8")
    assert actions("TopicInvocationRole") == {"fc:InvokeFunction"}
    (invoke,) = statements("TopicInvocationRole")
    assert invoke["Resource"] == ["acs:fc:cn-hangzhou:1234567890123456:functions/sms-receipts-mns"]
    assert resolve(RESOURCES["MnsReceiptFunction"]["Properties"]["FunctionName"]) == "sms-receipts-mns"
    alicom_sources = inspect.getsource(mns_fc) + (ROOT / "shared/sms_receipts/mns/alicom.py").read_text("utf-8")
    assert "query_token_for_mns_queue" in alicom_sources


def test_the_readme_gives_the_pullers_token_statement_of_the_template():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    statement = r'`(\{"Effect": "Allow", "Action": \[[^`]*QueryTokenForMnsQueue[^`]*\})`'
    documented = [json.loads(match) for match in re.findall(statement, readme)]
    (token,) = [s for s in statements("PullerRole") if set(as_list(s["Action"])) & QUERY_TOKEN_ACTIONS]
    assert documented == [token]
    assert "dybaseapi:QueryTokenForMnsQueue" not in readme and "acs:dybaseapi" not in readme


def test_the_readme_gives_the_reconcilers_policy_of_the_template():
    """README "Deploy", step 2: the reconciler's policy for `s` deployments, placeholders filled, is the
    template's ReconcileRole policy."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if "dysms:QuerySendDetails" in b]
    filled = {
        "<region>": "cn-hangzhou",
        "<uid>": "1234567890123456",
        "<instance>": GIVEN["OtsInstanceName"],
        "<project>": GIVEN["LogProjectName"],
        "<logstore>": "sms-receipts",
    }
    for placeholder, value in filled.items():
        block = block.replace(placeholder, value)
    assert json.loads(block)["Statement"] == statements("ReconcileRole")


def test_a_push_through_the_function_calls_only_allowed_apis(emulator, storage_env, fresh_instance):
    """End to end on the emulator: what the HTTP function actually asks Tablestore for is allowed."""
    fresh_instance({**storage_env, "SMS_RECEIPTS_CALLBACK_TOKENS": "t"})
    index = load_function("http_receipt")
    before = emulator.requests
    receipt = {
        "phone_number": "13800000001",
        "send_time": "2026-11-25 10:00:00",
        "success": True,
        "report_time": "2026-11-25 10:00:05",
        "err_code": "DELIVERED",
        "biz_id": f"b{time.time_ns()}",
    }
    response = index.handler(
        events.http_event([receipt, "not a receipt"], path="/SmsReport", query={"token": "t"}), None
    )
    assert response["statusCode"] == 200, json.loads(response["body"])
    used = {"ots:" + api for api, count in (emulator.requests - before).items() if count}
    allowed = {a for s in statements("FunctionRole") for a in as_list(s["Action"])}
    assert used and used <= allowed
