"""Test helpers: the fixtures under tests/events, as the exact bytes a trigger would deliver."""

from __future__ import annotations

import json
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
