"""One reconciler run as FC's timer, the CLI and the local stack start it: build the SMS API client
from the settings and credentials, reconcile, then ask QuerySendStatistics for the window's days and
log one line with the run's counts and the completeness per day."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..logs import log_event
from .api import QueryError, SmsApi, SmsApiConfig
from .completeness import DayCompleteness, completeness
from .reconciler import DayFigures, Reconciler, ReconcileReport
from .settings import ReconcileSettings

if TYPE_CHECKING:
    from ..storage.factory import Storage

log = logging.getLogger("sms_receipts.reconcile")
STATISTICS_SECONDS = 10.0


@dataclass
class JobResult:
    report: ReconcileReport
    days: list[DayCompleteness] = field(default_factory=list)
    statistics_error: str | None = None

    def as_fields(self) -> dict[str, Any]:
        fields = self.report.as_fields()
        fields["completeness"] = {line.day: line.completeness for line in self.days if line.service_total}
        if self.statistics_error:
            fields["statistics_error"] = self.statistics_error
        return fields


def sms_api(settings: ReconcileSettings, credentials: tuple[str, str, str | None]) -> SmsApi:
    return SmsApi(SmsApiConfig(settings.sms_endpoint, settings.sms_protocol), credentials, qps=settings.qps)


def day_completeness(
    api: SmsApi, figures: dict[str, DayFigures], first_day: str, last_day: str
) -> tuple[list[DayCompleteness], str | None]:
    """The days' completeness lines; with the statistics' error when QuerySendStatistics failed."""
    try:
        statistics = api.send_statistics(first_day, last_day, time.monotonic() + STATISTICS_SECONDS)
    except QueryError as exc:
        return completeness(figures.values(), []), str(exc)
    return completeness(figures.values(), statistics), None


def send_log_completeness(
    storage: Storage, settings: ReconcileSettings, credentials: tuple[str, str, str | None], days: list[str]
) -> tuple[list[DayCompleteness], str | None]:
    """`days`' completeness from the tables alone (no reconciling): the send log's figures against
    QuerySendStatistics (`sms-receipts completeness`, `report`)."""
    from .reconciler import send_log_figures

    figures = send_log_figures(storage.backend, days)
    return day_completeness(sms_api(settings, credentials), figures, days[0], days[-1])


def run_job(
    storage: Storage,
    settings: ReconcileSettings,
    credentials: tuple[str, str, str | None],
    budget_seconds: float,
    *,
    clock: Callable[[], float] = time.time,
) -> JobResult:
    api = sms_api(settings, credentials)
    reconciler = Reconciler(storage.backend, storage.store, api, settings, clock=clock)
    report = reconciler.run(budget_seconds)
    days = sorted(report.days)
    lines, error = day_completeness(api, report.days, days[0], days[-1])
    result = JobResult(report, lines, error)
    unsettled = report.failed or report.left or not report.complete
    log_event(log, "reconcile", logging.WARNING if unsettled else logging.INFO, **result.as_fields())
    return result
