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
from http import HTTPStatus
from typing import Any

from sms_receipts import cli
from sms_receipts.cli import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    Unreachable,
    add_command,
    output_options,
    printer,
    read_input,
    storage_options,
)
from sms_receipts.settings import ConfigurationError


def _rate(args: argparse.Namespace, name: str) -> str | None:
    value = getattr(args, name)
    if not 0.0 <= value <= 1.0:
        return f"--{name.replace('_', '-')} must be between 0 and 1, got {value:g}"
    return None


def _cmd_dev(args: argparse.Namespace) -> int:
    from .local.dev import ServiceOptions, run

    for name in ("fault_rate", "dup_rate", "reorder_rate", "drop_rate"):
        problem = _rate(args, name)
        if problem:
            print(f"sms-receipts dev: {problem}", file=sys.stderr)
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


def _json(body: bytes, path: str) -> Any:
    """The file's JSON, or a ConfigurationError saying it is not JSON."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text, so not JSON receipts") from None
    except ValueError as exc:
        raise ConfigurationError(f"{path} is not JSON ({exc})") from None


def _status(status: int | None) -> str:
    if status is None:
        return "no answer"
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _cmd_push(args: argparse.Namespace) -> int:
    from sms_receipts.endpoints import local_section
    from sms_receipts.output import countdown
    from sms_receipts.parsing import MessageType, detect_message_type, message_type_from_name

    from .local.push import RETRY_DELAYS, push_attempts

    body = read_input(args.file)
    url = args.url
    local = None
    if not url:
        message_type: MessageType | None
        if args.type:
            message_type = message_type_from_name(args.type)
        else:
            first = _json(body, args.file)  # without --type the receipts must say theirs
            try:
                message_type = detect_message_type(first[0] if isinstance(first, list) else first)
            except (IndexError, KeyError, TypeError, AttributeError):
                message_type = None
            if message_type is None:
                raise ConfigurationError(
                    f"cannot tell the type of the receipts in {args.file}: name it (--type) or the URL (--url)"
                )
        url = local_section(args.data_dir, "callback_urls", "name the callback URL (--url)")[message_type.value]
        local = args.data_dir
    out = printer(args)
    number = 0

    def wait(seconds: float) -> None:  # the service's wait before re-push `number + 1`, shown on a terminal
        countdown(seconds, f"re-push {number + 1} of {len(RETRY_DELAYS) + 1}")

    accepted = False
    attempts = push_attempts(url, body, time_scale=args.time_scale, sleep=wait, ca_file=args.ca_file)
    for number, attempt in enumerate(attempts, 1):  # `wait` reads `number`
        if number == 1 and local is not None and attempt.status is None and cli.refused_connection(attempt.error or ""):
            raise Unreachable("the HTTP function", f"{url.split('?')[0]}: {attempt.error}", local)
        line = {
            "attempt": number,
            "status": attempt.status,
            "ms": round(attempt.seconds * 1000, 1),
            "body": attempt.body.decode("utf-8", "replace"),
            "error": attempt.error,
        }
        if out.format == "table":
            then = f"; re-push in {attempt.retry_in:g} s" if attempt.retry_in else ""
            said = line["body"] or line["error"] or ""
            out.note(f"attempt {number}: {_status(attempt.status)} in {line['ms']:g} ms  {said}{then}")
        else:
            out.rows([line])
        accepted = attempt.accepted
    out.flush()
    return EXIT_OK if accepted else EXIT_REJECTED


def _cmd_mns_send(args: argparse.Namespace) -> int:
    from sms_receipts.parsing import message_type_from_name

    from .local.mns_send import send_receipts

    data = read_input(args.file)
    if args.type:
        message_type_from_name(args.type)  # an unknown type is a usage error, before any I/O
    _json(data, args.file)
    args.local_stack = args.data_dir  # for main's line when the stack has stopped
    out = printer(args)
    out.rows(send_receipts(data, args.type, args.data_dir), title="enqueued")
    out.flush()
    return EXIT_OK


def _cmd_reply(args: argparse.Namespace) -> int:
    from .local.reply import reply

    args.local_stack = args.data_dir
    try:
        line = reply(args.phone, args.content, args.sign, args.dest_code, args.data_dir)
    except ConfigurationError:
        raise
    except ValueError as exc:
        stopped = _stopped(args.data_dir)
        if stopped:  # the sink only says it was not accepted; a refused connection says why
            raise Unreachable("the HTTP function", stopped, args.data_dir) from None
        print(f"sms-receipts reply: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    out = printer(args)
    out.report(line, title="reply")
    out.flush()
    return EXIT_OK


def _stopped(data_dir: str) -> str | None:
    """Why the local stack's HTTP function cannot be reached (it refuses connections), or None."""
    import socket
    from urllib.parse import urlsplit

    from sms_receipts.endpoints import local_section

    try:
        parts = urlsplit(str(local_section(data_dir, "http_function", "")))
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1).close()
    except ConfigurationError:
        return None
    except OSError as exc:
        return f"{parts.hostname}:{parts.port}: {type(exc).__name__}: {exc}"
    return None


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
    dev = add_command(
        commands,
        "dev",
        "run the whole system locally on its embedded emulators",
        "sms-receipts dev",
        "sms-receipts dev --fault-rate 0.3 --time-scale 0.01 --delivery mns",
    )
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

    push = add_command(
        commands,
        "push",
        "push a receipt file as the SMS service does",
        "sms-receipts push examples/http/SmsReport.json",
        "sms-receipts push --time-scale 0.001 --type SmsUp bad.json",
    )
    push.add_argument("file", metavar="FILE", help="a JSON array of receipts, or - for standard input")
    push.add_argument("--type", help="message type; picks the local stack's callback URL for it")
    push.add_argument("--url", help="callback URL (default: the local stack's, from --data-dir)")
    push.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply the re-push delays (1, 5, 10 minutes); 0.001 for local tries",
    )
    push.add_argument("--ca-file", help="the CA certificate (PEM) an https:// URL's certificate is checked against")
    storage_options(push, credentials=False)
    output_options(push)
    push.set_defaults(run=_cmd_push)

    mns_send = add_command(
        commands,
        "mns-send",
        "enqueue receipts on an Alicom queue (local stack)",
        "sms-receipts mns-send examples/http/SmsUp.json",
    )
    mns_send.add_argument("file", metavar="FILE", help="a JSON array of receipts or one receipt, or - for stdin")
    mns_send.add_argument("--type", help="message type (default: detected from the fields)")
    storage_options(mns_send, credentials=False)
    output_options(mns_send)
    mns_send.set_defaults(run=_cmd_mns_send)

    reply = add_command(
        commands,
        "reply",
        "a user's reply (SmsUp) to the local stack, as the service delivers it",
        "sms-receipts reply --phone 13800000000 --content 退订",
    )
    reply.add_argument("--phone", required=True, help="the number replying")
    reply.add_argument("--content", required=True, help="the reply's text")
    reply.add_argument("--sign", help="the signature replied to")
    reply.add_argument("--dest-code", help="the extension code replied to (default: the simulator's)")
    storage_options(reply, credentials=False)
    output_options(reply)
    reply.set_defaults(run=_cmd_reply)

    emulator = add_command(
        commands,
        "emulator",
        "run a local emulator (tablestore, mns, dybaseapi, dysmsapi)",
        "sms-receipts emulator tablestore --port 8123 --data-dir .data/ots",
        "sms-receipts emulator mns --help",
    )
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
