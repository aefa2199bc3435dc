"""`<data_dir>/endpoints.json`: how the other commands find the local stack (`sms-receipts dev`).

Commands that talk to Tablestore or to the Alicom queues use the endpoints the environment names;
when it names none, they use the local stack's, read from this file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .mns import alicom
from .storage import settings as storage

ENDPOINTS_FILE = "endpoints.json"


def local_section(data_dir: str | os.PathLike, section: str, configure_instead: str) -> dict[str, Any]:
    """One section of the local stack's endpoints file, or a ConfigurationError saying what to do."""
    path = Path(data_dir) / ENDPOINTS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))[section]
    except FileNotFoundError:
        raise storage.ConfigurationError(
            f"{configure_instead}, or start the local stack (make dev) so that {path} exists"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise storage.ConfigurationError(f"{path} has no usable {section!r} section: {exc}") from None


def storage_env(data_dir: str | os.PathLike | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment to configure storage from: `env` when it names a Tablestore, otherwise `env`
    with the local stack's."""
    env = dict(env)
    if storage.StorageSettings.configured_in(env) or data_dir is None:
        return env
    hint = f"Tablestore is not configured: set {storage.ENV_ENDPOINT} and {storage.ENV_INSTANCE}"
    local = local_section(data_dir, "tablestore", hint)
    env.update(
        {
            storage.ENV_ENDPOINT: local["endpoint"],
            storage.ENV_INSTANCE: local["instance_name"],
            storage.ENV_ACCESS_KEY_ID: local["access_key_id"],
            storage.ENV_ACCESS_KEY_SECRET: local["access_key_secret"],
        }
    )
    env.setdefault(storage.ENV_TABLE_PREFIX, local.get("table_prefix", storage.DEFAULT_TABLE_PREFIX))
    return env


def alicom_env(data_dir: str | os.PathLike | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment to pull Alicom queues with: `env` when it names the SMS service's MNS endpoint,
    otherwise `env` with the local stack's MNS and dybaseapi emulators."""
    env = dict(env)
    if env.get(alicom.ENV_MNS_ENDPOINT) or data_dir is None:
        return env
    hint = f"no Alicom queues configured: set {alicom.ENV_MNS_ENDPOINT} and {alicom.ENV_ACCOUNT_ID}"
    local = local_section(data_dir, "alicom", hint)
    env.update(
        {
            alicom.ENV_MNS_ENDPOINT: local["mns_endpoint"],
            alicom.ENV_DYBASEAPI_ENDPOINT: local["dybaseapi_endpoint"],
            alicom.ENV_DYBASEAPI_PROTOCOL: local["dybaseapi_protocol"],
            alicom.ENV_ACCOUNT_ID: local["account_id"],
            # The caller's own keys, with which it asks dybaseapi for queue tokens.
            storage.ENV_ACCESS_KEY_ID: local["access_key_id"],
            storage.ENV_ACCESS_KEY_SECRET: local["access_key_secret"],
        }
    )
    env.setdefault(alicom.ENV_TYPES, ",".join(local.get("message_types", [])) or "SmsReport,SmsUp")
    return env


def sms_env(data_dir: str | os.PathLike | None, env: Mapping[str, str]) -> dict[str, str]:
    """The environment to reach the SMS API (dysmsapi) with: `env` when it names one
    (`SMS_RECEIPTS_SMS_ENDPOINT`, e.g. `dysmsapi.aliyuncs.com`: then sends are real), otherwise `env`
    with the local stack's emulator and, where `env` has none, its keys."""
    from .reconcile import settings as reconcile

    env = dict(env)
    if env.get(reconcile.SMS_ENDPOINT.name) or data_dir is None:
        return env
    hint = (
        f"the SMS API is not configured: set {reconcile.SMS_ENDPOINT.name}=dysmsapi.aliyuncs.com "
        "for the real service (which really sends)"
    )
    local = local_section(data_dir, "dysmsapi", hint)
    env[reconcile.SMS_ENDPOINT.name] = local["endpoint"]
    env[reconcile.SMS_PROTOCOL.name] = local.get("protocol", "http")
    if not env.get(storage.ENV_ACCESS_KEY_ID):
        env[storage.ENV_ACCESS_KEY_ID] = local["access_key_id"]
        env[storage.ENV_ACCESS_KEY_SECRET] = local["access_key_secret"]
    return env
