"""Reconciler settings: the SMS API it queries and how hard, read from the environment.

The SMS API's endpoint is never assumed: `SMS_RECEIPTS_SMS_ENDPOINT` names it (`dysmsapi.aliyuncs.com`
for the real service; the deployment templates set it), and where it is unset the CLI uses the local
stack's emulator (`endpoints.sms_env`). Credentials are the storage's (`ALIBABA_CLOUD_*` or, on FC,
the context's STS credentials): one role serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from ..settings import ConfigurationError, Variable, names

# The service re-pushes a receipt 1, 5 and 10 minutes after a failed push, then gives up (16 minutes
# after the first push); 20 minutes leaves the last re-push time to land.
DEFAULT_GRACE_SECONDS = 1200
DEFAULT_MAX_AGE_HOURS = 72
# QuerySendDetails serves a send date within the last 30 days (help.aliyun.com/document_detail/419277);
# a maximum age of 29 days keeps the send's whole day inside that window.
MAX_AGE_LIMIT_HOURS = 29 * 24

SMS_ENDPOINT = Variable(
    "SMS_RECEIPTS_SMS_ENDPOINT",
    "the SMS API (dysmsapi) the reconciler queries and `sms-receipts send` sends through: "
    "`dysmsapi.aliyuncs.com` for the real service",
    unset="the local stack's emulator (CLI); required on FC",
)
SMS_PROTOCOL = Variable("SMS_RECEIPTS_SMS_PROTOCOL", "`https` or `http` for the SMS API", "https")
GRACE = Variable(
    "SMS_RECEIPTS_RECONCILE_GRACE_SECONDS",
    "a send is queried once it is this old without a final state (past the service's last re-push)",
    str(DEFAULT_GRACE_SECONDS),
)
MAX_AGE = Variable(
    "SMS_RECEIPTS_RECONCILE_MAX_AGE_HOURS",
    "a send still unresolved at this age gets the final state `unknown` (at most 696: 29 days)",
    str(DEFAULT_MAX_AGE_HOURS),
)
CONCURRENCY = Variable("SMS_RECEIPTS_RECONCILE_CONCURRENCY", "QuerySendDetails calls in flight at once", "32")
QPS = Variable(
    "SMS_RECEIPTS_RECONCILE_QPS",
    "QuerySendDetails calls per second at most (the API's own limit: 5,000/s per account)",
    "500",
)


@dataclass(frozen=True)
class ReconcileSettings:
    VARIABLES: ClassVar = (SMS_ENDPOINT, SMS_PROTOCOL, GRACE, MAX_AGE, CONCURRENCY, QPS)

    sms_endpoint: str
    sms_protocol: str = "https"
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS
    concurrency: int = 32
    qps: float = 500.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReconcileSettings:
        endpoint = SMS_ENDPOINT.read(env).strip()
        if not endpoint:
            raise ConfigurationError(
                f"the SMS API is not configured: set {SMS_ENDPOINT.name}=dysmsapi.aliyuncs.com "
                "(or start the local stack, make dev, for its emulator)"
            )
        protocol = SMS_PROTOCOL.read(env).strip().lower()
        if protocol not in ("https", "http"):
            raise ConfigurationError(f"{SMS_PROTOCOL.name} must be https or http, got {protocol!r}")
        settings = cls(
            sms_endpoint=endpoint,
            sms_protocol=protocol,
            grace_seconds=GRACE.number(env),
            max_age_hours=MAX_AGE.number(env),
            concurrency=CONCURRENCY.integer(env),
            qps=QPS.number(env),
        )
        return settings.checked()

    def checked(self) -> ReconcileSettings:
        """These settings, or a ConfigurationError naming the variable out of range."""
        if self.grace_seconds < 0:
            raise ConfigurationError(f"{GRACE.name} must not be negative, got {self.grace_seconds:g}")
        if not 0 < self.max_age_hours <= MAX_AGE_LIMIT_HOURS:
            raise ConfigurationError(
                f"{MAX_AGE.name} must be above 0 and at most {MAX_AGE_LIMIT_HOURS} (QuerySendDetails serves "
                f"the last 30 days), got {self.max_age_hours:g}"
            )
        if self.grace_seconds >= self.max_age_hours * 3600:
            raise ConfigurationError(f"{GRACE.name} must be less than {MAX_AGE.name} (in seconds)")
        if self.concurrency < 1:
            raise ConfigurationError(f"{CONCURRENCY.name} must be at least 1, got {self.concurrency}")
        if self.qps <= 0:
            raise ConfigurationError(f"{QPS.name} must be above 0, got {self.qps:g}")
        return self


RECONCILE_ENV_VARS = names(ReconcileSettings.VARIABLES)
