"""Storage configuration, read in one place, and one Tablestore client per warm instance.

Environment variables:

- `SMS_RECEIPTS_OTS_ENDPOINT`: the Tablestore endpoint, `https://<instance>.<region>.ots.aliyuncs.com`
  (inside a VPC: `https://<instance>.<region>.vpc.tablestore.aliyuncs.com`). Required.
- `SMS_RECEIPTS_OTS_INSTANCE`: the instance name. Required.
- `SMS_RECEIPTS_TABLE_PREFIX`: prefix of every table name; default `sms_`.
- `SMS_RECEIPTS_OTS_REGION`: region id; when set, requests are signed with signature V4 (else V2).
- `SMS_RECEIPTS_OTS_TIMEOUT`: socket timeout in seconds for requests with no deadline; default 10.
- `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALIBABA_CLOUD_SECURITY_TOKEN`:
  credentials; FC sets them from the function's role.

Credentials come from those variables or, on FC, from the invocation context's STS credentials
(`context.credentials`), which FC rotates: each invocation hands the newest ones to the client.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_ENDPOINT = "SMS_RECEIPTS_OTS_ENDPOINT"
ENV_INSTANCE = "SMS_RECEIPTS_OTS_INSTANCE"
ENV_TABLE_PREFIX = "SMS_RECEIPTS_TABLE_PREFIX"
ENV_REGION = "SMS_RECEIPTS_OTS_REGION"
ENV_TIMEOUT = "SMS_RECEIPTS_OTS_TIMEOUT"
ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
DEFAULT_TABLE_PREFIX = "sms_"

STORAGE_ENV_VARS = (
    ENV_ENDPOINT, ENV_INSTANCE, ENV_TABLE_PREFIX, ENV_REGION, ENV_TIMEOUT,
    ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET, ENV_SECURITY_TOKEN,
)  # fmt: skip


class ConfigurationError(ValueError):
    """A setting is missing or wrong; the message names the variable."""


# Tablestore's instance-name rules that a deployment trips over (README, "Deploy"): RAM policies
# name the instance in lowercase ("在Resource资源定义中的[instance_name]请用小写表示",
# https://help.aliyun.com/document_detail/27362.html), and CreateInstance rejects these words
# ("The name cannot contain the following words: ali, ay, ots, taobao, and admin",
# https://www.alibabacloud.com/help/en/tablestore/table-store-service/developer-reference/api-tablestore-2020-12-09-createinstance).
FORBIDDEN_INSTANCE_WORDS = ("ali", "ay", "ots", "taobao", "admin")


def instance_name_warning(name: str) -> str | None:
    """One line saying why `name` will not work in a deployment, or None when it complies."""
    problems = []
    if name != name.lower():
        problems.append(
            f"has uppercase letters, but RAM policies name Tablestore instances in lowercase (use {name.lower()!r} "
            "in the roles' table ARNs, or a lowercase name)"
        )
    words = [word for word in FORBIDDEN_INSTANCE_WORDS if word in name.lower()]
    if words:
        problems.append(f"contains {', '.join(words)}, which CreateInstance rejects in a new instance's name")
    if not problems:
        return None
    return f"warning: {ENV_INSTANCE} {name!r} " + "; and ".join(problems)


@dataclass(frozen=True)
class StorageConfig:
    endpoint: str
    instance_name: str
    table_prefix: str = DEFAULT_TABLE_PREFIX
    region: str | None = None
    socket_timeout: float = 10.0
    access_key_id: str = ""
    access_key_secret: str = ""
    security_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, context: Any = None) -> StorageConfig:
        env = os.environ if env is None else env
        endpoint, instance = env.get(ENV_ENDPOINT, "").strip(), env.get(ENV_INSTANCE, "").strip()
        if not endpoint or not instance:
            raise ConfigurationError(f"Tablestore is not configured: set {ENV_ENDPOINT} and {ENV_INSTANCE}")
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"{ENV_ENDPOINT} must start with http:// or https://, got {endpoint!r}")
        try:
            timeout = float(env.get(ENV_TIMEOUT) or 10.0)
        except ValueError:
            raise ConfigurationError(f"{ENV_TIMEOUT} must be a number of seconds") from None
        key_id, secret, token = credentials_from(env, context)
        return cls(
            endpoint=endpoint,
            instance_name=instance,
            table_prefix=env.get(ENV_TABLE_PREFIX, DEFAULT_TABLE_PREFIX),
            region=env.get(ENV_REGION) or None,
            socket_timeout=timeout,
            access_key_id=key_id,
            access_key_secret=secret,
            security_token=token,
        )

    @classmethod
    def configured_in(cls, env: Mapping[str, str] | None = None) -> bool:
        env = os.environ if env is None else env
        return bool(env.get(ENV_ENDPOINT) and env.get(ENV_INSTANCE))


def credentials_from(env: Mapping[str, str], context: Any = None) -> tuple[str, str, str | None]:
    credentials = getattr(context, "credentials", None)
    if credentials is not None and getattr(credentials, "access_key_id", None):
        return (
            credentials.access_key_id,
            credentials.access_key_secret,
            getattr(credentials, "security_token", None) or None,
        )
    key_id, secret = env.get(ENV_ACCESS_KEY_ID, ""), env.get(ENV_ACCESS_KEY_SECRET, "")
    if not key_id or not secret:
        raise ConfigurationError(
            f"no Tablestore credentials: set {ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} "
            "(FC sets them when the function has a role)"
        )
    return key_id, secret, env.get(ENV_SECURITY_TOKEN) or None


class _RotatingCredentials:
    """A credentials provider the SDK asks before every request; FC's STS keys are swapped in."""

    def __init__(self, key_id: str, secret: str, token: str | None):
        from tablestore.credentials import Credentials

        self._make = Credentials
        self._current = Credentials(key_id, secret, token)

    def update(self, key_id: str, secret: str, token: str | None) -> None:
        self._current = self._make(key_id, secret, token)

    def get_credentials(self):
        return self._current


class StoreHandle:
    """The client, backend and store of one configuration, created once per warm instance.

    This is the composition root of storage: the one place that sets the SDK up for the process,
    its clients' log level (`quiet_sdk_logs`) and the fast PlainBuffer serializer (installed only on
    the SDK release it was verified against; otherwise one warning line says the writes are slower)."""

    def __init__(self, config: StorageConfig):
        from .plainbuffer import install_fast_put_row_serializer
        from .tablestore import TablestoreBackend, make_client, quiet_sdk_logs
        from .writer import ReceiptStore

        quiet_sdk_logs()
        install_fast_put_row_serializer()
        self.config = config
        self.credentials = _RotatingCredentials(config.access_key_id, config.access_key_secret, config.security_token)
        self.client = make_client(
            config.endpoint,
            config.instance_name,
            config.access_key_id,
            config.access_key_secret,
            security_token=config.security_token,
            region=config.region,
            socket_timeout=config.socket_timeout,
            credentials_provider=self.credentials,
        )
        self.backend = TablestoreBackend(self.client, config.table_prefix)
        self.store = ReceiptStore(self.backend)


_handles: dict[tuple, StoreHandle] = {}
_lock = threading.Lock()


def get_store_handle(env: Mapping[str, str] | None = None, context: Any = None) -> StoreHandle:
    """The instance's store for the current configuration, created on first use. Fresh STS
    credentials from `context` replace the old ones without a new client."""
    config = StorageConfig.from_env(env, context)
    key = (config.endpoint, config.instance_name, config.table_prefix, config.region, config.socket_timeout)
    with _lock:
        handle = _handles.get(key)
        if handle is None:
            handle = _handles[key] = StoreHandle(config)
    handle.credentials.update(config.access_key_id, config.access_key_secret, config.security_token)
    return handle
