"""The receipts report: one self-contained HTML file with its charts drawn as inline SVG.

`render_report(stats)` returns the page: inline CSS, inline SVG made here, no script, no font, no
image and no address to fetch, so it opens offline in any browser and can be mailed as it is. The
charts: delivery rate over time (messages by status per bucket, and the delivered share), failures
by err_code (with the code's documented meaning where known), the send-to-report latency
(histogram, p50/p90/p99) and completeness per day (the reconciler's lines). Times are China time,
labelled so. `stats_model` holds the figures and computes them from ledger rows.

Only the CLI imports this module: nothing on a function's path does (tests/functional/report checks
it), and it needs nothing beyond the standard library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from .parsing.times import CHINA_TZ
from .stats_model import BUCKET_MS, DELIVERY_STATUSES, Stats

TIME_LABEL = "China time (UTC+8)"
STATUS_COLOURS = {
    "delivered": "#2e7d32",
    "failed": "#c62828",
    "expired": "#ef6c00",
    "pending": "#9e9e9e",
    "unknown": "#6a1b9a",
}
RATE_COLOUR = "#1565c0"
TOP_CODES = 12  # err_codes drawn one by one; the rest share one bar

# What an err_code means, where a document says. The carriers' and vendors' codes and their texts are
# those of the SMS service's receipt error-code list ("短信发送状态回执错误码", 2019; the copy read is
# cbony/dysms cn.zh-CN/API参考/错误码/短信发送状态回执错误码.md, research receipt-formats.md §11.3),
# with an English gloss of ours; a code listed twice with two texts keeps both. DELIVERED is the
# receipts' own success code (D-101867), EXPIRED/EXPIRD the carriers' spellings of an expired message
# (`parsing.models`), and `sms-receipts:unresolved` the reconciler's verdict (`UNRESOLVED_ERR_CODE`).
ERR_CODE_MEANINGS: dict[str, str] = {
    "DELIVERED": "用户接收成功 · delivered",
    "DELIVRD": "成功 · delivered",
    "UNDELIV": "失败 · undeliverable",
    "REJECTD": "驳回 / 被SMSC驳回 · rejected by the SMSC",
    "REJECT": "审核驳回 · rejected in review",
    "MBBLACK": "黑名单号码 · number blacklisted",
    "BLACK": "普通黑名单 · number blacklisted",
    "W-BLACK": "验证码的专属黑名单 · blacklisted for verification codes",
    "KEYWORD": "关键字屏蔽 · blocked keyword",
    "NOPASS": "人工驳回 · rejected by a reviewer",
    "SUBFAIL": "提交网关失败 · gateway submission failed",
    "SIGFAIL": "签名未报备 · signature not registered",
    "BEYONDN": "超过次数控制 · too many sends",
    "tuiding": "已退订 · recipient unsubscribed",
    "EXPIRED": "expired: not delivered within its validity period",
    "EXPIRD": "expired: not delivered within its validity period",
    "UNKNOW": "未知异常 · unknown error",
    "-1": "重试消息过期 · retried message expired",
    "-13": "手机号在平台黑名单 / 用户欠费停机 · blacklisted, or the line is suspended",
    "-37": "关机 · phone switched off",
    "-43": "内存满 / 短信防火墙 · phone memory full, or a message firewall",
    "-74": "运营商内部错误 / 禁止操作 · carrier internal error",
    "-95": "空号 · number does not exist",
    "-99": "一分钟拦截 · blocked: once a minute",
    "-112": "手机号码格式不正确 · malformed number",
    "18": "白名单驳回 · rejected by the whitelist",
    "56": "重复发送拦截 · blocked as a repeat",
    "125": "群发拦截 · blocked as a bulk send",
    "GL:0000": "同一个号码下发频次限制 · frequency limit for one number",
    "E:ODSL": "号码超秒限 · per-second limit of the number",
    "E:ODDL": "号码超日限 · daily limit of the number",
    "E:ODWL": "号码超周限 · weekly limit of the number",
    "E:ODML": "号码超月限 · monthly limit of the number",
    "E:CHAN": "无通道 · no channel (number not valid)",
    "E:SIGN": "签名错 · wrong signature",
    "JL:0002": "手机号异常 · abnormal number",
    "JL:0013": "手机号在账号黑名单中 · number on the account's blacklist",
    "JL:0025": "单个号码日发送上限 · daily limit of one number",
    "JL:0026": "手机号在平台黑名单中 · number on the platform's blacklist",
    "2_1": "空号 · number does not exist",
    "2_3": "关机 · phone switched off",
    "2_10": "用户欠费停机 · line suspended",
    "2_12": "不在服务区 · out of coverage",
    "2_24": "关机 · phone switched off",
    "sms-receipts:unresolved": "no report and no QuerySendDetails answer within the reconciler's window",
}


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def china(ms: int, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ms / 1000, CHINA_TZ).strftime(pattern)


def bucket_label(ms: int, by: str) -> str:
    return china(ms, "%Y-%m-%d") if by == "day" else china(ms, "%m-%d %H:00")


def _day(yyyymmdd: str) -> str:
    """The reconciler's day (yyyyMMdd, China time) as 2026-11-25."""
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}" if len(yyyymmdd) == 8 else yyyymmdd


def duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{_esc(title)}">'
        f"<title>{_esc(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: object, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{_esc(text)}</text>'


def _empty(width: int, height: int, title: str, note: str) -> str:
    return _svg(width, height, title, [_text(width / 2, height / 2, note, "middle", "note")])


def _label_every(count: int, room: int) -> int:
    return max(1, math.ceil(count / room))


def delivery_chart(stats: Stats, width: int = 960, height: int = 320) -> str:
    title = f"Delivery rate over time, by {stats.by}"
    if not any(bucket.statuses for bucket in stats.buckets):
        return _empty(width, height, title, "No delivery reports in this range.")
    left, right, top, bottom = 56, 56, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    counts_max = _nice_ceiling(max(sum(b.statuses.values()) for b in stats.buckets))
    step = plot_w / len(stats.buckets)
    bar_w = max(1.0, step * 0.72)
    parts = []
    for i in range(5):  # grid and both axes' ticks
        y = top + plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(left - 6, y + 4, f"{counts_max * (4 - i) / 4:g}", "end", "tick"))
        parts.append(_text(left + plot_w + 6, y + 4, f"{100 * (4 - i) // 4}%", "start", "tick rate"))
    rate_points = []
    every = _label_every(len(stats.buckets), 12)
    for index, bucket in enumerate(stats.buckets):
        x = left + index * step + (step - bar_w) / 2
        y = top + plot_h
        label = bucket_label(bucket.start_ms, stats.by)
        tip = [f"{label}: {sum(bucket.statuses.values())} messages, delivered {percent(bucket.delivery_rate)}"]
        for status in (*DELIVERY_STATUSES, *sorted(set(bucket.statuses) - set(DELIVERY_STATUSES))):
            count = bucket.statuses[status]
            if not count:
                continue
            tip.append(f"{status} {count}")
            h = plot_h * count / counts_max
            y -= h
            colour = STATUS_COLOURS.get(status, "#607d8b")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{_esc(label)} {_esc(status)}: {count}</title></rect>"
            )
        if bucket.delivery_rate is not None:
            cx, cy = x + bar_w / 2, top + plot_h * (1 - bucket.delivery_rate)
            rate_points.append((cx, cy, "; ".join(tip)))
        if index % every == 0:
            parts.append(_text(x + bar_w / 2, top + plot_h + 16, label, "middle", "tick"))
    if rate_points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{cx:.1f},{cy:.1f}" for i, (cx, cy, _) in enumerate(rate_points))
        parts.append(f'<path d="{path}" fill="none" stroke="{RATE_COLOUR}" stroke-width="2.5"/>')
        parts.extend(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{RATE_COLOUR}"><title>{_esc(tip)}</title></circle>'
            for cx, cy, tip in rate_points
        )
    note = f"messages per {stats.by} (bars, left) · delivered share (line, right)"
    parts.append(_text(left, height - 8, note, css="axis"))
    parts.append(_text(left + plot_w, height - 8, TIME_LABEL, "end", "axis"))
    return _svg(width, height, title, parts)


def meaning(code: str) -> str:
    return ERR_CODE_MEANINGS.get(code) or ERR_CODE_MEANINGS.get(code.upper(), "")


def err_code_chart(stats: Stats, width: int = 960) -> str:
    title = "Failures by err_code"
    ranked = stats.err_codes.most_common()
    if not ranked:
        return _empty(width, 80, title, "No failed or expired messages in this range.")
    shown: list[tuple[str, int, str]] = [(code, count, meaning(code)) for code, count in ranked[:TOP_CODES]]
    rest = ranked[TOP_CODES:]
    if rest:
        shown.append((f"{len(rest)} other codes", sum(count for _, count in rest), ""))
    row_h, left, top = 30, 150, 8
    height = top + row_h * len(shown) + 28
    bar_room = width - left - 360  # the rest holds the count and the meaning
    most = max(count for _, count, _ in shown)
    total = sum(stats.err_codes.values())
    parts = []
    for index, (code, count, text) in enumerate(shown):
        y = top + index * row_h
        w = max(2.0, bar_room * count / most)
        parts.append(_text(left - 8, y + 19, code, "end", "code"))
        parts.append(
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{STATUS_COLOURS["failed"]}">'
            f"<title>{_esc(code)}: {count}</title></rect>"
        )
        parts.append(_text(left + w + 8, y + 19, f"{count} ({count / total:.0%})", css="count"))
        if text:
            parts.append(_text(left + bar_room + 70, y + 19, text, css="meaning"))
    parts.append(_text(left, height - 8, f"{total} failed or expired messages; meanings as documented", css="axis"))
    return _svg(width, height, title, parts)


def _short(ms: int) -> tuple[int, str]:
    for size, unit in ((3_600_000, "h"), (60_000, "min"), (1000, "s")):
        if ms >= size and ms % size == 0:
            return ms // size, unit
    return ms, "ms"


def latency_bucket_label(low: int, high: int | None) -> str:
    """A histogram bucket's range, short enough to sit under its bar: `<1s`, `2–5s`, `30s–1min`, `≥24h`."""
    low_value, low_unit = _short(low)
    if high is None:
        return f"≥{low_value}{low_unit}"
    high_value, high_unit = _short(high)
    if low == 0:
        return f"<{high_value}{high_unit}"
    if low_unit == high_unit:
        return f"{low_value}–{high_value}{high_unit}"
    return f"{low_value}{low_unit}–{high_value}{high_unit}"


def latency_chart(stats: Stats, width: int = 960, height: int = 300) -> str:
    title = "Send-to-report latency"
    distribution = stats.latency
    if not distribution.total:
        return _empty(width, height, title, "No delivery report with both a send and a report time in this range.")
    left, right, top, bottom = 56, 16, 44, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    edges = distribution.edges_ms
    step = plot_w / len(edges)
    most = _nice_ceiling(max(distribution.counts))
    parts = []
    for i in range(5):
        y = top + plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(left - 6, y + 4, f"{most * (4 - i) / 4:g}", "end", "tick"))
    for index, count in enumerate(distribution.counts):
        high = edges[index + 1] if index + 1 < len(edges) else None
        label = latency_bucket_label(edges[index], high)
        h = plot_h * count / most
        x = left + index * step + step * 0.1
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" fill="#00838f">'
            f"<title>{_esc(label)}: {count}</title></rect>"
        )
        parts.append(_text(x + step * 0.4, top + plot_h + 16, label, "middle", "tick small"))

    def position(ms: float) -> float:
        index = max(0, sum(1 for edge in edges if edge <= ms) - 1)
        low = edges[index]
        high = edges[index + 1] if index + 1 < len(edges) else low
        within = (ms - low) / (high - low) if high > low else 0.5
        return left + (index + within) * step

    for row, (q, colour) in enumerate(((50, "#37474f"), (90, "#ef6c00"), (99, "#c62828"))):
        value = distribution.percentile(q)
        if value is None:
            continue
        x = position(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="5,3"/>'
        )
        # One label row each, so that close percentiles do not print over one another.
        parts.append(_text(x, 12 + 12 * row, f"p{q} {duration(value)}", "middle", "pct"))
    parts.append(_text(left, height - 8, f"{distribution.total} messages: report time less send time", css="axis"))
    return _svg(width, height, title, parts)


def completeness_chart(stats: Stats, width: int = 960, height: int = 300) -> str:
    title = "Completeness per day"
    lines = [line for line in stats.completeness if line.service_final or line.logged]
    if not lines:
        return _empty(width, 100, title, "No reconciler figures in this range (sms-receipts reconcile writes them).")
    left, right, top, bottom = 56, 16, 16, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / len(lines)
    top_value = max(1.0, *(line.completeness or 0 for line in lines), *(line.logged_share or 0 for line in lines))
    parts = []
    for i in range(5):
        y = top + plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>')
        parts.append(_text(left - 6, y + 4, f"{top_value * 100 * (4 - i) / 4:.0f}%", "end", "tick"))
    every = _label_every(len(lines), 14)
    for index, line in enumerate(lines):
        x = left + index * step + step * 0.15
        label = _day(line.day)
        value = line.completeness
        if value is not None:
            h = plot_h * value / top_value
            colour = "#2e7d32" if value >= 0.99 else "#f9a825" if value >= 0.9 else "#c62828"
            tip = (
                f"{label}: {line.stored_final} of {line.service_final} final outcomes stored ({percent(value)}); "
                f"{line.logged} of {line.service_total} sends logged; {line.pending} pending, {line.unknown} unknown"
            )
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{_esc(tip)}</title></rect>'
            )
        if line.logged_share is not None:
            y = top + plot_h * (1 - line.logged_share / top_value)
            parts.append(
                f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + step * 0.7:.1f}" y2="{y:.1f}" stroke="#263238" '
                f'stroke-width="3"><title>{_esc(label)}: logged {percent(line.logged_share)}</title></line>'
            )
        if index % every == 0:
            parts.append(_text(x + step * 0.35, top + plot_h + 16, label, "middle", "tick"))
    note = "bars: stored finals over the service's known outcomes · dash: sends logged"
    parts.append(_text(left, height - 8, note, css="axis"))
    parts.append(_text(left + plot_w, height - 8, "days in China time", "end", "axis"))
    return _svg(width, height, title, parts)


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = "".join(f"<th>{_esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _tile(name: str, value: str, note: str = "") -> str:
    return f'<div class="tile"><div class="name">{_esc(name)}</div><div class="value">{_esc(value)}</div>' + (
        f'<div class="note">{_esc(note)}</div></div>' if note else "</div>"
    )


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;margin:24px auto;
max-width:1000px;color:#212121;background:#fff;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.range{color:#546e7a;margin:0 0 16px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{border:1px solid #cfd8dc;border-radius:8px;padding:10px 14px;min-width:150px;background:#f5f7f8}
.tile .name{font-size:12px;color:#546e7a}.tile .value{font-size:22px;font-weight:600}
.tile .note{font-size:12px;color:#78909c}
svg{display:block;margin:4px 0 8px;background:#fff}
svg text{font-size:12px;fill:#37474f}svg .tick{fill:#607d8b}svg .small{font-size:10px}svg .rate{fill:#1565c0}
svg .axis{fill:#78909c;font-size:11px}svg .note{fill:#78909c;font-size:14px}svg .code{font-weight:600}
svg .pct{font-weight:600}svg .meaning{fill:#546e7a}
svg .grid{stroke:#eceff1;stroke-width:1}
.legend{display:flex;gap:14px;font-size:12px;color:#455a64;margin:0 0 4px}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;margin-right:4px;background:var(--c)}
table{border-collapse:collapse;font-size:12px;margin:4px 0}
th,td{border-bottom:1px solid #eceff1;padding:3px 10px;text-align:right}th{color:#546e7a;font-weight:600}
td:first-child,th:first-child{text-align:left}
footer{margin-top:32px;color:#90a4ae;font-size:12px}
"""


def render_report(stats: Stats) -> str:
    """The report as one HTML page, self-contained (no script, no external resource)."""
    statuses = stats.statuses()
    messages = sum(statuses.values())
    failed = statuses["failed"] + statuses["expired"]
    latency = stats.latency
    last = next((line for line in reversed(stats.completeness) if line.completeness is not None), None)
    span = f"{china(stats.since_ms)} – {china(stats.until_ms)}, {TIME_LABEL}, by {stats.by}"
    legend = (
        "".join(f'<span style="--c:{STATUS_COLOURS[s]}">{s}</span>' for s in DELIVERY_STATUSES if statuses[s])
        + f'<span style="--c:{RATE_COLOUR}">delivered share</span>'
    )
    by_type = sorted(stats.types().items(), key=lambda kv: (-kv[1], kv[0]))
    by_source = sorted(stats.sources().items(), key=lambda kv: (-kv[1], kv[0]))
    completeness_rows = [
        (
            _day(line.day),
            percent(line.completeness),
            f"{line.stored_final} / {line.service_final}",
            f"{line.logged} / {line.service_total}",
            line.pending,
            line.unknown,
            line.service_awaiting,
        )
        for line in stats.completeness
    ]
    bucket_rows = [
        (
            bucket_label(bucket.start_ms, stats.by),
            sum(bucket.statuses.values()),
            *(bucket.statuses[s] for s in DELIVERY_STATUSES),
            percent(bucket.delivery_rate),
        )
        for bucket in stats.buckets
        if bucket.statuses
    ]
    sections = [
        f"<h1>SMS receipts report</h1><p class='range'>{_esc(span)}</p>",
        '<div class="tiles">',
        _tile("Receipts", f"{stats.receipts:,}", f"{len(by_type)} types"),
        _tile("Messages with a report", f"{messages:,}"),
        _tile("Delivered", percent(stats.delivery_rate), "of messages with an outcome"),
        _tile("Failed or expired", f"{failed:,}"),
        _tile("Latency p50 / p90 / p99", " / ".join(duration(latency.percentile(q)) for q in (50, 90, 99))),
        _tile(
            "Completeness",
            percent(last.completeness) if last else "–",
            f"on {_day(last.day)}" if last else "no figures",
        ),
        "</div>",
        f"<h2>Delivery rate over time</h2><div class='legend'>{legend}</div>",
        delivery_chart(stats),
        _table(("time", "messages", *DELIVERY_STATUSES, "delivered share"), bucket_rows) if bucket_rows else "",
        "<h2>Failures by err_code</h2>",
        err_code_chart(stats),
        "<h2>Send-to-report latency</h2>",
        latency_chart(stats),
        _table(
            ("p50", "p90", "p99", "messages"),
            [(*(duration(latency.percentile(q)) for q in (50, 90, 99)), latency.total)],
        ),
        "<h2>Completeness per day</h2>",
        completeness_chart(stats),
        _table(
            ("day", "completeness", "stored finals / service's", "logged / sent", "pending", "unknown", "awaited"),
            completeness_rows,
        )
        if completeness_rows
        else "",
        "<h2>Receipts by type and source</h2>",
        '<div class="tiles">',
        _table(("message type", "receipts"), by_type),
        _table(("source", "receipts"), by_source),
        "</div>",
        f"<footer>Generated {_esc(china(stats.generated_at_ms))} ({TIME_LABEL}) by sms-receipts report. "
        f"{stats.receipts:,} receipts counted"
        + (f", {stats.unreadable:,} rows without a usable time or record left out" if stats.unreadable else "")
        + f". Buckets: one {_esc(stats.by)} ({BUCKET_MS[stats.by] // 60_000} min) each.</footer>",
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SMS receipts report · {_esc(china(stats.since_ms, '%Y-%m-%d'))}</title>"
        f"<style>{CSS}</style></head><body>{''.join(sections)}</body></html>\n"
    )
