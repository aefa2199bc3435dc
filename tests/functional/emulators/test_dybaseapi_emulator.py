"""The dybaseapi emulator, driven by the real `alibabacloud_dybaseapi20170525` client over loopback HTTP,
and the hand-over of its tokens to the MNS emulator."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from alibabacloud_dybaseapi20170525.models import QueryTokenForMnsQueueRequest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from mns.account import Account
from mns.mns_exception import MNSServerException

from sms_receipts_dev.emulators.credentials import CredentialStore
from sms_receipts_dev.emulators.dybaseapi import (
    PERMISSION,
    RESOURCE,
    DybaseapiEmulator,
    beijing_time,
    decode_diagnostic_message,
)
from sms_receipts_dev.emulators.mns import MnsEmulator
from sms_receipts_dev.emulators.rpc.auth import v1_signature

from helpers import standalone_emulator

SMS_REPORT_QUEUE = "Alicom-Queue-1234567890123456-SmsReport"


def query(client, message_type: str | None = "SmsReport", queue_name: str | None = SMS_REPORT_QUEUE):
    return client.query_token_for_mns_queue(
        QueryTokenForMnsQueueRequest(message_type=message_type, queue_name=queue_name)
    )


def client_error(call, *args, **kwargs) -> ClientException:
    with pytest.raises(ClientException) as caught:
        call(*args, **kwargs)
    return caught.value


def raw_v1(emulator: DybaseapiEmulator, *, secret: str | None = None, **overrides: str) -> tuple[int, dict]:
    """One V1-signed RPC call by hand; `overrides` replace parameters (a value of "" drops one)."""
    params = {
        "Action": "QueryTokenForMnsQueue",
        "Version": "2017-05-25",
        "Format": "json",
        "AccessKeyId": emulator.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "MessageType": "SmsReport",
        **overrides,
    }
    params = {key: value for key, value in params.items() if value != ""}
    params["Signature"] = v1_signature(secret or emulator.access_key_secret, "POST", params)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request("POST", "/?" + urlencode(params))
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# ---- issuing tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("signature_algorithm", [None, "v2"], ids=["acs3", "v1"])
def test_query_token_with_both_signature_schemes(dybaseapi, credential_store, signature_algorithm):
    response = query(dybaseapi.client(signature_algorithm=signature_algorithm))
    body = response.body
    assert (response.status_code, body.code, body.message) == (200, "OK", "OK")
    assert len(body.request_id) == 36
    dto = body.message_token_dto
    assert dto.access_key_id.startswith("STS.") and dto.security_token.startswith("CAIS")
    created = datetime.strptime(dto.create_time, "%Y-%m-%d %H:%M:%S")
    expires = datetime.strptime(dto.expire_time, "%Y-%m-%d %H:%M:%S")
    assert expires - created in (timedelta(seconds=59), timedelta(seconds=60))  # lifetime 60, floored
    credential = credential_store.get(dto.access_key_id)
    assert credential.scope == (SMS_REPORT_QUEUE,) and credential.access_key_secret == dto.access_key_secret
    (issued,) = dybaseapi.state.issued
    assert (issued.message_type, issued.queue_name, issued.caller) == (
        "SmsReport",
        SMS_REPORT_QUEUE,
        dybaseapi.access_key_id,
    )


def test_queue_name_is_optional_and_derived_from_the_account(dybaseapi):
    assert query(dybaseapi.client(), "SmsUp", None).body.code == "OK"
    assert dybaseapi.queue_names()["SmsUp"] == "Alicom-Queue-1234567890123456-SmsUp"
    with DybaseapiEmulator(account_id="42", message_types=["SmsReport"]) as other:
        assert other.queue_names() == {"SmsReport": "Alicom-Queue-42-SmsReport"}
        assert query(other.client(), "SmsReport", "Alicom-Queue-42-SmsReport").body.code == "OK"


def test_expire_time_is_beijing_time_whatever_the_host_zone():
    assert beijing_time(0) == "1970-01-01 08:00:00"
    script = textwrap.dedent("""
        import json, time
        from alibabacloud_dybaseapi20170525.models import QueryTokenForMnsQueueRequest
        from sms_receipts_dev.emulators.credentials import CredentialStore
        from sms_receipts_dev.emulators.dybaseapi import DybaseapiEmulator
        store = CredentialStore(clock=lambda: 1_800_000_000.0)
        with DybaseapiEmulator(credentials=store, token_lifetime=3600) as emulator:
            dto = emulator.client().query_token_for_mns_queue(
                QueryTokenForMnsQueueRequest(message_type="SmsReport")).body.message_token_dto
        print(json.dumps([time.strftime("%Z %z"), dto.create_time, dto.expire_time]))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "America/New_York"},
        check=True,
    )
    zone, create_time, expire_time = json.loads(result.stdout.strip().splitlines()[-1])
    assert zone.split()[-1] in ("-0500", "-0400")  # the child really ran in New York time
    beijing = timezone(timedelta(hours=8))
    assert create_time == datetime.fromtimestamp(1_800_000_000, beijing).strftime("%Y-%m-%d %H:%M:%S")
    assert (create_time, expire_time) == ("2027-01-15 16:00:00", "2027-01-15 17:00:00")


def test_business_errors_are_http_200_with_a_code(dybaseapi):
    body = query(dybaseapi.client(), "NoSuchType", None).body
    assert body.code == "isv.INVALID_PARAMETERS" and "'NoSuchType' has no queue" in body.message
    assert body.message_token_dto is None
    body = query(dybaseapi.client(), "SmsReport", "Alicom-Queue-1234567890123456-SmsUp").body
    assert body.code == "isv.INVALID_PARAMETERS" and "is not the SmsReport queue" in body.message
    error = client_error(query, dybaseapi.client(), None, None)
    assert (error.status_code, error.code) == (400, "MissingMessageType")
    assert dybaseapi.state.issued == []


# ---- authentication and permissions ---------------------------------------------------------------


@pytest.mark.parametrize("signature_algorithm", [None, "v2"], ids=["acs3", "v1"])
def test_bad_signature_and_unknown_key(dybaseapi, signature_algorithm):
    error = client_error(query, dybaseapi.client(access_key_secret="wrong", signature_algorithm=signature_algorithm))
    assert (error.status_code, error.code) == (400, "SignatureDoesNotMatch")
    error = client_error(query, dybaseapi.client(access_key_id="LTAI-unknown", signature_algorithm=signature_algorithm))
    assert (error.status_code, error.code) == (404, "InvalidAccessKeyId.NotFound")
    assert dybaseapi.state.issued == []


def test_replays_and_stale_timestamps_are_refused(dybaseapi):
    nonce = uuid.uuid4().hex
    assert raw_v1(dybaseapi, SignatureNonce=nonce)[1]["Code"] == "OK"
    status, body = raw_v1(dybaseapi, SignatureNonce=nonce)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    status, body = raw_v1(dybaseapi, Timestamp="2020-01-01T00:00:00Z")
    assert (status, body["Code"], body["Message"]) == (
        400,
        "InvalidTimeStamp.Expired",
        "Specified time stamp or date value is expired.",
    )
    assert raw_v1(dybaseapi, Timestamp="yesterday")[1]["Code"] == "InvalidTimeStamp.Format"
    assert raw_v1(dybaseapi, secret="wrong")[1]["Code"] == "SignatureDoesNotMatch"
    assert raw_v1(dybaseapi, SignatureNonce="")[1]["Code"] == "MissingSignatureNonce"


def test_denied_mode_is_forbidden_ram(dybaseapi):
    dybaseapi.deny(message_type="SmsUp")
    assert query(dybaseapi.client()).body.code == "OK"
    error = client_error(query, dybaseapi.client(), "SmsUp", None)
    assert (error.status_code, error.code) == (403, "Forbidden.RAM")
    # A RAM code the SMS docs list (dysms, cloudcomm, dybase, sms), not the endpoint name dybaseapi.
    assert PERMISSION == "dysms:QueryTokenForMnsQueue" and RESOURCE == "*"
    assert "dysms:QueryTokenForMnsQueue on resource *" in error.message and "acs:" not in error.message
    detail = error.access_denied_detail
    assert detail["AuthAction"] == "dysms:QueryTokenForMnsQueue"
    assert (detail["AuthPrincipalType"], detail["AuthPrincipalOwnerId"], detail["AuthPrincipalDisplayName"]) == (
        "SubUser",
        dybaseapi.account_id,
        dybaseapi.access_key_id,
    )
    assert (detail["NoPermissionType"], detail["PolicyType"]) == ("ImplicitDeny", "AccountLevelIdentityBasedPolicy")
    decoded = decode_diagnostic_message(detail["EncodedDiagnosticMessage"])
    assert (decoded["AuthAction"], decoded["AuthResource"]) == ("dysms:QueryTokenForMnsQueue", "*")
    dybaseapi.clear_denials()
    dybaseapi.deny(access_key_id=dybaseapi.access_key_id)
    assert client_error(query, dybaseapi.client()).code == "Forbidden.RAM"
    dybaseapi.clear_denials()
    assert query(dybaseapi.client(), "SmsUp", None).body.code == "OK"


def test_a_denial_has_the_rpc_error_shape_with_or_without_detail(dybaseapi):
    dybaseapi.deny()
    status, body = raw_v1(dybaseapi)
    assert status == 403
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend", "AccessDeniedDetail"}
    assert set(body["AccessDeniedDetail"]) == {
        "AuthAction",
        "AuthPrincipalType",
        "AuthPrincipalOwnerId",
        "AuthPrincipalDisplayName",
        "PolicyType",
        "NoPermissionType",
        "EncodedDiagnosticMessage",
    }
    dybaseapi.clear_denials()
    dybaseapi.deny(access_denied_detail=False)  # an older-style denial: the gateway's text, naming no action
    status, body = raw_v1(dybaseapi)
    assert (status, body["Code"]) == (403, "Forbidden.RAM") and "AccessDeniedDetail" not in body
    assert "QueryTokenForMnsQueue" not in body["Message"]
    error = client_error(query, dybaseapi.client())
    assert error.code == "Forbidden.RAM" and error.access_denied_detail is None


def test_unknown_actions_fail_loudly(dybaseapi):
    status, body = raw_v1(dybaseapi, Action="QueryTokenForEverything")
    assert (status, body["Code"]) == (404, "InvalidApi.NotFound")
    status, body = raw_v1(dybaseapi, Version="2099-01-01")
    assert (status, body["Code"]) == (400, "InvalidVersion")
    assert dybaseapi.requests == {"QueryTokenForEverything": 1, "QueryTokenForMnsQueue": 1}


# ---- the hand-over to MNS -------------------------------------------------------------------------


def test_token_opens_its_queue_on_mns_until_it_expires(dybaseapi, mns, credential_store):
    for queue_name in dybaseapi.queue_names().values():
        mns.create_queue(queue_name)
    mns.enqueue(SMS_REPORT_QUEUE, json.dumps({"biz_id": "1^0", "err_msg": "用户接收成功"}, ensure_ascii=False))
    dybaseapi.token_lifetime = 2
    dto = query(dybaseapi.client()).body.message_token_dto
    account = Account(mns.endpoint, dto.access_key_id, dto.access_key_secret, dto.security_token)

    (message,) = account.get_queue(SMS_REPORT_QUEUE).batch_receive_message(16, wait_seconds=1)
    assert json.loads(message.message_body.decode("utf-8"))["err_msg"] == "用户接收成功"
    denied = account.get_queue("Alicom-Queue-1234567890123456-SmsUp")  # the token is scoped to its own queue
    assert server_error_type(denied.batch_receive_message, 16, 0) == "AccessDeniedByRamPolicy"

    time.sleep(max(0.0, credential_store.get(dto.access_key_id).expires_at - time.time()) + 0.1)
    assert server_error_type(account.get_queue(SMS_REPORT_QUEUE).delete_message, message.receipt_handle) == (
        "SecurityTokenExpired"
    )
    fresh = query(dybaseapi.client()).body.message_token_dto  # refresh, then carry on
    Account(mns.endpoint, fresh.access_key_id, fresh.access_key_secret, fresh.security_token).get_queue(
        SMS_REPORT_QUEUE
    ).delete_message(message.receipt_handle)


def test_tokens_work_across_stores_that_share_the_token_key():
    with (
        DybaseapiEmulator(credentials=CredentialStore(token_key="shared")) as dybaseapi,
        MnsEmulator(credentials=CredentialStore(token_key="shared")) as mns,
        MnsEmulator(credentials=CredentialStore(token_key="another")) as stranger,
    ):
        dto = query(dybaseapi.client()).body.message_token_dto
        for emulator in (mns, stranger):
            emulator.create_queue(SMS_REPORT_QUEUE)
        peek = (
            Account(mns.endpoint, dto.access_key_id, dto.access_key_secret, dto.security_token)
            .get_queue(SMS_REPORT_QUEUE)
            .peek_message
        )
        assert server_error_type(peek) == "MessageNotExist"  # authenticated: the queue is just empty
        peek = (
            Account(stranger.endpoint, dto.access_key_id, dto.access_key_secret, dto.security_token)
            .get_queue(SMS_REPORT_QUEUE)
            .peek_message
        )
        assert server_error_type(peek) == "InvalidSecurityToken"


def server_error_type(call, *args) -> str:
    with pytest.raises(MNSServerException) as caught:
        call(*args)
    return caught.value.type


# ---- faults and counters --------------------------------------------------------------------------


def test_faults(dybaseapi):
    dybaseapi.faults.set(api="QueryTokenForMnsQueue", server_busy=1.0)
    with pytest.raises(ServerException) as caught:
        query(dybaseapi.client())
    assert (caught.value.status_code, caught.value.code) == (503, "ServiceUnavailable")
    for kind in ("timeout", "drop", "lost_response"):
        dybaseapi.faults.clear()
        dybaseapi.faults.set(api="QueryTokenForMnsQueue", **{kind: 1.0})
        with pytest.raises(Exception) as caught:  # the SDK wraps these in several types
            query(dybaseapi.client())
        assert not isinstance(caught.value, ClientException), kind
    assert len(dybaseapi.state.issued) == 1  # only the lost response issued a token
    dybaseapi.faults.clear()
    assert query(dybaseapi.client()).body.code == "OK"
    assert dybaseapi.requests == {"QueryTokenForMnsQueue": 5}


def test_slow_fault_delays_but_succeeds(dybaseapi):
    dybaseapi.faults.slow_delay = 0.3
    dybaseapi.faults.set(slow=1.0)
    started = time.monotonic()
    assert query(dybaseapi.client()).body.code == "OK"
    assert time.monotonic() - started >= 0.3


# ---- standalone commands --------------------------------------------------------------------------


def test_standalone_mains_share_tokens_across_processes():
    dybaseapi = ["--port", "0", "--token-lifetime", "30", "--message-type", "SmsReport"]
    with (
        standalone_emulator("dybaseapi", dybaseapi) as (dybaseapi_process, token_service),
        standalone_emulator("mns", ["--port", "0", "--queue", SMS_REPORT_QUEUE]) as (mns_process, queues),
    ):
        processes = [dybaseapi_process, mns_process]
        assert set(token_service) == {
            "endpoint",
            "protocol",
            "url",
            "access_key_id",
            "access_key_secret",
            "account_id",
            "token_lifetime",
            "queues",
        }
        assert token_service["queues"] == {"SmsReport": SMS_REPORT_QUEUE} and token_service["protocol"] == "http"

        from alibabacloud_dybaseapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        client = Client(
            Config(
                access_key_id=token_service["access_key_id"],
                access_key_secret=token_service["access_key_secret"],
                endpoint=token_service["endpoint"],
                protocol=token_service["protocol"],
            )
        )
        dto = query(client).body.message_token_dto
        queue = Account(queues["endpoint"], dto.access_key_id, dto.access_key_secret, dto.security_token).get_queue(
            SMS_REPORT_QUEUE
        )
        assert server_error_type(queue.batch_receive_message, 16, 0) == "MessageNotExist"
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert [process.wait(timeout=30) for process in processes] == [0, 0]
