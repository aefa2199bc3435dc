"""MNS queue state and rules: queues, messages, visibility and receipt handles. No HTTP here.

Messages live in a `persistence.MessageStore` (SQLite, in memory without a data dir); queue attributes
are also kept in `MnsState.queues`. Each public method that changes state is one transaction, committed
before it returns, so a change the server acknowledges is stored.

Rules reimplemented from the MNS API pages (CreateQueue, SendMessage, BatchReceiveMessage, PeekMessage,
DeleteMessage, BatchDeleteMessage), the only APIs the emulator serves (see `urls`):
- attributes and their ranges: VisibilityTimeout 1..43200 s (default 30), MaximumMessageSize
  1024..65536 bytes (65536), MessageRetentionPeriod 60..604800 s (345600), DelaySeconds 0..604800 s (0),
  PollingWaitSeconds 0..30 s (0). CreateQueue of an existing queue with the same attributes succeeds
  (204), with other attributes it is `QueueAlreadyExist`.
- a message body is opaque text (the SDK sends base64 by default and the emulator never decodes it);
  `MessageBodyMD5` is the upper-case hex MD5 of that text. Priority 1 (first) .. 16 (default 8);
  DelaySeconds defaults to the queue's. Receives and deletes take 1..16 messages or handles.
- receiving takes visible messages by priority, then enqueue order; each one gets DequeueCount + 1, a
  FirstDequeueTime on its first receive, NextVisibleTime = now + VisibilityTimeout and a NEW receipt
  handle. A handle is valid only while its message is invisible and only until the next receive: using
  it later is `MessageNotExist`; a handle that does not parse is `ReceiptHandleError`.
- long polling: with no visible message a receive waits up to `wait_seconds` (the queue's
  PollingWaitSeconds when the request names none) and returns as soon as one is sent or becomes visible;
  an empty result is `MessageNotExist`.
- messages older than MessageRetentionPeriod disappear.

Times are milliseconds since the epoch on the injectable `clock` (seconds, like `time.time`); long-poll
waits run on real time and recheck at least every `POLL_SLICE` seconds, so a test clock that jumps
forward is noticed within that slice (or at once after `wake()`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

from .exceptions import (
    InvalidArgument,
    InvalidQueueName,
    MessageNotExist,
    QueueAlreadyExist,
    QueueNameLengthError,
    QueueNotExist,
    ReceiptHandleError,
    out_of_range,
)

if TYPE_CHECKING:
    from .persistence import MessageStore

MAX_BATCH = 16
MAX_WAIT_SECONDS = 30
MAX_QUEUE_NAME = 256
PRIORITY_RANGE = (1, 16)
DEFAULT_PRIORITY = 8
MESSAGE_DELAY_RANGE = (0, 604800)
POLL_SLICE = 0.25
_QUEUE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*\Z")
_HANDLE_VERSION = "1-"


@dataclass(frozen=True)
class AttributeRule:
    element: str
    low: int
    high: int
    unit: str


ATTRIBUTE_RULES = {
    "visibility_timeout": AttributeRule("VisibilityTimeout", 1, 43200, "seconds"),
    "maximum_message_size": AttributeRule("MaximumMessageSize", 1024, 65536, "bytes"),
    "message_retention_period": AttributeRule("MessageRetentionPeriod", 60, 604800, "seconds"),
    "delay_seconds": AttributeRule("DelaySeconds", 0, 604800, "seconds"),
    "polling_wait_seconds": AttributeRule("PollingWaitSeconds", 0, 30, "seconds"),
}


@dataclass(frozen=True)
class QueueAttributes:
    visibility_timeout: int = 30
    maximum_message_size: int = 65536
    message_retention_period: int = 345600
    delay_seconds: int = 0
    polling_wait_seconds: int = 0
    logging_enabled: bool = False

    def __post_init__(self) -> None:
        for name, rule in ATTRIBUTE_RULES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not rule.low <= value <= rule.high:
                raise out_of_range(rule.element, rule.low, rule.high, rule.unit)

    def updated(self, **changes: int | bool) -> QueueAttributes:
        unknown = set(changes) - {item.name for item in fields(self)}
        if unknown:
            raise TypeError(f"unknown queue attributes {sorted(unknown)}")
        return replace(self, **changes)


@dataclass
class StoredMessage:
    sequence: int
    message_id: str
    body: str
    body_md5: str
    priority: int
    enqueue_time: int
    next_visible_time: int
    first_dequeue_time: int = 0
    dequeue_count: int = 0
    receipt_handle: str = ""

    def view(self) -> MessageView:
        return MessageView(
            self.message_id,
            self.body,
            self.body_md5,
            self.priority,
            self.enqueue_time,
            self.next_visible_time,
            self.first_dequeue_time,
            self.dequeue_count,
            self.receipt_handle,
        )


@dataclass(frozen=True)
class MessageView:
    """A message as one response shows it (a copy: later receives do not change it)."""

    message_id: str
    body: str
    body_md5: str
    priority: int
    enqueue_time: int
    next_visible_time: int
    first_dequeue_time: int
    dequeue_count: int
    receipt_handle: str


@dataclass(frozen=True)
class OutgoingMessage:
    """One message of a SendMessage request; None takes the queue's or the default."""

    body: str
    delay_seconds: int | None = None
    priority: int | None = None


@dataclass
class Queue:
    name: str
    attributes: QueueAttributes
    create_time: int  # seconds
    last_modify_time: int


def body_md5(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest().upper()


def check_queue_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_QUEUE_NAME:
        raise QueueNameLengthError()
    if not _QUEUE_NAME.match(name):
        raise InvalidQueueName()


def _check_range(element: str, value: int, bounds: tuple[int, int], unit: str = "") -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise out_of_range(element, bounds[0], bounds[1], unit)


class MnsState:
    """Every queue of one MNS account. Thread-safe (one lock)."""

    def __init__(self, clock: Callable[[], float] = time.time, messages: MessageStore | None = None):
        if messages is None:
            from .persistence import MessageStore  # persistence builds this module's records

            messages = MessageStore()
        self.clock = clock
        self.messages = messages
        self.queues: dict[str, Queue] = {queue.name: queue for queue in messages.queues()}
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._id_prefix = secrets.token_hex(8).upper()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def wake(self) -> None:
        """Make waiting receives look again (after the clock moved, or to end them on shutdown)."""
        with self._changed:
            self._changed.notify_all()

    # ---- queues -----------------------------------------------------------------------------------

    def create_queue(self, name: str, attributes: QueueAttributes | None = None) -> bool:
        """Create a queue; False when an identical one exists already (the 204 case)."""
        check_queue_name(name)
        attributes = attributes or QueueAttributes()
        with self.lock:
            existing = self.queues.get(name)
            if existing is not None:
                if existing.attributes != attributes:
                    raise QueueAlreadyExist()
                return False
            now = self.now_ms() // 1000
            queue = Queue(name, attributes, now, now)
            with self.messages.transaction():
                self.messages.clear(name)  # a new queue is empty
                self.messages.put_queue(queue)
            self.queues[name] = queue
            return True

    def close(self) -> None:
        """Close the database file (the next use reopens it)."""
        with self.lock:
            self.messages.close()

    def set_queue_attributes(self, name: str, **changes: int | bool) -> QueueAttributes:
        with self.lock:
            queue = self.queue(name)
            attributes, modified = queue.attributes.updated(**changes), self.now_ms() // 1000
            with self.messages.transaction():
                self.messages.put_queue(replace(queue, attributes=attributes, last_modify_time=modified))
            queue.attributes, queue.last_modify_time = attributes, modified
            return attributes

    def queue(self, name: str) -> Queue:
        with self.lock:
            queue = self.queues.get(name)
            if queue is None:
                raise QueueNotExist()
            return queue

    # ---- messages ---------------------------------------------------------------------------------

    def send_message(self, name: str, message: OutgoingMessage) -> MessageView:
        """Enqueue one message after checking its size, delay and priority."""
        with self._changed:
            queue = self.queue(name)
            limit = queue.attributes.maximum_message_size
            if not 1 <= len(message.body.encode("utf-8")) <= limit:
                raise out_of_range("MessageBody", 1, limit, "bytes")
            if message.delay_seconds is not None:
                _check_range("DelaySeconds", message.delay_seconds, MESSAGE_DELAY_RANGE, "seconds")
            if message.priority is not None:
                _check_range("Priority", message.priority, PRIORITY_RANGE)
            now = self.now_ms()
            delay = queue.attributes.delay_seconds if message.delay_seconds is None else message.delay_seconds
            with self.messages.transaction():
                record = self._enqueue(queue, message, now, delay)
            self._changed.notify_all()
            return record.view()

    def _enqueue(self, queue: Queue, message: OutgoingMessage, now: int, delay: int) -> StoredMessage:
        sequence = self.messages.take_sequence()
        record = StoredMessage(
            sequence=sequence,
            message_id=f"{self._id_prefix}-1-{now:X}-{200000000 + sequence}",
            body=message.body,
            body_md5=body_md5(message.body),
            priority=DEFAULT_PRIORITY if message.priority is None else message.priority,
            enqueue_time=now,
            next_visible_time=now + delay * 1000,
        )
        self.messages.insert(queue.name, record)
        return record

    def receive_messages(
        self, name: str, count: int, wait_seconds: int | None = None, cancel: threading.Event | None = None
    ) -> list[MessageView]:
        """Take up to `count` visible messages, long-polling up to `wait_seconds` (real time) for one."""
        _check_range("numOfMessages", count, (1, MAX_BATCH))
        if wait_seconds is not None:
            _check_range("waitseconds", wait_seconds, (0, MAX_WAIT_SECONDS), "seconds")
        with self._changed:
            if wait_seconds is None:
                wait_seconds = self.queue(name).attributes.polling_wait_seconds
            deadline = time.monotonic() + wait_seconds
            while True:
                queue = self.queue(name)  # a queue deleted while we wait fails the receive
                with self.messages.transaction():
                    taken = self._take(queue, count)
                if taken:
                    return taken
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (cancel is not None and cancel.is_set()):
                    raise MessageNotExist()
                self._changed.wait(min(remaining, POLL_SLICE))

    def peek_message(self, name: str) -> MessageView:
        """The next visible message, unchanged (no handle, no dequeue)."""
        with self.lock, self.messages.transaction():
            visible = self._visible(self.queue(name), self.now_ms(), 1)
            if not visible:
                raise MessageNotExist()
            return replace(visible[0].view(), receipt_handle="")

    def delete_message(self, name: str, receipt_handle: str) -> None:
        with self.lock, self.messages.transaction():
            queue = self.queue(name)
            message = self._held(queue, receipt_handle)
            self.messages.delete(message.sequence)

    def delete_messages(self, name: str, receipt_handles: Sequence[str]) -> list[tuple[str, Exception]]:
        """Delete each handle on its own; returns the (handle, error) of every one that failed."""
        if not 1 <= len(receipt_handles) <= MAX_BATCH:
            raise InvalidArgument(f"The count of ReceiptHandle should between 1 and {MAX_BATCH}.")
        failures: list[tuple[str, Exception]] = []
        with self.lock, self.messages.transaction():
            self.queue(name)
            for handle in receipt_handles:
                try:
                    self.delete_message(name, handle)
                except (MessageNotExist, ReceiptHandleError) as error:
                    failures.append((handle, error))
        return failures

    def message_views(self, name: str) -> list[MessageView]:
        """Every message of a queue in receive order, visible or not (for tests and tools)."""
        with self.lock, self.messages.transaction():
            queue = self.queue(name)
            self._expire(queue, self.now_ms())
            return [message.view() for message in self.messages.all(name)]

    # ---- internals --------------------------------------------------------------------------------

    def _expire(self, queue: Queue, now: int) -> None:
        self.messages.expire(queue.name, now - queue.attributes.message_retention_period * 1000)

    def _visible(self, queue: Queue, now: int, count: int) -> list[StoredMessage]:
        self._expire(queue, now)
        return self.messages.visible(queue.name, now, count)

    def _take(self, queue: Queue, count: int) -> list[MessageView]:
        now = self.now_ms()
        taken = []
        for message in self._visible(queue, now, count):
            message.dequeue_count += 1
            message.first_dequeue_time = message.first_dequeue_time or now
            message.next_visible_time = now + queue.attributes.visibility_timeout * 1000
            message.receipt_handle = self._new_handle(message)
            self.messages.update(message)
            taken.append(message.view())
        return taken

    def _new_handle(self, message: StoredMessage) -> str:
        raw = f"{message.sequence}-{message.next_visible_time // 1000}-{message.dequeue_count}-{secrets.token_hex(4)}"
        return _HANDLE_VERSION + base64.b64encode(raw.encode("ascii")).decode("ascii")

    def _held(self, queue: Queue, receipt_handle: str) -> StoredMessage:
        """The message a handle currently holds; MessageNotExist once the handle is stale."""
        sequence = _handle_sequence(receipt_handle)
        message = self.messages.get(queue.name, sequence)
        if message is None or message.receipt_handle != receipt_handle or message.next_visible_time <= self.now_ms():
            raise MessageNotExist()
        return message


def _handle_sequence(receipt_handle: str) -> int:
    if not receipt_handle.startswith(_HANDLE_VERSION):
        raise ReceiptHandleError()
    try:
        raw = base64.b64decode(receipt_handle[len(_HANDLE_VERSION) :], validate=True).decode("ascii")
        sequence, _, _, _ = raw.split("-")
        return int(sequence)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ReceiptHandleError() from None
