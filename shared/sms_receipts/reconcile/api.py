"""The SMS API calls the reconciler makes (QuerySendDetails, QuerySendStatistics), through the official
`alibabacloud_dysmsapi20170525` SDK, with a shared rate limit and backoff on throttling.

Every call takes a permit from one `RateLimiter` (at most `qps` calls per second over all threads).
A throttled call (the gateway's `Throttling*` codes, the API's `isv.BUSINESS_LIMIT_CONTROL`, or
`ServiceUnavailable`) pauses the limiter for every thread, longer at each retry, and is retried
until its deadline; any other error is a `QueryError` at once.

Request and response fields: reconciliation.md §5 (help.aliyun.com/document_detail/419277 and 419276;
the SDK 4.6.0's `QuerySendDetailsRequest(phone_number, send_date, page_size, current_page, biz_id)`
and `QuerySendStatisticsRequest(is_globe, start_date, end_date, page_index, page_size)`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PAGE_SIZE = 50  # QuerySendDetails and QuerySendStatistics: 1..50
RETRYABLE_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable", "InternalError"})
FIRST_BACKOFF = 0.2  # seconds; doubled at each retry of one call
MAX_BACKOFF = 5.0


class QueryError(Exception):
    """A call that failed for good (or ran out of time); `code` is the service's code or the error's type."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


def is_throttling(code: str) -> bool:
    return code.startswith("Throttling") or code in RETRYABLE_CODES


class RateLimiter:
    """At most `rate` permits a second over every thread, spaced evenly; `pause` holds them all."""

    def __init__(
        self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ):
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self, deadline: float) -> bool:
        """Wait for a permit; False (and no permit) when it would come after `deadline`."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if start > deadline:
                return False
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)
        return True

    def pause(self, seconds: float) -> None:
        """No permit for anyone in the next `seconds` (the service said: slower)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


@dataclass(frozen=True)
class SmsApiConfig:
    endpoint: str
    protocol: str = "https"
    region_id: str = "cn-hangzhou"
    read_timeout_ms: int = 10_000
    connect_timeout_ms: int = 5_000


class SmsApi:
    """One SDK client, shared by the reconciler's threads, and the limiter their calls share."""

    def __init__(
        self,
        config: SmsApiConfig,
        credentials: tuple[str, str, str | None],
        *,
        qps: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        key_id, secret, token = credentials
        self.client = Client(
            Config(
                access_key_id=key_id,
                access_key_secret=secret,
                security_token=token,
                endpoint=config.endpoint,
                protocol=config.protocol,
                region_id=config.region_id,
                read_timeout=config.read_timeout_ms,
                connect_timeout=config.connect_timeout_ms,
            )
        )
        self.limiter = RateLimiter(qps, clock, sleep)
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self.calls = 0
        self.throttled = 0

    def _call(self, name: str, request: Any, deadline: float) -> Any:
        """The response body of one call, retried on throttling until `deadline`; QueryError otherwise."""
        from Tea.exceptions import TeaException

        attempt = 0
        while True:
            if not self.limiter.acquire(deadline):
                raise QueryError("Deadline", f"{name}: no time left for another call")
            with self._lock:
                self.calls += 1
            try:
                body = getattr(self.client, name)(request).body
                code = str(getattr(body, "code", None) or "")
                if code == "OK":
                    return body
                message = str(getattr(body, "message", "") or "")
            except TeaException as exc:
                code, message = str(exc.code or "TeaException"), str(exc.message or exc)
            except Exception as exc:  # noqa: BLE001 - the Tea runtime's network errors share no base class
                code, message = type(exc).__name__, str(exc)
            if not is_throttling(code):
                raise QueryError(code, message)
            with self._lock:
                self.throttled += 1
            backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2**attempt) * (0.5 + self._rng.random() / 2)
            if self._clock() + backoff > deadline:
                raise QueryError(code, f"{message} (still throttled at the deadline)")
            self.limiter.pause(backoff)
            attempt += 1

    def send_details(self, phone_number: str, send_date: str, biz_id: str, deadline: float) -> list[dict[str, Any]]:
        """Every detail of one send to one number on one day (yyyyMMdd, China time), by API names."""
        from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest

        details: list[dict[str, Any]] = []
        page = 1
        while True:
            request = QuerySendDetailsRequest(
                phone_number=phone_number, send_date=send_date, page_size=PAGE_SIZE, current_page=page, biz_id=biz_id
            )
            body = self._call("query_send_details", request, deadline)
            dtos = body.sms_send_detail_dtos
            found = [dto.to_map() for dto in (dtos.sms_send_detail_dto or [])] if dtos else []
            details.extend(found)
            try:
                total = int(body.total_count or 0)  # text in the SDKs ("1")
            except ValueError:
                total = len(details)
            if len(found) < PAGE_SIZE or len(details) >= total:
                return details
            page += 1

    def send_statistics(
        self, start_date: str, end_date: str, deadline: float, is_globe: int = 1
    ) -> list[dict[str, Any]]:
        """Per day from `start_date` to `end_date` (yyyyMMdd): the service's counts, by API names."""
        from alibabacloud_dysmsapi20170525.models import QuerySendStatisticsRequest

        days: list[dict[str, Any]] = []
        page = 1
        while True:
            request = QuerySendStatisticsRequest(
                is_globe=is_globe, start_date=start_date, end_date=end_date, page_index=page, page_size=PAGE_SIZE
            )
            data = self._call("query_send_statistics", request, deadline).data
            found = [day.to_map() for day in (data.target_list or [])] if data else []
            days.extend(found)
            if len(found) < PAGE_SIZE or len(days) >= int((data.total_size if data else 0) or 0):
                return days
            page += 1
