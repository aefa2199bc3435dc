"""Completeness per send day: how many of the service's final outcomes (QuerySendStatistics) the
tables hold as final states.

For each day QuerySendStatistics (reconciliation.md §5, help.aliyun.com/document_detail/419276) gives
`TotalCount` (messages sent), `RespondedSuccessCount` and `RespondedFailCount` (outcomes known) and
`NoRespondedCount` (still awaited). The send log gives the sends recorded that day and their states
(`reconciler.DayFigures`). `completeness` is stored finals (delivered, failed, expired) over the
service's known outcomes; `logged` over `TotalCount` says how much of the day's sending is recorded
at all (a send not in the send log can be neither reconciled nor counted). Domestic sends only
(`IsGlobe` 1): the send log records SendSms and SendBatchSms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .reconciler import DayFigures


def _count(day: Mapping[str, Any], name: str) -> int:
    try:
        return int(day.get(name) or 0)
    except (TypeError, ValueError):
        return 0


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class DayCompleteness:
    day: str  # yyyyMMdd, China time
    service_total: int  # TotalCount
    service_final: int  # RespondedSuccessCount + RespondedFailCount
    service_awaiting: int  # NoRespondedCount
    logged: int  # sends in the send log
    stored_final: int  # of those, with a final state from a report or an answer
    unknown: int
    pending: int

    @property
    def completeness(self) -> float | None:
        """Stored finals over the service's known outcomes (None when it knows none)."""
        return _ratio(self.stored_final, self.service_final)

    @property
    def logged_share(self) -> float | None:
        return _ratio(self.logged, self.service_total)

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "completeness": self.completeness, "logged_share": self.logged_share}


def completeness(figures: Iterable[DayFigures], statistics: Iterable[Mapping[str, Any]]) -> list[DayCompleteness]:
    """One line per day that either side knows, oldest first."""
    by_day = {day.day: day for day in figures}
    service = {str(day.get("SendDate")): day for day in statistics}
    lines = []
    for name in sorted(set(by_day) | set(service)):
        ours = by_day.get(name) or DayFigures(name)
        theirs = service.get(name, {})
        lines.append(
            DayCompleteness(
                day=name,
                service_total=_count(theirs, "TotalCount"),
                service_final=_count(theirs, "RespondedSuccessCount") + _count(theirs, "RespondedFailCount"),
                service_awaiting=_count(theirs, "NoRespondedCount"),
                logged=ours.logged,
                stored_final=ours.final,
                unknown=ours.statuses["unknown"],
                pending=ours.statuses["pending"],
            )
        )
    return lines
