"""The report's figures from ledger rows as any read supplies them: China-time buckets, one status per
message, latency percentiles, and what is left out."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from sms_receipts.parsing.times import CHINA_TZ
from sms_receipts.stats_model import (
    LatencyDistribution,
    Stats,
    bucket_start,
    report_latency_ms,
    stats_from_ledger_rows,
)

DAY_MS = 86_400_000
MIDNIGHT = int(datetime(2026, 11, 25, tzinfo=CHINA_TZ).timestamp() * 1000)  # 16:00 UTC the day before


def row(entity, status, at, record=None, **columns):
    return {
        "entity_key": entity,
        "message_type": "SmsReport",
        "status": status,
        "event_time": at,
        "record": json.dumps(record or {}),
        "source": "http",
        "received_at": None if at is None else at + 500,
        **columns,
    }


def test_buckets_are_whole_china_days_and_hours():
    assert bucket_start(MIDNIGHT + 1, "day") == MIDNIGHT
    assert bucket_start(MIDNIGHT - 1, "day") == MIDNIGHT - DAY_MS  # 23:59:59.999 China time is the day before
    assert bucket_start(MIDNIGHT + 90 * 60_000, "hour") == MIDNIGHT + 3_600_000
    stats = Stats.empty(MIDNIGHT + 5 * 3_600_000, MIDNIGHT + 2 * DAY_MS + 1, "day", generated_at_ms=0)
    assert [b.start_ms for b in stats.buckets] == [MIDNIGHT, MIDNIGHT + DAY_MS, MIDNIGHT + 2 * DAY_MS]
    with pytest.raises(ValueError, match="ask by day"):
        Stats.empty(MIDNIGHT, MIDNIGHT + 90 * DAY_MS, "hour")
    with pytest.raises(ValueError, match="by must be"):
        Stats.empty(MIDNIGHT, MIDNIGHT + DAY_MS, "week")


def test_a_message_counts_once_with_its_newest_report_and_a_tie_goes_to_the_higher_rank():
    at = MIDNIGHT + 3_600_000
    rows = [
        row("a", "failed", at, {"err_code": "UNDELIV"}),
        row("a", "delivered", at + 60_000, {"err_code": "DELIVERED"}),  # later: it wins
        row("b", "delivered", at),
        row("b", "failed", at, {"err_code": "-37"}),  # same time, failed ranks higher
        row("c", "unknown", None, {"err_code": "sms-receipts:unresolved"}, received_at=at),  # no time of its own
    ]
    stats = stats_from_ledger_rows(rows, MIDNIGHT, MIDNIGHT + DAY_MS)
    assert stats.statuses() == {"delivered": 1, "failed": 1, "unknown": 1}
    assert stats.err_codes == {"-37": 1}  # the failure that was superseded is not counted
    assert stats.types() == {"SmsReport": 5} and stats.receipts == 5
    assert stats.delivery_rate == 0.5


def test_rows_from_another_read_without_key_columns_or_with_bytes_records_count_each():
    at = MIDNIGHT + 1000
    rows = [
        {"message_type": "SmsReport", "status": "delivered", "event_time": at, "record": b"{}"},
        {"message_type": "SmsReport", "status": "delivered", "event_time": at, "record": {}},
        {"message_type": "SmsReport", "status": "failed", "event_time": at, "record": "not json"},
        {"message_type": "SmsUp", "event_time": None},  # no time at all
        {"message_type": "SmsUp", "event_time": MIDNIGHT - 1, "record": "{}"},  # before the range
    ]
    stats = stats_from_ledger_rows(rows, MIDNIGHT, MIDNIGHT + DAY_MS)
    assert stats.statuses() == {"delivered": 2}
    assert (stats.receipts, stats.unreadable) == (3, 2)
    assert stats.sources() == {"unknown": 3}


def test_latency_is_report_time_less_send_time_in_either_spelling():
    assert (
        report_latency_ms({"send_time": "2026-11-25T10:00:00+08:00", "report_time": "2026-11-25T10:00:05+08:00"})
        == 5000
    )
    assert (
        report_latency_ms({"send_date": "2026-11-25T10:00:00+08:00", "receive_date": "2026-11-25T02:01:00+00:00"})
        == 60_000
    )
    assert (
        report_latency_ms({"send_time": "2026-11-25T10:00:05+08:00", "report_time": "2026-11-25T10:00:00+08:00"})
        is None
    )
    assert (
        report_latency_ms({"send_time": "2026-11-25 10:00:00", "report_time": "2026-11-25 10:00:05"}) is None
    )  # no zone


def test_percentiles_are_exact_from_samples_and_interpolated_from_the_histogram():
    exact = LatencyDistribution()
    for ms in (100, 1500, 2500, 4000, 9000, 61_000, 400_000, 90_000_000):
        exact.add(ms)
    assert [exact.percentile(q) for q in (50, 90, 99)] == [4000, 90_000_000, 90_000_000]
    assert exact.counts[0] == 1 and exact.counts[-1] == 1  # under 1 s; a day and more
    histogram = LatencyDistribution(counts=[0, 0, 10] + [0] * 12)  # ten between 2 s and 5 s, no samples
    assert histogram.percentile(50) == pytest.approx(2000 + 3000 * 5 / 10)
    assert histogram.percentile(100) == pytest.approx(5000)
    assert LatencyDistribution().percentile(50) is None
    with pytest.raises(ValueError):
        LatencyDistribution(counts=[1, 2])


def test_with_received_time_buckets_a_message_still_counts_by_its_winning_report():
    from sms_receipts.stats_model import stats_from_ledger_rows

    day = 1_796_616_000_000  # a China-time noon, in ms
    later_report_received_first = {
        "entity_key": "SmsReport:b|1",
        "message_type": "SmsReport",
        "status": "delivered",
        "time_bucket": "a-x",
        "event_time": day + 60_000,
        "send_time": day,
        "received_at": day + 61_000,
    }
    earlier_report_received_last = {
        **later_report_received_first,
        "status": "failed",
        "err_code": "UNDELIV",
        "event_time": day + 30_000,
        "received_at": day + 120_000,
    }
    rows = [later_report_received_first, earlier_report_received_last]
    stats = stats_from_ledger_rows(rows, day, day + 3_600_000, "hour", time_column="received_at")
    assert stats.statuses() == {"delivered": 1} and not stats.err_codes  # by its own time, as the state is
    assert stats.receipts == 2 and stats.latency.percentile(50) == 60_000
