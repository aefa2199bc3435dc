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

from collections.abc import Callable
from functools import lru_cache
from hashlib import blake2b
from operator import attrgetter
from typing import Any, get_args

from .models import ALL_MODELS, Receipt
from .times import ReceiptTimeError, epoch_ms, parse_receipt_time

_SEPARATOR = "\x1f"  # between identity fields
_new_hasher = blake2b(digest_size=16).copy  # a fresh 128-bit hasher, its parameters parsed once


@lru_cache(maxsize=4096)  # a push repeats the same few seconds
def _time_text(text: str | None) -> str:
    """A time text as epoch milliseconds, the same instant however it was spelt; "" when absent."""
    return str(epoch_ms(parse_receipt_time(text))) if text else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def escape_entity_part(part: str) -> str:
    return part.replace("\\", "\\\\").replace("|", "\\|")


def _holds_number(annotation: Any) -> bool:
    return annotation is int or any(_holds_number(arg) for arg in get_args(annotation))


def _spelling(name: str, is_time: bool, annotation: Any) -> str:
    """How an identity field is spelt in the text, as an expression over the record's fields `f`: times
    as epoch ms, booleans as 1/0, numbers as digits, text as itself; absent (None) as ""."""
    if is_time:
        return f"_time_text(f[{name!r}])"
    if annotation in (bool, bool | None):
        return f"('1' if f[{name!r}] else '0')"
    if _holds_number(annotation):
        return f"_text(f[{name!r}])"
    return f"(f[{name!r}] or '')"


def _compile(model: type[Receipt]) -> Callable[[dict[str, Any], Receipt], tuple[str, tuple[str, ...]]]:
    """The spec's identity as one function of a record's fields: (identity text, entity parts).

    Written out once per type from its spec, as `dataclasses` writes an `__init__`: every receipt of a
    push goes through it, and a loop over the spec's fields costs about twice as much per receipt."""
    spec, fields = model.spec, model.model_fields
    index = spec.identity.index
    values = [f"v{i}" for i in range(len(spec.identity))]
    lines = [
        f"    v{i} = {_spelling(name, name in model.time_fields, fields[name].annotation)}"
        for i, name in enumerate(spec.identity)
    ]
    listed = "*_items(record)" if spec.items else ""  # a list's entries, sorted, after the fields
    lines.append(
        f"    text = _SEPARATOR.join(({(spec.identity_name or model.type_name)!r}, {', '.join(values)}, {listed}))"
    )
    # Each entity part is an identity field; a tuple of them names the first that is not empty.
    parts = [(part,) if isinstance(part, str) else part for part in spec.entity]
    lines.append(f"    return text, ({''.join(' or '.join(f'v{index(n)}' for n in part) + ', ' for part in parts)})")
    source = "def texts(f, record):\n" + "\n".join(lines)
    namespace: dict[str, Any] = {"_time_text": _time_text, "_text": _text, "_SEPARATOR": _SEPARATOR}
    if spec.items:
        entry_values = attrgetter(*spec.item_fields)
        every = attrgetter(spec.items)

        def _items(record: Receipt) -> list[str]:  # sorted, so that the order listed does not count
            return sorted("=".join(map(_text, entry_values(entry))) for entry in every(record))

        namespace["_items"] = _items
    exec(source, namespace)  # code written here, from the spec, once at import
    texts: Callable[[dict[str, Any], Receipt], tuple[str, tuple[str, ...]]] = namespace["texts"]
    return texts


class _Identity:
    """A model's spec made ready to read records."""

    def __init__(self, model: type[Receipt]) -> None:
        self.texts = _compile(model)
        self.entity_prefix = model.type_name + ":"


_IDENTITIES = {model: _Identity(model) for model in ALL_MODELS}


def _texts(record: Receipt) -> tuple[_Identity, str, tuple[str, ...]]:
    """ReceiptTimeError, naming the field, for a time text of the right shape whose date does not exist."""
    identity = _IDENTITIES[type(record)]
    try:
        return identity, *identity.texts(record.__dict__, record)
    except ReceiptTimeError:
        for name in record.time_fields:
            record.moment(name)  # raises, naming the field
        raise


def identify(record: Receipt) -> tuple[str, str]:
    """(idempotency key, entity key) of a record. ReceiptTimeError, naming the field, for a time text
    of the right shape whose date does not exist (`2021-02-30 10:00:00`)."""
    identity, text, parts = _texts(record)
    if "|" in text or "\\" in text:  # every entity part is in the text: only then may one need escaping
        parts = tuple(escape_entity_part(part) for part in parts)
    hasher = _new_hasher()
    hasher.update(text.encode())
    return hasher.hexdigest(), identity.entity_prefix + "|".join(parts)


def idempotency_key(record: Receipt) -> str:
    return identify(record)[0]


def entity_parts(record: Receipt) -> tuple[str, ...]:
    return _texts(record)[2]


def entity_key(record: Receipt) -> str:
    return identify(record)[1]
