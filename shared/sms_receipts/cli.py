"""The `sms-receipts` command line.

    sms-receipts parse [--type T] [--via http|eventbridge|topic|alicom] FILE
        One JSON object per line for each item: {"type", "idempotency_key", "entity_key", "record"},
        and {"error", "raw"} (or "raw_base64" for bytes that are not UTF-8) for each rejected one.
        With --via http (the default) FILE is a raw HTTP push body; FILE may be "-" for stdin.
        Exit 0 when every item parsed, 1 when any was rejected, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _cmd_parse(args: argparse.Namespace) -> int:
    from .parsing import DECODERS, MessageType, UnknownMessageType, Via, message_type_from_name

    try:
        message_type: MessageType | None = message_type_from_name(args.type) if args.type else None
    except UnknownMessageType as exc:
        print(f"sms-receipts parse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        data = _read_input(args.file)
    except OSError as exc:
        print(f"sms-receipts parse: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    result = DECODERS[Via(args.via)](data, message_type)
    lines = [(item.position, item.to_json_dict()) for item in result.items] + [
        (-1 if r.position is None else r.position, r.to_json_dict()) for r in result.rejected
    ]
    if args.via == "http":
        lines.sort(key=lambda line: line[0])  # one push: print in its own order
    out = sys.stdout
    for _, line in lines:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK if result.all_parsed else EXIT_REJECTED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sms-receipts",
        description="Alibaba Cloud SMS receipts into Tablestore, idempotently.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    parse = commands.add_parser("parse", help="parse receipts and print their identity, one JSON per line")
    parse.add_argument("--type", help="message type (SmsReport, SmsUp, ...); detected from fields if omitted")
    parse.add_argument(
        "--via",
        choices=["http", "eventbridge", "topic", "alicom"],
        default="http",
        help="delivery path FILE comes from: a raw HTTP push body (default), an FC EventBridge MNS event, "
        "an FC MNS topic event, or one Alicom queue message body",
    )
    parse.add_argument("file", metavar="FILE", help="input file, or - for standard input")
    parse.set_defaults(run=_cmd_parse)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
