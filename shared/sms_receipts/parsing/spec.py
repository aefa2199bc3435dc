"""What a receipt type is, declared once per model as `Model.spec`: read by `identity` for the keys and
by `storage.rules` for the state, so adding or changing a type touches its model alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The status ranks (0..15): which status holds the state row when two reports share a version.
# A failure outranks a success (one failed segment fails the message); pending and unknown rank lowest.
DELIVERY_RANKS: Mapping[str, int] = {"unknown": 0, "pending": 0, "delivered": 1, "expired": 2, "failed": 3}
# Approved outranks rejected: only a rejected template is modified and resubmitted (D-419287).
AUDIT_RANKS: Mapping[str, int] = {"approving": 1, "rejected": 2, "approved": 3}
FINAL_AUDIT = frozenset({"approved", "rejected"})


@dataclass(frozen=True)
class StateRule:
    """How a receipt updates the current state of its entity (see `storage.rules` for the version)."""

    ranks: Mapping[str, int] = field(default_factory=dict)
    default_rank: int = 0  # for a status missing from `ranks`
    final: frozenset[str] | None = None  # the statuses that end the entity's flow; None: every status does
    ticket: str | None = None  # the field whose numeric audit ticket orders versions; else the event time
    key: tuple[str, ...] = ()  # fields keying a state table of their own, when all are present
    columns: tuple[str, ...] = ()  # fields copied onto that table's row ("" stored as absent)

    def rank(self, status: str) -> int:
        return self.ranks.get(status, self.default_rank)

    def is_final(self, status: str) -> bool:
        return self.final is None or status in self.final


@dataclass(frozen=True)
class ReceiptSpec:
    """A receipt type's identity, entity, event time, status and state rule.

    - `identity`: the fields hashed into the idempotency key, in order (times as epoch ms, booleans as
      1/0, absent and "" alike); `items` and `item_fields` add a list's entries, sorted;
    - `entity`: the parts of the entity key, each an identity field, or a tuple of them: the first
      that is not empty;
    - `event_time`: time fields, the first present is the receipt's own time;
    - `status`: the normalised status, None for a type without one;
    - `state`: how it updates the current state; None for a type with no state.
    """

    identity: tuple[str, ...]
    entity: tuple[str | tuple[str, ...], ...]
    event_time: tuple[str, ...] = ()
    status: Callable[[Any], str] | None = None
    state: StateRule | None = None
    items: str | None = None
    item_fields: tuple[str, ...] = ()
    identity_name: str | None = None  # the type's name in the hashed text, when not the message type's
