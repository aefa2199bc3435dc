"""Test helpers: the fixtures under tests/events, as the exact bytes a trigger would deliver; a
standalone emulator in its own process."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "events"


def load_event(name: str) -> bytes:
    """The bytes of `tests/events/<name>`, e.g. `load_event("http/sms_report_single.json")`."""
    return (EVENTS / name).read_bytes()


def load_json(name: str) -> Any:
    """The fixture `tests/events/<name>` as its JSON decoded."""
    return json.loads(load_event(name))


def event_names(folder: str, suffix: str = "") -> list[str]:
    """The fixture names in one folder (`"http"`, `"alicom"`, ...), sorted, optionally by suffix."""
    return sorted(f"{folder}/{p.name}" for p in (EVENTS / folder).iterdir() if p.name.endswith(suffix))


@contextmanager
def standalone_emulator(module: str, argv: list[str]) -> Iterator[tuple[subprocess.Popen, dict]]:
    """`sms_receipts_dev.emulators.<module>.main(argv)` in its own process, with the connection JSON it
    prints first; killed at the end if still running (a test stops it with SIGTERM to check its exit)."""
    command = [sys.executable, "-c", f"from sms_receipts_dev.emulators.{module} import main; main({argv!r})"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(timeout=60), f"the {module} emulator printed nothing within 60 s"
        yield process, json.loads(process.stdout.readline())  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
