"""Storage settings: where the tables are, read from the environment (`StorageSettings.VARIABLES`).

Credentials come from `ALIBABA_CLOUD_*` or, on FC, from the invocation context's STS credentials
(`context.credentials`), which FC rotates: `storage.factory.Storage` hands each invocation's newest
ones to its client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..settings import ConfigurationError, Variable, names

DEFAULT_TABLE_PREFIX = "sms_"

ENDPOINT = Variable(
    "SMS_RECEIPTS_OTS_ENDPOINT",
    "Tablestore endpoint, `https://<instance>.<region>.ots.aliyuncs.com` "
    "(in a VPC `https://<instance>.<region>.vpc.tablestore.aliyuncs.com`)",
    unset="required",
)
INSTANCE = Variable("SMS_RECEIPTS_OTS_INSTANCE", "instance name", unset="required")
TABLE_PREFIX = Variable("SMS_RECEIPTS_TABLE_PREFIX", "prefix of every table name", DEFAULT_TABLE_PREFIX)
REGION = Variable("SMS_RECEIPTS_OTS_REGION", "region id; when set, requests use signature V4", unset="unset (V2)")
TIMEOUT = Variable("SMS_RECEIPTS_OTS_TIMEOUT", "socket timeout (s) for calls without a deadline of their own", "10")
CONCURRENCY = Variable(
    "SMS_RECEIPTS_OTS_CONCURRENCY", "BatchWriteRow requests one push or batch may have in flight at once", "4"
)
_FROM_THE_ROLE = "credentials; FC sets them from the function's role"
_STS = "the FC context's STS credentials"
ACCESS_KEY_ID = Variable("ALIBABA_CLOUD_ACCESS_KEY_ID", _FROM_THE_ROLE, unset=_STS)
ACCESS_KEY_SECRET = Variable("ALIBABA_CLOUD_ACCESS_KEY_SECRET", _FROM_THE_ROLE, unset=_STS)
SECURITY_TOKEN = Variable("ALIBABA_CLOUD_SECURITY_TOKEN", _FROM_THE_ROLE, unset=_STS)

ENV_ENDPOINT, ENV_INSTANCE, ENV_TABLE_PREFIX = ENDPOINT.name, INSTANCE.name, TABLE_PREFIX.name
ENV_REGION, ENV_TIMEOUT = REGION.name, TIMEOUT.name
ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET = ACCESS_KEY_ID.name, ACCESS_KEY_SECRET.name
ENV_SECURITY_TOKEN = SECURITY_TOKEN.name


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
class StorageSettings:
    VARIABLES: ClassVar = (
        ENDPOINT,
        INSTANCE,
        TABLE_PREFIX,
        REGION,
        TIMEOUT,
        CONCURRENCY,
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        SECURITY_TOKEN,
    )

    endpoint: str
    instance_name: str
    table_prefix: str = DEFAULT_TABLE_PREFIX
    region: str | None = None
    socket_timeout: float = 10.0
    concurrency: int = 4
    access_key_id: str = ""
    access_key_secret: str = ""
    security_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StorageSettings:
        endpoint, instance = env.get(ENV_ENDPOINT, "").strip(), env.get(ENV_INSTANCE, "").strip()
        if not endpoint or not instance:
            raise ConfigurationError(f"Tablestore is not configured: set {ENV_ENDPOINT} and {ENV_INSTANCE}")
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigurationError(f"{ENV_ENDPOINT} must start with http:// or https://, got {endpoint!r}")
        return cls(
            endpoint=endpoint,
            instance_name=instance,
            table_prefix=env.get(ENV_TABLE_PREFIX, DEFAULT_TABLE_PREFIX),
            region=env.get(ENV_REGION) or None,
            socket_timeout=TIMEOUT.number(env),
            concurrency=max(1, CONCURRENCY.integer(env)),
            access_key_id=env.get(ENV_ACCESS_KEY_ID, ""),
            access_key_secret=env.get(ENV_ACCESS_KEY_SECRET, ""),
            security_token=env.get(ENV_SECURITY_TOKEN) or None,
        )

    @classmethod
    def configured_in(cls, env: Mapping[str, str]) -> bool:
        return bool(env.get(ENV_ENDPOINT) and env.get(ENV_INSTANCE))

    def credentials(self, context: Any = None) -> tuple[str, str, str | None]:
        """The context's STS credentials when FC gives some, else these settings' keys."""
        env = {
            ENV_ACCESS_KEY_ID: self.access_key_id,
            ENV_ACCESS_KEY_SECRET: self.access_key_secret,
            ENV_SECURITY_TOKEN: self.security_token or "",
        }
        return credentials_from(env, context)


STORAGE_ENV_VARS = names(StorageSettings.VARIABLES)


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
