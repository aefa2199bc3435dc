"""The seam to the `tablestore` SDK: who installs the fast serializer, what falls back to the SDK's,
per-call timeouts under threads, and the SDK's log noise."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tablestore import INF_MAX, INF_MIN, PK_AUTO_INCR, BatchWriteRowRequest, PutRowItem, Row, TableInBatchWriteRowItem
from tablestore.encoder import OTSProtoBufferEncoder
from tablestore.plainbuffer.plain_buffer_builder import PlainBufferBuilder

from sms_receipts.parsing import MessageType, decode_http_body
from sms_receipts.storage import BackendError, Storage, StorageSettings, plainbuffer
from sms_receipts.storage.plan import plan_writes
from sms_receipts.storage.tablestore import TablestoreBackend, _condition, make_client
from sms_receipts_dev.emulators.tablestore import FaultConfig, TablestoreEmulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@pytest.fixture
def sdks_own():
    """The SDK's own serializers on the class for the test (as in a fresh process), then as before."""
    saved = {name: PlainBufferBuilder.__dict__[name] for name in ("serialize_for_put_row", "serialize_column_value")}
    PlainBufferBuilder.serialize_for_put_row = staticmethod(plainbuffer.sdk_serialize_for_put_row)
    PlainBufferBuilder.serialize_column_value = staticmethod(plainbuffer.sdk_serialize_column_value)
    yield
    for name, value in saved.items():
        setattr(PlainBufferBuilder, name, value)


def handle_on(emulator) -> Storage:
    info = emulator.connection_info()
    settings = StorageSettings(
        info["endpoint"],
        info["instance_name"],
        table_prefix=f"t{uuid.uuid4().hex[:8]}_",
        access_key_id=info["access_key_id"],
        access_key_secret=info["access_key_secret"],
        socket_timeout=10.0,
    )
    handle = Storage(settings)
    handle.backend.create_missing_tables()
    return handle


def reports(count: int) -> bytes:
    return json.dumps(
        [
            {
                "phone_number": f"138{i:08d}",
                "send_time": "2026-11-25 10:00:00",
                "report_time": f"2026-11-25 10:00:{i % 60:02d}",
                "success": i % 3 != 0,
                "err_code": "DELIVERED" if i % 3 else "UNDELIV",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": f"90061974693649844{i % 10}^0",
                "out_id": f"order-{i}",
            }
            for i in range(count)
        ],
        ensure_ascii=False,
    ).encode()


def outcome(function, *args):
    """What a serializer returns (type and bytes) or raises (type and message)."""
    try:
        result = function(*args)
    except Exception as error:  # noqa: BLE001 - the outcome is compared, whatever it is
        return ("raises", type(error), str(error))
    return ("returns", type(result), bytes(result))


# ---- installed at the composition root, once, on the verified SDK --------------------------------


def test_the_verified_version_is_the_pinned_one():
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as requirements:
        pins = requirements.read().splitlines()
    assert f"tablestore=={plainbuffer.VERIFIED_SDK_VERSION}" in pins
    assert importlib.metadata.version("tablestore") == plainbuffer.VERIFIED_SDK_VERSION


def test_building_the_store_installs_it_and_a_receipt_takes_the_fast_path(sdks_own, emulator):
    emulator.faults.clear()
    assert not plainbuffer.is_installed()
    handle = handle_on(emulator)
    assert plainbuffer.is_installed()
    assert PlainBufferBuilder.serialize_column_value is plainbuffer.serialize_column_value

    decoded = decode_http_body(reports(30), MessageType.SMS_REPORT)
    before = plainbuffer.fallbacks()
    result = handle.store.write(decoded.items, decoded.rejected)
    assert result.confirmed and result.counts["stored"] == 30
    assert result.serializer_fallbacks == 0
    assert plainbuffer.fallbacks() == before  # every row and condition value went the fast way


def test_a_dead_lettered_push_takes_the_fast_path_too(sdks_own, emulator):
    emulator.faults.clear()
    handle = handle_on(emulator)
    decoded = decode_http_body('[{"phone_number": 1}, "x", {"biz_id": "中"}]'.encode(), MessageType.SMS_REPORT)
    assert decoded.rejected
    result = handle.store.write(decoded.items, decoded.rejected)
    assert result.confirmed and result.counts["dead_lettered"] == len(decoded.rejected)
    assert result.serializer_fallbacks == 0


def test_another_sdk_version_keeps_the_sdks_own_and_says_so(sdks_own, emulator, monkeypatch, caplog):
    emulator.faults.clear()
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "6.5.0" if name == "tablestore" else real_version(name)
    )
    with caplog.at_level(logging.WARNING, logger="sms_receipts"):
        handle = handle_on(emulator)
    assert not plainbuffer.is_installed()
    assert PlainBufferBuilder.serialize_for_put_row is plainbuffer.sdk_serialize_for_put_row
    assert PlainBufferBuilder.serialize_column_value is plainbuffer.sdk_serialize_column_value
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "6.5.0" in message and plainbuffer.VERIFIED_SDK_VERSION in message and "slower" in message

    decoded = decode_http_body(reports(5), MessageType.SMS_REPORT)
    result = handle.store.write(decoded.items)  # still correct, through the SDK's own serializer
    assert result.confirmed and result.counts["stored"] == 5


def test_installing_is_refused_when_the_sdk_version_is_unknown(sdks_own, monkeypatch, caplog):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    with caplog.at_level(logging.WARNING, logger="sms_receipts"):
        assert plainbuffer.install_fast_put_row_serializer() is False
    assert not plainbuffer.is_installed()
    assert "unknown" in caplog.records[-1].getMessage()


# ---- falling back: only for what the fast path declares unsupported -------------------------------


def project_rows():
    decoded = decode_http_body(reports(100), MessageType.SMS_REPORT)
    rows = plan_writes(decoded.items, decoded.rejected, received_at=1_764_036_000_000).rows
    broken = decode_http_body(b'[{"phone_number": 1}, "x"]', MessageType.SMS_REPORT)
    return rows + plan_writes([], broken.rejected, received_at=1_764_036_000_001).rows


def test_the_projects_rows_and_conditions_never_fall_back():
    before = plainbuffer.fallbacks()
    for row in project_rows():
        plainbuffer.serialize_for_put_row(list(row.primary_key), list(row.columns))
        condition = _condition(row.condition).get_column_condition()
        if condition is not None:
            plainbuffer.serialize_column_value(condition.get_column_value())
    assert plainbuffer.fallbacks() == before


def test_an_unsupported_row_falls_back_once_and_is_counted():
    before = plainbuffer.fallbacks()
    assert outcome(plainbuffer.serialize_for_put_row, [("id", INF_MIN)], []) == outcome(
        plainbuffer.sdk_serialize_for_put_row, [("id", INF_MIN)], []
    )
    assert plainbuffer.fallbacks() == before + 1
    with pytest.raises(Exception) as raised:
        plainbuffer.serialize_column_value(None)
    assert "Unsupported column type" in str(raised.value)
    assert plainbuffer.fallbacks() == before + 2


def test_a_bug_in_the_fast_path_is_raised_not_hidden(monkeypatch):
    def broken(primary_key, attribute_columns):
        raise KeyError("a bug")

    monkeypatch.setattr(plainbuffer, "_write_row", broken)
    before = plainbuffer.fallbacks()
    with pytest.raises(KeyError, match="a bug"):
        plainbuffer.serialize_for_put_row([("id", "x")], [("a", 1)])
    assert plainbuffer.fallbacks() == before


@pytest.mark.parametrize(
    ("primary_key", "attribute_columns"),
    [
        ([("id", "x")], [("a", 2**63)]),  # struct.error from the SDK
        ([("id", 2**63)], [("a", 1)]),
        ([("id", "x")], [("a", 1, -(2**63) - 1)]),
        ([("id", "x")], [("a", "\ud800")]),  # UnicodeEncodeError from the SDK
        ([("id", "\ud800")], []),
        ([("id", "x")], [("a", 2**63), ("b", None)]),  # the SDK checks types first: OTSClientError
        ([("id", "x")], [("a", "\ud800"), ("b", [1])]),
        ([("id", 2**63)], [("a", None)]),
        ([("id", "x")], [("a", 2**63), ("b",)]),  # the SDK's IndexError
        ([("id", "x")], [([1], "x")]),  # an unhashable name
        ([("id", "x")], [({}, 1)]),
        ([([1], "x")], []),
    ],
)
def test_values_the_sdk_rejects_raise_exactly_as_the_sdk_raises(primary_key, attribute_columns):
    expected = outcome(plainbuffer.sdk_serialize_for_put_row, primary_key, attribute_columns)
    assert expected[0] == "raises"
    assert outcome(plainbuffer.serialize_for_put_row, primary_key, attribute_columns) == expected


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, "\ud800", None, [1], memoryview(b"x")])
def test_condition_values_the_sdk_rejects_raise_exactly_as_the_sdk_raises(value):
    expected = outcome(plainbuffer.sdk_serialize_column_value, value)
    assert expected[0] == "raises"
    assert outcome(plainbuffer.serialize_column_value, value) == expected


good_values = (
    st.text(max_size=20)
    | st.integers(INT64_MIN, INT64_MAX)
    | st.booleans()
    | st.binary(max_size=20)
    | st.binary(max_size=20).map(bytearray)
    | st.floats()
)
rejected_values = st.sampled_from([2**63, -(2**63) - 1, 2**70, "\ud800", "a\udfffb"])
unsupported_values = st.sampled_from([None, [1], {"a": 1}, INF_MIN, INF_MAX, PK_AUTO_INCR, memoryview(b"m"), 1j])
any_value = good_values | rejected_values | unsupported_values
any_name = st.text(max_size=4) | st.sampled_from([b"a", 1, None, "clé"])
any_column = (
    st.tuples(any_name, any_value)
    | st.tuples(any_name, any_value, st.none() | st.integers(INT64_MIN, INT64_MAX) | rejected_values | st.just(1.5))
    | st.lists(any_value, max_size=4).map(tuple)
)


@settings(max_examples=500, deadline=None)
@given(
    primary_key=st.lists(st.tuples(any_name, any_value), max_size=3),
    attribute_columns=st.lists(any_column, max_size=6),
)
def test_any_row_gets_the_sdks_own_outcome(primary_key, attribute_columns):
    expected = outcome(plainbuffer.sdk_serialize_for_put_row, primary_key, attribute_columns)
    assert outcome(plainbuffer.serialize_for_put_row, primary_key, attribute_columns) == expected


def test_a_rejected_value_raises_from_the_encoder_as_without_the_fast_path(sdks_own):
    request = BatchWriteRowRequest()
    request.add(TableInBatchWriteRowItem("t", [PutRowItem(Row([("id", "x")], [("a", 2**63)]), _condition_none())]))

    def encode():
        return OTSProtoBufferEncoder("utf-8").encode_request("BatchWriteRow", request).SerializeToString()

    expected = outcome(encode)
    assert expected[0] == "raises"
    plainbuffer.install_fast_put_row_serializer()
    assert outcome(encode) == expected


def _condition_none():
    from tablestore import Condition, RowExistenceExpectation

    return Condition(RowExistenceExpectation.IGNORE)


# ---- a timeout per call, per thread -----------------------------------------------------------------


@pytest.fixture(scope="module")
def slow_emulator():
    """An emulator of its own whose BatchGetRow answers only after 1.5 s."""
    with TablestoreEmulator(faults=FaultConfig(seed=1, slow_delay=1.5)) as running:
        yield running


class MeetingCredentials:
    """Credentials the SDK asks for inside each call (after the timeout is set, before it is read):
    while `meeting` is set, a call waits there for the other thread's, so the two calls overlap."""

    def __init__(self, access_key_id: str, access_key_secret: str):
        from tablestore.credentials import Credentials

        self.credentials = Credentials(access_key_id, access_key_secret, None)
        self.meeting: threading.Barrier | None = None

    def get_credentials(self):
        if self.meeting is not None:
            self.meeting.wait(30)
        return self.credentials


def test_threads_sharing_a_client_each_get_their_own_timeout(slow_emulator):
    info = slow_emulator.connection_info()
    credentials = MeetingCredentials(info["access_key_id"], info["access_key_secret"])
    client = make_client(
        info["endpoint"],
        info["instance_name"],
        info["access_key_id"],
        info["access_key_secret"],
        socket_timeout=10.0,
        credentials_provider=credentials,
    )
    backend = TablestoreBackend(client, f"t{uuid.uuid4().hex[:8]}_")
    backend.create_missing_tables()
    key = (("entity_key", "SmsReport:x|y"), ("idempotency_key", "k"))
    slow_emulator.faults.set(api="BatchGetRow", slow=1.0)
    outcomes: dict[str, list] = {"short": [], "long": []}

    def call(name: str, timeout: float) -> None:
        started = time.monotonic()
        try:
            found = backend.batch_get("receipt_ledger", [key], ["write_id"], timeout)
            outcomes[name].append(("ok", found, time.monotonic() - started))
        except BackendError as exc:
            outcomes[name].append(("error", exc.code, time.monotonic() - started))

    try:
        for _ in range(3):
            credentials.meeting = threading.Barrier(2)  # both timeouts set before either request is sent
            threads = [
                threading.Thread(target=call, args=("short", 0.3)),
                threading.Thread(target=call, args=("long", 15.0)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
    finally:
        credentials.meeting = None
        slow_emulator.faults.clear()

    assert [o[:2] for o in outcomes["long"]] == [("ok", [None])] * 3, outcomes
    assert [o[:2] for o in outcomes["short"]] == [("error", "NetworkError")] * 3, outcomes
    assert all(o[2] >= 1.5 for o in outcomes["long"]), outcomes  # it waited for the slow answer

    # after the calls, a call without a deadline gets the client's socket timeout again
    assert backend.batch_get("receipt_ledger", [key], ["write_id"], None) == [None]


def test_a_timeout_is_the_calling_threads_own():
    connection = make_client("http://127.0.0.1:1", "instance", "id", "secret").connection
    seen: dict[str, float | None] = {}
    inside, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        inside.wait(10)
        seen["other"] = getattr(connection._calls, "timeout", None)
        done.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    with connection.timeout(0.25):
        with connection.timeout(0.1):
            seen["nested"] = connection._calls.timeout
        seen["outer"] = connection._calls.timeout
        inside.set()
        done.wait(10)
    thread.join(10)
    assert seen == {"nested": 0.1, "outer": 0.25, "other": None}
    assert connection._calls.timeout is None


# ---- the SDK's noise ----------------------------------------------------------------------------------

SCRIPT = r"""
import json, logging, sys
records = []
if sys.argv[1] == "collect":
    class Collect(logging.Handler):
        def emit(self, record):
            records.append([record.levelno, record.name, record.getMessage()])
    logging.getLogger().addHandler(Collect(logging.DEBUG))
    logging.getLogger().setLevel(logging.DEBUG)
from sms_receipts.parsing import MessageType, decode_http_body
from sms_receipts.storage import Storage, StorageSettings, plainbuffer
info = json.loads(sys.argv[2])
handle = Storage(StorageSettings(info["endpoint"], info["instance_name"], table_prefix=info["prefix"],
                                 access_key_id=info["access_key_id"], access_key_secret=info["access_key_secret"]))
handle.backend.create_missing_tables()
decoded = decode_http_body(sys.argv[3].encode(), MessageType.SMS_REPORT)
first = handle.store.write(decoded.items)
again = handle.store.write(decoded.items)  # condition failures: the SDK's per-row errors
print(json.dumps({"first": first.counts, "again": again.counts, "installed": plainbuffer.is_installed(),
                  "fallbacks": plainbuffer.fallbacks(), "records": records}))
"""


def run_fresh(mode: str, emulator) -> tuple[dict, str]:
    info = {**emulator.connection_info(), "prefix": f"t{uuid.uuid4().hex[:8]}_"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, json.dumps(info), reports(3).decode()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # only the script's own line
    return json.loads(lines[0]), done.stderr


def test_a_fresh_process_using_the_store_prints_nothing_of_the_sdks(emulator):
    emulator.faults.clear()
    result, stderr = run_fresh("plain", emulator)
    assert stderr == ""
    assert result["first"]["stored"] == 3 and result["again"]["duplicate"] == 3
    assert result["installed"] is True and result["fallbacks"] == 0


def test_a_fresh_process_emits_no_native_codec_warning(emulator):
    emulator.faults.clear()
    result, stderr = run_fresh("collect", emulator)
    assert stderr == ""
    loud = [r for r in result["records"] if r[0] >= logging.WARNING and r[1].startswith("tablestore")]
    assert loud == []
    assert not [r for r in result["records"] if r[0] >= logging.WARNING and "Native" in r[2]]
    # still there for whoever asks for DEBUG
    assert any(r[0] == logging.DEBUG and "Native C++ encoder not available" in r[2] for r in result["records"])
