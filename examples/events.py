"""Write the FC events that carry the sample receipts of examples/http/, built with the project's own
event factories, to try a deployed function with `s invoke -f` or a handler locally:

    .venv/bin/python examples/events.py eventbridge SmsReport > eventbridge.json   # MNS queue trigger
    .venv/bin/python examples/events.py topic-json SmsUp > topic.json               # MNS topic trigger
    .venv/bin/python examples/events.py topic-stream SmsUp > stream.txt
    .venv/bin/python examples/events.py http SmsReport --token T > push.json       # FC HTTP trigger
    .venv/bin/python examples/events.py timer > timer.json                          # the puller's tick
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sms_receipts_dev.testing import events

SAMPLES = Path(__file__).resolve().parent / "http"


def build(kind: str, message_type: str, token: str) -> bytes:
    receipts = json.loads((SAMPLES / f"{message_type}.json").read_text(encoding="utf-8"))
    if kind == "http":
        return events.http_event(receipts, path=f"/{message_type}", query={"token": token})
    if kind == "eventbridge":  # one message per receipt, as MNS carries them
        return events.eventbridge_event(receipts, queue_name=f"sms-receipts-{message_type}")
    if kind == "topic-json":
        return events.topic_event_json(receipts[0], topic_name=f"sms-receipts-{message_type}")
    if kind == "topic-stream":
        return events.topic_event_stream(receipts[0])
    return events.timer_event(payload="alicom-pull")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["http", "eventbridge", "topic-json", "topic-stream", "timer"])
    parser.add_argument("message_type", nargs="?", default="SmsReport", help="a sample in examples/http/")
    parser.add_argument("--token", default="<token>", help="callback token, for http")
    args = parser.parse_args(argv)
    sys.stdout.buffer.write(build(args.kind, args.message_type, args.token) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
