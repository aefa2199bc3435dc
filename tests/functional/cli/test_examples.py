"""examples/: every sample push parses cleanly, and the example events decode back to the samples."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sms_receipts.parsing import MessageType, decode_eventbridge_event, decode_http_body, decode_topic_event
from sms_receipts.parsing.envelopes import decode_http_event

from function_support import ROOT

SAMPLES = sorted((ROOT / "examples" / "http").glob("*.json"))


def test_there_is_a_sample_push_for_every_type():
    assert {p.stem for p in SAMPLES} == {t.value for t in MessageType}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_push_parses_cleanly(sample):
    result = decode_http_body(sample.read_bytes(), sample.stem)
    assert result.rejected == [] and len(result.items) == len(json.loads(sample.read_bytes()))
    assert {item.message_type.value for item in result.items} == {sample.stem}


def run_example(*args: str) -> bytes:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "events.py"), *args], capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("kind", "decode"),
    [
        ("http", decode_http_event),
        ("eventbridge", decode_eventbridge_event),
        ("topic-json", decode_topic_event),
        ("topic-stream", decode_topic_event),
    ],
)
def test_example_events_carry_the_samples(kind, decode):
    event = run_example(kind, "SmsUp", "--token", "t")
    result = decode(event)
    assert result.rejected == []
    assert [item.message_type for item in result.items] == [MessageType.SMS_UP]


def test_the_timer_example_is_a_timer_event():
    assert json.loads(run_example("timer"))["payload"] == "alicom-pull"
