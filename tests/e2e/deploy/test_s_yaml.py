"""s.yaml, rendered offline by Serverless Devs itself (`s preview -o json --silent`, npm package
`@serverless-devs/s`) as on a deployer's machine (a HOME holding the `default` alias that the README's
`s config add` writes), and checked against the fc3 component's JSON schema and against the code: the
handlers, the documented environment variables and their defaults, the triggers."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import types
from functools import cache

import jsonschema
import pytest
import yaml

from sms_receipts.http.receiver import ReceiverSettings
from sms_receipts.mns.alicom import AlicomSettings
from sms_receipts.mns.trigger import MnsTriggerSettings
from sms_receipts.reconcile import fc as reconcile_fc
from sms_receipts.reconcile.settings import ReconcileSettings
from sms_receipts.settings import ConfigurationError, declared
from sms_receipts.storage import settings as storage_settings
from sms_receipts.storage.settings import StorageSettings

from deploy_support import (
    BUILD,
    CREDENTIALS,
    DEPLOYED_VALUES,
    DOCUMENTED,
    FC3_DELIVERY_OPTION_FIELDS,
    FC3_RUN_OPTIONS_FIELDS,
    FUNCTIONS,
    QUERY_TOKEN_ACTIONS,
    RECONCILE_QUERY_ACTIONS,
    ROOT,
)
from function_support import load_function

S_VERSION = "3.1.10"
TOOLS = BUILD / ".tools" / "s"
SCHEMA = json.loads((ROOT / "deploy" / "fc3-schema.json").read_text(encoding="utf-8"))

REQUIRED_ENV = {  # what a deployment must set (README: "Deploy")
    "SMS_RECEIPTS_ROLE_ARN": "acs:ram::1234567890123456:role/sms-receipts-fc",
    "SMS_RECEIPTS_PULLER_ROLE_ARN": "acs:ram::1234567890123456:role/sms-receipts-alicom-pull",
    "SMS_RECEIPTS_RECONCILE_ROLE_ARN": "acs:ram::1234567890123456:role/sms-receipts-reconcile",
    "SMS_RECEIPTS_LOG_PROJECT": "sms-receipts-logs",
    "SMS_RECEIPTS_OTS_ENDPOINT": "https://smsreceipts.cn-hangzhou.ots.aliyuncs.com",
    "SMS_RECEIPTS_OTS_INSTANCE": "smsreceipts",
    "SMS_RECEIPTS_CALLBACK_TOKENS": "token-from-the-deployer",
}
ACCOUNT_ID = "1234567890123456"  # the fake alias's AccountID, which ${config('AccountID')} must become
ADD_ALIAS = [
    "config",
    "add",
    "-a",
    "default",
    "--AccessKeyID",
    "fake-key-id",
    "--AccessKeySecret",
    "fake-secret",
    "--AccountID",
    ACCOUNT_ID,
    "-f",
]
ROLE_VARIABLE = {  # the deployment variable naming each function's role
    "http_receipt": "SMS_RECEIPTS_ROLE_ARN",
    "mns_receipt": "SMS_RECEIPTS_ROLE_ARN",
    "alicom_pull": "SMS_RECEIPTS_PULLER_ROLE_ARN",
    "reconcile": "SMS_RECEIPTS_RECONCILE_ROLE_ARN",
}
TRIGGER_SCHEMAS = {
    "http": "IHttpTriggerConfig",
    "timer": "ITimerTriggerConfig",
    "mns_topic": "IMnsTriggerConfig",
    "eventbridge": "IEventBridge",
}


@pytest.fixture(scope="session")
def s_cli():
    """The `s` command, installed once into build/.tools/s with npm. No npm is a failure, not a skip."""
    binary = TOOLS / "node_modules" / ".bin" / "s"
    manifest = TOOLS / "node_modules" / "@serverless-devs" / "s" / "package.json"
    if binary.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("version") == S_VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(
            "npm is not installed: the s.yaml tests need it to install @serverless-devs/s "
            f"{S_VERSION} (apt-get install npm, or Node.js from nodejs.org)",
            pytrace=False,
        )
    TOOLS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(TOOLS),
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            f"@serverless-devs/s@{S_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not binary.exists():
        pytest.fail(f"npm install @serverless-devs/s@{S_VERSION} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return binary


def run_s(s_cli, tmp_home, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_home), **(env or {})}
    return subprocess.run(
        [str(s_cli), *args], cwd=ROOT, env=clean, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )


def preview(s_cli, tmp_home, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_s(s_cli, tmp_home, ["preview", "-o", "json", "--silent"], env)


def aliases(home) -> dict:
    """The aliases `s config add` wrote (~/.s/access.yaml; the values are encrypted, the names are not)."""
    path = home / ".s" / "access.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def unrendered(value, path="") -> list[str]:
    """Every place in a rendered document where a `${...}` survived."""
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in unrendered(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in unrendered(item, f"{path}/{index}")]
    return [f"{path}: {value}"] if isinstance(value, str) and "${" in value else []


@pytest.fixture(scope="session")
def render(s_cli, tmp_path_factory):
    """`s preview` in a throw-away HOME holding a real (fake-valued) `default` alias, as `s config add`
    writes it on a deployer's machine (s 3.1.10)."""
    home = tmp_path_factory.mktemp("s-home")
    added = run_s(s_cli, home, ADD_ALIAS)
    assert added.returncode == 0 and "default" in aliases(home), added.stdout + added.stderr

    @cache
    def rendered(extra: tuple[tuple[str, str], ...] = ()) -> dict:
        done = preview(s_cli, home, {**REQUIRED_ENV, **dict(extra)})
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    return rendered


@pytest.fixture(scope="session")
def resources(render):
    return render()["resources"]


def test_the_four_functions_are_fc3_resources(resources):
    assert set(resources) == set(FUNCTIONS)
    assert {r["component"] for r in resources.values()} == {"fc3"}


def test_access_is_the_literal_alias_name(render):
    """Serverless Devs never renders the top-level `access` (Serverless-Devs/toolkit
    packages/parse-spec/src/parse-content.ts getAccess() returns the raw string): a `${env(...)}` there
    reaches the credential lookup as text ("Not found access: ${env(...)}")."""
    raw = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))
    assert raw["access"] == "default" and render()["access"] == "default"


def test_nothing_is_left_unrendered_and_the_account_id_is_substituted(render, resources):
    assert unrendered(render()) == []
    triggers = {t["triggerType"]: t for t in resources["mns_receipt"]["props"]["triggers"]}
    run = triggers["eventbridge"]["triggerConfig"]["runOptions"]
    assert run["deadLetterQueue"]["Arn"] == f"acs:mns:cn-hangzhou:{ACCOUNT_ID}:/queues/sms-receipts-dead-letter"
    assert triggers["mns_topic"]["sourceArn"] == f"acs:mns:cn-hangzhou:{ACCOUNT_ID}:/topics/sms-receipts"
    # fc3 gets or creates the default MNS trigger role itself (src/base.ts initFcMnsTriggerRole)
    assert "invocationRole" not in triggers["mns_topic"]


def test_the_readmes_s_config_add_works_as_written(s_cli, tmp_path):
    """The exact command of README "Deploy", step 1, with its placeholders filled, run non-interactively
    in a fresh HOME, leaves the alias that s.yaml's `access` names."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = set(re.findall(r"`(s config add -a [^`]+)`", readme))
    filled = command.replace("<ak>", "fake-key-id").replace("<sk>", "fake-secret").replace("<uid>", ACCOUNT_ID)
    argv = shlex.split(filled)
    assert argv[0] == "s" and "<" not in filled, filled
    done = run_s(s_cli, tmp_path, argv[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    alias = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))["access"]
    assert set(aliases(tmp_path).get(alias, {})) >= {"AccountID", "AccessKeyID", "AccessKeySecret"}
    shown = re.sub(r"\x1b\[[0-9;]*m", "", run_s(s_cli, tmp_path, ["config", "get", "-a", alias]).stdout)
    assert f"{ACCOUNT_ID[:3]}**********{ACCOUNT_ID[-3:]}" in shown  # s masks the AccountID it stored


@pytest.mark.parametrize("function", FUNCTIONS)
def test_props_satisfy_the_fc3_schema(resources, function):
    props = resources[function]["props"]
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(props)
    ]
    assert errors == []
    for trigger in props["triggers"]:  # the schema's anyOf would let a config pass as another type's
        definition = {
            **SCHEMA["definitions"][TRIGGER_SCHEMAS[trigger["triggerType"]]],
            "definitions": SCHEMA["definitions"],
        }
        jsonschema.Draft7Validator(definition).validate(trigger["triggerConfig"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_its_built_handler_on_python310(resources, function):
    resource = resources[function]
    props = resource["props"]
    assert props["runtime"] == "python3.10"
    assert props["code"] == f"./build/{function}"
    assert props["handler"] == "index.handler" and props["instanceLifecycleConfig"]["initializer"]["handler"] == (
        "index.initialize"
    )
    module = load_function(function)
    assert callable(module.handler) and callable(module.initialize)
    assert resource["actions"]["pre-deploy"] == [{"run": f"make build FUNCTION={function}", "path": "./"}]
    assert re.search(r"^build:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert props["role"] == REQUIRED_ENV[ROLE_VARIABLE[function]]
    assert props["logConfig"]["project"] == REQUIRED_ENV["SMS_RECEIPTS_LOG_PROJECT"] and props["logConfig"]["logstore"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_sizes_fit_the_platform_and_the_budgets(resources, function):
    props = resources[function]["props"]
    memory_gb = props["memorySize"] / 1024
    assert 1 <= memory_gb / props["cpu"] <= 4  # FC 3.0: memory (GB) between 1 and 4 times the vCPUs
    if function == "http_receipt":
        assert props["cpu"] >= 1  # CPU-bound parsing and encoding inside the 700 ms the SMS service waits
        deadline_ms = int(props["environmentVariables"]["SMS_RECEIPTS_HTTP_DEADLINE_MS"])
        assert deadline_ms < 700 and props["timeout"] * 1000 > deadline_ms
    if function == "alicom_pull":
        assert props["timeout"] < 60  # ends before the next minute's tick
    if function == "reconcile":  # a run ends MARGIN_SECONDS before the timeout: before the next tick
        (timer,) = props["triggers"]
        assert (
            0 < props["timeout"] - reconcile_fc.MARGIN_SECONDS < cron_period(timer["triggerConfig"]["cronExpression"])
        )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_environment_variables_are_the_documented_ones(resources, function):
    names = set(resources[function]["props"]["environmentVariables"])
    assert names == DOCUMENTED[function]
    assert not names & CREDENTIALS  # FC hands the role's STS credentials to the function itself


def test_every_value_comes_from_the_deployers_environment_under_its_own_name():
    """No secret and no deployment-specific value is written in s.yaml: each function variable is
    `${env('SAME_NAME')}` or `${env('SAME_NAME', 'default')}`, and the tokens have no default."""
    raw = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))
    pattern = re.compile(r"^\$\{env\('([A-Z0-9_]+)'(?:, '([^']*)')?\)\}$")
    for function in FUNCTIONS:
        for name, value in raw["resources"][function]["props"]["environmentVariables"].items():
            match = pattern.match(value)
            assert match and match.group(1) == name, (function, name, value)
            if name == "SMS_RECEIPTS_CALLBACK_TOKENS":
                assert match.group(2) is None
    assert REQUIRED_ENV["SMS_RECEIPTS_CALLBACK_TOKENS"] not in (ROOT / "s.yaml").read_text(encoding="utf-8")


def test_each_default_in_s_yaml_is_the_declared_one():
    """s.yaml's `${env('NAME', 'default')}` is the code's default of NAME (`Variable.default`); a variable
    with no default there (the tokens, the endpoint) has none in the code either. The one exception is
    a value the code leaves unset on purpose and a deployment must set (DEPLOYED_VALUES: the SMS API)."""
    raw = yaml.safe_load((ROOT / "s.yaml").read_text(encoding="utf-8"))
    variables = {v.name: v for variables in declared().values() for v in variables}
    pattern = re.compile(r"^\$\{env\('([A-Z0-9_]+)'(?:, '([^']*)')?\)\}$")
    for function in FUNCTIONS:
        for name, value in raw["resources"][function]["props"]["environmentVariables"].items():
            default = pattern.match(value).group(2)
            assert (default or "") == DEPLOYED_VALUES.get(name, variables[name].default), (function, name)
    for name in DEPLOYED_VALUES:
        assert variables[name].default == ""  # the code assumes none: it is the deployment's to say


def test_a_missing_required_setting_stops_the_render(s_cli, tmp_path):
    env = {k: v for k, v in REQUIRED_ENV.items() if k != "SMS_RECEIPTS_CALLBACK_TOKENS"}
    done = preview(s_cli, tmp_path, env)
    assert done.returncode != 0
    assert "SMS_RECEIPTS_CALLBACK_TOKENS" in done.stdout + done.stderr


def test_defaults_are_the_codes_defaults(resources):
    """Rendered with only the required settings, each function configures itself as with none set."""
    http = resources["http_receipt"]["props"]["environmentVariables"]
    tokens = {"SMS_RECEIPTS_CALLBACK_TOKENS": REQUIRED_ENV["SMS_RECEIPTS_CALLBACK_TOKENS"]}
    assert ReceiverSettings.from_env(http) == ReceiverSettings.from_env(tokens)
    mns = resources["mns_receipt"]["props"]["environmentVariables"]
    assert MnsTriggerSettings.from_env(mns) == MnsTriggerSettings.from_env({})
    context = types.SimpleNamespace(account_id="1234567890123456")
    alicom = resources["alicom_pull"]["props"]["environmentVariables"]
    assert AlicomSettings.from_env(alicom, context) == AlicomSettings.from_env({}, context)
    reconcile = resources["reconcile"]["props"]["environmentVariables"]
    assert reconcile["SMS_RECEIPTS_SMS_ENDPOINT"] == "dysmsapi.aliyuncs.com"  # the real SMS API
    assert ReconcileSettings.from_env(reconcile) == ReconcileSettings.from_env(DEPLOYED_VALUES)
    with pytest.raises(ConfigurationError, match="SMS_RECEIPTS_SMS_ENDPOINT"):
        ReconcileSettings.from_env({})  # why s.yaml sets it: on FC nothing else would
    keys = {storage_settings.ENV_ACCESS_KEY_ID: "id", storage_settings.ENV_ACCESS_KEY_SECRET: "secret"}
    required = {k: REQUIRED_ENV[k] for k in (storage_settings.ENV_ENDPOINT, storage_settings.ENV_INSTANCE)}
    for function in FUNCTIONS:
        env = {**resources[function]["props"]["environmentVariables"], **keys}
        assert StorageSettings.from_env(env) == StorageSettings.from_env({**required, **keys})


def test_the_http_trigger_is_anonymous_with_the_token_in_the_url(resources):
    (trigger,) = resources["http_receipt"]["props"]["triggers"]
    assert trigger["triggerType"] == "http"
    assert trigger["triggerConfig"]["authType"] == "anonymous" and "POST" in trigger["triggerConfig"]["methods"]


def test_the_mns_function_has_a_queue_trigger_with_batches_retries_and_a_dead_letter_queue(render, resources):
    triggers = {t["triggerType"]: t for t in resources["mns_receipt"]["props"]["triggers"]}
    queue = triggers["eventbridge"]["triggerConfig"]
    assert queue["eventSourceConfig"]["eventSourceType"] == "MNS"
    assert queue["eventSourceConfig"]["eventSourceParameters"]["sourceMNSParameters"]["QueueName"] == "sms-receipts"
    run = queue["runOptions"]
    assert run["batchWindow"]["CountBasedWindow"] * 2 <= 200  # one batch = one BatchWriteRow (2 rows a report)
    assert run["retryStrategy"]["PushRetryStrategy"] in {"BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY"}
    assert run["deadLetterQueue"]["Arn"] == f"acs:mns:cn-hangzhou:{ACCOUNT_ID}:/queues/sms-receipts-dead-letter"
    assert triggers["mns_topic"]["sourceArn"] == f"acs:mns:cn-hangzhou:{ACCOUNT_ID}:/topics/sms-receipts"
    named = render(
        (
            ("SMS_RECEIPTS_MNS_QUEUE", "receipts-in"),
            ("SMS_RECEIPTS_REGION", "cn-shanghai"),
            ("SMS_RECEIPTS_MNS_DEAD_LETTER_QUEUE", "receipts-dlq"),
        )
    )["resources"]
    (queue,) = [
        t["triggerConfig"] for t in named["mns_receipt"]["props"]["triggers"] if t["triggerType"] == "eventbridge"
    ]
    assert queue["eventSourceConfig"]["eventSourceParameters"]["sourceMNSParameters"] == {
        "RegionId": "cn-shanghai",
        "QueueName": "receipts-in",
        "IsBase64Decode": True,
    }
    assert queue["runOptions"]["deadLetterQueue"]["Arn"] == f"acs:mns:cn-shanghai:{ACCOUNT_ID}:/queues/receipts-dlq"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_eventbridge_triggers_come_after_all_others(resources, function):
    """fc3 stops deploying a function's triggers at the first unchanged EventBridge trigger (devsapp/fc3
    src/subCommands/deploy/impl/trigger.ts, `return this.needDeploy` inside the loop): one listed later
    would never be created once the EventBridge trigger exists."""
    kinds = [t["triggerType"] == "eventbridge" for t in resources[function]["props"]["triggers"]]
    assert kinds == sorted(kinds)


def test_eventbridge_options_are_fc3_fields(resources):
    """Only fields of FC 3.0's DeliveryOption and RunOptions models (deploy_support cites them)."""
    triggers = [t for r in resources.values() for t in r["props"]["triggers"] if t["triggerType"] == "eventbridge"]
    assert triggers
    for trigger in triggers:
        config = trigger["triggerConfig"]
        assert set(config["eventSinkConfig"]["deliveryOption"]) <= FC3_DELIVERY_OPTION_FIELDS
        assert set(config["runOptions"]) <= FC3_RUN_OPTIONS_FIELDS


def test_no_warm_instances_unless_asked_for(render, resources):
    """SMS_RECEIPTS_HTTP_MIN_INSTANCES: provisioned instances of the HTTP function, 0 by default, a
    number as the fc3 schema wants (IProvisionConfig.defaultTarget), valid against the schema."""
    assert resources["http_receipt"]["props"]["provisionConfig"]["defaultTarget"] == 0
    for function in set(FUNCTIONS) - {"http_receipt"}:
        assert not {"provisionConfig", "scalingConfig"} & set(resources[function]["props"]), function
    warm = render((("SMS_RECEIPTS_HTTP_MIN_INSTANCES", "2"),))["resources"]["http_receipt"]["props"]
    assert warm["provisionConfig"]["defaultTarget"] == 2
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(warm)) == []
    assert {k: v for k, v in warm.items() if k != "provisionConfig"} == {
        k: v for k, v in resources["http_receipt"]["props"].items() if k != "provisionConfig"
    }


def test_the_role_comment_names_the_sms_actions():
    text = (ROOT / "s.yaml").read_text(encoding="utf-8")
    assert all(action in text for action in QUERY_TOKEN_ACTIONS) and "dybaseapi:" not in text
    assert all(action in text for action in RECONCILE_QUERY_ACTIONS)


def test_the_puller_runs_every_minute_once_enabled(render, resources):
    (timer,) = resources["alicom_pull"]["props"]["triggers"]
    assert timer["triggerType"] == "timer" and timer["triggerConfig"]["cronExpression"] == "0 * * * * *"
    assert timer["triggerConfig"]["enable"] is False
    enabled = render((("SMS_RECEIPTS_ALICOM_PULL_ENABLED", "true"),))["resources"]["alicom_pull"]
    assert enabled["props"]["triggers"][0]["triggerConfig"]["enable"] is True


def test_the_readme_documents_every_variable_s_yaml_reads():
    names = set(re.findall(r"\$\{env\('(SMS_RECEIPTS_[A-Z0-9_]+)'", (ROOT / "s.yaml").read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names and sorted(n for n in names if f"`{n}`" not in readme) == []
    assert "SMS_RECEIPTS_HTTP_MIN_INSTANCES" in names
    assert "SMS_RECEIPTS_S_ACCESS" not in readme  # the alias is s.yaml's literal `access`, or `-a <alias>`


def test_the_mns_function_drains_the_inbox_every_minute_in_both_templates(resources):
    (timer,) = [t for t in resources["mns_receipt"]["props"]["triggers"] if t["triggerType"] == "timer"]
    assert timer["triggerConfig"]["cronExpression"] == "0 * * * * *" and timer["triggerConfig"]["enable"] is True
    template = yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))["Resources"]
    drain = template["MnsDrainTimer"]["Properties"]
    assert drain["FunctionName"] == {"Fn::GetAtt": ["MnsReceiptFunction", "FunctionName"]}
    assert drain["TriggerType"] == "timer" and drain["TriggerConfig"]["enable"] is True
    assert drain["TriggerConfig"]["cronExpression"] == timer["triggerConfig"]["cronExpression"]


def cron_period(expression: str) -> int:
    """Seconds between two ticks of a 6-field cron that fires at second 0 of every N-th minute
    (`0 * * * * *`: 60, `0 0/10 * * * *`: 600), the only forms these templates use."""
    seconds, minutes, *rest = expression.split()
    assert seconds == "0" and rest == ["*"] * 4, expression
    if minutes == "*":
        return 60
    start, step = minutes.split("/")
    assert start == "0" and 60 % int(step) == 0, expression  # evenly spaced over the hour
    return int(step) * 60


def test_the_reconciler_runs_every_10_minutes_in_both_templates_in_the_drains_form(resources):
    """The same timer in s.yaml and template.yml, with the drain's fields (cronExpression, enable, payload)."""
    (timer,) = resources["reconcile"]["props"]["triggers"]
    (drain,) = [t for t in resources["mns_receipt"]["props"]["triggers"] if t["triggerType"] == "timer"]
    assert timer["triggerType"] == "timer" and set(timer["triggerConfig"]) == set(drain["triggerConfig"])
    config = timer["triggerConfig"]
    assert cron_period(config["cronExpression"]) == 600 and config["enable"] is True and config["payload"]
    template = yaml.safe_load((ROOT / "template.yml").read_text(encoding="utf-8"))["Resources"]
    ros = template["ReconcileTimer"]["Properties"]
    assert ros["FunctionName"] == {"Fn::GetAtt": ["ReconcileFunction", "FunctionName"]}
    assert ros["TriggerType"] == "timer" and ros["TriggerName"] == timer["triggerName"]
    assert ros["TriggerConfig"] == config
    assert set(template["MnsDrainTimer"]["Properties"]["TriggerConfig"]) == set(config)
