"""Keys and versions never drift: every fixture and a corpus of receipts (drawn once from the property
tests' strategies, plus edge cases) give byte-for-byte the idempotency keys, entity keys, ledger
status and state rows recorded in `keys_golden.json`, which the code before the receipt specs wrote.

Regenerate only for an intended change of identity: `.venv/bin/python tests/unit/test_keys_golden.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sms_receipts.parsing import (
    DecodeResult,
    MessageType,
    decode_alicom_message,
    decode_eventbridge_event,
    decode_http_body,
    decode_http_event,
    decode_topic_event,
)
from sms_receipts.parsing.types import fold
from sms_receipts.storage.rules import event_time, normalized_status, state_change

GOLDEN = Path(__file__).with_name("keys_golden.json")
EVENTS = Path(__file__).resolve().parent.parent / "events"


def _declared(name: str) -> MessageType | None:
    """The type a fixture's file name starts with (`intl_sms_report_batch.json`: IntlSmsReport)."""
    folded = fold(name)
    for message_type in sorted(MessageType, key=lambda t: -len(t.value)):
        if folded.startswith(fold(message_type.value)):
            return message_type
    return None


def _fixture_results(path: Path) -> dict[str, DecodeResult]:
    folder, raw = path.parent.name, path.read_bytes()
    declared = _declared(path.stem)
    if folder in ("http", "bad"):
        results = {"detected": decode_http_body(raw)}
        if declared is not None:
            results["declared"] = decode_http_body(raw, declared)
        return results
    if folder == "fc_http":
        return {"event": decode_http_event(raw)}
    if folder == "eventbridge":
        return {"event": decode_eventbridge_event(raw)}
    if folder == "topic":
        return {"event": decode_topic_event(raw)}
    if folder == "alicom":
        return {"declared": decode_alicom_message(raw, declared)}
    raise AssertionError(f"no decoder for {path}")


def outputs(result: DecodeResult) -> dict[str, Any]:
    """What must not drift, as JSON: each item's keys, ledger status and time and state change."""
    items = []
    for item in result.items:
        change = state_change(item)
        state = (
            None
            if change is None
            else {
                "table": change.table,
                "primary_key": change.primary_key,
                "version": change.version,
                "status": change.status,
                "is_final": change.is_final,
                "event_time": change.event_time,
                "extra_columns": change.extra_columns,
            }
        )
        items.append(
            {
                "position": item.position,
                "idempotency_key": item.idempotency_key,
                "entity_key": item.entity_key,
                "status": normalized_status(item.record),
                "event_time": event_time(item.record),
                "state": state,
            }
        )
    rejected = [{"position": r.position, "reason": r.reason} for r in result.rejected]
    return json.loads(json.dumps({"items": items, "rejected": rejected}, ensure_ascii=False))


def fixture_outputs() -> dict[str, Any]:
    return {
        f"{path.parent.name}/{path.name}/{how}": outputs(result)
        for path in sorted(EVENTS.glob("*/*"))
        for how, result in _fixture_results(path).items()
    }


def receipt_outputs(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [outputs(decode_http_body(json.dumps([case["item"]]).encode(), case["type"])) for case in cases]


def test_every_fixture_keeps_its_keys_and_versions():
    golden = json.loads(GOLDEN.read_text("utf-8"))
    assert fixture_outputs() == golden["fixtures"]


def test_every_corpus_receipt_keeps_its_keys_and_versions():
    golden = json.loads(GOLDEN.read_text("utf-8"))
    cases = golden["receipts"]
    assert len(cases) > 500
    assert receipt_outputs(cases) == [case["outputs"] for case in cases]
    assert all(case["outputs"]["items"] for case in cases)  # every case is a receipt that parses


if __name__ == "__main__":  # rewrite the outputs for the same inputs, after an intended change
    golden = json.loads(GOLDEN.read_text("utf-8"))
    for case, new in zip(golden["receipts"], receipt_outputs(golden["receipts"]), strict=True):
        case["outputs"] = new
    golden["fixtures"] = fixture_outputs()
    GOLDEN.write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", "utf-8")
    sys.exit(0)
