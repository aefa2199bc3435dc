"""Receipt times: what their text may look like, and the timezone-aware moment it names.

Domestic receipts carry `yyyy-MM-dd HH:mm:ss` (older SmsUp: `yyyyMMddHHmmss`) with no offset; they
are China Standard Time. International ones carry RFC 1123 dates with an offset
(`Thu, 25 Nov 2021 10:27:00 +0800`). The legacy international SmsReport (the BizId / SendStatus
schema, https://www.alibabacloud.com/help/doc-detail/73871.htm) spelt its dates `M/d/yyyy HH:mm:ss`
(`6/1/2017 10:00:00`), month first as in that English page, or `yyyy-MM-dd HH:mm:ss` (the 2020
revision of doc-detail/162962); they carry no offset and are read as China Standard Time too, as the
China site's GlobeSmsReport dates are. Only that model accepts the `M/d/yyyy` spelling
(`LEGACY_INTL_TIME_PATTERN`). Every parsed time is aware.

`TIME_PATTERN` is the shape the models check in pydantic-core; `parse_receipt_time` reads the moment
and also catches what a pattern cannot, a date with the right shape that does not exist (`2021-02-30`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache

# Asia/Shanghai has had no daylight saving since 1991, so a fixed offset is exact for receipts and
# needs no tz database on the function's image.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

TIME_FORMATS = "'yyyy-MM-dd HH:mm:ss', 'yyyyMMddHHmmss' or 'Thu, 25 Nov 2021 10:27:00 +0800'"

_WEEKDAY = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_MONTH = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# The spellings a receipt time may have, or "" (absent): the documented ones, ISO 8601 (with a zone or
# not) and RFC 1123 with a numeric zone, GMT or none. ASCII digits only; whether the date exists is for
# `parse_receipt_time` to say.
TIME_PATTERN = (
    r"^(?:"
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}"  # yyyy-MM-dd HH:mm:ss
    r"(?:\.[0-9]{3}(?:[0-9]{3})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"  # ISO 8601 fraction and zone
    r"|[0-9]{14}"  # yyyyMMddHHmmss (older SmsUp)
    rf"|(?:{_WEEKDAY}), [0-9]{{1,2}} (?:{_MONTH}) [0-9]{{4}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"  # RFC 1123
    r"(?: [+-][0-9]{4}| GMT)?"  # its zone
    r")?$"
)

LEGACY_INTL_TIME_FORMATS = "'M/d/yyyy HH:mm:ss', " + TIME_FORMATS
# The legacy international report's `6/1/2017 10:00:00` (M/d/yyyy, one or two digits for the month,
# the day and the hour), besides every spelling of TIME_PATTERN.
LEGACY_INTL_TIME_PATTERN = r"^(?:[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}$|" + TIME_PATTERN[1:] + ")"


class ReceiptTimeError(ValueError):
    pass


def unreadable_time(text: object, formats: str | None = None) -> str:
    if formats is None:  # only the legacy international model lets a `/` spelling through to be read
        formats = LEGACY_INTL_TIME_FORMATS if isinstance(text, str) and "/" in text else TIME_FORMATS
    return f"unreadable time {text!r}: expected {formats}"


def parse_receipt_time(value: object) -> datetime | None:
    """None for a missing or empty time; an aware datetime otherwise; ReceiptTimeError if unreadable."""
    if type(value) is str:
        return _parse_text(value) if value else None
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TZ)
    raise ReceiptTimeError(f"time must be a string, got {type(value).__name__}")


# One push repeats the same few seconds many times; caching the text keeps parsing cheap.
@lru_cache(maxsize=4096)
def _parse_text(text: str) -> datetime:
    text = text.strip()
    try:
        if len(text) == 19 and text[4] == "-" and text[10] in " T":
            return datetime(
                int(text[0:4]),
                int(text[5:7]),
                int(text[8:10]),
                int(text[11:13]),
                int(text[14:16]),
                int(text[17:19]),
                tzinfo=CHINA_TZ,
            )
        if len(text) == 14 and text.isdigit():
            return datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[8:10]),
                int(text[10:12]),
                int(text[12:14]),
                tzinfo=CHINA_TZ,
            )
        if "/" in text:  # M/d/yyyy H:mm:ss, the legacy international report (doc-detail/73871)
            day, clock = text.split(" ")
            month, mday, year = day.split("/")
            hour, minute, second = clock.split(":")
            return datetime(int(year), int(month), int(mday), int(hour), int(minute), int(second), tzinfo=CHINA_TZ)
        if "," in text or text[:1].isalpha():
            parsed = parsedate_to_datetime(text)
            if parsed.tzinfo is None and text.endswith("-0000"):
                # RFC 5322 "-0000": a UTC time (parsedate gives it naive, as if it had no zone).
                parsed = parsed.replace(tzinfo=timezone.utc)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise ReceiptTimeError(unreadable_time(text)) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=CHINA_TZ)


def china_time_ms(text: str, formats: tuple[str, ...]) -> int | None:
    """Epoch ms of an operator's `text` (a `--since`, a send time) in the first of the `strptime`
    `formats` it fits, read as China time; None when none fits."""
    for pattern in formats:
        try:
            return int(datetime.strptime(text, pattern).replace(tzinfo=CHINA_TZ).timestamp() * 1000)
        except ValueError:
            continue
    return None


def epoch_ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)
