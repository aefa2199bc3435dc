"""Stable identity for every receipt.

**Idempotency key** — the same for the same receipt however it arrived, different for a genuinely
different report. It is a 128-bit BLAKE2b hex digest over the message type and the receipt's
*identity fields*, each normalised first: ids as text (so `123` and `"123"` agree), times as epoch
milliseconds (so `2017-01-01 00:00:00`, `20170101000000` and an ISO text with `+08:00` agree),
booleans as `1`/`0`, and missing, null and empty all as absent. Only the identity fields count, so
JSON formatting, key order, key spelling (`order_id`, or the HTTP docs' `orderId`), unknown extra fields and fields one
delivery path omits (international `TaskId` over MNS, `sign_name` in new SmsUp) never change it.

Each type's identity fields are named by its model's `spec`; the README's Identity section lists them.

**Entity key** — what the receipt is about; later reports about the same thing share it.

The entity key is `<MessageType>:<part>|<part>...`, with `|` and `\\` inside a part escaped by `\\`.
An absent part is empty: `phone_number` is optional in SmsReport and SmsUp (the older official table,
https://developer.aliyun.com/ask/217930), so a report without it is `SmsReport:<biz_id>|` (and
`IntlSmsReport:<BizId>|` likewise), a reply `SmsUp:|<dest_code>|<sequence_id>`. A legacy
international entity always has a `|` between its parts, which a current `message_id` (`|` escaped)
never has, so the two schemas never share an entity.

"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b
from operator import attrgetter, itemgetter
from typing import Any, get_args

from .models import ALL_MODELS, Receipt
from .times import ReceiptTimeError, epoch_ms, parse_receipt_time

_SEPARATOR = "\x1f"  # between identity fields


@lru_cache(maxsize=4096)  # a push repeats the same few seconds
def _time_text(text: str | None) -> str:
    """A time text as epoch milliseconds, the same instant however it was spelt; "" when absent."""
    return str(epoch_ms(parse_receipt_time(text))) if text else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def escape_entity_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace("|", "\\|")


_BLANK_FOR_NONE = {None: ""}.get  # (value, value): "" for None, else the value; no Python call per field


def _holds_number(annotation: Any) -> bool:
    return annotation is int or any(_holds_number(arg) for arg in get_args(annotation))


class _Identity:
    """A model's spec made ready to read records: which identity fields are times or booleans, and
    where each entity part is among them."""

    def __init__(self, model: type[Receipt]) -> None:
        spec, fields = model.spec, model.model_fields
        self.prefix = spec.identity_name or model.type_name
        self.entity_prefix = model.type_name + ":"
        getter = attrgetter(*spec.identity)  # a tuple of values, for two names or more
        self.values = getter if len(spec.identity) > 1 else lambda record: (getter(record),)
        index = spec.identity.index
        self.times = tuple(index(name) for name in spec.identity if name in model.time_fields)
        self.booleans = tuple(index(name) for name in spec.identity if fields[name].annotation in (bool, bool | None))
        # Numbers, to be spelt as digits; every other field holds text or None.
        self.numbers = tuple(index(name) for name in spec.identity if _holds_number(fields[name].annotation))
        self.items = attrgetter(spec.items) if spec.items else None
        self.item_values = attrgetter(*spec.item_fields) if spec.items else None
        # Each entity part as the identity field it is, and (part, field) for a field standing in when it is empty.
        parts = [(part,) if isinstance(part, str) else part for part in spec.entity]
        entity = itemgetter(*(index(part[0]) for part in parts))  # a tuple, for two parts or more
        self.entity_of = entity if len(parts) > 1 else lambda texts: (entity(texts),)
        self.stand_ins = tuple((position, index(name)) for position, part in enumerate(parts) for name in part[1:])

    def item_texts(self, record: Receipt) -> list[str]:
        """A list's entries, sorted so that the order they were listed in does not count."""
        return sorted("=".join(map(_text, self.item_values(entry))) for entry in self.items(record))  # type: ignore[misc]


_IDENTITIES = {model: _Identity(model) for model in ALL_MODELS}


def identify(record: Receipt) -> tuple[str, str]:
    """(idempotency key, entity key) of a record. ReceiptTimeError, naming the field, for a time text
    of the right shape whose date does not exist (`2021-02-30 10:00:00`)."""
    identity = _IDENTITIES[type(record)]
    texts = _field_texts(identity, record)
    text = _SEPARATOR.join([identity.prefix, *texts])
    parts = _entity_parts(identity, texts)
    if "|" in text or "\\" in text:  # every entity part is in the text: only then may one need escaping
        parts = [escape_entity_part(part) for part in parts]
    return blake2b(text.encode(), digest_size=16).hexdigest(), identity.entity_prefix + "|".join(parts)


def _field_texts(identity: _Identity, record: Receipt) -> list[str]:
    """The identity fields as text: ids as they are, numbers as digits, booleans as 1/0, times as epoch
    ms, None as ""; then a list's entries. ReceiptTimeError, naming the field, for a date that does not exist."""
    values = identity.values(record)
    texts: list[str] = list(map(_BLANK_FOR_NONE, values, values))
    try:
        for i in identity.times:
            texts[i] = _time_text(values[i])
    except ReceiptTimeError:
        for name in record.time_fields:
            record.moment(name)  # raises, naming the field
        raise
    for i in identity.booleans:
        texts[i] = "1" if values[i] else "0"
    for i in identity.numbers:
        texts[i] = _text(values[i])
    if identity.items is not None:
        texts += identity.item_texts(record)
    return texts


def _entity_parts(identity: _Identity, texts: list[str]) -> list[str] | tuple[str, ...]:
    parts = identity.entity_of(texts)
    if identity.stand_ins:
        parts = list(parts)
        for position, i in identity.stand_ins:
            parts[position] = parts[position] or texts[i]
    return parts


def idempotency_key(record: Receipt) -> str:
    return identify(record)[0]


def entity_parts(record: Receipt) -> tuple[str, ...]:
    identity = _IDENTITIES[type(record)]
    return tuple(_entity_parts(identity, _field_texts(identity, record)))


def entity_key(record: Receipt) -> str:
    return identify(record)[1]
