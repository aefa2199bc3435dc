"""The MNS emulator, driven by the real `aliyun-mns-sdk` (`mns.account.Account`) over loopback HTTP."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import signal
import socket
import threading
import time
import xml.etree.ElementTree as ET
from email.utils import formatdate

import pytest
from mns.mns_exception import MNSClientNetworkException, MNSExceptionBase, MNSServerException
from mns.queue import Message, QueueMeta

from sms_receipts_dev.emulators.credentials import (
    CredentialStore,
    ExpiredSecurityToken,
    InvalidSecurityToken,
    UnknownAccessKey,
)
from sms_receipts_dev.emulators.mns import FaultConfig, MnsEmulator, MnsState, QueueAttributes
from sms_receipts_dev.emulators.mns.auth import authorization
from sms_receipts_dev.emulators.mns.models import OutgoingMessage

from helpers import standalone_emulator

RECEIPT = {
    "phone_number": "13800000000",
    "success": True,
    "biz_id": "932702304080415357^0",
    "err_code": "DELIVERED",
    "err_msg": "用户接收成功",
    "send_time": "2026-11-25 10:00:00",
}


PEEK = "/queues/receipts/messages?peekonly=true"  # a PeekMessage target for hand-made requests


def server_error(call, *args, **kwargs) -> MNSServerException:
    with pytest.raises(MNSServerException) as caught:
        call(*args, **kwargs)
    return caught.value


def raw(
    mns: MnsEmulator,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    key: str | None = None,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
    sign: bool = True,
):
    """Send one signed request by hand; returns (status, {element: text} of the reply's root)."""
    sent = {"x-mns-version": "2015-06-06", "date": formatdate(usegmt=True), **(headers or {})}
    if body:
        sent["content-type"] = "text/xml;charset=UTF-8"
    if sign:
        sent["authorization"] = authorization(
            key or mns.access_key_id, secret or mns.access_key_secret, method, sent, target
        )
    connection = http.client.HTTPConnection("127.0.0.1", mns.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if not payload:
        return response.status, {}
    root = ET.fromstring(payload)
    return response.status, {element.tag.rsplit("}", 1)[-1]: element.text for element in root}


def error_status(mns: MnsEmulator, method: str, target: str, body: bytes = b"", **kwargs) -> tuple[int, str]:
    status, fields = raw(mns, method, target, body, **kwargs)
    return status, fields.get("Code", "")


# ---- queues ---------------------------------------------------------------------------------------


def test_create_queue_with_every_attribute(mns, make_queue):
    queue = make_queue(
        "Alicom-Queue-1234567890123456-SmsReport",
        vis_timeout=45,
        max_msg_size=2048,
        msg_ttl=3600,
        delay_sec=0,
        polling_wait_sec=2,
    )
    stored = mns.state.queue("Alicom-Queue-1234567890123456-SmsReport")
    assert stored.attributes == QueueAttributes(
        visibility_timeout=45,
        maximum_message_size=2048,
        message_retention_period=3600,
        delay_seconds=0,
        polling_wait_seconds=2,
    )
    assert abs(stored.create_time - time.time()) < 60

    # the same attributes again: 204; other attributes: 409 QueueAlreadyExist
    assert queue.create(
        QueueMeta(vis_timeout=45, max_msg_size=2048, msg_ttl=3600, delay_sec=0, polling_wait_sec=2)
    ).endswith("/queues/Alicom-Queue-1234567890123456-SmsReport")
    assert server_error(queue.create, QueueMeta(vis_timeout=46)).type == "QueueAlreadyExist"
    assert error_status(mns, "PUT", "/queues/Alicom-Queue-1234567890123456-SmsReport") == (409, "QueueAlreadyExist")
    assert list(mns.state.queues) == ["Alicom-Queue-1234567890123456-SmsReport"]


@pytest.mark.parametrize(
    "name, meta, code",
    [
        ("receipts", QueueMeta(msg_ttl=59), "InvalidArgument"),
        ("receipts", QueueMeta(vis_timeout=43201), "InvalidArgument"),
        ("receipts", QueueMeta(polling_wait_sec=31), "InvalidArgument"),
        ("receipts", QueueMeta(max_msg_size=1023), "InvalidArgument"),
        ("1-starts-with-a-digit", QueueMeta(), "InvalidQueueName"),
        ("x" * 257, QueueMeta(), "QueueNameLengthError"),
    ],
)
def test_create_queue_rejects_invalid_definitions(mns, name, meta, code):
    assert server_error(mns.account().get_queue(name).create, meta).type == code
    assert mns.state.queues == {}


def test_create_queue_checks_what_the_sdk_does_not(mns):
    body = (
        b'<?xml version="1.0"?><Queue xmlns="http://mns.aliyuncs.com/doc/v1/"><VisibilityTimeout>0'
        b"</VisibilityTimeout></Queue>"
    )
    status, fields = raw(mns, "PUT", "/queues/receipts", body)
    assert (status, fields["Code"], fields["Message"]) == (
        400,
        "InvalidArgument",
        "The value of VisibilityTimeout should between 1 and 43200 seconds.",
    )
    assert error_status(mns, "PUT", "/queues/receipts", b"<Queue><Colour>blue</Colour></Queue>") == (
        400,
        "InvalidArgument",
    )
    assert error_status(mns, "PUT", "/queues/receipts", b"<Queue><unclosed>") == (400, "MalformedXML")
    assert mns.state.queues == {}


# ---- messages -------------------------------------------------------------------------------------


def test_send_keeps_base64_bodies_opaque(mns, make_queue):
    queue = make_queue()
    text = json.dumps(RECEIPT, ensure_ascii=False)
    sent = queue.send_message(Message(text))
    wire_body = base64.b64encode(text.encode("utf-8")).decode("ascii")  # what the SDK put on the wire
    assert sent.message_body_md5 == hashlib.md5(wire_body.encode("ascii")).hexdigest().upper()
    (stored,) = mns.state.message_views("receipts")
    assert (stored.body, stored.message_id) == (wire_body, sent.message_id)

    received = queue.receive_message(wait_seconds=1)
    assert received.message_body == text.encode("utf-8")  # bytes: the SDK base64-decodes
    assert json.loads(received.message_body.decode("utf-8"))["err_msg"] == "用户接收成功"
    assert (received.message_id, received.dequeue_count, received.priority) == (sent.message_id, 1, 8)

    queue.set_encoding(False)  # raw text bodies, Chinese included, also round-trip
    queue.send_message(Message("回执 <&> 原文"))
    assert queue.receive_message(wait_seconds=1).message_body == "回执 <&> 原文"


def test_batch_receive_sixteen(make_queue):
    queue = make_queue()
    texts = [
        json.dumps({**RECEIPT, "out_id": str(number), "err_msg": f"第{number}条"}, ensure_ascii=False)
        for number in range(20)
    ]
    sent = [queue.send_message(Message(text)) for text in texts]
    assert len({message.message_id for message in sent}) == 20

    first = queue.batch_receive_message(16, wait_seconds=1)
    assert [message.message_body.decode("utf-8") for message in first] == texts[:16]
    assert {message.dequeue_count for message in first} == {1}
    assert len({message.receipt_handle for message in first}) == 16
    second = queue.batch_receive_message(16, wait_seconds=1)
    assert [message.message_body.decode("utf-8") for message in second] == texts[16:]
    assert server_error(queue.batch_receive_message, 17).type == "InvalidArgument"


def test_priority_then_enqueue_order(make_queue):
    queue = make_queue()
    queue.set_encoding(False)
    for message in [Message("low", priority=16), Message("default"), Message("high", priority=1), Message("again")]:
        queue.send_message(message)
    assert [message.message_body for message in queue.batch_receive_message(16, 0)] == [
        "high",
        "default",
        "again",
        "low",
    ]


def test_long_poll_returns_as_soon_as_a_message_arrives(mns, make_queue):
    make_queue()
    result: dict = {}

    def consume() -> None:
        consumer = mns.account().get_queue("receipts")  # its own connection: an Account is not thread-safe
        started = time.monotonic()
        result["messages"] = consumer.batch_receive_message(16, wait_seconds=20)
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.3)
    mns.account().get_queue("receipts").send_message(Message("arrived"))
    thread.join(timeout=15)
    assert not thread.is_alive()
    assert [message.message_body for message in result["messages"]] == [b"arrived"]
    assert 0.2 < result["seconds"] < 10


def test_empty_queue_is_message_not_exist_after_the_wait(mns, make_queue):
    queue = make_queue()
    started = time.monotonic()
    error = server_error(queue.batch_receive_message, 16, wait_seconds=1)
    assert (error.type, error.message) == ("MessageNotExist", "Message not exist.")
    assert time.monotonic() - started >= 0.9
    assert server_error(queue.receive_message).type == "MessageNotExist"  # PollingWaitSeconds 0: at once
    assert server_error(queue.peek_message).type == "MessageNotExist"
    assert error_status(mns, "GET", "/queues/receipts/messages?numOfMessages=16&waitseconds=0") == (
        404,
        "MessageNotExist",
    )


def test_missing_queue_is_queue_not_exist(mns):
    queue = mns.account().get_queue("missing")
    for call, args in [
        (queue.send_message, (Message("x"),)),
        (queue.batch_receive_message, (16, 0)),
        (queue.delete_message, ("1-MS0xLTEtYQ==",)),
        (queue.receive_message, (0,)),
        (queue.peek_message, ()),
        (queue.batch_delete_message, (["1-MS0xLTEtYQ=="],)),
    ]:
        assert server_error(call, *args).type == "QueueNotExist"


def test_delete_and_batch_delete(mns, make_queue):
    queue = make_queue()
    for number in range(4):
        queue.send_message(Message(f"m{number}"))
    first, second, third, fourth = queue.batch_receive_message(16, 0)
    queue.delete_message(first.receipt_handle)
    assert server_error(queue.delete_message, first.receipt_handle).type == "MessageNotExist"
    queue.batch_delete_message([second.receipt_handle, third.receipt_handle])
    assert [view.body for view in mns.state.message_views("receipts")] == [base64.b64encode(b"m3").decode("ascii")]

    # one bad handle fails on its own; the good one is deleted
    error = server_error(queue.batch_delete_message, ["not-a-handle", fourth.receipt_handle, first.receipt_handle])
    assert error.type == "ReceiptHandleError"
    assert [(item["ErrorCode"], item["ReceiptHandle"]) for item in error.sub_errors] == [
        ("ReceiptHandleError", "not-a-handle"),
        ("MessageNotExist", first.receipt_handle),
    ]
    assert mns.state.message_views("receipts") == []
    assert server_error(queue.batch_delete_message, ["1-x"] * 17).type == "InvalidArgument"

    handles = b"".join(b"<ReceiptHandle>%s</ReceiptHandle>" % handle.encode() for handle in ("bad", "1-MS0xLTEtYQ=="))
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><ReceiptHandles xmlns="http://mns.aliyuncs.com/doc/v1/">'
        + handles
        + b"</ReceiptHandles>"
    )
    assert raw(mns, "DELETE", "/queues/receipts/messages", body)[0] == 404
    assert error_status(mns, "DELETE", "/queues/receipts/messages?ReceiptHandle=garbage") == (400, "ReceiptHandleError")


def test_visibility_timeout_redelivers_with_a_new_handle(mns, make_queue):
    queue = make_queue(vis_timeout=2)  # 2 s, not 1: room for a stalled test machine before the next check
    sent = queue.send_message(Message("receipt"))
    first = queue.receive_message(wait_seconds=0)
    assert first.dequeue_count == 1 and first.next_visible_time - first.first_dequeue_time == 2000
    assert server_error(queue.receive_message, wait_seconds=0).type == "MessageNotExist"  # invisible

    second = queue.receive_message(wait_seconds=5)  # long poll: returns when the message is visible again
    assert (second.message_id, second.dequeue_count) == (sent.message_id, 2)
    assert second.receipt_handle != first.receipt_handle
    assert second.first_dequeue_time == first.first_dequeue_time
    assert second.enqueue_time == first.enqueue_time
    error = server_error(queue.delete_message, first.receipt_handle)  # the stale handle
    assert (error.type, error.message) == ("MessageNotExist", "Message not exist.")
    queue.delete_message(second.receipt_handle)
    assert server_error(queue.receive_message, wait_seconds=0).type == "MessageNotExist"


def test_visibility_on_a_test_clock():
    now = [1_800_000_000.0]
    with MnsEmulator(clock=lambda: now[0]) as mns:
        mns.create_queue("receipts", visibility_timeout=30)
        queue = mns.account().get_queue("receipts")
        queue.send_message(Message("receipt"))
        first = queue.receive_message()
        assert (first.enqueue_time, first.first_dequeue_time, first.next_visible_time) == (
            1_800_000_000_000,
            1_800_000_000_000,
            1_800_000_030_000,
        )

        now[0] += 29
        assert server_error(queue.receive_message).type == "MessageNotExist"  # invisible until +30 s
        now[0] += 1
        second = queue.receive_message()  # visible again: a second delivery with a new handle
        assert (second.message_id, second.dequeue_count) == (first.message_id, 2)
        assert (second.first_dequeue_time, second.next_visible_time) == (1_800_000_000_000, 1_800_000_060_000)
        assert server_error(queue.delete_message, first.receipt_handle).type == "MessageNotExist"
        queue.delete_message(second.receipt_handle)
        assert mns.state.message_views("receipts") == []


def test_peek_changes_nothing(make_queue):
    queue = make_queue()
    queue.send_message(Message("receipt"))
    peeked = queue.peek_message()
    assert (peeked.message_body, peeked.dequeue_count) == (b"receipt", 0)
    assert queue.receive_message().dequeue_count == 1


def test_delayed_messages_and_retention_in_the_model():
    now = [1_000.0]
    state = MnsState(clock=lambda: now[0])
    state.create_queue("q", QueueAttributes(message_retention_period=60))
    state.send_message("q", OutgoingMessage("later", delay_seconds=10))
    state.send_message("q", OutgoingMessage("now"))
    assert state.peek_message("q").body == "now"  # "later" is delayed
    assert [view.body for view in state.receive_messages("q", 16, 0)] == ["now"]
    now[0] += 10
    assert [view.body for view in state.receive_messages("q", 16, 0)] == ["later"]
    assert [view.dequeue_count for view in state.message_views("q")] == [1, 1]
    now[0] += 50
    assert state.message_views("q") == []  # past MessageRetentionPeriod


# ---- authentication and permissions ---------------------------------------------------------------


def test_wrong_credentials_are_rejected(mns, make_queue):
    make_queue()
    wrong = mns.account(access_key_secret="wrong-secret").get_queue("receipts")
    error = server_error(wrong.send_message, Message("x"))
    assert error.type == "SignatureDoesNotMatch"
    assert server_error(mns.account(access_key_id="LTAI-unknown").get_queue("receipts").peek_message).type == (
        "InvalidAccessKeyId"
    )
    assert error_status(mns, "GET", PEEK, secret="wrong") == (403, "SignatureDoesNotMatch")
    assert error_status(mns, "GET", PEEK, sign=False) == (400, "MissingAuthorizationHeader")
    assert error_status(mns, "GET", PEEK, headers={"date": "Wed, 25 Nov 2020 07:00:00 GMT"}) == (408, "TimeExpired")
    assert error_status(
        mns,
        "POST",
        "/queues/receipts/messages",
        b"<Message><MessageBody>x</MessageBody></Message>",
        headers={"content-md5": "AAAAAAAAAAAAAAAAAAAAAA=="},
    ) == (400, "InvalidDegist")
    assert mns.state.message_views("receipts") == []


def test_lax_emulator_skips_signature_checks_but_not_permissions():
    with MnsEmulator(verify_signatures=False) as lax:
        lax.create_queue("receipts")
        assert lax.account("anyone", "any-secret").get_queue("receipts").send_message(Message("x")).message_id
        lax.deny(access_key_id="anyone")
        assert server_error(lax.account("anyone", "x").get_queue("receipts").peek_message).type == (
            "AccessDeniedByRamPolicy"
        )


def test_credential_store_rules():
    now = [1_000.0]
    store = CredentialStore({"LTAI-a": "secret-a"}, token_key="k", clock=lambda: now[0])
    assert store.resolve("LTAI-a", "a-stray-token").access_key_secret == "secret-a"  # long-term keys ignore it
    minted = store.issue(10, scope=["q1"])
    elsewhere = CredentialStore(token_key="k", clock=lambda: now[0])  # same key, nothing registered
    assert elsewhere.resolve(minted.access_key_id, minted.security_token) == minted
    with pytest.raises(InvalidSecurityToken):
        elsewhere.resolve("STS.someone-else", minted.security_token)
    with pytest.raises(InvalidSecurityToken):
        CredentialStore(token_key="other").resolve(minted.access_key_id, minted.security_token)
    with pytest.raises(UnknownAccessKey):
        store.resolve("LTAI-b")
    now[0] += 10
    with pytest.raises(ExpiredSecurityToken):
        store.resolve(minted.access_key_id, minted.security_token)
    now[0] += 61
    store.issue(10)  # forgets long-expired minted credentials; their tokens still read as expired
    assert store.get(minted.access_key_id) is None
    with pytest.raises(ExpiredSecurityToken):
        store.resolve(minted.access_key_id, minted.security_token)
    with pytest.raises(ValueError):
        store.issue(0)


def test_registered_temporary_credentials(mns, make_queue):
    make_queue()
    mns.allow_credentials("STS.registered", "temporary-secret", "token-1", time.time() + 60)
    mns.allow_credentials("STS.expired", "temporary-secret", "token-2", time.time() - 1)
    assert mns.account("STS.registered", "temporary-secret", "token-1").get_queue("receipts").send_message(Message("x"))
    for key, token, code in [
        ("STS.registered", "forged", "InvalidSecurityToken"),
        ("STS.registered", "", "InvalidSecurityToken"),
        ("STS.expired", "token-2", "SecurityTokenExpired"),
        ("STS.unknown", "CAISforged.token", "InvalidSecurityToken"),
    ]:
        queue = mns.account(key, "temporary-secret", token).get_queue("receipts")
        assert server_error(queue.peek_message).type == code
    assert error_status(
        mns,
        "GET",
        PEEK,
        key="STS.expired",
        secret="temporary-secret",
        headers={"security-token": "token-2"},
    ) == (403, "SecurityTokenExpired")


def test_denials_are_access_denied_by_ram_policy(mns, make_queue):
    queue = make_queue("Alicom-Queue-1234567890123456-SmsUp")
    make_queue("other").send_message(Message("x"))
    mns.deny(queue="Alicom-Queue-1234567890123456-SmsUp")
    error = server_error(queue.batch_receive_message, 16, 0)
    assert error.type == "AccessDeniedByRamPolicy"
    assert error.message.startswith("The request is denied by ram policy.")
    assert (
        "mns:BatchReceiveMessage on acs:mns:cn-hangzhou:1943695596114318:/queues/"
        "Alicom-Queue-1234567890123456-SmsUp/messages" in error.message
    )
    assert error_status(mns, "GET", "/queues/Alicom-Queue-1234567890123456-SmsUp/messages?peekonly=true") == (
        403,
        "AccessDeniedByRamPolicy",
    )
    assert mns.account().get_queue("other").peek_message().message_body == b"x"  # other queues unaffected

    mns.clear_denials()
    mns.deny(api="DeleteMessage", access_key_id=mns.access_key_id)  # may receive, may not delete
    received = mns.account().get_queue("other").receive_message()
    assert server_error(mns.account().get_queue("other").delete_message, received.receipt_handle).type == (
        "AccessDeniedByRamPolicy"
    )


# ---- faults, counters, lifecycle ------------------------------------------------------------------


def test_busy_and_timeout_faults_apply_nothing(mns, make_queue):
    queue = make_queue()
    mns.faults.set(api="SendMessage", server_busy=1.0)
    assert server_error(queue.send_message, Message("x")).type == "InternalError"
    assert error_status(
        mns, "POST", "/queues/receipts/messages", b"<Message><MessageBody>x</MessageBody></Message>"
    ) == (500, "InternalError")
    mns.faults.set(api="SendMessage", server_busy=0.0, timeout=1.0)
    with pytest.raises(MNSClientNetworkException):  # a 504 page from the gateway, not MNS XML
        queue.send_message(Message("x"))
    assert mns.state.message_views("receipts") == []
    mns.faults.clear()
    queue.send_message(Message("x"))
    assert mns.requests["SendMessage"] == 4  # faulted requests are counted too


def test_dropped_connections_and_lost_responses(mns, make_queue):
    queue = make_queue()
    mns.faults.set(api="SendMessage", drop=1.0)
    with pytest.raises(MNSClientNetworkException):
        queue.send_message(Message("x"))
    assert mns.state.message_views("receipts") == []
    assert mns.requests["SendMessage"] == 2  # the SDK resends once when the connection drops

    mns.faults.set(api="SendMessage", drop=0.0, lost_response=1.0)
    with pytest.raises(MNSClientNetworkException):
        queue.send_message(Message("x"))
    assert len(mns.state.message_views("receipts")) == 2  # applied, and applied again by the SDK's resend

    mns.faults.clear()
    mns.faults.set(api="BatchReceiveMessage", lost_response=1.0)
    with pytest.raises(MNSClientNetworkException):
        queue.batch_receive_message(16, 0)
    assert {view.dequeue_count for view in mns.state.message_views("receipts")} == {1}  # taken, now invisible


def test_slow_fault_delays_but_succeeds(mns, make_queue):
    queue = make_queue()
    mns.faults.slow_delay = 0.3
    mns.faults.set(api="SendMessage", slow=1.0)
    started = time.monotonic()
    queue.send_message(Message("x"))
    assert time.monotonic() - started >= 0.3
    assert len(mns.state.message_views("receipts")) == 1


def test_request_counter_and_unsupported_apis(mns, make_queue):
    queue = make_queue()
    mns.reset_counters()
    queue.send_message(Message("x"))
    queue.batch_receive_message(16, 0)
    server_error(queue.batch_receive_message, 16, 0)
    error = server_error(mns.account().get_topic("notifications").get_attributes)
    assert (error.type, error.message) == (
        "InvalidRequestURL",
        "Http request URL format invalid. The MNS emulator does not implement GET /topics/notifications.",
    )
    assert error_status(mns, "GET", "/queues/receipts/messages?colour=blue") == (400, "InvalidQueryString")
    assert mns.requests == {"SendMessage": 1, "BatchReceiveMessage": 2, "Unsupported": 1, "ReceiveMessage": 1}
    mns.reset_counters()
    assert mns.requests == {}


@pytest.mark.parametrize(
    "api, call, request_line",
    [
        ("ListQueue", lambda account, queue, handle: account.list_queue(), "GET /queues"),
        ("GetQueueAttributes", lambda account, queue, handle: queue.get_attributes(), "GET /queues/receipts"),
        (
            "SetQueueAttributes",
            lambda account, queue, handle: queue.set_attributes(QueueMeta(vis_timeout=5)),
            "PUT /queues/receipts",
        ),
        ("DeleteQueue", lambda account, queue, handle: queue.delete(), "DELETE /queues/receipts"),
        (
            "BatchSendMessage",
            lambda account, queue, handle: queue.batch_send_message([Message("x")]),
            "POST /queues/receipts/messages",
        ),
        (
            "BatchPeekMessage",
            lambda account, queue, handle: queue.batch_peek_message(16),
            "GET /queues/receipts/messages",
        ),
        (
            "ChangeMessageVisibility",
            lambda account, queue, handle: queue.change_message_visibility(handle, 60),
            "PUT /queues/receipts/messages",
        ),
    ],
)
def test_apis_nothing_uses_fail_loudly_through_the_sdk(mns, make_queue, api, call, request_line):
    queue = make_queue()
    queue.send_message(Message("receipt"))
    held = queue.receive_message()
    before = mns.state.message_views("receipts")
    mns.reset_counters()
    with pytest.raises(MNSExceptionBase) as caught:
        call(mns.account(), queue, held.receipt_handle)
    error = caught.value
    assert (error.type, error.message) == (
        "InvalidRequestURL",
        f"Http request URL format invalid. The MNS emulator does not implement {api} ({request_line}).",
    )
    assert mns.requests == {"Unsupported": 1}
    assert mns.state.message_views("receipts") == before  # nothing changed
    assert mns.state.queue("receipts").attributes == QueueAttributes()


def test_stop_ends_long_polls_and_leaves_nothing_running():
    threads_before = set(threading.enumerate())
    mns = MnsEmulator().start()
    port = mns.port
    mns.create_queue("receipts")
    server_error(mns.account().get_queue("receipts").peek_message)  # leaves an idle keep-alive connection
    outcome: list = []

    def poll() -> None:
        try:
            mns.account().get_queue("receipts").batch_receive_message(16, wait_seconds=30)
        except (MNSServerException, MNSClientNetworkException) as error:
            outcome.append(error)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    mns.stop()
    assert time.monotonic() - started < 10
    poller.join(timeout=10)
    assert outcome and not poller.is_alive()
    assert not mns.running
    assert set(threading.enumerate()) - threads_before == set()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    mns.stop()  # idempotent


def test_data_dir_keeps_queues_and_messages_across_restarts(tmp_path):
    with MnsEmulator(data_dir=tmp_path) as first:
        first.create_queue("receipts", visibility_timeout=60, polling_wait_seconds=1)
        queue = first.account().get_queue("receipts")
        for text in ("一", "二", "三"):
            queue.send_message(Message(text))
        held = queue.receive_message()  # in flight across the restart
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mns.sqlite3"]  # stop() folded the WAL in

    with MnsEmulator(data_dir=tmp_path) as second:
        queue = second.account().get_queue("receipts")
        attributes = second.state.queue("receipts").attributes
        assert (attributes.visibility_timeout, attributes.polling_wait_seconds) == (60, 1)
        assert [message.message_body.decode("utf-8") for message in queue.batch_receive_message(16)] == ["二", "三"]
        queue.delete_message(held.receipt_handle)  # the handle survived with its message
        second.create_queue("later")
    with MnsEmulator(data_dir=tmp_path) as third:
        assert sorted(third.state.queues) == ["later", "receipts"]
        assert [view.dequeue_count for view in third.state.message_views("receipts")] == [1, 1]


def test_fault_config_is_the_shared_one():
    from sms_receipts_dev.emulators import faults
    from sms_receipts_dev.emulators.tablestore import FaultConfig as TablestoreFaultConfig

    assert FaultConfig is faults.FaultConfig is TablestoreFaultConfig


def test_shared_credential_store_and_port_zero():
    store = CredentialStore({"LTAI-extra": "extra-secret"})
    with MnsEmulator(credentials=store) as mns:
        assert mns.port > 0 and mns.endpoint == f"http://127.0.0.1:{mns.port}"
        mns.create_queue("receipts")
        assert mns.account("LTAI-extra", "extra-secret").get_queue("receipts").send_message(Message("x"))
        assert store.get(mns.access_key_id) is not None


# ---- standalone command ---------------------------------------------------------------------------


def test_standalone_main_prints_connection_json_and_stops_on_sigterm(tmp_path):
    with standalone_emulator(
        "mns", ["--port", "0", "--data-dir", str(tmp_path), "--queue", "receipts", "--seed", "3"]
    ) as (process, info):
        assert set(info) == {"endpoint", "access_key_id", "access_key_secret", "account_id", "region", "queues"}
        assert info["endpoint"].startswith("http://127.0.0.1:") and info["queues"] == ["receipts"]
        from mns.account import Account

        queue = Account(info["endpoint"], info["access_key_id"], info["access_key_secret"]).get_queue("receipts")
        queue.send_message(Message("persisted"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    with MnsEmulator(data_dir=tmp_path) as restarted:
        assert [view.body for view in restarted.state.message_views("receipts")] == [
            base64.b64encode(b"persisted").decode("ascii")
        ]
