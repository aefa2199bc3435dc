"""The inbox: receipts accepted but not yet stored, and the drain that finishes them.

When a push (or an MNS batch) cannot be stored inline before its deadline, what is left is *spilled*:
its raw items go to the `inbox` table in as few rows (and requests) as possible, and the push is
answered as accepted. The *drain* (a timer function, `sms-receipts drain`, and `make dev`) reads each
inbox entry, stores its items through the same idempotent writer, and deletes the entry only once
every item in it is confirmed. A crash anywhere leaves the entry in place, and storing it again is a
no-op for what had landed: nothing is lost and nothing is stored twice.

An entry's payload is JSON: `{"items": [<raw item>, ...], "rejected": [{"reason", "raw", ...}]}` (a
rejected item's raw bytes in base64), UTF-8 encoded into a BINARY column; one entry per message type,
source and message id (so each item is parsed again as it came), of at most `MAX_PAYLOAD_BYTES`
(Tablestore's attribute limit is 2 MB). With `SMS_RECEIPTS_REPAIR_MINUTES` set, the drain's timer also
repairs the recent ledger (`storage.repair`).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, ClassVar

from ..parsing import DecodeResult, MessageType, ParsedItem, RejectedItem, Source, decode_items
from ..settings import Variable, names
from .backend import StorageBackend
from .outcomes import ItemOutcome, Outcome, StoreResult
from .plan import DeleteRow, InsertOnce, PlannedRow, RowKind, planned_row
from .schema import INBOX
from .writer import ReceiptStore

log = logging.getLogger("sms_receipts.drain")

MAX_PAYLOAD_BYTES = 1_500_000  # under the 2 MB attribute limit, whatever the framing

REPAIR_MINUTES = Variable(
    "SMS_RECEIPTS_REPAIR_MINUTES",
    "every this many minutes the drain also repairs the ledger rows of the last this many + 20 "
    "(0: never; each such run reads the whole ledger)",
    "0",
)
# Past the SMS service's last re-push (1 + 5 + 10 minutes after the first push), with a margin.
REPAIR_MARGIN_MINUTES = 20


@dataclass(frozen=True)
class DrainSettings:
    VARIABLES: ClassVar = (REPAIR_MINUTES,)

    repair_minutes: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DrainSettings:
        return cls(repair_minutes=max(0, REPAIR_MINUTES.integer(env)))

    def repairs_at(self, epoch_seconds: float) -> bool:
        """Whether the drain run of this minute also repairs (every `repair_minutes`, on the minute)."""
        return self.repair_minutes > 0 and int(epoch_seconds // 60) % self.repair_minutes == 0


DRAIN_ENV_VARS = names(DrainSettings.VARIABLES)


# -- spilling ---------------------------------------------------------------------------------


@dataclass
class DurableResult:
    """What became of a push or batch: stored inline, or spilled to the inbox for the drain."""

    result: StoreResult  # the inline attempt's outcomes
    spilled: int = 0  # items confirmed in the inbox (their inline outcome was `failed`)
    spill_errors: list[str] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        """Every item is stored, dead-lettered or in the inbox: durable somewhere we finish from."""
        return self.result.confirmed or self.spilled > 0

    @property
    def counts(self) -> dict[str, int]:
        """Each outcome's count, then `spilled`: an item in the inbox is counted there, not as failed."""
        counts = dict(self.result.counts)
        counts[Outcome.FAILED.value] -= self.spilled
        counts["spilled"] = self.spilled
        return counts

    @property
    def errors(self) -> list[str]:
        if self.spilled and not self.spill_errors:
            return []  # what missed the inline deadline is in the inbox: nothing went wrong
        return sorted(set(self.result.errors) | set(self.spill_errors))


def _encode_rejected(item: RejectedItem) -> dict[str, Any]:
    return {
        "reason": item.reason,
        "raw": base64.b64encode(item.raw).decode("ascii"),
        "message_type": item.message_type.value if item.message_type else None,
        "position": item.position,
    }


def _payload(items: Sequence[ParsedItem], rejected: Sequence[RejectedItem]) -> bytes:
    data = {"items": [item.raw for item in items], "rejected": [_encode_rejected(r) for r in rejected]}
    # surrogatepass: a text that cannot be UTF-8 still round-trips (it was accepted as JSON)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _chunks(items: list[Any], size_of: Callable[[Any], int]) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    total = 0
    for item in items:
        size = size_of(item)
        if chunk and total + size > MAX_PAYLOAD_BYTES - 64:  # 64: the payload's own framing
            yield chunk
            chunk, total = [], 0
        chunk.append(item)
        total += size
    if chunk:
        yield chunk


def entry_rows(items: Sequence[ParsedItem], rejected: Sequence[RejectedItem], *, received_at: int) -> list[PlannedRow]:
    """The inbox rows that hold these items: one per (message type, source, message id), so that each
    item is parsed again as it came (a rejected item goes with its message's items), split where a
    payload would pass `MAX_PAYLOAD_BYTES`. Pure."""
    groups: dict[tuple[str, Source, str | None], list[ParsedItem | RejectedItem]] = {}
    for item in items:
        groups.setdefault((item.message_type.value, item.source, item.message_id), []).append(item)
    for rejected_item in rejected:
        type_name = rejected_item.message_type.value if rejected_item.message_type else ""
        key = next(
            (k for k in groups if k[1:] == (rejected_item.source, rejected_item.message_id)),
            (type_name, rejected_item.source, rejected_item.message_id),
        )
        groups.setdefault(key, []).append(rejected_item)
    rows = []
    for (type_name, source, message_id), units in groups.items():
        for chunk in _chunks(units, _payload_size):
            chunk_items = [u for u in chunk if isinstance(u, ParsedItem)]
            chunk_rejected = [u for u in chunk if isinstance(u, RejectedItem)]
            payload = _payload(chunk_items, chunk_rejected)
            entry_id = blake2b(
                b"\x1f".join((type_name.encode(), source.value.encode(), (message_id or "").encode(), payload)),
                digest_size=16,
            )
            rows.append(
                planned_row(
                    RowKind.INBOX,
                    INBOX,
                    (("entry_id", entry_id.hexdigest()),),
                    (
                        ("payload", bytearray(payload)),
                        ("message_type", type_name or None),
                        ("source", source.value),
                        ("message_id", message_id),
                        ("items", len(chunk)),
                        ("received_at", received_at),
                    ),
                    InsertOnce(),  # the same content spilled twice is one entry
                )
            )
    return rows


def _payload_size(unit: ParsedItem | RejectedItem) -> int:
    if isinstance(unit, ParsedItem):
        return len(unit.raw_json.encode("utf-8", "surrogatepass")) + 1
    return len(unit.raw) * 4 // 3 + len(unit.reason) * 3 + 64


CHUNK_ITEMS = 400  # stored inline a chunk at a time: 800 rows, 4 requests, one round at the default concurrency


def write_or_spill(
    store: ReceiptStore,
    items: Sequence[ParsedItem],
    rejected: Sequence[RejectedItem] = (),
    *,
    inline_deadline: float,
    deadline: float,
    received_at: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DurableResult:
    """Store inline, a chunk at a time, until `inline_deadline`; spill what is not confirmed by then
    to the inbox, by `deadline`. `confirmed` says whether every item is durable somewhere.

    A chunk is not started when, at the last chunk's pace, it would not end in time: planning a receipt
    costs several times what spilling it does, so a push too large to store inline (near 1 MiB) is
    spilled early instead of missing both deadlines."""
    received_at = received_at if received_at is not None else int(time.time() * 1000)
    items, rejected = list(items), list(rejected)
    item_outcomes: list[ItemOutcome] = []
    rejected_outcomes: list[ItemOutcome] = []
    total = StoreResult(outcomes=[], requests=0, attempts=0)
    per_item = 0.0  # seconds one receipt took to store inline, in the last chunk
    for start in range(0, max(len(items), 1), CHUNK_ITEMS):
        chunk = items[start : start + CHUNK_ITEMS]
        chunk_rejected = rejected if start == 0 else []
        began = clock()
        if began + per_item * len(chunk) > inline_deadline:
            break
        part = store.write(chunk, chunk_rejected, deadline=inline_deadline, received_at=received_at)
        item_outcomes.extend(part.outcomes[: len(chunk)])
        rejected_outcomes.extend(part.outcomes[len(chunk) :])
        total.requests += part.requests
        total.attempts = max(total.attempts, part.attempts)
        total.serializer_fallbacks += part.serializer_fallbacks
        per_item = (clock() - began) / max(1, len(chunk))
    not_tried = ItemOutcome(Outcome.FAILED, "not stored inline: no time left for it")
    item_outcomes.extend([not_tried] * (len(items) - len(item_outcomes)))
    rejected_outcomes.extend([not_tried] * (len(rejected) - len(rejected_outcomes)))
    total.outcomes = item_outcomes + rejected_outcomes
    if total.confirmed:
        return DurableResult(total)
    left_items = [item for item, o in zip(items, item_outcomes, strict=True) if o.outcome is Outcome.FAILED]
    left_rejected = [item for item, o in zip(rejected, rejected_outcomes, strict=True) if o.outcome is Outcome.FAILED]
    rows = entry_rows(left_items, left_rejected, received_at=received_at)
    written = store.write_rows(rows, deadline=deadline)
    if written.confirmed:
        return DurableResult(total, len(left_items) + len(left_rejected))
    return DurableResult(total, 0, written.errors or ["the inbox write was not confirmed"])


# -- draining ---------------------------------------------------------------------------------


@dataclass
class Entry:
    entry_id: str
    decoded: DecodeResult
    received_at: int
    items: int


def read_entry(row: dict[str, Any]) -> Entry:
    """An inbox row back as parsed and rejected items, parsed again by this version's parser. Pure."""
    data = json.loads(bytes(row["payload"]).decode("utf-8", "surrogatepass"))
    type_name = row.get("message_type")
    source = Source(row.get("source") or Source.HTTP.value)
    declared = MessageType(type_name) if type_name else None
    decoded = decode_items(data["items"], declared, source, row.get("message_id")) if data["items"] else DecodeResult()
    for rejected in data["rejected"]:
        decoded.rejected.append(
            RejectedItem(
                reason=rejected["reason"],
                raw=base64.b64decode(rejected["raw"]),
                source=source,
                message_type=MessageType(rejected["message_type"]) if rejected.get("message_type") else None,
                message_id=row.get("message_id"),
                position=rejected.get("position"),
            )
        )
    return Entry(row["entry_id"], decoded, int(row.get("received_at") or 0), int(row.get("items") or 0))


def done_row(entry_id: str) -> PlannedRow:
    return planned_row(RowKind.INBOX, INBOX, (("entry_id", entry_id),), (), DeleteRow())


@dataclass
class DrainReport:
    entries: int = 0  # inbox entries seen
    drained: int = 0  # entries whose every item is confirmed, and deleted
    left: int = 0  # entries left for the next run (not confirmed, or no time)
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def as_fields(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "drained": self.drained,
            "left": self.left,
            **{k: v for k, v in sorted(self.outcomes.items())},
            "errors": self.errors[:3] or None,
        }


class Drain:
    """Stores what the inbox holds. `run` works until `budget_seconds` is spent; an entry it could
    not finish stays for the next run."""

    ENTRY_SECONDS = 20.0  # one entry's store attempt: a 1 MiB push fits many times over

    def __init__(
        self, backend: StorageBackend, store: ReceiptStore, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backend = backend
        self.store = store
        self._clock = clock

    def run(self, budget_seconds: float) -> DrainReport:
        deadline = self._clock() + budget_seconds
        report = DrainReport()
        for row in self.backend.scan(INBOX):
            report.entries += 1
            if deadline - self._clock() < 0.05:
                report.left += 1
                continue
            self._drain_one(row, min(deadline, self._clock() + self.ENTRY_SECONDS), report)
        return report

    def _drain_one(self, row: dict[str, Any], deadline: float, report: DrainReport) -> None:
        try:
            entry = read_entry(row)
        except (ValueError, KeyError, TypeError) as exc:  # not ours, or damaged: keep it for a person
            report.left += 1
            report.errors.append(f"entry {row.get('entry_id')}: unreadable ({exc})")
            return
        result = self.store.write(
            entry.decoded.items, entry.decoded.rejected, deadline=deadline, received_at=entry.received_at, spilled=True
        )
        report.outcomes.update(o.outcome.value for o in result.outcomes)
        if not result.confirmed:
            report.left += 1
            report.errors.extend(result.errors[:1])
            return
        done = self.store.write_rows([done_row(entry.entry_id)], deadline=deadline)
        if done.confirmed:
            report.drained += 1
        else:
            report.left += 1  # stored, but still listed: the next run finds every item a duplicate
            report.errors.extend(done.errors[:1])
