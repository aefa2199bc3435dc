"""The Alicom side of the local stack: where `sms-receipts pull` and `mns-send` find the MNS and
dybaseapi emulators when the environment names no real endpoints."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..mns import alicom
from ..storage.config import ENDPOINTS_FILE, ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ConfigurationError


def alicom_env(data_dir: str | os.PathLike | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment when it names the SMS service's MNS endpoint; otherwise the local
    stack's endpoints and keys from `<data_dir>/endpoints.json`."""
    env = dict(os.environ if env is None else env)
    if env.get(alicom.ENV_MNS_ENDPOINT) or data_dir is None:
        return env
    path = Path(data_dir) / ENDPOINTS_FILE
    try:
        local = json.loads(path.read_text(encoding="utf-8"))["alicom"]
    except FileNotFoundError:
        raise ConfigurationError(
            f"no Alicom queues configured: set {alicom.ENV_MNS_ENDPOINT} and {alicom.ENV_ACCOUNT_ID}, "
            f"or start the local stack (make dev) so that {path} exists"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"{path} does not describe the Alicom emulators: {exc}") from None
    env.update(
        {
            alicom.ENV_MNS_ENDPOINT: local["mns_endpoint"],
            alicom.ENV_DYBASEAPI_ENDPOINT: local["dybaseapi_endpoint"],
            alicom.ENV_DYBASEAPI_PROTOCOL: local["dybaseapi_protocol"],
            alicom.ENV_ACCOUNT_ID: local["account_id"],
            # The caller's own keys, with which it asks dybaseapi for queue tokens.
            ENV_ACCESS_KEY_ID: local["access_key_id"],
            ENV_ACCESS_KEY_SECRET: local["access_key_secret"],
        }
    )
    env.setdefault(alicom.ENV_TYPES, ",".join(local.get("message_types", [])) or "SmsReport,SmsUp")
    return env
