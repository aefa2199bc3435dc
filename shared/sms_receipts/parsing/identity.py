"""Stable identity for every receipt.

**Idempotency key** — the same for the same receipt however it arrived, different for a genuinely
different report. It is a 128-bit BLAKE2b hex digest over the message type and the receipt's
*identity fields*, each normalised first: ids as text (so `123` and `"123"` agree), times as epoch
milliseconds (so `2017-01-01 00:00:00`, `20170101000000` and an ISO text with `+08:00` agree),
booleans as `1`/`0`, and missing, null and empty all as absent. Only the identity fields count, so
JSON formatting, key order, key spelling (`order_id`, or the HTTP docs' `orderId`), unknown extra fields and fields one
delivery path omits (international `TaskId` over MNS, `sign_name` in new SmsUp) never change it.

| type | identity fields |
|---|---|
| SmsReport | biz_id, phone_number, success, err_code, send_time, report_time |
| SmsUp | phone_number, dest_code, sequence_id, send_time, content |
| SignSmsReport | sign_name, order_id, sign_status, create_date |
| TemplateSmsReport | template_code, order_id, template_status, create_date |
| MnsCardVender | outId, mobile, render_status, desc |
| MnsCardTemplate | template_code, approval_status, desc, each vendor's (vendorCode, state, desc) |
| GlobeSmsReport, IntlSmsReport | message_id, to, status, error_code, send_date, receive_date |
| IntlSmsReport, legacy schema | BizId, PhoneNumber, SendStatus, ErrorCode, SendDate, ReceiveDate |

**Entity key** — what the receipt is about; later reports about the same thing share it.

| type | entity |
|---|---|
| SmsReport | biz_id + phone_number (one biz_id covers a whole batch send), an empty part without a number |
| SmsUp | phone_number + dest_code + sequence_id; send_time instead when sequence_id is absent |
| SignSmsReport | sign_name |
| TemplateSmsReport, MnsCardTemplate | template_code |
| MnsCardVender | outId + mobile |
| GlobeSmsReport, IntlSmsReport | message_id |
| IntlSmsReport, legacy schema | BizId + PhoneNumber, as for the domestic report it mirrors |

The entity key is `<MessageType>:<part>|<part>...`, with `|` and `\\` inside a part escaped by `\\`.
An absent part is empty: `phone_number` is optional in SmsReport and SmsUp (the older official table,
https://developer.aliyun.com/ask/217930), so a report without it is `SmsReport:<biz_id>|` (and
`IntlSmsReport:<BizId>|` likewise), a reply `SmsUp:|<dest_code>|<sequence_id>`. A legacy
international entity always has a `|` between its parts, which a current `message_id` (`|` escaped)
never has, so the two schemas never share an entity.

Both keys are made for every item of every push, so each type has one function (`_TEXTS`) that
spells its identity fields in one f-string and its entity in another; `keys_from_texts` hashes them.
`_ENTITY_PARTS` lists the entity parts once more, for `entity_parts` and for the rare part that
needs escaping; a property test checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import blake2b

from .models import (
    GlobeSmsReport,
    IntlSmsReport,
    LegacyIntlSmsReport,
    MnsCardTemplate,
    MnsCardVender,
    Receipt,
    SignSmsReport,
    SmsReport,
    SmsUp,
    TemplateSmsReport,
)
from .times import ReceiptTimeError, epoch_ms, parse_receipt_time

_SEPARATOR = "\x1f"  # between identity fields; written as \x1f inside the f-strings below


class _EpochMsCache(dict):
    """`_ms[text]`: a time text as epoch milliseconds, the same instant however it was spelt; "" when
    absent. ReceiptTimeError for a date that does not exist. A push repeats the same few seconds, and a
    dict subscript is the cheapest cached lookup (about half an `lru_cache` call)."""

    def __missing__(self, text: str | None) -> str:
        if len(self) >= 4096:
            self.clear()
        self[text] = value = str(epoch_ms(parse_receipt_time(text))) if text else ""
        return value


_ms = _EpochMsCache()


def _int_text(value: int | None) -> str:
    return "" if value is None else str(value)


# Copying a fresh hasher skips parsing `digest_size=16` once per receipt, a fifth of the hashing time.
new_hasher = blake2b(digest_size=16).copy


def escape_entity_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace("|", "\\|")


# One function per type, on the hot path of every push: the identity fields (see the table above; text
# as "" when absent or empty, times as epoch ms) in one f-string, and the entity in another. The caller
# hashes the first; every entity part is also an identity field, so a part that needs escaping shows in
# the identity text, and only then is the entity spelt out again, escaped, by `entity_key`.


def _sms_report(r: SmsReport) -> tuple[str, str]:
    biz_id, phone = r.biz_id, r.phone_number or ""
    identity = (
        f"SmsReport\x1f{biz_id}\x1f{phone}\x1f{'1' if r.success else '0'}\x1f{r.err_code or ''}"
        f"\x1f{_ms[r.send_time]}\x1f{_ms[r.report_time]}"
    )
    entity = f"SmsReport:{biz_id}|{phone}"
    return identity, entity


def _sms_up(r: SmsUp) -> tuple[str, str]:
    phone, dest_code, sequence_id = r.phone_number or "", r.dest_code or "", r.sequence_id or ""
    send_ms = _ms[r.send_time]
    identity = f"SmsUp\x1f{phone}\x1f{dest_code}\x1f{sequence_id}\x1f{send_ms}\x1f{r.content}"
    entity = f"SmsUp:{phone}|{dest_code}|{sequence_id or send_ms}"
    return identity, entity


def _sign_sms_report(r: SignSmsReport) -> tuple[str, str]:
    identity = f"SignSmsReport\x1f{r.sign_name}\x1f{r.order_id or ''}\x1f{r.sign_status}\x1f{_ms[r.create_date]}"
    entity = f"SignSmsReport:{r.sign_name}"
    return identity, entity


def _template_sms_report(r: TemplateSmsReport) -> tuple[str, str]:
    identity = (
        f"TemplateSmsReport\x1f{r.template_code}\x1f{r.order_id or ''}\x1f{r.template_status}\x1f{_ms[r.create_date]}"
    )
    entity = f"TemplateSmsReport:{r.template_code}"
    return identity, entity


def _mns_card_vender(r: MnsCardVender) -> tuple[str, str]:
    identity = f"MnsCardVender\x1f{r.outId}\x1f{r.mobile}\x1f{_int_text(r.render_status)}\x1f{r.desc or ''}"
    entity = f"MnsCardVender:{r.outId}|{r.mobile}"
    return identity, entity


def _mns_card_template(r: MnsCardTemplate) -> tuple[str, str]:
    # The vendors' results in a fixed order, so that the order they were listed in does not count.
    vendors = sorted(f"{op.vendorCode}={_int_text(op.state)}={op.desc or ''}" for op in r.tmpOps)
    identity = _SEPARATOR.join(("MnsCardTemplate", r.template_code, str(r.approval_status), r.desc or "", *vendors))
    entity = f"MnsCardTemplate:{r.template_code}"
    return identity, entity


def _globe_sms_report(r: GlobeSmsReport) -> tuple[str, str]:
    identity = (
        f"GlobeSmsReport\x1f{r.message_id}\x1f{r.to or ''}\x1f{r.status}\x1f{r.error_code or ''}"
        f"\x1f{_ms[r.send_date]}\x1f{_ms[r.receive_date]}"
    )
    entity = f"GlobeSmsReport:{r.message_id}"
    return identity, entity


def _intl_sms_report(r: IntlSmsReport) -> tuple[str, str]:
    identity = (
        f"IntlSmsReport\x1f{r.message_id}\x1f{r.to or ''}\x1f{r.status}\x1f{r.error_code or ''}"
        f"\x1f{_ms[r.send_date]}\x1f{_ms[r.receive_date]}"
    )
    entity = f"IntlSmsReport:{r.message_id}"
    return identity, entity


def _legacy_intl_sms_report(r: LegacyIntlSmsReport) -> tuple[str, str]:
    # A type name of its own in the identity text, so that no current-schema report hashes the same.
    biz_id, phone = r.biz_id, r.phone_number or ""
    identity = (
        f"IntlSmsReport.legacy\x1f{biz_id}\x1f{phone}\x1f{r.send_status}\x1f{r.error_code or ''}"
        f"\x1f{_ms[r.send_date]}\x1f{_ms[r.receive_date]}"
    )
    entity = f"IntlSmsReport:{biz_id}|{phone}"
    return identity, entity


# (identity text, entity key unescaped) of a record, by model. ReceiptTimeError for a date that does not exist.
_TEXTS: dict[type[Receipt], Callable[..., tuple[str, str]]] = {
    SmsReport: _sms_report,
    SmsUp: _sms_up,
    SignSmsReport: _sign_sms_report,
    TemplateSmsReport: _template_sms_report,
    MnsCardVender: _mns_card_vender,
    MnsCardTemplate: _mns_card_template,
    GlobeSmsReport: _globe_sms_report,
    IntlSmsReport: _intl_sms_report,
    LegacyIntlSmsReport: _legacy_intl_sms_report,
}


def texts_of(model: type[Receipt]) -> Callable[..., tuple[str, str]]:
    """The function giving (identity text, unescaped entity key) of a record of `model`."""
    return _TEXTS[model]


def keys_from_texts(record: Receipt, identity: str, entity: str) -> tuple[str, str]:
    """(idempotency key, entity key) from a record's texts: the identity hashed, the entity escaped
    when a part needs it. The fast path (`ParsedItem.for_records`) does the same inline."""
    hasher = new_hasher()
    hasher.update(identity.encode())
    if "|" in identity or "\\" in identity:
        entity = entity_key(record)
    return hasher.hexdigest(), entity


_ENTITY_PARTS: dict[type[Receipt], Callable[..., tuple[str, ...]]] = {
    SmsReport: lambda r: (r.biz_id, r.phone_number or ""),
    SmsUp: lambda r: (r.phone_number or "", r.dest_code or "", r.sequence_id or _ms[r.send_time]),
    SignSmsReport: lambda r: (r.sign_name,),
    TemplateSmsReport: lambda r: (r.template_code,),
    MnsCardVender: lambda r: (r.outId, r.mobile),
    MnsCardTemplate: lambda r: (r.template_code,),
    GlobeSmsReport: lambda r: (r.message_id,),
    IntlSmsReport: lambda r: (r.message_id,),
    LegacyIntlSmsReport: lambda r: (r.biz_id, r.phone_number or ""),
}


def identify(record: Receipt) -> tuple[str, str]:
    """(idempotency key, entity key) of a record. ReceiptTimeError, naming the field, for a time text
    of the right shape whose date does not exist (`2021-02-30 10:00:00`)."""
    try:
        return keys_from_texts(record, *_TEXTS[type(record)](record))
    except ReceiptTimeError:
        for name in record.time_fields:
            record.moment(name)  # raises, naming the field
        raise


def idempotency_key(record: Receipt) -> str:
    return identify(record)[0]


def entity_parts(record: Receipt) -> tuple[str, ...]:
    return _ENTITY_PARTS[type(record)](record)


def entity_key(record: Receipt) -> str:
    return f"{record.type_name}:{'|'.join(map(escape_entity_part, entity_parts(record)))}"
