"""Wire layer: check an RPC request's required parameters, call the model, shape the JSON reply.

Replies have the shapes of the SDK's response bodies: `SendSms`/`SendBatchSms` `{"RequestId", "Code":
"OK", "Message": "OK", "BizId"}`; `QuerySendDetails` adds `TotalCount` as **text** and
`SmsSendDetailDTOs.SmsSendDetailDTO[]` (`PhoneNum`, `SendStatus` 1/2/3, `ErrCode`, `TemplateCode`,
`Content`, `SendDate`, `ReceiveDate`, `OutId`; no BizId); `QuerySendStatistics` `Data{TotalSize,
TargetList[{TotalCount, RespondedSuccessCount, RespondedFailCount, NoRespondedCount, SendDate}]}`.
A missing required parameter is the gateway's 400 `Missing<Name>`.
"""

from __future__ import annotations

from typing import Any

from ..credentials import Credential
from ..rpc import wire
from ..rpc.wire import RpcRequest
from .exceptions import DysmsapiError, MissingParameter
from .models import SEND_STATUS_WAITING, DysmsapiState, beijing_time

HOST_ID = "dysmsapi.aliyuncs.com"
PRODUCT = "Dysmsapi"


def error_document(error: DysmsapiError, request_id: str) -> dict[str, Any]:
    return wire.error_document(error, request_id, HOST_ID, PRODUCT)


def _required(request: RpcRequest, *names: str) -> None:
    for name in names:
        if not request.params.get(name):
            raise MissingParameter(name)


def _ok(request_id: str, **fields: Any) -> dict[str, Any]:
    return {"RequestId": request_id, "Code": "OK", "Message": "OK", **fields}


class DysmsapiResponses:
    """One method per API: the request and the authenticated caller in, the JSON document out."""

    def __init__(self, state: DysmsapiState):
        self.state = state

    def send_sms(self, request: RpcRequest, caller: Credential, request_id: str) -> dict[str, Any]:
        _required(request, "PhoneNumbers", "SignName", "TemplateCode")
        params = request.params
        send = self.state.send_sms(
            caller,
            params["PhoneNumbers"],
            params["SignName"],
            params["TemplateCode"],
            params.get("TemplateParam"),
            params.get("OutId"),
            params.get("SmsUpExtendCode"),
        )
        return _ok(request_id, BizId=send.biz_id)

    def send_batch_sms(self, request: RpcRequest, caller: Credential, request_id: str) -> dict[str, Any]:
        _required(request, "PhoneNumberJson", "SignNameJson", "TemplateCode")
        params = request.params
        send = self.state.send_batch_sms(
            caller,
            params["PhoneNumberJson"],
            params["SignNameJson"],
            params["TemplateCode"],
            params.get("TemplateParamJson"),
            params.get("SmsUpExtendCodeJson"),
            params.get("OutId"),
        )
        return _ok(request_id, BizId=send.biz_id)

    def query_send_details(self, request: RpcRequest, caller: Credential, request_id: str) -> dict[str, Any]:
        _required(request, "PhoneNumber", "SendDate", "PageSize", "CurrentPage")
        params = request.params
        total, messages, now = self.state.query_send_details(
            params["PhoneNumber"], params["SendDate"], params["PageSize"], params["CurrentPage"], params.get("BizId")
        )
        details = []
        for message in messages:
            status = message.send_status(now)
            details.append(
                {
                    "PhoneNum": message.phone_number,
                    "SendStatus": status,
                    "ErrCode": message.err_code(now),
                    "TemplateCode": message.template_code,
                    "Content": message.content,
                    "SendDate": beijing_time(message.send_time),
                    "ReceiveDate": "" if status == SEND_STATUS_WAITING else beijing_time(message.outcome_at),
                    "OutId": message.out_id,
                }
            )
        return _ok(request_id, TotalCount=str(total), SmsSendDetailDTOs={"SmsSendDetailDTO": details})

    def query_send_statistics(self, request: RpcRequest, caller: Credential, request_id: str) -> dict[str, Any]:
        _required(request, "IsGlobe", "StartDate", "EndDate", "PageIndex", "PageSize")
        params = request.params
        total, days = self.state.query_send_statistics(
            params["IsGlobe"],
            params["StartDate"],
            params["EndDate"],
            params["PageIndex"],
            params["PageSize"],
            params.get("TemplateType"),
            params.get("SignName"),
        )
        targets = [
            {
                "SendDate": day.send_date,
                "TotalCount": day.total_count,
                "RespondedSuccessCount": day.responded_success_count,
                "RespondedFailCount": day.responded_fail_count,
                "NoRespondedCount": day.no_responded_count,
            }
            for day in days
        ]
        return _ok(request_id, Data={"TotalSize": total, "TargetList": targets})
