"""The MNS-trigger function: receipts that reach a queue or topic in the user's own account.

Events: the EventBridge MNS queue trigger (a CloudEvents list, or one CloudEvent in event-driven
mode) and the MNS topic trigger (JSON or STREAM notify format). The message type comes from
configuration, per function or per queue/topic name, with field detection as the fallback
(`MnsTriggerSettings.VARIABLES`).

Unparseable messages are dead-lettered and do not fail the batch. What storage cannot confirm inline
is spilled to the inbox for the drain (`storage.inbox`); only when even that fails does the invocation
raise `StorageNotConfirmed`, so the platform retries the whole batch; idempotent storage makes the
retry safe.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..instance import function_timeout
from ..logs import log_event
from ..parsing import (
    DecodeResult,
    MessageType,
    decode_eventbridge_event,
    decode_topic_event,
    message_type_from_name,
    message_type_from_queue_name,
)
from ..settings import Variable, names
from ..storage.inbox import write_or_spill

log = logging.getLogger("sms_receipts.mns")

MESSAGE_TYPE = Variable(
    "SMS_RECEIPTS_MNS_MESSAGE_TYPE",
    "the type of every message this function receives",
    unset="from the queue or topic name, then the fields",
)
SOURCE_TYPES = Variable(
    "SMS_RECEIPTS_MNS_SOURCE_TYPES",
    "`queue-or-topic=Type` pairs, comma-separated: the type of each queue or topic",
    unset="none",
)


SPILL_SECONDS = 2.0  # kept at the end of an invocation for spilling: one inbox request, with retries


class StorageNotConfirmed(RuntimeError):
    """Raised so that the trigger delivers the batch again: some receipts were not confirmed stored."""


@dataclass(frozen=True)
class MnsTriggerSettings:
    VARIABLES: ClassVar = (MESSAGE_TYPE, SOURCE_TYPES)

    message_type: MessageType | None = None
    source_types: dict[str, MessageType] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MnsTriggerSettings:
        explicit = env.get(MESSAGE_TYPE.name, "").strip()
        pairs = {}
        for pair in env.get(SOURCE_TYPES.name, "").split(","):
            if pair.strip():
                name, _, type_name = pair.partition("=")
                pairs[name.strip()] = message_type_from_name(type_name.strip())
        return cls(message_type_from_name(explicit) if explicit else None, pairs)

    def type_for(self, source_name: str | None) -> MessageType | None:
        """Explicit type, else the source's configured type, else its name's suffix (else None: detect)."""
        if self.message_type is not None:
            return self.message_type
        if source_name:
            short = source_name.rsplit("/", 1)[-1]
            return self.source_types.get(short) or message_type_from_queue_name(short)
        return None


MNS_TRIGGER_ENV_VARS = names(MnsTriggerSettings.VARIABLES)


def _source_name(value: Any) -> tuple[str, str | None]:
    """The trigger kind and the queue or topic name, read from an event's JSON."""
    first = value[0] if isinstance(value, list) and value else value
    if isinstance(first, dict) and ("specversion" in first or "aliyuneventbusname" in first):
        return "eventbridge", str(first.get("subject") or "") or None
    if isinstance(first, dict) and "TopicOwner" in first:
        return "topic", first.get("TopicName")
    return "topic", None


def decode_trigger_event(event: bytes, settings: MnsTriggerSettings) -> tuple[str, DecodeResult]:
    try:
        value = json.loads(event)
    except (ValueError, UnicodeDecodeError):
        value = None  # a STREAM-format body that is not JSON: the topic decoder keeps its bytes
    kind, source = _source_name(value)
    declared = settings.type_for(source)
    if kind == "eventbridge":
        return kind, decode_eventbridge_event(event, declared)
    return kind, decode_topic_event(event, declared)


def handle_mns_event(
    event: bytes, context: Any, settings: MnsTriggerSettings, store_getter: Callable[[Any], Any]
) -> dict[str, Any]:
    started = time.monotonic()
    kind, parsed = decode_trigger_event(event, settings)
    # The trigger waits for this invocation; keep well inside the function's own timeout, and keep
    # the last part of it for spilling what is not stored by then (so no redelivery waits on it).
    budget = max(1.0, function_timeout(context) * 0.8)
    deadline = started + budget
    written = write_or_spill(
        store_getter(context),
        parsed.items,
        parsed.rejected,
        inline_deadline=deadline - min(SPILL_SECONDS, budget / 4),
        deadline=deadline,
    )
    result = written.result
    summary = {
        "request_id": getattr(context, "request_id", ""),
        "trigger": kind,
        "message_types": sorted({item.message_type.value for item in parsed.items}),
        "messages": len({i.message_id for i in parsed.items} | {r.message_id for r in parsed.rejected}),
        **written.counts,
        "serializer_fallbacks": result.serializer_fallbacks,
        "latency_ms": round((time.monotonic() - started) * 1000, 1),
    }
    if not written.confirmed:
        log_event(log, "mns_batch", logging.WARNING, **summary, errors=written.errors[:3])
        raise StorageNotConfirmed(
            f"{result.counts['failed']} receipts not confirmed stored ({'; '.join(written.errors[:2])}); "
            "the trigger will deliver the batch again"
        )
    log_event(log, "mns_batch", logging.INFO, **summary)
    return summary
