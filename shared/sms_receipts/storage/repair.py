"""Repair and replay: the operator's ways back to the true state after an incident or a parser fix.

- `repair` rebuilds state rows from the ledger: every ledger row received since a time is parsed
  again from its raw JSON and its state row written under the usual condition (only when newer), so
  a ledger row left without its state (a push given up after its ledger rows landed) gets it, and a
  right state is left alone. Repeating it changes nothing more.
- `replay` parses dead letters again with this version's parser, stores what now parses through the
  same idempotent path, and marks each replayed dead letter (`replayed_at`, `replay_result`): it is
  kept, never deleted, and a second replay skips it. What still fails is left unmarked.

Both read their table with a filter on `received_at`: Tablestore still reads every row of the table
to apply it, so the cost grows with the table, not the window (README, "Repair and replay").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from ..parsing import DecodeResult, MessageType, ParsedItem, Source, decode_dead_letter, decode_items
from .backend import StorageBackend
from .outcomes import Outcome
from .plan import MAX_ROWS_PER_BATCH, PlannedRow, Replace, RowKind, plan_writes, planned_row
from .schema import DEAD_LETTER, LEDGER
from .writer import ReceiptStore, RowState

REQUEST_SECONDS = 30.0  # one batch's writes: the operator waits, no push does


@dataclass
class RepairReport:
    ledger_rows: int = 0  # ledger rows read in the window
    checked: int = 0  # state rows rebuilt from them
    repaired: int = 0  # state rows written: they were missing or older
    unchanged: int = 0  # state rows already holding this receipt or a newer one
    without_state: int = 0  # receipts that have no state row (SmsUp, ...)
    unreadable: int = 0  # ledger rows whose raw JSON this parser no longer reads
    failed: int = 0
    complete: bool = True  # False: the deadline came before the window was read to its end
    errors: list[str] = field(default_factory=list)


def _ledger_item(row: dict[str, Any]) -> ParsedItem | None:
    try:
        value = json.loads(row["raw"])
        declared = MessageType(row["message_type"])
        source = Source(row.get("source") or Source.HTTP.value)
    except (KeyError, ValueError, TypeError):
        return None
    decoded = decode_items([value], declared, source, row.get("message_id"))
    return decoded.items[0] if decoded.items and not decoded.rejected else None


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    return iter(lambda: list(islice(rows, size)), [])


_SINCE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_since(text: str, now: float | None = None) -> int:
    """`--since` as epoch ms: a span back from now (`90m`, `24h`, `7d`) or a date or time in China
    time (`2026-12-01`, `2026-12-01 08:00`). ValueError, saying what is accepted."""
    from ..parsing.times import china_time_ms

    now = time.time() if now is None else now
    text = text.strip()
    units = {"m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return int((now - int(text[:-1]) * units[text[-1]]) * 1000)
    moment = china_time_ms(text, _SINCE_FORMATS)
    if moment is not None:
        return moment
    raise ValueError(f"--since {text!r}: give a span (90m, 24h, 7d) or a China-time date (2026-12-01[ 08:00])")


def repair(
    backend: StorageBackend,
    store: ReceiptStore,
    since_ms: int,
    *,
    dry_run: bool = False,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RepairReport:
    """Rebuild the state rows of the ledger rows received at or after `since_ms` (epoch ms), stopping
    at `deadline` (a `clock()` value; None: none) with `complete` False."""
    report = RepairReport()
    for rows in _batches(backend.scan(LEDGER, since=("received_at", since_ms)), MAX_ROWS_PER_BATCH):
        if deadline is not None and clock() > deadline:
            report.complete = False
            break
        items = []
        for row in rows:
            report.ledger_rows += 1
            item = _ledger_item(row)
            if item is None:
                report.unreadable += 1
            else:
                items.append((item, int(row.get("received_at") or 0)))
        states: list[PlannedRow] = []
        for item, received_at in items:
            planned = [r for r in plan_writes([item], [], received_at).rows if r.kind is RowKind.STATE]
            if not planned:
                report.without_state += 1
            states.extend(planned)
        report.checked += len(states)
        if dry_run or not states:
            continue
        limit = clock() + REQUEST_SECONDS
        written = store.write_rows(states, deadline=limit if deadline is None else min(limit, deadline))
        report.repaired += written.count(RowState.APPLIED)
        report.unchanged += written.count(RowState.CONDITION_FAILED)
        report.failed += written.count(RowState.FAILED) + written.count(RowState.REFUSED)
        report.errors.extend(written.errors[:1])
    return report


@dataclass
class ReplayResult:
    dead_letter_id: str
    result: str  # replayed, would replay, still rejected, not stored
    items: int = 0
    reason: str = ""  # the dead letter's reason, or why it still fails


def _replayed(decoded: DecodeResult) -> str:
    return f"{len(decoded.items)} receipt(s): " + ", ".join(item.idempotency_key for item in decoded.items[:5])


def replay(
    backend: StorageBackend,
    store: ReceiptStore,
    since_ms: int = 0,
    *,
    reason: str | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> list[ReplayResult]:
    """Replay the dead letters received at or after `since_ms` whose reason contains `reason`."""
    results = []
    for row in backend.scan(DEAD_LETTER, since=("received_at", since_ms)):
        if row.get("replayed_at") is not None or (reason and reason not in str(row.get("reason", ""))):
            continue
        dead_letter_id = str(row["dead_letter_id"])
        source = Source(row.get("source") or Source.HTTP.value)
        decoded = decode_dead_letter(bytes(row["raw"]), row.get("message_type"), source, row.get("message_id"))
        if decoded.rejected or not decoded.items:
            why = decoded.rejected[0].reason if decoded.rejected else "no receipt in it"
            results.append(ReplayResult(dead_letter_id, "still rejected", 0, why))
            continue
        if dry_run:
            results.append(ReplayResult(dead_letter_id, "would replay", len(decoded.items), str(row.get("reason"))))
            continue
        received_at = int(row.get("received_at") or 0)
        stored = store.write(decoded.items, deadline=clock() + REQUEST_SECONDS, received_at=received_at)
        failed = [o for o in stored.outcomes if o.outcome is Outcome.FAILED]
        if failed:  # Tablestore did not confirm: a later replay tries again
            results.append(ReplayResult(dead_letter_id, "not stored", len(decoded.items), failed[0].error or ""))
            continue
        refused = [o for o in stored.outcomes if o.outcome is Outcome.DEAD_LETTERED]
        if refused:  # it parses now, but Tablestore's limits still refuse it
            results.append(ReplayResult(dead_letter_id, "still rejected", len(decoded.items), refused[0].error or ""))
            continue
        marked = _marked(row, int(time.time() * 1000), _replayed(decoded))
        if not store.write_rows([marked], deadline=clock() + REQUEST_SECONDS).confirmed:
            # Stored (idempotently) but not marked: the next replay stores nothing new and marks it.
            results.append(ReplayResult(dead_letter_id, "not marked", len(decoded.items), "the mark was not confirmed"))
            continue
        results.append(ReplayResult(dead_letter_id, "replayed", len(decoded.items), str(row.get("reason"))))
    return results


def _marked(row: dict[str, Any], now_ms: int, result: str) -> PlannedRow:
    columns = tuple(
        (name, value) for name, value in row.items() if name not in ("dead_letter_id", "replayed_at", "replay_result")
    )
    return planned_row(
        RowKind.DEAD_LETTER,
        DEAD_LETTER,
        (("dead_letter_id", row["dead_letter_id"]),),
        (*columns, ("replayed_at", now_ms), ("replay_result", result)),
        Replace(),
    )
