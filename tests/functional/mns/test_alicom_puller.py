"""The Alicom queue puller against the MNS and dybaseapi emulators, storing into the Tablestore emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from sms_receipts import instance
from sms_receipts.mns.alicom import AlicomSettings, denied_auth_action, parse_expire_time
from sms_receipts.parsing import MessageType
from sms_receipts.storage import DEAD_LETTER, LEDGER

from mns_support import ACCOUNT_ID, make_puller

QUEUE = f"Alicom-Queue-{ACCOUNT_ID}-SmsReport"


def report(i: int) -> dict:
    return {
        "phone_number": f"138{i:08d}",
        "send_time": "2026-11-25 10:00:00",
        "report_time": "2026-11-25 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "o",
    }


def enqueue(mns, count: int, start: int = 0, queue: str = QUEUE) -> None:
    for i in range(start, start + count):
        mns.enqueue(queue, json.dumps(report(i), ensure_ascii=False))


def ledger_rows():
    return list(instance.current().storage().backend.scan(LEDGER))


def queue_depth(mns, queue: str = QUEUE) -> int:
    return len(mns.state.message_views(queue))


def test_pulls_stores_and_deletes(alicom):
    _, mns = alicom
    enqueue(mns, 40)
    (report_,) = make_puller(alicom).pull(budget_seconds=20)
    assert report_.status == "empty"
    assert (report_.received, report_.deleted, report_.outcomes["stored"]) == (40, 40, 40)
    assert len(ledger_rows()) == 40 and {r["source"] for r in ledger_rows()} == {"alicom"}
    assert queue_depth(mns) == 0


def test_receives_in_batches_of_16(alicom):
    _, mns = alicom
    enqueue(mns, 33)
    mns.reset_counters()
    make_puller(alicom).pull(budget_seconds=20)
    assert mns.requests["BatchReceiveMessage"] == 4  # 16 + 16 + 1, then the empty answer
    assert mns.requests["BatchDeleteMessage"] == 3


def test_a_crash_between_store_and_delete_then_redelivery_stores_nothing_twice(alicom):
    _, mns = alicom
    enqueue(mns, 20)
    mns.deny(queue=QUEUE, api="BatchDeleteMessage")  # stored, then the delete never happens
    first = make_puller(alicom).pull(budget_seconds=3)[0]
    assert first.outcomes["stored"] == 20 and first.deleted == 0
    mns.clear_denials()
    time.sleep(1.2)  # the visibility timeout: the messages come back
    second = make_puller(alicom).pull(budget_seconds=20)[0]
    assert second.outcomes["duplicate"] == 20 and second.deleted == 20
    assert len(ledger_rows()) == 20
    assert queue_depth(mns) == 0


@pytest.mark.slow
def test_messages_whose_storage_failed_are_left_for_redelivery(alicom, emulator):
    _, mns = alicom
    enqueue(mns, 5)
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
    failed = make_puller(alicom).pull(budget_seconds=3)[0]
    assert failed.outcomes["failed"] == 5 and failed.deleted == 0
    emulator.faults.clear()
    time.sleep(1.2)  # visibility timeout expires; the same messages are delivered again
    again = make_puller(alicom).pull(budget_seconds=20)[0]
    assert again.outcomes["stored"] == 5 and again.deleted == 5
    assert len(ledger_rows()) == 5 and queue_depth(mns) == 0


@pytest.mark.slow
def test_poison_messages_are_dead_lettered_and_deleted(alicom, emulator):
    _, mns = alicom
    mns.enqueue(QUEUE, "this is no receipt")  # dead-lettered at once: a parse failure
    enqueue(mns, 1)
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)
    make_puller(alicom, poison_dequeue_count=2).pull(budget_seconds=3)  # dequeue 1: storage fails
    emulator.faults.clear()
    time.sleep(1.2)
    (report_,) = make_puller(alicom, poison_dequeue_count=2).pull(budget_seconds=20)  # dequeue 2: poison
    assert report_.poison == 2 and report_.deleted == 2
    dead = list(instance.current().storage().backend.scan(DEAD_LETTER))
    assert len(dead) == 2 and all("poison" in row["reason"] for row in dead)
    assert queue_depth(mns) == 0


@pytest.mark.slow
def test_ten_thousand_messages_drained_none_lost_none_twice(alicom):
    _, mns = alicom
    enqueue(mns, 10_000)
    reports = make_puller(alicom).pull(budget_seconds=300)
    assert reports[0].status == "empty"
    assert reports[0].outcomes["stored"] == 10_000 and reports[0].outcomes["duplicate"] == 0
    ledger = ledger_rows()
    assert len(ledger) == 10_000
    assert len({row["idempotency_key"] for row in ledger}) == 10_000
    assert queue_depth(mns) == 0


def test_expire_time_is_beijing_time():
    assert parse_expire_time("2026-11-25 18:00:00") == datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("zone", "zone_name"), [("UTC", "UTC"), ("America/New_York", "EST"), ("Asia/Shanghai", "CST")])
def test_token_refresh_across_expiry_whatever_the_host_time_zone(alicom, zone, zone_name):
    """The token is refreshed 2 minutes before ExpireTime, read as Beijing time, in any host zone."""
    dybaseapi, mns = alicom
    script = f"""
import sys, time
sys.path.insert(0, {os.path.dirname(__file__)!r})
from datetime import datetime, timedelta, timezone
from sms_receipts.mns.alicom import AlicomSettings, TokenSource
from sms_receipts.parsing import MessageType
settings = AlicomSettings(message_types=(MessageType.SMS_REPORT,), account_id={ACCOUNT_ID!r},
    mns_endpoint={mns.endpoint!r}, dybaseapi_endpoint={dybaseapi.address!r}, dybaseapi_protocol="http")
offset = [timedelta(0)]
tokens = TokenSource(settings, ({dybaseapi.access_key_id!r}, {dybaseapi.access_key_secret!r}, None),
                     now=lambda: datetime.now(timezone.utc) + offset[0])
first = tokens.token(MessageType.SMS_REPORT)
assert tokens.token(MessageType.SMS_REPORT) is first and tokens.fetches == 1
left = first.expires_at - datetime.now(timezone.utc)
offset[0] = left - timedelta(minutes=2, seconds=5)   # 2 min 5 s before expiry: still fresh
assert tokens.token(MessageType.SMS_REPORT) is first
offset[0] = left - timedelta(minutes=1, seconds=55)  # inside the 2-minute margin: refreshed
assert tokens.token(MessageType.SMS_REPORT) is not first and tokens.fetches == 2
print(time.tzname[0], round(left.total_seconds()))
"""
    env = {**os.environ, "TZ": zone}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    process_zone, seconds_left = out.stdout.split()
    assert process_zone == zone_name  # the process really ran in that zone
    assert abs(int(seconds_left) - 3600) < 30  # the emulator's lifetime, not off by the zone's hours


def test_an_expired_token_is_refreshed_and_pulling_goes_on(alicom):
    dybaseapi, mns = alicom
    dybaseapi.token_lifetime = 1.5
    enqueue(mns, 3)
    # Believe every token fresh for the whole test, so only the MNS refusal can trigger the refresh.
    puller = make_puller(alicom, now=lambda: datetime.now(timezone.utc) - timedelta(hours=1))
    puller.pull(budget_seconds=3)
    time.sleep(1.6)  # the token has expired at the MNS side
    enqueue(mns, 3, start=3)
    (report_,) = puller.pull(budget_seconds=20)
    assert report_.outcomes["stored"] == 3 and puller.tokens.fetches == 2


def test_a_missing_queue_is_reported_clearly(alicom, caplog):
    with caplog.at_level("INFO", logger="sms_receipts"):
        (report_,) = make_puller(alicom, types=(MessageType.SMS_UP,)).pull(budget_seconds=5)
    assert report_.status == "empty"  # exists: created by the fixture
    _, mns = alicom
    mns.state.queues.pop(f"Alicom-Queue-{ACCOUNT_ID}-SmsUp")
    with caplog.at_level("INFO", logger="sms_receipts"):
        (report_,) = make_puller(alicom, types=(MessageType.SMS_UP,)).pull(budget_seconds=5)
    assert report_.status == "queue missing" and "enable MNS mode" in report_.error
    assert '"status":"queue missing"' in caplog.records[-1].getMessage()


def denial_auth_action(dybaseapi) -> str:
    """The AuthAction the dybaseapi emulator reports when it refuses the puller's key."""
    from alibabacloud_dybaseapi20170525.models import QueryTokenForMnsQueueRequest
    from alibabacloud_tea_openapi.exceptions import ClientException

    with pytest.raises(ClientException) as caught:
        dybaseapi.client().query_token_for_mns_queue(QueryTokenForMnsQueueRequest(message_type="SmsReport"))
    return caught.value.access_denied_detail["AuthAction"]


def test_a_denied_token_names_the_auth_action_of_the_denial(alicom, caplog):
    """Newer RAM denials carry AccessDeniedDetail.AuthAction: the report names exactly that, on Resource "*"."""
    dybaseapi, _ = alicom
    dybaseapi.deny()
    action = denial_auth_action(dybaseapi)
    with caplog.at_level("INFO", logger="sms_receipts.alicom"):
        (report_,) = make_puller(alicom).pull(budget_seconds=5)
    assert report_.status == "access denied"
    assert f'role {action} on Resource "*"' in report_.error
    others = {"dysms:QueryTokenForMnsQueue", "dybase:QueryTokenForMnsQueue", "dybaseapi:QueryTokenForMnsQueue"}
    assert not any(other in report_.error for other in others - {action})
    assert "acs:" not in report_.error  # a service-level permission: no ARN
    line = json.loads(caplog.records[-1].getMessage())
    assert line["event"] == "alicom_pull" and line["status"] == "access denied"
    assert f'{action} on Resource "*"' in line["error"]


def test_a_denial_without_detail_names_both_candidates(alicom):
    dybaseapi, _ = alicom
    dybaseapi.deny(access_denied_detail=False)
    (report_,) = make_puller(alicom).pull(budget_seconds=5)
    assert report_.status == "access denied"
    assert 'dysms:QueryTokenForMnsQueue and dybase:QueryTokenForMnsQueue on Resource "*"' in report_.error
    assert "dybaseapi:" not in report_.error


def test_the_auth_action_is_read_wherever_the_tea_sdk_keeps_it():
    """tea-openapi 0.4 sets `access_denied_detail`; Tea's TeaException keeps `accessDeniedDetail` and the body."""
    from Tea.exceptions import TeaException

    detail = {"AuthAction": "dybase:QueryTokenForMnsQueue", "NoPermissionType": "ImplicitDeny"}
    assert denied_auth_action(TeaException({"code": "Forbidden.RAM", "accessDeniedDetail": detail})) == (
        "dybase:QueryTokenForMnsQueue"
    )
    body = {"Code": "Forbidden.RAM", "AccessDeniedDetail": json.dumps(detail)}  # some APIs send it as a string
    assert denied_auth_action(TeaException({"code": "Forbidden.RAM", "data": body})) == "dybase:QueryTokenForMnsQueue"
    assert denied_auth_action(TeaException({"code": "Forbidden.RAM", "data": {"Code": "Forbidden.RAM"}})) is None


def test_a_queue_the_token_may_not_read_is_access_denied(alicom):
    _, mns = alicom
    mns.deny(queue=QUEUE)
    (report_,) = make_puller(alicom).pull(budget_seconds=5)
    assert report_.status == "access denied" and "AccessDeniedByRamPolicy" in report_.error
    assert "SMS_RECEIPTS_ALICOM_ACCOUNT_ID" in report_.error
    assert 'dysms:QueryTokenForMnsQueue and dybase:QueryTokenForMnsQueue on Resource "*"' in report_.error
    assert "dybaseapi:" not in report_.error


# ---- the per-batch bound inside the visibility timeout ---------------------------------------------
# The Alicom queues' visibility timeout is about 30 s and the default bound 20 s; these tests scale both
# down (visibility 3 or 4 s, bound 2 s) and slow the Tablestore emulator's BatchWriteRow.


def test_batch_seconds_setting():
    env = {"SMS_RECEIPTS_ALICOM_ACCOUNT_ID": ACCOUNT_ID}
    assert AlicomSettings.from_env(env).batch_seconds == 20.0
    assert AlicomSettings.from_env({**env, "SMS_RECEIPTS_ALICOM_BATCH_SECONDS": "8.5"}).batch_seconds == 8.5
    assert AlicomSettings.from_env({**env, "SMS_RECEIPTS_ALICOM_BATCH_SECONDS": "90"}).batch_seconds == 25.0
    assert AlicomSettings.from_env({**env, "SMS_RECEIPTS_ALICOM_BATCH_SECONDS": "0"}).batch_seconds == 1.0


class RedeliveryWatch:
    """Samples the queue while the puller works: a dequeued message visible again would be redelivered."""

    def __init__(self, mns, queue: str = QUEUE):
        self._mns, self._queue = mns, queue
        self._stop = threading.Event()
        self.seen: set[str] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            now_ms = time.time() * 1000
            for view in self._mns.state.message_views(self._queue):
                if view.dequeue_count >= 1 and view.next_visible_time <= now_ms:
                    self.seen.add(view.message_id)

    def __enter__(self) -> RedeliveryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_slow_store_within_the_bound_is_not_redelivered(alicom, emulator):
    _, mns = alicom
    mns.state.set_queue_attributes(QUEUE, visibility_timeout=3)
    enqueue(mns, 80)  # five batches of 16: the whole pull lasts longer than one visibility timeout
    emulator.faults.slow_delay = 0.5
    emulator.faults.set(api="BatchWriteRow", slow=1.0)
    with RedeliveryWatch(mns) as watch:
        (report_,) = make_puller(alicom, batch_seconds=2.0).pull(budget_seconds=60)
    assert watch.seen == set()
    assert report_.status == "empty"
    assert (report_.received, report_.deleted) == (80, 80)
    assert (report_.outcomes["stored"], report_.outcomes["duplicate"], report_.outcomes["failed"]) == (80, 0, 0)
    ledger = ledger_rows()
    assert len(ledger) == 80 and len({row["idempotency_key"] for row in ledger}) == 80
    assert queue_depth(mns) == 0


@pytest.mark.slow
def test_a_store_slower_than_the_bound_is_cut_and_its_messages_come_back(alicom, emulator):
    _, mns = alicom
    # Visibility 4 s (bound/visibility 1/2 rather than 20/30: more room on a loaded machine for the empty
    # receive that follows the cut batch to end before the messages come back).
    mns.state.set_queue_attributes(QUEUE, visibility_timeout=4)
    enqueue(mns, 10)
    emulator.faults.slow_delay = 5.0  # longer than the bound (2 s) and the visibility timeout (4 s)
    emulator.faults.set(api="BatchWriteRow", slow=1.0)
    puller = make_puller(alicom, batch_seconds=2.0)
    with RedeliveryWatch(mns) as watch:
        started = time.monotonic()
        (first,) = puller.pull(budget_seconds=8)  # the invocation's deadline is not what cuts the batch
        elapsed = time.monotonic() - started
    assert watch.seen == set()  # not redelivered while the batch was being handled
    assert elapsed < 4.0  # the store stopped at the bound, not when the slow write answered
    assert first.status == "empty"  # the next receive found nothing: the batch was still hidden
    assert (first.received, first.deleted, first.outcomes["failed"]) == (10, 0, 10)
    views = mns.state.message_views(QUEUE)
    assert len(views) == 10 and {view.dequeue_count for view in views} == {1}  # not deleted, still hidden
    emulator.faults.clear()

    time.sleep(max(0.0, max(view.next_visible_time for view in views) / 1000 - time.time()) + 0.2)
    (second,) = puller.pull(budget_seconds=20)
    assert (second.received, second.deleted, second.outcomes["failed"]) == (10, 10, 0)
    # The slow write may have landed before the second store (duplicate) or after it (stored): once either way.
    assert second.outcomes["stored"] + second.outcomes["duplicate"] == 10
    assert queue_depth(mns) == 0
    time.sleep(max(0.0, started + 5.5 - time.monotonic()))  # let the slow write finish, wherever it lands
    ledger = ledger_rows()
    assert len(ledger) == 10 and len({row["idempotency_key"] for row in ledger}) == 10


def test_an_empty_queue_is_logged_as_empty(alicom, caplog):
    with caplog.at_level("INFO", logger="sms_receipts.alicom"):
        make_puller(alicom).pull(budget_seconds=5)
    line = json.loads(caplog.records[-1].getMessage())
    assert line["event"] == "alicom_pull" and line["status"] == "empty" and line["received"] == 0


def test_a_flooded_queue_does_not_starve_the_others(alicom):
    _, mns = alicom
    enqueue(mns, 5000)  # far more than one run can take
    up_queue = f"Alicom-Queue-{ACCOUNT_ID}-SmsUp"
    for i in range(3):
        mns.enqueue(
            up_queue,
            json.dumps(
                {
                    "phone_number": f"1380000{i:04d}",
                    "send_time": "2026-11-25 10:01:00",
                    "content": "收到",
                    "sign_name": "签名",
                    "dest_code": "1234",
                    "sequence_id": 1000 + i,
                },
                ensure_ascii=False,
            ),
        )
    puller = make_puller(alicom, types=(MessageType.SMS_REPORT, MessageType.SMS_UP))
    flooded, up = puller.pull(budget_seconds=4)
    assert flooded.status == "budget spent" and queue_depth(mns) > 0  # still busy when the run ended
    assert (up.status, up.received, up.outcomes["stored"], up.deleted) == ("empty", 3, 3, 3)
