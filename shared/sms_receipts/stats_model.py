"""What a report shows: receipt counts per time bucket, delivery statuses, failures by err_code, the
send-to-report latency and completeness per day (`Stats`), and how to compute it from ledger rows.

`stats_from_ledger_rows` is pure: it takes the rows as `StorageBackend.scan` returns them (dicts
with `message_type`, `status`, `event_time`, `record`, `source`, `received_at`, and the key columns
`entity_key`, `idempotency_key` when present) from whatever read supplies them, and counts:

- every receipt (ledger row) by type and by source, in the bucket of its own time (`event_time`: the
  report time of a delivery report, the filing time of an audit; `received_at` when it has none);
- every message a delivery report is about (SmsReport, GlobeSmsReport, IntlSmsReport; one entity:
  BizId and number, or the international MessageId) once, with the status of its winning report: the
  newest by event time, the higher rank on a tie, as the state tables decide (`storage.rules`). Its
  bucket is that report's; a failed or expired one counts under its err_code, and its latency is
  report time less send time.

Buckets are whole China-time days or hours (UTC+8, no daylight saving), every one in the range, so a
quiet day shows as an empty bucket rather than missing. Only the CLI imports this module (through
`report`); nothing on a function's path does.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .parsing.spec import DELIVERY_RANKS
from .reconcile.completeness import DayCompleteness

DELIVERY_TYPES = ("SmsReport", "GlobeSmsReport", "IntlSmsReport")
DELIVERY_STATUSES = ("delivered", "failed", "expired", "pending", "unknown")
FINAL_STATUSES = ("delivered", "failed", "expired")  # a real outcome; `unknown` is the reconciler's verdict
FAILED_STATUSES = ("failed", "expired")
BUCKET_MS = {"day": 86_400_000, "hour": 3_600_000}
MAX_BUCKETS = 24 * 62  # two months by the hour: beyond that a chart is a smear, ask by day
CHINA_OFFSET_MS = 8 * 3_600_000
NO_CODE = "(none)"  # a failed report without an err_code
# Histogram edges of the send-to-report latency: bucket i is [edges[i], edges[i+1]), the last one
# everything from edges[-1] on. Carriers answer in seconds; the SMS service re-pushes up to ~16 min.
LATENCY_EDGES_MS: tuple[int, ...] = (
    0,
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    1_800_000,
    3_600_000,
    21_600_000,
    86_400_000,
)


def bucket_start(ms: int, by: str) -> int:
    """The start (epoch ms) of the China-time day or hour holding `ms`."""
    size = BUCKET_MS[by]
    return (ms + CHINA_OFFSET_MS) // size * size - CHINA_OFFSET_MS


@dataclass
class Bucket:
    start_ms: int
    statuses: Counter[str] = field(default_factory=Counter)  # messages of delivery reports, by status
    types: Counter[str] = field(default_factory=Counter)  # receipts, by message type
    sources: Counter[str] = field(default_factory=Counter)  # receipts, by source (http, alicom, query, ...)

    @property
    def final(self) -> int:
        return sum(self.statuses[status] for status in FINAL_STATUSES)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered over the messages with a real outcome; None when there is none."""
        return self.statuses["delivered"] / self.final if self.final else None


@dataclass
class LatencyDistribution:
    """Send-to-report latencies: histogram counts over `edges_ms`, and the samples themselves when the
    computation kept them (exact percentiles; otherwise they are read from the histogram)."""

    edges_ms: tuple[int, ...] = LATENCY_EDGES_MS
    counts: list[int] = field(default_factory=list)
    samples_ms: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.edges_ms)
        if len(self.counts) != len(self.edges_ms):
            raise ValueError(f"{len(self.counts)} counts for {len(self.edges_ms)} latency buckets")

    def add(self, ms: int, keep_sample: bool = True) -> None:
        index = max(0, next((i for i, edge in enumerate(self.edges_ms) if edge > ms), len(self.edges_ms)) - 1)
        self.counts[index] += 1
        if keep_sample:
            self.samples_ms.append(ms)

    @property
    def total(self) -> int:
        return sum(self.counts)

    def percentile(self, q: float) -> float | None:
        """The q-th percentile (0 < q <= 100) in ms: nearest rank over the samples when every latency
        was kept, else interpolated inside the histogram bucket that holds that rank."""
        total = self.total
        if not total:
            return None
        rank = max(1, math.ceil(q / 100 * total))
        if len(self.samples_ms) == total:
            return float(sorted(self.samples_ms)[rank - 1])
        seen = 0
        for index, count in enumerate(self.counts):
            if count and seen + count >= rank:
                low = self.edges_ms[index]
                high = self.edges_ms[index + 1] if index + 1 < len(self.edges_ms) else low
                return low + (high - low) * (rank - seen) / count
            seen += count
        return float(self.edges_ms[-1])  # not reached: the ranks add up to `total`


@dataclass
class Stats:
    """Everything a report draws. Times are epoch ms; `by` is "day" or "hour" (China time)."""

    since_ms: int
    until_ms: int
    by: str
    generated_at_ms: int
    buckets: list[Bucket]
    err_codes: Counter[str] = field(default_factory=Counter)  # failed and expired messages by err_code
    latency: LatencyDistribution = field(default_factory=LatencyDistribution)
    completeness: list[DayCompleteness] = field(default_factory=list)  # the reconciler's lines, per day
    receipts: int = 0  # ledger rows counted (in range)
    spilled: int = 0  # of those, stored by the drain from the inbox (not inline)
    unreadable: int = 0  # rows without a usable time or record, left out

    @classmethod
    def empty(cls, since_ms: int, until_ms: int, by: str = "day", generated_at_ms: int | None = None) -> Stats:
        """Every bucket of the range, none counted yet: what another computation fills in."""
        if by not in BUCKET_MS:
            raise ValueError(f"by must be one of {', '.join(BUCKET_MS)}, not {by!r}")
        if until_ms <= since_ms:
            raise ValueError("the range is empty: until must be after since")
        starts = range(bucket_start(since_ms, by), until_ms, BUCKET_MS[by])
        if len(starts) > MAX_BUCKETS:
            raise ValueError(f"{len(starts)} {by}s is too many buckets to draw (at most {MAX_BUCKETS}): ask by day")
        generated = int(time.time() * 1000) if generated_at_ms is None else generated_at_ms
        return cls(since_ms, until_ms, by, generated, [Bucket(start) for start in starts])

    def bucket_at(self, ms: int) -> Bucket:
        first = self.buckets[0].start_ms
        return self.buckets[(ms - first) // BUCKET_MS[self.by]]

    def contains(self, ms: int) -> bool:
        return self.since_ms <= ms < self.until_ms

    def statuses(self) -> Counter[str]:
        return sum((bucket.statuses for bucket in self.buckets), Counter())

    def types(self) -> Counter[str]:
        return sum((bucket.types for bucket in self.buckets), Counter())

    def sources(self) -> Counter[str]:
        return sum((bucket.sources for bucket in self.buckets), Counter())

    @property
    def delivery_rate(self) -> float | None:
        statuses = self.statuses()
        final = sum(statuses[status] for status in FINAL_STATUSES)
        return statuses["delivered"] / final if final else None


def _epoch_ms(text: Any) -> int | None:
    """An ISO 8601 time with its offset (as the ledger's `record` holds them) in epoch ms."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000) if moment.tzinfo is not None else None


def _record(row: Mapping[str, Any]) -> dict[str, Any] | None:
    value = row.get("record")
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (str, bytes)):
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def report_latency_ms(record: Mapping[str, Any]) -> int | None:
    """Report time less send time (SmsReport), or receive date less send date (international)."""
    sent = _epoch_ms(record.get("send_time")) or _epoch_ms(record.get("send_date"))
    reported = _epoch_ms(record.get("report_time")) or _epoch_ms(record.get("receive_date"))
    if sent is None or reported is None or reported < sent:
        return None
    return reported - sent


def err_code_of(record: Mapping[str, Any]) -> str:
    code = record.get("err_code") or record.get("error_code")
    return str(code).strip() if code not in (None, "") else NO_CODE


@dataclass
class _Winner:
    at: int  # the bucket's time (`time_column`)
    order: int  # what orders two reports of one message: their own time, as the state tables do
    rank: int
    status: str
    err_code: str
    latency_ms: int | None


def _facts(row: Mapping[str, Any]) -> tuple[str, int | None] | None:
    """A delivery report's err_code and latency: from the ledger's `record`, or, for a row of the
    by-time index (no record, `storage.schema.BY_TIME`), from its `err_code`, `send_time` and
    `event_time` columns. None when neither is there."""
    record = _record(row)
    if record is not None:
        return err_code_of(record), report_latency_ms(record)
    if "time_bucket" not in row:
        return None
    sent, reported = _int(row.get("send_time")), _int(row.get("event_time"))
    latency = reported - sent if sent is not None and reported is not None and reported >= sent else None
    return err_code_of({"err_code": row.get("err_code")}), latency


def _count_receipt(stats: Stats, at: int, row: Mapping[str, Any]) -> str:
    """Count one receipt by type and source in its bucket (and as spilled); its message type."""
    message_type = str(row.get("message_type") or "unknown")
    bucket = stats.bucket_at(at)
    stats.receipts += 1
    bucket.types[message_type] += 1
    bucket.sources[str(row.get("source") or "unknown")] += 1
    if row.get("spilled"):
        stats.spilled += 1
    return message_type


def stats_from_ledger_rows(
    rows: Iterable[Mapping[str, Any]],
    since_ms: int,
    until_ms: int,
    by: str = "day",
    *,
    completeness: Sequence[DayCompleteness] = (),
    generated_at_ms: int | None = None,
    keep_latency_samples: bool = True,
    time_column: str = "event_time",
) -> Stats:
    """The report's figures for the receipts whose `time_column` (their own time, or `received_at`:
    when they were received) is in [since_ms, until_ms)."""
    stats = Stats.empty(since_ms, until_ms, by, generated_at_ms)
    stats.completeness = sorted(completeness, key=lambda line: line.day)
    winners: dict[str, _Winner] = {}
    for position, row in enumerate(rows):
        at = _int(row.get(time_column)) or _int(row.get("received_at"))
        if at is None:
            stats.unreadable += 1
            continue
        if not stats.contains(at):
            continue
        message_type = _count_receipt(stats, at, row)
        if message_type not in DELIVERY_TYPES:
            continue
        facts = _facts(row)
        if facts is None:
            stats.unreadable += 1
            continue
        status = str(row.get("status") or "unknown")
        entity = str(row.get("entity_key") or row.get("idempotency_key") or f"row {position}")
        order = _int(row.get("event_time")) or at
        candidate = _Winner(at, order, DELIVERY_RANKS.get(status, 0), status, *facts)
        current = winners.get(entity)
        if current is None or (candidate.order, candidate.rank) > (current.order, current.rank):
            winners[entity] = candidate
    for winner in winners.values():
        stats.bucket_at(winner.at).statuses[winner.status] += 1
        if winner.status in FAILED_STATUSES:
            stats.err_codes[winner.err_code] += 1
        if winner.latency_ms is not None and winner.status != "unknown":
            stats.latency.add(winner.latency_ms, keep_sample=keep_latency_samples)
    return stats


def stats_rows(stats: Stats, by: str) -> list[dict[str, Any]]:
    """The figures as rows for the command line: one per bucket (`day`, `hour`), or per message type,
    source or err_code (`type`, `source`, `err_code`)."""
    if by in BUCKET_MS:
        rows = []
        for bucket in stats.buckets:
            rows.append(
                {
                    "start": bucket.start_ms,
                    "receipts": sum(bucket.types.values()),
                    **{status: bucket.statuses[status] for status in (*FINAL_STATUSES, "unknown")},
                    "delivery_rate": None if bucket.delivery_rate is None else round(bucket.delivery_rate, 4),
                }
            )
        return rows
    counters = {"type": stats.types(), "source": stats.sources(), "err_code": stats.err_codes}
    if by not in counters:
        raise ValueError(f"by must be one of {', '.join([*BUCKET_MS, *counters])}, not {by!r}")
    return [{by: name, "count": count} for name, count in counters[by].most_common()]


def stats_summary(stats: Stats) -> dict[str, Any]:
    """The range's headline figures: receipts, delivery rate, latency percentiles, and the counts of
    reconciled (`query`), unknown and spilled receipts."""
    statuses = stats.statuses()
    rate = stats.delivery_rate
    return {
        "since": stats.since_ms,
        "until": stats.until_ms,
        "receipts": stats.receipts,
        "messages": sum(statuses.values()),
        **{status: statuses[status] for status in (*FINAL_STATUSES, "unknown")},
        "delivery_rate": None if rate is None else round(rate, 4),
        **{f"latency_p{q}_ms": stats.latency.percentile(q) for q in (50, 90, 99)},
        "reconciled": stats.sources()["query"],
        "spilled": stats.spilled,
        "unreadable": stats.unreadable,
    }
