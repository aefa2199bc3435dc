"""What the decoders produce: parsed items with their identity, and rejected items with their raw bytes."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from .models import Receipt, record_dict
from .types import MessageType


class Source(str, enum.Enum):
    """The delivery path an item arrived by."""

    HTTP = "http"
    EVENTBRIDGE = "eventbridge"
    TOPIC = "topic"
    ALICOM = "alicom"
    QUERY = "query"  # a QuerySendDetails answer, or a window's end, stored by the reconciler

    def __str__(self) -> str:
        return self.value


# One encoder for every call: json.dumps would build one per call, which shows on hot paths.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class Delivery:
    """What the items of one push or message share: how they came, and all of them as their JSON decoded."""

    batch: list[Any]
    source: Source
    message_id: str | None = None  # the MNS / EventBridge message id, when there is one


@dataclass(slots=True)
class ParsedItem:
    """A receipt that parsed. One is made per item on the hot path, so it holds only what differs
    between the items of a push; the rest is read through their shared `delivery`."""

    record: Receipt
    idempotency_key: str
    entity_key: str
    delivery: Delivery
    position: int = 0  # index in `batch`

    @property
    def batch(self) -> list[Any]:
        """Every item of the push or message this one came in, as its JSON decoded."""
        return self.delivery.batch

    @property
    def source(self) -> Source:
        return self.delivery.source

    @property
    def message_id(self) -> str | None:
        return self.delivery.message_id

    @property
    def raw(self) -> Any:
        """The item exactly as its JSON decoded, unknown fields included."""
        return self.delivery.batch[self.position]

    @property
    def message_type(self) -> MessageType:
        return self.record.message_type

    @property
    def raw_json(self) -> str:
        return compact_json(self.raw)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "type": self.message_type.value,
            "idempotency_key": self.idempotency_key,
            "entity_key": self.entity_key,
            "record": record_dict(self.record),
        }


@dataclass(frozen=True)
class RejectedItem:
    """An item or a whole body that could not be parsed, with what a person needs to fix or replay it."""

    reason: str
    raw: bytes
    source: Source
    message_type: MessageType | None = None
    message_id: str | None = None
    position: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        try:
            return {"error": self.reason, "raw": self.raw.decode("utf-8")}
        except UnicodeDecodeError:
            import base64

            return {"error": self.reason, "raw_base64": base64.b64encode(self.raw).decode("ascii")}


@dataclass
class DecodeResult:
    items: list[ParsedItem] = field(default_factory=list)
    rejected: list[RejectedItem] = field(default_factory=list)

    def extend(self, other: DecodeResult) -> None:
        self.items.extend(other.items)
        self.rejected.extend(other.rejected)

    @property
    def all_parsed(self) -> bool:
        return not self.rejected
