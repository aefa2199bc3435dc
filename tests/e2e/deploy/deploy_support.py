"""Paths and readers shared by the deployment tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from build_functions import read_pins as read_pins_file
from sms_receipts.http.receiver import HTTP_ENV_VARS
from sms_receipts.mns.alicom import ALICOM_ENV_VARS
from sms_receipts.mns.trigger import MNS_TRIGGER_ENV_VARS
from sms_receipts.reconcile.settings import RECONCILE_ENV_VARS, SMS_ENDPOINT
from sms_receipts.storage import Storage, StorageBackend
from sms_receipts.storage import settings as storage_settings
from sms_receipts.storage.inbox import DRAIN_ENV_VARS

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build"
FUNCTIONS = ("http_receipt", "mns_receipt", "alicom_pull", "reconcile")

# The documented configuration of each function (the modules' own lists), less the credentials,
# which FC sets from the function's role.
CREDENTIALS = {
    storage_settings.ENV_ACCESS_KEY_ID,
    storage_settings.ENV_ACCESS_KEY_SECRET,
    storage_settings.ENV_SECURITY_TOKEN,
}
STORAGE = set(storage_settings.STORAGE_ENV_VARS) - CREDENTIALS
DOCUMENTED = {
    "http_receipt": STORAGE | set(HTTP_ENV_VARS),
    "mns_receipt": STORAGE | set(MNS_TRIGGER_ENV_VARS) | set(DRAIN_ENV_VARS),  # it drains the inbox
    "alicom_pull": STORAGE | set(ALICOM_ENV_VARS),
    "reconcile": STORAGE | set(RECONCILE_ENV_VARS),
}

# Where a deployment sets a value the code leaves unset: the SMS API's endpoint, which the code never
# assumes (unset, the CLI uses the local stack's emulator and the function stops), is the real service's
# on FC (reconciliation.md §5: "endpoint `dysmsapi.aliyuncs.com`").
DEPLOYED_VALUES = {SMS_ENDPOINT.name: "dysmsapi.aliyuncs.com"}

# The fields of FC 3.0's trigger structs that s.yaml and template.yml fill in an EventBridge
# trigger's eventSinkConfig.deliveryOption and runOptions: aliyun/alibabacloud-java-sdk
# fc-20230330/src/main/java/com/aliyun/fc20230330/models/DeliveryOption.java and RunOptions.java
# (struct docs api-fc-2023-03-30-struct-deliveryoption, -runoptions). Anything else is not sent on
# (FC 2.0's deliveryOption.mode, Kafka's maximumTasks).
FC3_DELIVERY_OPTION_FIELDS = {"concurrency", "eventSchema"}
FC3_RUN_OPTIONS_FIELDS = {"batchWindow", "deadLetterQueue", "errorsTolerance", "mode", "retryStrategy"}

# The two documented candidates for the RAM action of QueryTokenForMnsQueue: the SMS service's RAM
# codes are dysms, cloudcomm, dybase and sms, with SERVICE granularity only (Resource "*"):
# https://alibabacloud.com/help/en/sms/developer-reference/api-dysmsapi-2018-05-01-ram and
# https://help.aliyun.com/knowledge_detail/101339.html (README, "Unverified until deployed").
QUERY_TOKEN_ACTIONS = {"dysms:QueryTokenForMnsQueue", "dybase:QueryTokenForMnsQueue"}

# The reconciler's SMS API actions, as their API pages' RAM tables name them, with Resource "*"
# ("dysms:QuerySendDetails | get | *All Resource"; the same for QuerySendStatistics):
# https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-querysenddetails and
# https://help.aliyun.com/en/sms/developer-reference/api-dysmsapi-2017-05-25-querysendstatistics.
RECONCILE_QUERY_ACTIONS = {"dysms:QuerySendDetails", "dysms:QuerySendStatistics"}

# Tablestore instance names: CreateInstance rejects these words (api-tablestore-2020-12-09-createinstance).
FORBIDDEN_INSTANCE_WORDS = ("ali", "ay", "ots", "taobao", "admin")


def read_pins(function: str) -> list[tuple[str, str]]:
    """The pins of requirements/<function>.txt, read as `make build` reads them."""
    return read_pins_file(ROOT / "requirements" / f"{function}.txt")


def fresh_tables(emulator: Any, **extra_env: str) -> tuple[dict[str, str], StorageBackend]:
    """Fresh tables on the emulator: the environment a deployed function gets (no keys: the built
    function's context gives them), and the test's own backend on the same tables."""
    emulator.faults.clear()
    info = emulator.connection_info()
    env = {
        storage_settings.ENV_ENDPOINT: info["endpoint"],
        storage_settings.ENV_INSTANCE: info["instance_name"],
        storage_settings.ENV_TABLE_PREFIX: f"t{uuid.uuid4().hex[:8]}_",
        **extra_env,
    }
    settings = storage_settings.StorageSettings(
        env[storage_settings.ENV_ENDPOINT],
        env[storage_settings.ENV_INSTANCE],
        env[storage_settings.ENV_TABLE_PREFIX],
        access_key_id=info["access_key_id"],
        access_key_secret=info["access_key_secret"],
    )
    backend = Storage(settings).backend
    backend.create_missing_tables()
    return env, backend
