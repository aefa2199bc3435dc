"""What happened to each item a store call was given."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field


class Outcome(str, enum.Enum):
    STORED = "stored"  # new in the ledger; the state (if any) now reflects it
    DUPLICATE = "duplicate"  # already in the ledger: a re-push or redelivery, nothing changed
    STALE = "stale"  # new in the ledger, but the state already holds a newer report
    DEAD_LETTERED = "dead_lettered"  # could not be parsed; its raw bytes are in the dead-letter table
    FAILED = "failed"  # not confirmed before the deadline, or refused: deliver it again

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ItemOutcome:
    outcome: Outcome
    error: str | None = None  # why it failed, for FAILED


@dataclass
class StoreResult:
    """Outcomes in input order: parsed items first, then rejected ones."""

    outcomes: list[ItemOutcome] = field(default_factory=list)
    requests: int = 0  # BatchWriteRow requests sent, retries included
    attempts: int = 1  # rounds of writing (1 = no retry was needed)
    # Rows encoded by the SDK's slow serializer during the call (0 normally; other threads' included).
    serializer_fallbacks: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(o.outcome.value for o in self.outcomes)
        return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}

    @property
    def confirmed(self) -> bool:
        """True when every item is durably accounted for (nothing failed)."""
        return all(o.outcome is not Outcome.FAILED for o in self.outcomes)

    @property
    def errors(self) -> list[str]:
        return sorted({o.error for o in self.outcomes if o.error})
