"""The SMS service's HTTP batch push, simulated end to end against the local stack.

Thousands of receipts of many sends, pushed as the service pushes them (random batches, 30 % of
them twice, shuffled, concurrently, re-pushed after 1, 5 and 10 scaled minutes when not answered
in 700 ms), must end with: no push given up, every distinct receipt exactly once in the ledger,
every delivery_state row holding the report the documented rule picks, and an empty spill inbox
once the drain has run.
"""

from __future__ import annotations

import json
import random

import pytest

from sms_receipts.storage.backend import BackendError
from sms_receipts_dev.local.push import post_once

from service_checks import check_delivery_state, check_ledger, inbox_rows, rows
from service_sim import Receipt, SmsService, ground_truth, inversions, plan_pushes

SEED = 20261125
MINUTE = 0.2  # real seconds per minute of the service's re-push schedule
MAX_DRAINS = 10  # the drain is itself retried (the stack runs it periodically): a few passes at most


def drain(stack) -> list:
    """Run the stack's drain (`DevStack.drain_once`, needs the bounded answer with a spill) until a
    run leaves nothing, at most MAX_DRAINS times: under faults a run may leave entries, or fail, for
    the next. Every push has been answered by then, so no entry comes in after. Its reports."""
    reports: list = []
    for _ in range(MAX_DRAINS):
        try:
            reports.append(stack.drain_once())
        except BackendError as exc:  # a fault on the inbox's own reads: the next run retries
            reports.append(exc)
            continue
        if not reports[-1].left:
            break
    return reports


def callback_urls(stack) -> dict[str, str]:
    return {name: stack.callback_url(name) for name in ("SmsReport", "SmsUp")}


def table(client, stack, name):
    return rows(client, stack.table_prefix + name)


def check_everything_stored(stack, client, receipts: list[Receipt]) -> None:
    stack.tablestore.faults.clear()  # read back on healthy storage (the checks' reads are not retried)
    keys = check_ledger(table(client, stack, "receipt_ledger"), receipts)
    check_delivery_state(table(client, stack, "delivery_state"), receipts, keys)
    left = inbox_rows(client, stack.table_prefix)
    assert not left, f"{len(left)} rows left in {stack.table_prefix}inbox after the drain"


def simulate(stack, client, seed: int, **truth) -> tuple[list[Receipt], dict]:
    rng = random.Random(seed)
    receipts = ground_truth(rng, **truth)
    batches = plan_pushes(receipts, rng)
    assert inversions(batches) > 0, "the plan must push some later reports before earlier ones"
    assert sum(len(b.items) for b in batches) > len(receipts)  # duplicates included
    log = SmsService(callback_urls(stack), minute=MINUTE).push(batches)
    summary = log.summary()
    print("pushes:", json.dumps({k: v for k, v in summary.items() if k != "failures"}))  # shown with -s
    drain(stack)
    assert not log.gave_up, f"the service gave up {len(log.gave_up)} pushes: {json.dumps(summary, ensure_ascii=False)}"
    return receipts, summary


def test_a_day_of_pushes_on_healthy_storage_is_stored_exactly_once(start_stack, reader):
    stack = start_stack()
    client = reader(stack)
    receipts, summary = simulate(stack, client, SEED)
    assert len(receipts) > 1500 and summary["batches"] > 15
    check_everything_stored(stack, client, receipts)


@pytest.mark.slow
@pytest.mark.parametrize("fault_rate", [0.1, 0.3])
def test_pushes_ride_out_storage_faults(start_stack, reader, fault_rate):
    # Busy, timeouts, dropped connections and lost responses (applied, unanswered) on every API.
    stack = start_stack(fault_rate=fault_rate)
    client = reader(stack)
    receipts, summary = simulate(stack, client, SEED + round(fault_rate * 100))
    assert summary["attempts"] >= summary["batches"]
    check_everything_stored(stack, client, receipts)


def large_push(rng: random.Random, count: int, max_bytes: int | None = None) -> list[Receipt]:
    """`count` SmsReports of a few big sends (fewer if `max_bytes` cuts the body short)."""
    receipts = [r for r in ground_truth(rng, sends=count // 150 + 2, numbers=(150, 200), replies=0)][:count]
    assert len(receipts) == count
    if max_bytes is not None:
        while len(json.dumps([r.item for r in receipts], ensure_ascii=False).encode("utf-8")) > max_bytes:
            receipts = receipts[: int(len(receipts) * 0.99)]
    return receipts


@pytest.mark.slow
@pytest.mark.parametrize("size", ["1000 items", "1 MiB"])
def test_a_large_push_is_answered_within_700_ms_and_stored_after_the_drain(start_stack, reader, size):
    stack = start_stack()
    client = reader(stack)
    limit = stack.instance.receiver().settings.max_body_bytes  # SMS_RECEIPTS_MAX_BODY_BYTES: 1048576
    rng = random.Random(SEED)
    receipts = large_push(rng, 1000) if size == "1000 items" else large_push(rng, 4200, max_bytes=limit)
    body = json.dumps([r.item for r in receipts], ensure_ascii=False).encode("utf-8")
    assert len(body) <= limit
    if size == "1 MiB":
        assert len(body) > 0.9 * limit and len(receipts) > 3500
    answer = post_once(stack.callback_url("SmsReport"), body)  # the service's 700 ms timeout
    within = answer.seconds <= 0.7
    print(f"large push: {len(receipts)} items, {len(body)} bytes: {answer.status} in {answer.seconds * 1000:.0f} ms")
    assert answer.accepted and within, (
        f"{len(receipts)} items, {len(body)} bytes: status {answer.status} after {answer.seconds * 1000:.0f} ms "
        f"({answer.error or answer.body[:200]!r})"
    )
    drain(stack)
    check_everything_stored(stack, client, receipts)
