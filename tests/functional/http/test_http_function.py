"""The HTTP receipt function end to end: FC 3.0 events in-process, and through a real HTTP server."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from sms_receipts.parsing import MessageType
from sms_receipts.storage import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE
from sms_receipts_dev.local.push import post_once, push
from sms_receipts_dev.testing.events import http_event
from sms_receipts_dev.testing.fc import decode_fc_response

from http_support import OTHER_TOKEN, ROOT, TOKEN, context

EXAMPLES = ROOT / "examples" / "http"
ACCEPTED = {"code": 0, "msg": "接收成功"}


def call(index, body, path="/SmsReport", token=TOKEN, method="POST", **kwargs):
    query = {"token": token} if token is not None else {}
    response = index.handler(http_event(body, path=path, method=method, query=query, **kwargs), context())
    status, _headers, data = decode_fc_response(response)
    return status, json.loads(data)


def rows(backend, table):
    return list(backend.scan(table))


def report(phone="13800000001", success=True, report_time="2026-11-25 10:00:05", biz_id="900619746936498440^0"):
    return {
        "phone_number": phone,
        "send_time": "2026-11-25 10:00:00",
        "report_time": report_time,
        "success": success,
        "err_code": "DELIVERED" if success else "UNDELIV",
        "err_msg": "",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": "o-1",
    }


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_every_receipt_type_is_stored_end_to_end(index, backend, example):
    body = (EXAMPLES / f"{example}.json").read_bytes()
    path = "/SmsReport" if example == "IntlSmsReport" else f"/{example}"  # the intl site's type name
    assert call(index, body, path=path) == (200, ACCEPTED)
    ledger = rows(backend, LEDGER)
    assert len(ledger) == len(json.loads(body))
    assert {row["message_type"] for row in ledger} == {MessageType(example).value}
    if example == "SmsReport":
        assert len(rows(backend, DELIVERY_STATE)) == 2
    elif example != "SmsUp":
        assert len(rows(backend, RECEIPT_STATE)) == 1


def test_a_duplicate_push_is_accepted_and_stored_once(index, backend):
    body = json.dumps([report(), report(phone="13800000002")])
    assert call(index, body) == (200, ACCEPTED)
    assert call(index, body) == (200, ACCEPTED)
    assert len(rows(backend, LEDGER)) == 2


def test_reports_of_one_message_pushed_out_of_order_keep_the_newest(index, backend):
    newer = report(success=False, report_time="2026-11-25 10:09:00")
    older = report(success=True, report_time="2026-11-25 10:00:05")
    assert call(index, json.dumps([newer]))[0] == 200
    assert call(index, json.dumps([older]))[0] == 200
    (state,) = rows(backend, DELIVERY_STATE)
    assert state["status"] == "failed"
    assert len(rows(backend, LEDGER)) == 2


@pytest.mark.slow
def test_a_ten_thousand_item_push(index, backend, reconfigure):
    # This size is about storage, not latency; 10,000 reports are about 2 MB.
    reconfigure(SMS_RECEIPTS_HTTP_DEADLINE_MS="60000", SMS_RECEIPTS_MAX_BODY_BYTES=str(4 * 1024 * 1024))
    body = json.dumps([report(phone=f"138{i:08d}", biz_id=f"b{i // 100}") for i in range(10_000)])
    assert call(index, body) == (200, ACCEPTED)
    assert len(rows(backend, LEDGER)) == 10_000
    assert len(rows(backend, DELIVERY_STATE)) == 10_000


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_missing_or_wrong_token_is_refused_and_nothing_stored(index, backend, token, caplog):
    with caplog.at_level("INFO"):
        assert call(index, json.dumps([report()]), token=token)[0] == 403
    assert rows(backend, LEDGER) == []
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_every_configured_token_is_accepted_for_rotation(index, backend):
    assert call(index, json.dumps([report()]), token=OTHER_TOKEN)[0] == 200


def test_no_configured_token_refuses_everything(index, backend, reconfigure):
    reconfigure(SMS_RECEIPTS_CALLBACK_TOKENS="")
    assert call(index, json.dumps([report()]))[0] == 403


def test_source_ip_allow_list(index, backend, reconfigure):
    reconfigure(SMS_RECEIPTS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.7")
    assert call(index, json.dumps([report()]), source_ip="203.0.113.9")[0] == 403
    assert rows(backend, LEDGER) == []
    assert call(index, json.dumps([report()]), source_ip="10.1.2.3")[0] == 200
    assert call(index, json.dumps([report(phone="13800000002")]), source_ip="192.0.2.7")[0] == 200


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_methods_other_than_post_are_refused(index, backend, method):
    assert call(index, json.dumps([report()]), method=method)[0] == 405
    assert rows(backend, LEDGER) == []


def test_health_answers_without_touching_storage(index, emulator):
    emulator.reset_counters()
    status, body = call(index, "", path="/health", method="GET", token=None)
    assert (status, body) == (200, {"status": "ok"})
    assert sum(emulator.requests.values()) == 0


def test_a_body_over_the_limit_is_refused(index, backend, reconfigure):
    reconfigure(SMS_RECEIPTS_MAX_BODY_BYTES="1000")
    assert call(index, json.dumps([report()] * 10))[0] == 413
    assert rows(backend, LEDGER) == []


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b"", b"\xff\xfe\x00garbage", b'[{"phone_number": "138', b'"a string"', b"[1, 2]"],
    ids=["not-json", "empty", "not-utf8", "truncated", "scalar", "not-objects"],
)
def test_malformed_bodies_are_accepted_and_dead_lettered_with_raw_bytes(index, backend, body):
    assert call(index, body) == (200, ACCEPTED)
    dead = rows(backend, DEAD_LETTER)
    assert dead, "the raw body must be kept"
    if len(dead) == 1 and body:
        assert bytes(dead[0]["raw"]) in (body, b"1")
    assert rows(backend, LEDGER) == []


def test_a_push_with_some_bad_items_stores_the_good_ones(index, backend):
    body = json.dumps([report(), {"biz_id": "x"}, report(phone="13800000002")])
    assert call(index, body) == (200, ACCEPTED)
    assert len(rows(backend, LEDGER)) == 2
    assert len(rows(backend, DEAD_LETTER)) == 1


def test_slow_storage_answers_500_before_700ms(index, backend, emulator):
    emulator.faults.slow_delay = 2.0
    emulator.faults.set(api="BatchWriteRow", slow=1.0)
    started = time.monotonic()
    status, body = call(index, json.dumps([report()]))
    elapsed = time.monotonic() - started
    assert status == 500 and isinstance(body["code"], int)
    assert elapsed < 0.7


def test_storage_faults_then_the_service_repush_store_everything_once(index, backend, emulator, gateway):
    url = f"{gateway.url}/SmsReport?token={TOKEN}"
    body = json.dumps([report(phone=f"138{i:08d}") for i in range(50)]).encode()
    emulator.faults.set(api="BatchWriteRow", server_busy=1.0)  # storage down for the first push
    attempts = []

    def recover_then_sleep(seconds):
        attempts.append(seconds)
        emulator.faults.clear()  # storage is back before the service's next push

    result = push(url, body, sleep=recover_then_sleep)
    assert [a.status for a in result.attempts] == [500, 200]
    assert attempts == [60.0]  # the service's first re-push comes after a minute
    assert result.accepted
    assert len(rows(backend, LEDGER)) == 50
    assert push(url, body, sleep=lambda s: None).accepted  # a later duplicate push changes nothing
    assert len(rows(backend, LEDGER)) == 50


def test_through_the_local_http_server(gateway, backend):
    body = (EXAMPLES / "SmsReport.json").read_bytes()
    attempt = post_once(f"{gateway.url}/sms-report?token={TOKEN}", body)
    assert attempt.status == 200 and json.loads(attempt.body) == ACCEPTED
    assert len(rows(backend, LEDGER)) == 2
    refused = post_once(f"{gateway.url}/SmsReport?token=nope", body)
    assert refused.status == 403
    non_utf8 = post_once(f"{gateway.url}/SmsReport?token={TOKEN}", b"\xff\xfe binary")
    assert non_utf8.status == 200
    assert any(bytes(r["raw"]) == b"\xff\xfe binary" for r in rows(backend, DEAD_LETTER))


def test_one_structured_log_line_per_push_with_masked_phones(index, backend, caplog):
    with caplog.at_level("INFO", logger="sms_receipts"):
        call(index, json.dumps([report(phone="13812345678"), report(phone="13812345678"), {"biz_id": "1"}]))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sms_receipts.http"]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "push" and line["status"] == 200 and line["message_type"] == "SmsReport"
    assert (line["stored"], line["duplicate"], line["dead_lettered"], line["failed"]) == (1, 1, 1, 0)
    assert isinstance(line["latency_ms"], float) and line["request_id"]
    assert "13812345678" not in json.dumps([r.getMessage() for r in caplog.records])


def test_the_wsgi_entry_point(index, backend):
    body = json.dumps([report()]).encode()
    captured = {}

    def start_response(status, headers):
        captured["status"], captured["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/SmsReport",
        "QUERY_STRING": f"token={TOKEN}",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(index.wsgi_handler(environ, start_response))
    assert captured["status"] == "200 OK" and json.loads(out) == ACCEPTED
    assert len(rows(backend, LEDGER)) == 1
    environ["QUERY_STRING"], environ["wsgi.input"] = "token=bad", io.BytesIO(body)
    index.application(environ, start_response)
    assert captured["status"] == "403 Forbidden"


def test_initialize_warms_the_client(index, function_instance):
    from tablestore import OTSClient

    assert function_instance.built() == ()
    index.initialize(context())
    assert {"storage", "receiver"} <= set(function_instance.built())
    storage = function_instance.storage()
    assert isinstance(storage.client, OTSClient)  # the client really exists, before any push
    assert function_instance.receiver().settings.tokens == (TOKEN, OTHER_TOKEN)
    assert call(index, json.dumps([report()])) == (200, ACCEPTED)
    assert function_instance.storage() is storage  # the push used it: no second client


def test_the_handler_module_is_thin():
    source = Path(ROOT / "functions" / "http_receipt" / "index.py").read_text()
    assert len([line for line in source.splitlines() if line.strip() and not line.startswith("#")]) < 20
