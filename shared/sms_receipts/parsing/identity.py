"""Stable identity for every receipt.

**Idempotency key** — the same for the same receipt however it arrived, different for a genuinely
different report. It is a 128-bit BLAKE2b hex digest over the message type and the receipt's
*identity fields*, each normalised first: ids as text (so `123` and `"123"` agree), times as epoch
milliseconds (so `2017-01-01 00:00:00`, `20170101000000` and an ISO text with `+08:00` agree),
booleans as `1`/`0`, and missing, null and empty all as absent. Only the identity fields count, so
JSON formatting, key order, key spelling (`orderId`/`order_id`), unknown extra fields and fields one
delivery path omits (international `TaskId` over MNS, `sign_name` in new SmsUp) never change it.

| type | identity fields |
|---|---|
| SmsReport | biz_id, phone_number, success, err_code, send_time, report_time |
| SmsUp | phone_number, dest_code, sequence_id, send_time, content |
| SignSmsReport | sign_name, order_id, sign_status, create_date |
| TemplateSmsReport | template_code, order_id, template_status, create_date |
| MnsCardVender | outId, mobile, render_status, desc |
| MnsCardTemplate | template_code, approval_status, desc, every tmpOps (vendorCode, state, desc) |
| GlobeSmsReport, IntlSmsReport | message_id, to, status, error_code, send_date, receive_date |

**Entity key** — what the receipt is about; later reports about the same thing share it.

| type | entity |
|---|---|
| SmsReport | biz_id + phone_number (one biz_id covers a whole batch send) |
| SmsUp | phone_number + dest_code + sequence_id; send_time instead when sequence_id is absent |
| SignSmsReport | sign_name |
| TemplateSmsReport, MnsCardTemplate | template_code |
| MnsCardVender | outId + mobile |
| GlobeSmsReport, IntlSmsReport | message_id |

The entity key is `<MessageType>:<part>|<part>...`, with `|` and `\\` inside a part escaped by `\\`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from hashlib import blake2b

from .models import (
    GlobeSmsReport,
    IntlSmsReport,
    MnsCardTemplate,
    MnsCardVender,
    Receipt,
    SignSmsReport,
    SmsReport,
    SmsUp,
    TemplateSmsReport,
)

_SEPARATOR = "\x1f"


@lru_cache(maxsize=4096)
def _time(moment: datetime | None) -> str:
    # Epoch milliseconds: the same instant however the text spelt it.
    return "" if moment is None else str(int(moment.timestamp() * 1000))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _intl_identity(r: GlobeSmsReport | IntlSmsReport) -> tuple[str, ...]:
    return (
        r.message_id, _text(r.to), r.status, _text(r.error_code), _time(r.send_date), _time(r.receive_date),
    )  # fmt: skip


def _card_template_identity(r: MnsCardTemplate) -> tuple[str, ...]:
    vendors = sorted(f"{op.vendorCode}={_text(op.state)}={_text(op.desc)}" for op in r.tmpOps)
    return (r.template_code, str(r.approval_status), _text(r.desc), *vendors)


# Each returns the normalised identity fields as text (see the table above).
_IDENTITY_FIELDS: dict[type[Receipt], Callable[..., tuple[str, ...]]] = {
    SmsReport: lambda r: (
        r.biz_id, r.phone_number, "1" if r.success else "0", _text(r.err_code),
        _time(r.send_time), _time(r.report_time),
    ),
    SmsUp: lambda r: (
        r.phone_number, _text(r.dest_code), _text(r.sequence_id), _time(r.send_time), r.content,
    ),
    SignSmsReport: lambda r: (r.sign_name, _text(r.order_id), r.sign_status, _time(r.create_date)),
    TemplateSmsReport: lambda r: (
        r.template_code, _text(r.order_id), r.template_status, _time(r.create_date),
    ),
    MnsCardVender: lambda r: (r.outId, r.mobile, _text(r.render_status), _text(r.desc)),
    MnsCardTemplate: _card_template_identity,
    GlobeSmsReport: _intl_identity,
    IntlSmsReport: _intl_identity,
}  # fmt: skip


def _sms_up_entity(r: SmsUp) -> tuple[str, ...]:
    if r.sequence_id is not None:
        return (r.phone_number, _text(r.dest_code), r.sequence_id)
    return (r.phone_number, _text(r.dest_code), _time(r.send_time))


_ENTITY_PARTS: dict[type[Receipt], Callable[..., tuple[str, ...]]] = {
    SmsReport: lambda r: (r.biz_id, r.phone_number),
    SmsUp: _sms_up_entity,
    SignSmsReport: lambda r: (r.sign_name,),
    TemplateSmsReport: lambda r: (r.template_code,),
    MnsCardVender: lambda r: (r.outId, r.mobile),
    MnsCardTemplate: lambda r: (r.template_code,),
    GlobeSmsReport: lambda r: (r.message_id,),
    IntlSmsReport: lambda r: (r.message_id,),
}


def _digest(record: Receipt) -> str:
    fields = _IDENTITY_FIELDS[type(record)](record)
    text = record.type_name + _SEPARATOR + _SEPARATOR.join(fields)
    return blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def escape_entity_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace("|", "\\|")


def _entity_text(parts: tuple[str, ...], message_type: str) -> str:
    joined = "|".join(parts)
    if "\\" in joined or joined.count("|") != len(parts) - 1:
        joined = "|".join(map(escape_entity_part, parts))
    return message_type + ":" + joined


def identify(record: Receipt) -> tuple[str, str]:
    """(idempotency key, entity key) of a record."""
    return _digest(record), _entity_text(_ENTITY_PARTS[type(record)](record), record.type_name)


def idempotency_key(record: Receipt) -> str:
    return _digest(record)


def entity_parts(record: Receipt) -> tuple[str, ...]:
    return _ENTITY_PARTS[type(record)](record)


def entity_key(record: Receipt) -> str:
    return _entity_text(entity_parts(record), record.type_name)
