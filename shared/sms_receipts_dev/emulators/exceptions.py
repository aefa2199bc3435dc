"""The base of every emulator's error replies; each service keeps its own codes in its `exceptions` module."""

from __future__ import annotations


class EmulatorError(Exception):
    """An error reply: `code`, `http_status` and `message` are what the client sees."""

    code: str
    http_status: int
    default_message: str

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(f"{self.code} ({self.http_status}): {self.message}")
