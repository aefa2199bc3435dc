"""`sms-receipts repair`, `replay` and `drain` against the Tablestore emulator, through `main`."""

from __future__ import annotations

import json
import time

import pytest

from sms_receipts import cli, instance
from sms_receipts.parsing import MessageType, RejectedItem, Source, decode_http_body
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER
from sms_receipts.storage.inbox import write_or_spill
from sms_receipts.storage.plan import DeleteRow, PlannedRow, RowKind, planned_row
from sms_receipts.storage.repair import parse_since
from sms_receipts.storage.schema import INBOX


def report(phone: str, report_time: str = "2026-11-25 10:00:05", success: bool = True) -> dict:
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": report_time,
        "success": success,
        "err_code": "DELIVERED" if success else "UNDELIV",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
    }


def command(capsys, *args: str) -> tuple[int, list[dict]]:
    code = cli.main(list(args))
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def storage():
    return instance.current().storage()


def rows(table: str) -> list[dict]:
    return list(storage().backend.scan(table))


def store(receipts: list[dict]):
    items = decode_http_body(json.dumps(receipts).encode(), MessageType.SMS_REPORT).items
    assert storage().store.write(items).confirmed
    return items


def delete(table: str, primary_key: tuple) -> None:
    row: PlannedRow = planned_row(RowKind.STATE, table, primary_key, (), DeleteRow())
    assert storage().store.write_rows([row], deadline=time.monotonic() + 10).confirmed


def test_repair_rebuilds_a_missing_state_row_once(storage_env, capsys):
    store([report("13800000001"), report("13800000002", "2026-11-25 10:00:07", success=False)])
    [lost, kept] = sorted(rows(DELIVERY_STATE), key=lambda r: r["phone_number"])
    delete(DELIVERY_STATE, (("biz_id", lost["biz_id"]), ("phone_number", lost["phone_number"])))
    assert len(rows(DELIVERY_STATE)) == 1

    code, [dry] = command(capsys, "repair", "--since", "1h", "--dry-run")
    assert code == 0 and dry["checked"] == 2 and dry["repaired"] == 0 and len(rows(DELIVERY_STATE)) == 1
    code, [done] = command(capsys, "repair", "--since", "1h")
    assert code == 0 and (done["ledger_rows"], done["repaired"], done["unchanged"]) == (2, 1, 1)
    assert sorted(rows(DELIVERY_STATE), key=lambda r: r["phone_number"]) == [lost, kept]
    code, [again] = command(capsys, "repair", "--since", "1h")
    assert (again["repaired"], again["unchanged"]) == (0, 2)


def test_repair_leaves_a_newer_state_alone(storage_env, capsys):
    store([report("13800000001", "2026-11-25 10:00:05", success=False)])
    store([report("13800000001", "2026-11-25 10:00:09", success=True)])
    code, [done] = command(capsys, "repair", "--since", "1h")
    assert code == 0 and (done["repaired"], done["unchanged"]) == (0, 2)
    [state] = rows(DELIVERY_STATE)
    assert state["status"] == "delivered"


def dead_letter(raw: bytes, reason: str) -> None:
    rejected = RejectedItem(reason, raw, Source.HTTP, MessageType.SMS_REPORT, None, 0)
    assert storage().store.write([], [rejected]).confirmed


def test_replay_stores_what_now_parses_marks_it_and_does_nothing_twice(storage_env, capsys):
    dead_letter(json.dumps(report("13800000009")).encode(), "an old parser's bug")
    dead_letter(b'{"phone_number": 13', "body is not JSON")

    code, out = command(capsys, "replay", "--dry-run")
    assert code == 0 and [r["result"] for r in out[:-1]].count("would replay") == 1
    assert rows(LEDGER) == []

    code, out = command(capsys, "replay", "--reason", "old parser")
    assert code == 0 and [r["result"] for r in out[:-1]] == ["replayed"] and out[-1]["replayed"] == 1
    [stored] = rows(LEDGER)
    assert json.loads(stored["raw"])["phone_number"] == "13800000009"
    marked = [r for r in rows(DEAD_LETTER) if r.get("replayed_at")]
    assert len(marked) == 1 and "1 receipt(s)" in marked[0]["replay_result"]
    assert len(rows(DEAD_LETTER)) == 2  # kept, never deleted

    code, out = command(capsys, "replay")
    assert [r["result"] for r in out[:-1]] == ["still rejected"]  # the replayed one is skipped
    assert len(rows(LEDGER)) == 1


def test_drain_command_stores_the_inbox(storage_env, capsys):
    items = decode_http_body(json.dumps([report("13800000001")]).encode(), MessageType.SMS_REPORT).items
    now = time.monotonic()
    written = write_or_spill(storage().store, items, inline_deadline=now, deadline=now + 10)
    assert written.confirmed and written.spilled == 1 and len(rows(INBOX)) == 1
    code, [report_] = command(capsys, "drain")
    assert code == 0 and report_["drained"] == 1 and report_["stored"] == 1
    assert rows(INBOX) == [] and len(rows(LEDGER)) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90m", 1_000_000 - 5400), ("24h", 1_000_000 - 86400), ("2d", 1_000_000 - 172800)],
)
def test_since_spans(text, expected):
    assert parse_since(text, now=1_000_000) == expected * 1000


def test_since_dates_are_china_time_and_bad_ones_say_what_is_accepted(storage_env, capsys):
    assert parse_since("2026-12-01") == parse_since("2026-12-01 00:00") == 1_796_054_400_000  # 2026-11-30T16:00:00Z
    assert cli.main(["repair", "--since", "yesterday"]) == cli.EXIT_USAGE
    assert "give a span" in capsys.readouterr().err


def test_the_drain_timer_repairs_the_recent_ledger_when_asked(storage_env, fresh_instance):
    from sms_receipts.storage.inbox import DrainSettings
    from sms_receipts_dev.testing import events
    from sms_receipts_dev.testing.fc import fc_context

    from function_support import load_function

    assert (
        not DrainSettings().repairs_at(0)
        and DrainSettings(60).repairs_at(3600)
        and not DrainSettings(60).repairs_at(3660)
    )
    fresh_instance({**storage_env, "SMS_RECEIPTS_REPAIR_MINUTES": "1"})  # every minute's run
    store([report("13800000001")])
    [state] = rows(DELIVERY_STATE)
    delete(DELIVERY_STATE, (("biz_id", state["biz_id"]), ("phone_number", state["phone_number"])))
    answer = load_function("mns_receipt").handler(events.timer_event("drain", trigger_name="drain"), fc_context("d"))
    assert answer["repair"]["repaired"] == 1 and answer["repair"]["complete"]
    assert rows(DELIVERY_STATE) == [state]


def test_a_dead_letter_that_tablestore_still_refuses_stays_unmarked(storage_env, capsys):
    too_long = report("13800000009")
    too_long["biz_id"] = "9" * 2000  # over the 1 KB primary-key limit: dead-lettered when first stored
    items = decode_http_body(json.dumps([too_long]).encode(), MessageType.SMS_REPORT).items
    assert [o.outcome.value for o in storage().store.write(items).outcomes] == ["dead_lettered"]
    code, out = command(capsys, "replay")
    assert code == 0 and [r["result"] for r in out[:-1]] == ["still rejected"]
    assert "1024-byte limit" in out[0]["reason"]
    assert not [r for r in rows(DEAD_LETTER) if r.get("replayed_at")] and rows(LEDGER) == []
