"""The `sms-receipts` command line: the operator's commands (`sms_receipts.cli`) and the local stack's.

sms-receipts dev [--port 9000] [--data-dir .data] [--token T] [--fault-rate R] [--delivery http|mns]
                 [--time-scale S] [--delivery-delay D] [--dup-rate R] [--reorder-rate R] [--drop-rate R]
                                     the local stack: the functions on the emulators, the SMS service simulated
sms-receipts push FILE [--type T] [--url U] [--time-scale S]
                                     push a receipt file as the SMS service does, re-pushing on failure
sms-receipts mns-send FILE [--type T]
                                     enqueue receipts on an Alicom queue as the SMS service does
sms-receipts reply --phone P --content C [--sign S] [--dest-code D]
                                     a user's reply (SmsUp), delivered as the stack's service delivers
sms-receipts emulator tablestore|mns|dybaseapi|dysmsapi [--port P] [--data-dir D] [--fault-rate R] ...
                                     a local emulator; its first output line is its JSON config
"""

from __future__ import annotations

import argparse
import json
import sys

from sms_receipts import cli
from sms_receipts.cli import EXIT_OK, EXIT_REJECTED, EXIT_USAGE, read_input, storage_options
from sms_receipts.settings import ConfigurationError


def _cmd_dev(args: argparse.Namespace) -> int:
    from .local.dev import ServiceOptions, run

    for name in ("dup_rate", "reorder_rate", "drop_rate"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            print(f"sms-receipts dev: --{name.replace('_', '-')} must be between 0 and 1", file=sys.stderr)
            return EXIT_USAGE
    service = ServiceOptions(
        time_scale=args.time_scale,
        delivery_delay=args.delivery_delay,
        dup_rate=args.dup_rate,
        reorder_rate=args.reorder_rate,
        drop_rate=args.drop_rate,
        delivery=args.delivery,
        reconcile_every=600.0,  # the reconcile function's timer: every 10 minutes
    )
    return run(port=args.port, data_dir=args.data_dir, token=args.token, fault_rate=args.fault_rate, service=service)


def _cmd_push(args: argparse.Namespace) -> int:
    from sms_receipts.endpoints import local_section
    from sms_receipts.parsing import MessageType, detect_message_type, message_type_from_name

    from .local.push import push

    body = read_input(args.file)
    url = args.url
    if not url:
        message_type: MessageType | None
        if args.type:
            message_type = message_type_from_name(args.type)
        else:
            try:
                first = json.loads(body)
                message_type = detect_message_type(first[0] if isinstance(first, list) else first)
            except (ValueError, IndexError, KeyError, TypeError, AttributeError):
                message_type = None
        if message_type is None:
            print("sms-receipts push: name the type (--type) or the URL (--url)", file=sys.stderr)
            return EXIT_USAGE
        url = local_section(args.data_dir, "callback_urls", "name the callback URL (--url)")[message_type.value]
    result = push(url, body, time_scale=args.time_scale)
    for number, attempt in enumerate(result.attempts, 1):
        print(
            json.dumps(
                {
                    "attempt": number,
                    "status": attempt.status,
                    "ms": round(attempt.seconds * 1000, 1),
                    "body": attempt.body.decode("utf-8", "replace"),
                    "error": attempt.error,
                },
                ensure_ascii=False,
            )
        )
    return EXIT_OK if result.accepted else EXIT_REJECTED


def _cmd_mns_send(args: argparse.Namespace) -> int:
    from .local.mns_send import send_receipts

    data = read_input(args.file)
    for line in send_receipts(data, args.type, args.data_dir):
        print(json.dumps(line, ensure_ascii=False))
    return EXIT_OK


def _cmd_reply(args: argparse.Namespace) -> int:
    from .local.reply import reply

    try:
        line = reply(args.phone, args.content, args.sign, args.dest_code, args.data_dir)
    except ConfigurationError:
        raise
    except ValueError as exc:
        print(f"sms-receipts reply: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    print(json.dumps(line, ensure_ascii=False))
    return EXIT_OK


def _cmd_emulator(args: argparse.Namespace) -> int:
    if args.service == "tablestore":
        from .emulators.tablestore import main as emulator_main
    elif args.service == "mns":
        from .emulators.mns import main as emulator_main
    elif args.service == "dybaseapi":
        from .emulators.dybaseapi import main as emulator_main
    else:
        from .emulators.dysmsapi import main as emulator_main
    return emulator_main(args.options)


def add_commands(commands: argparse._SubParsersAction) -> None:
    dev = commands.add_parser("dev", help="run the whole system locally on its embedded emulators")
    dev.add_argument("--port", type=int, default=9000, help="port of the HTTP function (default 9000)")
    dev.add_argument("--data-dir", default=".data", help="where the emulators keep their data (default .data)")
    dev.add_argument("--token", help="callback token (default: generated once and kept in the data dir)")
    dev.add_argument("--fault-rate", type=float, default=0.0, help="rate of injected Tablestore faults (0..1)")
    dev.add_argument("--time-scale", type=float, default=1.0, help="multiply the SMS service's 1/5/10-minute re-pushes")
    dev.add_argument("--delivery-delay", type=float, default=5.0, help="seconds from a send to its receipt (5)")
    dev.add_argument("--dup-rate", type=float, default=0.0, help="share of receipts the service pushes twice")
    dev.add_argument("--reorder-rate", type=float, default=0.0, help="share of batches pushed out of order")
    dev.add_argument("--drop-rate", type=float, default=0.0, help="share of receipts the service never pushes")
    dev.add_argument(
        "--delivery",
        choices=("http", "mns"),
        default="http",
        help="how the simulated service delivers receipts: HTTP push (default) or the Alicom queues",
    )
    dev.set_defaults(run=_cmd_dev)

    push = commands.add_parser("push", help="push a receipt file as the SMS service does")
    push.add_argument("file", metavar="FILE", help="a JSON array of receipts, or - for standard input")
    push.add_argument("--type", help="message type; picks the local stack's callback URL for it")
    push.add_argument("--url", help="callback URL (default: the local stack's, from --data-dir)")
    push.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply the re-push delays (1, 5, 10 minutes); 0.001 for local tries",
    )
    storage_options(push)
    push.set_defaults(run=_cmd_push)

    mns_send = commands.add_parser("mns-send", help="enqueue receipts on an Alicom queue (local stack)")
    mns_send.add_argument("file", metavar="FILE", help="a JSON array of receipts or one receipt, or - for stdin")
    mns_send.add_argument("--type", help="message type (default: detected from the fields)")
    storage_options(mns_send)
    mns_send.set_defaults(run=_cmd_mns_send)

    reply = commands.add_parser("reply", help="a user's reply (SmsUp) to the local stack, as the service delivers it")
    reply.add_argument("--phone", required=True, help="the number replying")
    reply.add_argument("--content", required=True, help="the reply's text")
    reply.add_argument("--sign", help="the signature replied to")
    reply.add_argument("--dest-code", help="the extension code replied to (default: the simulator's)")
    storage_options(reply)
    reply.set_defaults(run=_cmd_reply)

    emulator = commands.add_parser("emulator", help="run a local emulator (tablestore, mns, dybaseapi, dysmsapi)")
    emulator.add_argument("service", choices=["tablestore", "mns", "dybaseapi", "dysmsapi"])
    emulator.add_argument("options", nargs=argparse.REMAINDER, help="the emulator's own options (--help)")
    emulator.set_defaults(run=_cmd_emulator)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = cli.new_parser()
    cli.add_commands(commands)
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, build_parser())


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
