"""One pydantic model per receipt type, accepting every documented variant.

What the models normalise (see ../../research notes in the README for the sources):
- ids (`biz_id`, `out_id`, `err_code`, `message_id`, `outId`, `sequence_id`, ...) stay opaque strings;
  a JSON number is turned into its digits, never through a float;
- `orderId` (HTTP) and `order_id` (MNS) both fill `order_id`;
- counts and codes given as number or text (`sms_size`, `render_status`) become integers;
- times become aware datetimes (China Standard Time where the text has no offset);
- a missing, null or empty optional field is None;
- unknown fields are kept on the record (`model_extra`) and in its dump, never dropped.
Delivery reports expose one normalised `delivery_status` (delivered / failed / expired, or unknown
for a code no document lists) and `is_final`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from .times import ReceiptTimeError, parse_receipt_time
from .types import MessageType

DeliveryStatus = Literal["delivered", "failed", "expired", "unknown"]


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


def _wire_names(name: str, info: FieldInfo) -> set[str]:
    names = {name}
    if info.alias:
        names.add(info.alias)
    if isinstance(info.validation_alias, AliasChoices):
        names.update(c for c in info.validation_alias.choices if isinstance(c, str))
    return names


class Receipt(BaseModel):
    """Fields common to every receipt model."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        coerce_numbers_to_str=True,
        frozen=True,
    )
    message_type: ClassVar[MessageType]
    type_name: ClassVar[str]  # message_type.value, read per item on hot paths (enum .value is slow)
    # Wire names (field names and aliases) of the optional fields, for which "" means absent, and
    # of the time fields. Derived from the fields when a model class is made.
    _optional_keys: ClassVar[frozenset[str]] = frozenset()
    _time_keys: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.type_name = cls.message_type.value
        optional: set[str] = set()
        times: set[str] = set()
        for name, info in cls.model_fields.items():
            if not info.is_required():
                optional |= _wire_names(name, info)
            if info.annotation is datetime or datetime in get_args(info.annotation):
                times |= _wire_names(name, info)
        cls._optional_keys = frozenset(optional)
        cls._time_keys = frozenset(times)

    @model_validator(mode="before")
    @classmethod
    def _normalize_input(cls, data: Any) -> Any:
        # One Python pass per item (a validator per field costs more): "" means absent, and times
        # become aware datetimes. The caller's dict stays as it came, since it is the raw receipt.
        if type(data) is not dict:
            return data
        if "" in data.values():
            optional = cls._optional_keys
            normalized = {k: v for k, v in data.items() if not (v == "" and k in optional)}
        else:
            normalized = data.copy()
        key = ""
        try:
            for key in cls._time_keys:
                value = normalized.get(key)
                if value is not None:
                    normalized[key] = parse_receipt_time(value)
        except ReceiptTimeError as exc:
            raise ValueError(f"{key}: {exc}") from None
        return normalized


class SmsReport(Receipt):
    """Domestic delivery report (SendSms / SendBatchSms)."""

    message_type: ClassVar[MessageType] = MessageType.SMS_REPORT

    biz_id: str = Field(min_length=1)
    phone_number: str = Field(min_length=1)
    success: bool
    send_time: datetime | None = None
    report_time: datetime | None = None
    err_code: str | None = None
    err_msg: str | None = None
    sms_size: int | None = None
    out_id: str | None = None

    @property
    def delivery_status(self) -> DeliveryStatus:
        if self.success:
            return "delivered"
        if self.err_code and self.err_code.upper() in _EXPIRED_CODES:
            return "expired"
        return "failed"

    @property
    def is_final(self) -> bool:
        return True


# Carrier codes that mean the message outlived its validity period (CMPP/SMGP spellings).
_EXPIRED_CODES = frozenset({"EXPIRED", "EXPIRD"})


class SmsUp(Receipt):
    """A user's reply (uplink)."""

    message_type: ClassVar[MessageType] = MessageType.SMS_UP

    phone_number: str = Field(min_length=1)
    content: str
    send_time: datetime | None = None
    dest_code: str | None = None
    sequence_id: WholeNumberId | None = None
    sign_name: str | None = None

    @model_validator(mode="after")
    def _identifiable(self) -> SmsUp:
        if self.sequence_id is None and self.send_time is None:
            raise ValueError("a reply needs sequence_id or send_time to be told apart from others")
        return self


class SignSmsReport(Receipt):
    """Signature audit result."""

    message_type: ClassVar[MessageType] = MessageType.SIGN_SMS_REPORT

    sign_name: str = Field(min_length=1)
    sign_status: str = Field(min_length=1)
    order_id: str | None = Field(None, validation_alias=AliasChoices("orderId", "order_id"))
    reason: str | None = None
    sign_source: str | None = None
    remark: str | None = None
    sign_scene: str | None = None
    create_date: datetime | None = None


class TemplateSmsReport(Receipt):
    """Template audit result. `template_type` is a Chinese label here, not the API's number."""

    message_type: ClassVar[MessageType] = MessageType.TEMPLATE_SMS_REPORT

    template_code: str = Field(min_length=1)
    template_status: str = Field(min_length=1)
    order_id: str | None = Field(None, validation_alias=AliasChoices("orderId", "order_id"))
    template_name: str | None = None
    template_type: str | None = None
    template_content: str | None = None
    reason: str | None = None
    remark: str | None = None
    create_date: datetime | None = None


class MnsCardVender(Receipt):
    """Card SMS render receipt (camelCase `outId`; types drift between the HTTP and MNS docs)."""

    message_type: ClassVar[MessageType] = MessageType.MNS_CARD_VENDER

    outId: str = Field(min_length=1)
    mobile: str = Field(min_length=1)
    render_status: int | None = None
    desc: str | None = None


class CardVendorResult(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, frozen=True)

    vendorCode: str
    state: int | None = None
    desc: str | None = None


class MnsCardTemplate(Receipt):
    """Card SMS template audit, with one result per phone vendor."""

    message_type: ClassVar[MessageType] = MessageType.MNS_CARD_TEMPLATE

    template_code: str = Field(min_length=1)
    approval_status: int
    tmpOps: list[CardVendorResult] = Field(default_factory=list)
    extData: dict[str, Any] | None = None
    desc: str | None = None


class GlobeSmsReport(Receipt):
    """International delivery report of the China site (SendMessageToGlobe), snake_case."""

    message_type: ClassVar[MessageType] = MessageType.GLOBE_SMS_REPORT

    message_id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    to: str | None = None
    send_date: datetime | None = None
    receive_date: datetime | None = None
    error_code: str | None = None
    error_description: str | None = None

    @property
    def delivery_status(self) -> DeliveryStatus:
        return _INTL_STATUS.get(self.status, "unknown")

    @property
    def is_final(self) -> bool:
        return self.delivery_status != "unknown"


class IntlSmsReport(Receipt):
    """International site `SmsReport` ("SMS webhook"), PascalCase on the wire."""

    message_type: ClassVar[MessageType] = MessageType.INTL_SMS_REPORT

    message_id: str = Field(alias="MessageId", min_length=1)
    status: str = Field(alias="Status", min_length=1)
    to: str | None = Field(None, alias="To")
    sms_size: int | None = Field(None, alias="SmsSize")
    task_id: str | None = Field(None, alias="TaskId")
    send_date: datetime | None = Field(None, alias="SendDate")
    receive_date: datetime | None = Field(None, alias="ReceiveDate")
    error_code: str | None = Field(None, alias="ErrorCode")
    error_description: str | None = Field(None, alias="ErrorDescription")

    @property
    def delivery_status(self) -> DeliveryStatus:
        return _INTL_STATUS.get(self.status, "unknown")

    @property
    def is_final(self) -> bool:
        return self.delivery_status != "unknown"


_INTL_STATUS: dict[str, DeliveryStatus] = {"1": "delivered", "2": "failed", "6": "expired"}

DELIVERY_REPORTS = (SmsReport, GlobeSmsReport, IntlSmsReport)

MODELS: dict[MessageType, type[Receipt]] = {
    model.message_type: model
    for model in (
        SmsReport, SmsUp, SignSmsReport, TemplateSmsReport, MnsCardVender, MnsCardTemplate,
        GlobeSmsReport, IntlSmsReport,
    )
}  # fmt: skip


def record_dict(record: Receipt) -> dict[str, Any]:
    """The normalised record as JSON-ready data: field names, ISO times, unknown fields kept."""
    data = record.model_dump(mode="json")
    if isinstance(record, DELIVERY_REPORTS):
        data["delivery_status"] = record.delivery_status
        data["is_final"] = record.is_final
    return data
