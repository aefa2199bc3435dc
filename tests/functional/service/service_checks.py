"""What the tables must hold once the simulated service is done, worked out from the ground truth alone.

The expected delivery state is computed here from the receipts, by the rule `storage/rules.py`
documents, without calling the project's rule code: a report's version is its event time
(`report_time`, else `send_time`, read as China Standard Time) in epoch ms × 16 + its status rank
(delivered 1 < expired 2 < failed 3); the highest version holds the row. The ground truth never has
two reports of one number at the same version, so the idempotency-key tie-break never decides.

The tables are read with the real Tablestore SDK straight from the emulator.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from tablestore import INF_MAX, INF_MIN, Direction, OTSClient

from service_sim import Receipt, canonical

CHINA = timezone(timedelta(hours=8))
RANK = {"delivered": 1, "expired": 2, "failed": 3}
EXPIRED_CODES = {"EXPIRED", "EXPIRD"}
INBOX = "inbox"  # the spill table, under the stack's prefix: sms_inbox
# The primary keys as the schema documents them (the emulator implements no DescribeTable).
PRIMARY_KEYS = {
    "receipt_ledger": ("entity_key", "idempotency_key"),
    "delivery_state": ("biz_id", "phone_number"),
    INBOX: ("entry_id",),
}


def status(item: dict) -> str:
    if item["success"]:
        return "delivered"
    return "expired" if (item.get("err_code") or "").upper() in EXPIRED_CODES else "failed"


def event_ms(item: dict) -> int:
    text = item.get("report_time") or item["send_time"]
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).timestamp() * 1000)


def version(item: dict) -> int:
    return event_ms(item) * 16 + RANK[status(item)]


def expected_winners(receipts: Iterable[Receipt]) -> dict[tuple[str, str], dict]:
    """(biz_id, phone_number) -> the SmsReport that must hold its delivery_state row."""
    by_number: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for receipt in receipts:
        if receipt.message_type == "SmsReport":
            by_number[(receipt.item["biz_id"], receipt.item["phone_number"])].append(receipt.item)
    winners = {}
    for key, reports in by_number.items():
        versions = sorted(version(r) for r in reports)
        assert len(set(versions)) == len(versions), f"ground truth has a tie for {key}"
        winners[key] = max(reports, key=version)
    return winners


def entity_key(receipt: Receipt) -> str:
    item = receipt.item
    if receipt.message_type == "SmsReport":
        return f"SmsReport:{item['biz_id']}|{item['phone_number']}"
    return f"SmsUp:{item['phone_number']}|{item['dest_code']}|{item['sequence_id']}"


# -- reading the tables -------------------------------------------------------------------------


def table_names(client: OTSClient) -> set[str]:
    return set(client.list_table())


def rows(client: OTSClient, table: str) -> list[dict]:
    """Every row of `table` (a full name), primary key and attributes in one dict; [] if it does not exist."""
    if table not in table_names(client):
        return []
    key_names = next(names for suffix, names in PRIMARY_KEYS.items() if table.endswith(suffix))
    start = [(name, INF_MIN) for name in key_names]
    end = [(name, INF_MAX) for name in key_names]
    found = []
    while start:
        _, start, batch, _ = client.get_range(table, Direction.FORWARD, start, end, max_version=1)
        for row in batch:
            data = dict(row.primary_key)
            data.update((column[0], column[1]) for column in row.attribute_columns)
            found.append(data)
    return found


# -- the checks ---------------------------------------------------------------------------------


def check_ledger(ledger: Sequence[dict], receipts: Sequence[Receipt]) -> dict[str, str]:
    """Every distinct receipt exactly once, under its own entity key; returns canonical JSON -> idempotency key."""
    stored = Counter(canonical(json.loads(row["raw"])) for row in ledger)
    expected = Counter(r.canonical() for r in receipts)
    assert len(expected) == len(receipts), "the ground truth itself repeats a receipt"
    twice = [text for text, n in stored.items() if n > 1]
    missing = expected.keys() - stored.keys()
    extra = stored.keys() - expected.keys()
    assert not twice and not missing and not extra, (
        f"ledger: {len(ledger)} rows for {len(receipts)} receipts; {len(missing)} missing, "
        f"{len(extra)} unexpected, {len(twice)} stored twice; e.g. {(sorted(missing) + sorted(extra) + twice)[:2]}"
    )
    want_entity = {r.canonical(): entity_key(r) for r in receipts}
    wrong = [row["entity_key"] for row in ledger if want_entity[canonical(json.loads(row["raw"]))] != row["entity_key"]]
    assert not wrong, f"{len(wrong)} ledger rows under the wrong entity key, e.g. {wrong[:2]}"
    types = {canonical(json.loads(row["raw"])): row["message_type"] for row in ledger}
    assert all(types[r.canonical()] == r.message_type for r in receipts)
    return {canonical(json.loads(row["raw"])): row["idempotency_key"] for row in ledger}


def check_delivery_state(state: Sequence[dict], receipts: Sequence[Receipt], keys: dict[str, str]) -> None:
    """One row per (biz_id, phone_number), each holding the expected winner's columns."""
    winners = expected_winners(receipts)
    by_key = {(row["biz_id"], row["phone_number"]): row for row in state}
    assert len(by_key) == len(state)
    assert by_key.keys() == winners.keys(), (
        f"delivery_state: {len(state)} rows for {len(winners)} numbers; "
        f"{len(winners.keys() - by_key.keys())} missing, {len(by_key.keys() - winners.keys())} unexpected"
    )
    wrong = []
    for key, item in winners.items():
        row = by_key[key]
        want = {
            "status": status(item),
            "version": version(item),
            "event_time": event_ms(item),
            "winner": keys[canonical(item)],
            "success": item["success"],
            "err_code": item["err_code"],
            "out_id": item.get("out_id"),
            "message_type": "SmsReport",
        }
        got = {name: row.get(name) for name in want}
        if got != want:
            wrong.append((key, got, want))
    assert not wrong, f"{len(wrong)} of {len(winners)} delivery_state rows hold the wrong report, e.g. {wrong[:2]}"


def inbox_rows(client: OTSClient, prefix: str) -> list[dict]:
    return rows(client, prefix + INBOX)
