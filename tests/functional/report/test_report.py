"""The report from realistic receipts: a week of pushes (batch sends, re-pushes, a status change,
international reports, replies, an audit and the reconciler's verdict), parsed by the project's parser
and stored through the real store on the Tablestore emulator; the ledger rows read back give the
figures, and the page opens in headless Chromium, offline, with its charts drawn."""

from __future__ import annotations

import json
import math
import re
import struct
import subprocess
import time
import zlib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sms_receipts.parsing import MessageType, Source, decode_http_body, decode_items
from sms_receipts.parsing.times import CHINA_TZ
from sms_receipts.reconcile.answers import unresolved_receipt
from sms_receipts.reconcile.completeness import completeness
from sms_receipts.reconcile.reconciler import DayFigures
from sms_receipts.report import ERR_CODE_MEANINGS, render_report
from sms_receipts.stats_model import stats_from_ledger_rows
from sms_receipts.storage.schema import LEDGER

EVENTS = Path(__file__).resolve().parents[2] / "events"
FIRST_DAY = datetime(2026, 11, 20, tzinfo=CHINA_TZ)
DAYS = 6
SINCE_MS = int(FIRST_DAY.timestamp() * 1000)
UNTIL_MS = int((FIRST_DAY + timedelta(days=DAYS)).timestamp() * 1000)
LATENCIES_S = (3, 4, 5, 6, 8, 12, 25, 70, 400)  # the carriers' usual seconds, and a few slow ones
# Failure codes with their share: every 7th message fails, every 23rd expires.
FAILURE_CODES = ("UNDELIV", "-37", "MK:0005", "E:ODDL")


def text_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")  # how the SMS service writes it: China time, no offset


def week_of_sends():
    """Per message (biz_id, number): send time, report time, status, err_code; the truth the report
    must show. Batch sends share a BizId."""
    messages = {}
    for day in range(DAYS):
        for n in range(40 + 10 * day):
            sent = FIRST_DAY + timedelta(days=day, hours=8, minutes=7 * n, seconds=n % 60)
            latency = LATENCIES_S[(n * 7 + day) % len(LATENCIES_S)]
            if n % 23 == 5:
                status, code = "expired", "EXPIRED"
            elif n % 7 == 3:
                status, code = "failed", FAILURE_CODES[(n + day) % len(FAILURE_CODES)]
            else:
                status, code = "delivered", "DELIVERED"
            biz_id = f"9006197469{day:02d}{n // 5:06d}^0"  # five numbers per batch send
            phone = f"13{8 + n % 2}{day:04d}{n:04d}"
            messages[(biz_id, phone)] = (sent, sent + timedelta(seconds=latency), status, code)
    return messages


def sms_report(biz_id, phone, sent, reported, status, code):
    return {
        "phone_number": phone,
        "send_time": text_time(sent),
        "report_time": text_time(reported),
        "success": status == "delivered",
        "err_code": code,
        "err_msg": "用户接收成功" if status == "delivered" else "用户接收失败",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": f"order-{phone[-4:]}",
    }


def push(store, receipts, message_type, received_at_ms, source=Source.HTTP):
    if source is Source.HTTP:
        parsed = decode_http_body(json.dumps(receipts, ensure_ascii=False).encode("utf-8"), message_type)
    else:
        parsed = decode_items(receipts, message_type, source)
    assert not parsed.rejected, [r.reason for r in parsed.rejected]
    result = store.write(parsed.items, received_at=received_at_ms)
    assert result.confirmed, result.errors
    return result


@pytest.fixture
def week(store, backend):
    """A week of receipts in the ledger, and the truth about it."""
    messages = week_of_sends()
    ms = lambda moment: int(moment.timestamp() * 1000)  # noqa: E731
    by_batch: dict[str, list] = {}
    for (biz_id, phone), (sent, reported, status, code) in messages.items():
        by_batch.setdefault(biz_id, []).append(sms_report(biz_id, phone, sent, reported, status, code))
    for receipts in by_batch.values():  # one push per batch send, as the service merges them
        push(store, receipts, MessageType.SMS_REPORT, ms(datetime.now(CHINA_TZ)))
    first_batch = next(iter(by_batch.values()))
    push(store, first_batch, MessageType.SMS_REPORT, ms(datetime.now(CHINA_TZ)))  # a re-push: duplicates

    # A status change: a failure reported, then a delivery reported later for the same message.
    (biz_id, phone), (sent, reported, status, code) = next(
        (key, value) for key, value in messages.items() if value[2] == "failed"
    )
    later = reported + timedelta(minutes=3)
    push(store, [sms_report(biz_id, phone, sent, later, "delivered", "DELIVERED")], MessageType.SMS_REPORT, ms(later))
    messages[(biz_id, phone)] = (sent, later, "delivered", "DELIVERED")

    # The reconciler's verdict for a send nothing resolved: unknown, no time of its own.
    verdict_at = FIRST_DAY + timedelta(days=3, hours=2)
    push(
        store,
        [unresolved_receipt("900619746999000001^0", "13900000001", "no report within 72 h")],
        MessageType.SMS_REPORT,
        ms(verdict_at),
        source=Source.QUERY,
    )

    # International reports (PascalCase, dates with their offset), replies and an audit.
    intl = json.loads((EVENTS / "http" / "intl_sms_report_batch.json").read_text(encoding="utf-8"))
    for index, report in enumerate(intl):
        sent = FIRST_DAY + timedelta(days=1, hours=9, minutes=index)
        report["SendDate"] = sent.strftime("%a, %d %b %Y %H:%M:%S +0800")
        report["ReceiveDate"] = (sent + timedelta(seconds=40)).strftime("%a, %d %b %Y %H:%M:%S +0800")
    push(store, intl, MessageType.INTL_SMS_REPORT, ms(FIRST_DAY + timedelta(days=1, hours=10)))
    replies = json.loads((EVENTS / "http" / "sms_up_batch.json").read_text(encoding="utf-8"))
    for index, reply in enumerate(replies):
        reply["send_time"] = text_time(FIRST_DAY + timedelta(days=2, hours=12, minutes=index))
    push(store, replies, MessageType.SMS_UP, ms(FIRST_DAY + timedelta(days=2, hours=13)))
    audit = json.loads((EVENTS / "http" / "template_sms_report_rejected.json").read_text(encoding="utf-8"))
    for item in audit:
        item["create_date"] = text_time(FIRST_DAY + timedelta(days=4, hours=15))
    push(store, audit, MessageType.TEMPLATE_SMS_REPORT, ms(FIRST_DAY + timedelta(days=4, hours=15)))
    # Older receipts, outside the report's range: left out.
    old = json.loads((EVENTS / "http" / "sms_report_failed.json").read_text(encoding="utf-8"))
    push(store, old, MessageType.SMS_REPORT, ms(FIRST_DAY - timedelta(days=30)))

    rows = list(backend.scan(LEDGER))
    return {"messages": messages, "rows": rows, "intl": intl, "replies": replies, "audit": audit, "old": old}


def day_completeness(messages):
    """The reconciler's lines for the week: the send log holds every send but the last one of each day,
    the service reports one more final outcome than stored on the fourth day."""
    figures, statistics = {}, []
    for (_, _phone), (sent, _, status, _) in messages.items():
        day = sent.strftime("%Y%m%d")
        figures.setdefault(day, DayFigures(day))
        figures[day].logged += 1
        figures[day].statuses[status] += 1
    for index, (day, figure) in enumerate(sorted(figures.items())):
        finals = figure.final + (1 if index == 3 else 0)
        delivered = figure.statuses["delivered"]
        statistics.append(
            {
                "SendDate": day,
                "TotalCount": figure.logged + 1,
                "RespondedSuccessCount": delivered,
                "RespondedFailCount": finals - delivered,
                "NoRespondedCount": 1 - (1 if index == 3 else 0),
            }
        )
    return completeness(figures.values(), statistics)


def nearest_rank(values, q):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def test_the_figures_are_the_weeks_truth(week):
    messages, rows = week["messages"], week["rows"]
    stats = stats_from_ledger_rows(rows, SINCE_MS, UNTIL_MS, "day", completeness=day_completeness(messages))

    assert [b.start_ms for b in stats.buckets] == [SINCE_MS + i * 86_400_000 for i in range(DAYS)]
    # Each message once, with the status of its newest report (the re-push and the change included).
    expected = Counter(status for _, _, status, _ in messages.values())
    expected.update({"delivered": 1, "failed": 1, "expired": 1, "unknown": 1})  # the three intl, the verdict
    assert stats.statuses() == expected
    for day, bucket in enumerate(stats.buckets):
        truth = Counter(status for _, reported, status, _ in messages.values() if (reported - FIRST_DAY).days == day)
        if day == 1:
            truth.update({"delivered": 1, "failed": 1, "expired": 1})
        if day == 3:
            truth["unknown"] += 1
        assert bucket.statuses == truth, day
    # Receipts: every ledger row in range (the change is a second row; the re-push added none).
    sms_reports = len(messages) + 1 + 1  # the status change's second report, the verdict
    assert stats.types() == {
        "SmsReport": sms_reports,
        "IntlSmsReport": len(week["intl"]),
        "SmsUp": len(week["replies"]),
        "TemplateSmsReport": len(week["audit"]),
    }
    assert stats.sources() == {"http": stats.receipts - 1, "query": 1}
    assert stats.receipts == len(rows) - len(week["old"])  # the old failures are out of range

    failures = Counter(code for _, _, status, code in messages.values() if status in ("failed", "expired"))
    failures.update({"UNDELIV": 1, "EXPIRED": 1})  # the international failure's and expiry's ErrorCode
    assert stats.err_codes == failures

    latencies = [int((r - s).total_seconds() * 1000) for s, r, status, _ in messages.values()] + [40_000] * 3
    assert stats.latency.total == len(latencies)
    for q in (50, 90, 99):
        assert stats.latency.percentile(q) == nearest_rank(latencies, q)
    days = {line.day: line.completeness for line in stats.completeness}
    assert len(days) == DAYS and days["20261123"] < 1 and all(days[d] == 1 for d in days if d != "20261123")
    assert stats.delivery_rate == pytest.approx(expected["delivered"] / (len(messages) + 3))


def png_chunks(data: bytes) -> tuple[tuple, bytes]:
    """The IHDR fields and the joined IDAT data of a PNG file."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    return header, b"".join(chunks)


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def unfilter(kind: int, line: bytearray, previous: bytearray, channels: int) -> bytearray:
    """One scanline with its filter (PNG specification, 9.2: None, Sub, Up, Average, Paeth) undone."""
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + paeth(left, previous[i], previous[i - channels] if i >= channels else 0)) & 0xFF
    return line


def decode_png(path: Path) -> tuple[int, int, list[bytes], int]:
    """Width, height, rows of pixel bytes and channels of an 8-bit RGB or RGBA PNG, with the standard
    library only."""
    (width, height, depth, colour, _, _, interlace), data = png_chunks(path.read_bytes())
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(data), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        previous = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(bytes(previous))
    return width, height, rows, channels


def run_chromium(chromium, tmp_path, *arguments, timeout=120):
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--proxy-server=127.0.0.1:9",  # nothing to fetch: anything the page asked for would fail
        *arguments,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def page(week, tmp_path):
    stats = stats_from_ledger_rows(
        week["rows"], SINCE_MS, UNTIL_MS, "day", completeness=day_completeness(week["messages"])
    )
    path = tmp_path / "report.html"
    path.write_text(render_report(stats), encoding="utf-8")
    return path


def test_the_page_is_self_contained(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text), re.findall(r".{40}https?://.{40}", text)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", text, re.IGNORECASE)
    assert not re.search(r"\b(src|href)\s*=", text, re.IGNORECASE)
    assert "url(" not in text and "@import" not in text
    assert text.count("<svg") == 4


def test_the_page_opens_in_chromium_with_its_charts_drawn(page, chromium, tmp_path):
    screenshot = tmp_path / "report.png"
    run_chromium(chromium, tmp_path, f"--screenshot={screenshot}", "--window-size=1000,1500", page.as_uri())
    width, height, rows, channels = decode_png(screenshot)
    assert (width, height) == (1000, 1500)
    pixels = Counter(row[x : x + 3] for row in rows[::2] for x in range(0, len(row), channels * 2))
    white = pixels[b"\xff\xff\xff"]
    assert sum(pixels.values()) - white > 0.08 * sum(pixels.values())  # not a blank page
    assert len(pixels) > 200  # text, bars and lines in many colours
    delivered, failed = bytes.fromhex("2e7d32"), bytes.fromhex("c62828")  # the bars' solid colours
    assert pixels[delivered] > 2000 and pixels[failed] > 200, (pixels[delivered], pixels[failed])


def test_the_dom_chromium_builds_holds_the_charts_and_their_labels(page, chromium, tmp_path, week):
    dom = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    for title in ("Delivery rate over time", "Failures by err_code", "Send-to-report latency", "Completeness per day"):
        assert f"<h2>{title}</h2>" in dom and f'aria-label="{title}' in dom, title
    assert dom.count("<svg") == 4
    assert "UNDELIV" in dom and ERR_CODE_MEANINGS["-37"] in dom  # a code, and a code's meaning
    assert "2026-11-22" in dom and "China time (UTC+8)" in dom
    assert re.search(r"p99 \d", dom) and "p50" in dom
    assert "13800000001" not in dom  # no number anywhere: the report counts, it does not list


def test_an_empty_range_renders_every_section_with_a_note(tmp_path, chromium):
    stats = stats_from_ledger_rows([], SINCE_MS, UNTIL_MS, "hour", generated_at_ms=int(time.time() * 1000))
    page = tmp_path / "empty.html"
    page.write_text(render_report(stats), encoding="utf-8")
    dom = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert "No delivery reports in this range." in dom
    assert "No failed or expired messages in this range." in dom
    assert len(stats.buckets) == DAYS * 24


def test_carrier_codes_are_escaped(tmp_path):
    stats = stats_from_ledger_rows(
        [
            {
                "entity_key": "e",
                "message_type": "SmsReport",
                "status": "failed",
                "event_time": SINCE_MS + 1,
                "record": json.dumps({"err_code": "<b onclick=x>&", "success": False}),
                "source": "http",
            }
        ],
        SINCE_MS,
        UNTIL_MS,
    )
    text = render_report(stats)
    assert "<b onclick" not in text and "&lt;b onclick=x&gt;&amp;" in text
