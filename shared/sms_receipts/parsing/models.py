"""One pydantic model per receipt type, accepting every documented variant.

What the models normalise (see ../../research notes in the README for the sources):
- ids (`biz_id`, `out_id`, `err_code`, `message_id`, `outId`, `sequence_id`, ...) stay opaque strings;
  a JSON number is turned into its digits, never through a float;
- `order_id` and `orderId` both fill `order_id`: real HTTP pushes and MNS messages spell it `order_id`
  (two captured HTTP TemplateSmsReport pushes, and a Go receiver binding `json:"order_id"`; see the
  contract audit); the HTTP docs' examples (D-120998, D-120999) spell it `orderId`;
- counts and codes given as number or text (`sms_size`, `render_status`) become integers, and `""` None;
- a time field keeps the receipt's own text, checked against the documented spellings
  (`times.TIME_PATTERN`); `moment(name)` and properties such as `reported_at` give it as an aware
  datetime (China Standard Time where the text has no offset), and `record_dict` as ISO 8601 with its
  offset, so times are timezone-aware wherever they are read as times;
- a missing or null optional field is None; an empty one is None too, except that an optional text
  field (times included) keeps its `""`, which `record_dict`, the identity and `moment` read as absent;
- unknown fields are kept on the record (`model_extra`) and in its dump, never dropped.
Delivery reports expose one normalised `delivery_status` (delivered / failed / expired; pending for
the legacy international "1 Submitted"; unknown for a code no document lists) and `is_final`.

`phone_number` is optional in SmsReport and SmsUp: the current docs mark it required and every real
capture has it, but the older official tables mark it 可选 (a copy of the official "短信消息API---Python"
page, https://developer.aliyun.com/ask/217930; for SmsReport only success, biz_id and send_time are
必须). A receipt the docs allow is stored, never dead-lettered; see `identity` for how it is keyed.

Why times stay text: validation runs in pydantic-core, and a Python hook per receipt (to make the
datetimes, or to drop `""`) cost as much as the validation itself. So a delivery report is checked in
pydantic-core alone, and Python runs only where it is rare: for a `""` number, and in the rarer types'
own rules (SmsUp ids, card template vendors). The pattern cannot tell that `2021-02-30` does not
exist; reading the time does. The decoders read every time when they compute the identity, and reject
such an item with the field named; a record made with `model_validate` directly meets the check when
a time of it is first read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, cast, get_args

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import CoreSchema, core_schema, to_jsonable_python

from .spec import AUDIT_RANKS, DELIVERY_RANKS, FINAL_AUDIT, ReceiptSpec, StateRule
from .times import (
    LEGACY_INTL_TIME_FORMATS,
    LEGACY_INTL_TIME_PATTERN,
    TIME_FORMATS,
    TIME_PATTERN,
    ReceiptTimeError,
    parse_receipt_time,
)
from .types import MessageType

DeliveryStatus = Literal["delivered", "failed", "expired", "pending", "unknown"]

TIME_ERROR_TYPE = "receipt_time"  # the validation error type of a time text of the wrong shape


class _TimeText:
    """A receipt time as its text: a string of one of the documented shapes, or "", checked in pydantic-core."""

    def __init__(self, pattern: str = TIME_PATTERN, formats: str = TIME_FORMATS) -> None:
        self.pattern, self.formats = pattern, formats

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.custom_error_schema(
            core_schema.str_schema(pattern=self.pattern, strict=True),  # strict: a number is no time
            custom_error_type=TIME_ERROR_TYPE,
            custom_error_message=f"unreadable time: expected {self.formats}",
            custom_error_context={"formats": self.formats},  # for a reason that names the value too
        )


ReceiptTime = Annotated[str, _TimeText()]
# The legacy international report's dates: `6/1/2017 10:00:00` (M/d/yyyy) besides the usual spellings.
LegacyIntlTime = Annotated[str, _TimeText(LEGACY_INTL_TIME_PATTERN, LEGACY_INTL_TIME_FORMATS)]


def _is_time(annotation: Any) -> bool:
    return any(isinstance(meta, _TimeText) for arg in get_args(annotation) for meta in getattr(arg, "__metadata__", ()))


def _none(_blank: str) -> None:
    return None


class _BlankMeansNone:
    """`""` accepted for an optional non-text field, as None. The choice is a union in pydantic-core, the
    value's own type first, so Python runs only for an actual `""`, never for a filled field."""

    def __init__(self, expected: str) -> None:
        self.expected = expected  # for the error message: "a valid integer"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        blank = core_schema.no_info_after_validator_function(_none, core_schema.literal_schema([""]))
        return core_schema.union_schema(
            [handler(source), blank],
            mode="left_to_right",
            custom_error_type="value_or_blank",
            custom_error_message=f"Input should be {self.expected}, or empty",
        )


OptionalInt = Annotated[int | None, _BlankMeansNone("a valid integer")]


def _whole_number_id(value: Any) -> Any:
    """sequence_id is documented as a number, a string and a Double. JSON integers arrive exact; an
    integral float is accepted only where a float holds it exactly, so the digits never drift."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        raise ValueError(f"id {value!r} is not a whole number that a float holds exactly")
    return value


# Other ids need no validator: `coerce_numbers_to_str` turns JSON integers into their digits.
WholeNumberId = Annotated[str, BeforeValidator(_whole_number_id)]


class Receipt(BaseModel):
    """Fields common to every receipt model. Each concrete model declares its `spec` (see `spec`)."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        frozen=True,
        # Validators built on first use, not at import: a cold instance builds only those of the types
        # it receives (BENCHMARKS.md, cold start); the decoders build them under a lock.
        defer_build=True,
    )
    message_type: ClassVar[MessageType]
    spec: ClassVar[ReceiptSpec]
    type_name: ClassVar[str]  # message_type.value, kept as text for the keys
    schema_name: ClassVar[str] = ""  # how a rejection names the schema; type_name unless a type has two
    # Derived from the fields when a model class is made: the fields holding a ReceiptTime, and the
    # optional fields, where a "" kept on the record means absent.
    time_fields: ClassVar[tuple[str, ...]] = ()
    _optional_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "spec" not in cls.__dict__:  # a shared base, not a receipt type
            return
        cls.type_name = cls.message_type.value
        cls.schema_name = cls.__dict__.get("schema_name") or cls.type_name
        fields = cls.model_fields.items()
        cls.time_fields = tuple(name for name, info in fields if _is_time(info.annotation))
        cls._optional_fields = tuple(name for name, info in fields if not info.is_required())
        _check_spec(cls)

    def moment(self, name: str) -> datetime | None:
        """The time field `name` as an aware datetime (China Standard Time where its text has no offset),
        None when absent or empty; ReceiptTimeError, naming the field, for a date that does not exist."""
        if name not in self.time_fields:
            raise ValueError(f"{name!r} is not a time field of {self.type_name}: {', '.join(self.time_fields)}")
        try:
            return parse_receipt_time(getattr(self, name))  # cached by text: a push repeats its seconds
        except ReceiptTimeError as exc:
            raise ReceiptTimeError(f"{type(self).model_fields[name].alias or name}: {exc}") from None


def _check_spec(model: type[Receipt]) -> None:
    """A spec names only its model's fields, and an entity only identity fields."""
    spec, fields = model.spec, model.model_fields
    parts = [name for part in spec.entity for name in ((part,) if isinstance(part, str) else part)]
    state = spec.state or StateRule()
    named = [*spec.identity, *spec.event_time, *state.key, *state.columns, *([spec.items] if spec.items else [])]
    if state.ticket:
        named.append(state.ticket)
    unknown = [name for name in named if name not in fields]
    if unknown or not set(parts) <= set(spec.identity) or not set(spec.event_time) <= set(model.time_fields):
        raise TypeError(f"{model.__name__}.spec names fields it has not, or an entity part outside its identity")


class DeliveryReport(Receipt):
    """A delivery report: a normalised `delivery_status` and whether it `is_final`, from its spec."""

    @property
    def delivery_status(self) -> DeliveryStatus:
        status = self.spec.status
        assert status is not None  # every delivery report's spec names one
        return cast("DeliveryStatus", status(self))

    @property
    def is_final(self) -> bool:
        return self.spec.state.is_final(self.delivery_status)  # type: ignore[union-attr]


# The err_code of the verdict the reconciler stores for a send that no report and no QuerySendDetails
# answer resolved within its window (`sms_receipts.reconcile`). Carriers' codes are upper case
# (DELIVRD, UNDELIV, MK:0001): this one is not theirs.
UNRESOLVED_ERR_CODE = "sms-receipts:unresolved"


def _sms_report_status(r: SmsReport) -> DeliveryStatus:
    if r.success:
        return "delivered"
    if r.err_code == UNRESOLVED_ERR_CODE:
        return "unknown"
    if r.err_code and r.err_code.upper() in _EXPIRED_CODES:
        return "expired"
    return "failed"


class SmsReport(DeliveryReport):
    """Domestic delivery report (SendSms / SendBatchSms). `phone_number` is optional: the older official
    table marks it 可选 (https://developer.aliyun.com/ask/217930); missing, null and "" are all absent."""

    message_type: ClassVar[MessageType] = MessageType.SMS_REPORT
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        identity=("biz_id", "phone_number", "success", "err_code", "send_time", "report_time"),
        entity=("biz_id", "phone_number"),  # one biz_id covers a whole batch send
        event_time=("report_time", "send_time"),
        status=_sms_report_status,
        # Its own state table when the number is there (an empty string is no primary key).
        state=StateRule(
            ranks=DELIVERY_RANKS, key=("biz_id", "phone_number"), columns=("success", "err_code", "out_id")
        ),
    )

    biz_id: str = Field(min_length=1)
    phone_number: str | None = None
    success: bool
    send_time: ReceiptTime | None = None
    report_time: ReceiptTime | None = None
    err_code: str | None = None
    err_msg: str | None = None
    sms_size: OptionalInt = None
    out_id: str | None = None

    @property
    def sent_at(self) -> datetime | None:
        return self.moment("send_time")

    @property
    def reported_at(self) -> datetime | None:
        return self.moment("report_time")


# Carrier codes that mean the message outlived its validity period (CMPP/SMGP spellings).
_EXPIRED_CODES = frozenset({"EXPIRED", "EXPIRD"})


class SmsUp(Receipt):
    """A user's reply (uplink). `phone_number` is optional: the older official table marks it 可选
    (https://developer.aliyun.com/ask/217930); missing, null and "" are all absent. A reply has no
    status and no state: the ledger is its record."""

    message_type: ClassVar[MessageType] = MessageType.SMS_UP
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        identity=("phone_number", "dest_code", "sequence_id", "send_time", "content"),
        entity=("phone_number", "dest_code", ("sequence_id", "send_time")),
    )

    phone_number: str | None = None
    content: str
    send_time: ReceiptTime | None = None
    dest_code: str | None = None
    sequence_id: WholeNumberId | None = None
    sign_name: str | None = None

    @property
    def sent_at(self) -> datetime | None:
        return self.moment("send_time")

    @model_validator(mode="after")
    def _identifiable(self) -> SmsUp:
        if not self.sequence_id and not self.send_time:  # None or ""
            raise ValueError("a reply needs sequence_id or send_time to be told apart from others")
        return self


# Sign and template audits: versioned by their ticket `order_id` (see `storage.rules`).
_AUDIT_STATE = StateRule(ranks=AUDIT_RANKS, final=FINAL_AUDIT, ticket="order_id")


class SignSmsReport(Receipt):
    """Signature audit result."""

    message_type: ClassVar[MessageType] = MessageType.SIGN_SMS_REPORT
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        identity=("sign_name", "order_id", "sign_status", "create_date"),
        entity=("sign_name",),
        event_time=("create_date",),
        status=lambda r: r.sign_status.lower(),
        state=_AUDIT_STATE,
    )

    sign_name: str = Field(min_length=1)
    sign_status: str = Field(min_length=1)
    order_id: str | None = Field(None, validation_alias=AliasChoices("orderId", "order_id"))
    reason: str | None = None
    sign_source: str | None = None
    remark: str | None = None
    sign_scene: str | None = None
    create_date: ReceiptTime | None = None

    @property
    def created_at(self) -> datetime | None:
        return self.moment("create_date")


class TemplateSmsReport(Receipt):
    """Template audit result. `template_type` is a Chinese label here, not the API's number."""

    message_type: ClassVar[MessageType] = MessageType.TEMPLATE_SMS_REPORT
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        identity=("template_code", "order_id", "template_status", "create_date"),
        entity=("template_code",),
        event_time=("create_date",),
        status=lambda r: r.template_status.lower(),
        state=_AUDIT_STATE,
    )

    template_code: str = Field(min_length=1)
    template_status: str = Field(min_length=1)
    order_id: str | None = Field(None, validation_alias=AliasChoices("orderId", "order_id"))
    template_name: str | None = None
    template_type: str | None = None
    template_content: str | None = None
    reason: str | None = None
    remark: str | None = None
    create_date: ReceiptTime | None = None

    @property
    def created_at(self) -> datetime | None:
        return self.moment("create_date")


class MnsCardVender(Receipt):
    """Card SMS render receipt (camelCase `outId`; types drift between the HTTP and MNS docs)."""

    message_type: ClassVar[MessageType] = MessageType.MNS_CARD_VENDER
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        identity=("outId", "mobile", "render_status", "desc"),
        entity=("outId", "mobile"),
        status=lambda r: "rendered" if r.render_status in (0, None) else f"render-{r.render_status}",
        state=StateRule(default_rank=1),  # every render receipt is final, and none outranks another
    )

    outId: str = Field(min_length=1)
    mobile: str = Field(min_length=1)
    render_status: OptionalInt = None
    desc: str | None = None


class CardVendorResult(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, frozen=True, defer_build=True)

    vendorCode: str
    state: OptionalInt = None
    desc: str | None = None


def _no_vendors_if_blank(value: Any) -> Any:
    return [] if value == "" else value


# MnsCardTemplate approval_status: 0 审核中 (in review), 1 通过 (approved), 2 未通过 (rejected)
_CARD_TEMPLATE_STATUS = {0: "approving", 1: "approved", 2: "rejected"}


class MnsCardTemplate(Receipt):
    """Card SMS template audit, with one result per phone vendor. It carries no time and no ticket
    (D-436128, D-436114): its status rank alone orders its versions."""

    message_type: ClassVar[MessageType] = MessageType.MNS_CARD_TEMPLATE
    spec: ClassVar[ReceiptSpec] = ReceiptSpec(
        # The vendors sorted, so that the order they were listed in does not count.
        identity=("template_code", "approval_status", "desc"),
        items="tmpOps",
        item_fields=("vendorCode", "state", "desc"),
        entity=("template_code",),
        status=lambda r: _CARD_TEMPLATE_STATUS.get(r.approval_status, f"status-{r.approval_status}"),
        state=StateRule(ranks=AUDIT_RANKS, final=FINAL_AUDIT),
    )

    template_code: str = Field(min_length=1)
    approval_status: int
    # A rare type: a plain Python check for "" keeps the location of an error inside the list.
    tmpOps: Annotated[list[CardVendorResult], BeforeValidator(_no_vendors_if_blank)] = Field(default_factory=list)
    extData: Annotated[dict[str, Any] | None, _BlankMeansNone("an object")] = None
    desc: str | None = None


class _InternationalReport(DeliveryReport):
    """The international delivery reports: the China site's GlobeSmsReport, the international site's
    IntlSmsReport in both its schemas. The same Python field names for the dates."""

    @property
    def sent_at(self) -> datetime | None:
        return self.moment("send_date")

    @property
    def received_at(self) -> datetime | None:
        return self.moment("receive_date")


def _international_spec(
    ids: tuple[str, ...],
    entity: tuple[str, ...],
    status: Callable[[Any], str],
    final: frozenset[str],
    name: str | None = None,
) -> ReceiptSpec:
    """The spec the international reports share: their ids differ, their dates and error code do not."""
    return ReceiptSpec(
        identity=(*ids, "error_code", "send_date", "receive_date"),
        entity=entity,
        event_time=("receive_date", "send_date"),
        status=status,
        state=StateRule(ranks=DELIVERY_RANKS, final=final),
        identity_name=name,
    )


_INTL_STATUS: dict[str, DeliveryStatus] = {"1": "delivered", "2": "failed", "6": "expired"}
_INTERNATIONAL_SPEC = _international_spec(
    ids=("message_id", "to", "status"),
    entity=("message_id",),
    status=lambda r: _INTL_STATUS.get(r.status, "unknown"),
    final=frozenset({"delivered", "failed", "expired"}),  # an undocumented code is not final
)


class GlobeSmsReport(_InternationalReport):
    """International delivery report of the China site (SendMessageToGlobe), snake_case."""

    message_type: ClassVar[MessageType] = MessageType.GLOBE_SMS_REPORT
    spec: ClassVar[ReceiptSpec] = _INTERNATIONAL_SPEC

    message_id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    to: str | None = None
    send_date: ReceiptTime | None = None
    receive_date: ReceiptTime | None = None
    error_code: str | None = None
    error_description: str | None = None


class IntlSmsReport(_InternationalReport):
    """International site `SmsReport` ("SMS webhook"), PascalCase on the wire."""

    message_type: ClassVar[MessageType] = MessageType.INTL_SMS_REPORT
    spec: ClassVar[ReceiptSpec] = _INTERNATIONAL_SPEC

    message_id: str = Field(alias="MessageId", min_length=1)
    status: str = Field(alias="Status", min_length=1)
    to: str | None = Field(None, alias="To")
    sms_size: OptionalInt = Field(None, alias="SmsSize")
    task_id: str | None = Field(None, alias="TaskId")
    send_date: ReceiptTime | None = Field(None, alias="SendDate")
    receive_date: ReceiptTime | None = Field(None, alias="ReceiveDate")
    error_code: str | None = Field(None, alias="ErrorCode")
    error_description: str | None = Field(None, alias="ErrorDescription")


# SendStatus of doc-detail/73871: 1 Submitted (waiting for the carrier's receipt), 2 Failed, 3 Delivered.
_LEGACY_INTL_STATUS: dict[int, DeliveryStatus] = {1: "pending", 2: "failed", 3: "delivered"}


class LegacyIntlSmsReport(_InternationalReport):
    """The legacy international site `SmsReport`, PascalCase with BizId and SendStatus, pushed to the same
    `/SmsReport` callback as the `MessageId` schema and told from it by its fields (`model_for`).

    Sources: https://www.alibabacloud.com/help/doc-detail/73871.htm ("SMS Delivery Report API", intl
    site, 2019; dates `6/1/2017 10:00:00`) and the English revision of
    https://www.alibabacloud.com/help/doc-detail/162962.htm (dates `2020-05-01 10:00:00`). Fields:
    PhoneNumber, SendStatus (Number: 1 Submitted, 2 Failed, 3 Delivered), BizId, ExternalId (the caller's
    id), SendDate, ReceiveDate, ErrorCode, ErrorMessage, SmsQuantity (Number). Its dates have no offset
    and are read as China Standard Time (see `times`). Its message type stays `IntlSmsReport`; its
    entity is BizId + PhoneNumber, as for the domestic report it mirrors."""

    message_type: ClassVar[MessageType] = MessageType.INTL_SMS_REPORT
    schema_name: ClassVar[str] = "IntlSmsReport (legacy BizId/SendStatus schema)"
    spec: ClassVar[ReceiptSpec] = _international_spec(
        ids=("biz_id", "phone_number", "send_status"),
        entity=("biz_id", "phone_number"),
        status=lambda r: _LEGACY_INTL_STATUS.get(r.send_status, "unknown"),
        final=frozenset({"delivered", "failed"}),  # "1 Submitted" waits for the carrier
        name="IntlSmsReport.legacy",  # so that no current-schema report hashes the same
    )

    biz_id: str = Field(alias="BizId", min_length=1)
    send_status: int = Field(alias="SendStatus")
    phone_number: str | None = Field(None, alias="PhoneNumber")
    external_id: str | None = Field(None, alias="ExternalId")
    send_date: LegacyIntlTime | None = Field(None, alias="SendDate")
    receive_date: LegacyIntlTime | None = Field(None, alias="ReceiveDate")
    error_code: str | None = Field(None, alias="ErrorCode")
    error_message: str | None = Field(None, alias="ErrorMessage")
    sms_quantity: OptionalInt = Field(None, alias="SmsQuantity")


MODELS: dict[MessageType, type[Receipt]] = {
    model.message_type: model
    for model in (
        SmsReport,
        SmsUp,
        SignSmsReport,
        TemplateSmsReport,
        MnsCardVender,
        MnsCardTemplate,
        GlobeSmsReport,
        IntlSmsReport,
    )
}
# Every model, the legacy international schema included (it shares IntlSmsReport's message type).
ALL_MODELS: tuple[type[Receipt], ...] = (*MODELS.values(), LegacyIntlSmsReport)


def model_for(message_type: MessageType, item: dict) -> type[Receipt]:
    """The model to validate an item of `message_type` as: the type's own, except that an international
    SmsReport without `MessageId` but with `BizId` or `SendStatus` is in the legacy schema
    (doc-detail/73871)."""
    legacy = "MessageId" not in item and ("BizId" in item or "SendStatus" in item)
    if legacy and message_type is MessageType.INTL_SMS_REPORT:
        return LegacyIntlSmsReport
    return MODELS[message_type]


def record_dict(record: Receipt) -> dict[str, Any]:
    """The normalised record as JSON-ready data: field names, None for absent, aware ISO 8601 times
    (`2021-09-06T15:49:55+08:00`), unknown fields kept."""
    data = record.model_dump(mode="json")
    for name in record._optional_fields:
        if data[name] == "":
            data[name] = None
    for name in record.time_fields:
        data[name] = to_jsonable_python(record.moment(name))  # as pydantic writes an aware datetime
    if isinstance(record, DeliveryReport):
        data["delivery_status"] = record.delivery_status
        data["is_final"] = record.is_final
    return data
