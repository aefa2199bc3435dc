"""The `sms-receipts` command line.

    sms-receipts parse [--type T] [--via http|eventbridge|topic|alicom] FILE
        One JSON object per line for each item: {"type", "idempotency_key", "entity_key", "record"},
        and {"error", "raw"} (or "raw_base64" for bytes that are not UTF-8) for each rejected one.
        With --via http (the default) FILE is a raw HTTP push body; FILE may be "-" for stdin.
        Exit 0 when every item parsed, 1 when any was rejected, 2 on usage errors.

    sms-receipts init-tables             create the missing tables (safe to repeat)
    sms-receipts query --biz-id X [--phone P]
                                         the delivery state and every ledger receipt of a message
    sms-receipts export --table ledger|state|dead-letter
                                         every row of a table, one JSON object per line
    sms-receipts dev [--port 9000] [--data-dir .data] [--token T] [--fault-rate R]
                                         the local stack: the HTTP function on the emulators
    sms-receipts push FILE [--type T] [--url U] [--time-scale S]
                                         push a receipt file as the SMS service does, re-pushing on failure
    sms-receipts pull [--type T] [--once]
                                         drain the Alicom queues into Tablestore, as the timer function does
    sms-receipts mns-send FILE [--type T]
                                         enqueue receipts on an Alicom queue as the SMS service does
    sms-receipts emulator tablestore|mns|dybaseapi [--port P] [--data-dir D] [--fault-rate R] ...
                                         a local emulator; its first output line is its JSON config

Commands that read or write Tablestore use the one configured by environment variables (see
sms_receipts.storage.config), or else the local stack found through `--data-dir` (default .data).
"""

from __future__ import annotations

import argparse
import base64
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
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # JSON lines are UTF-8 whatever the locale (receipts hold Chinese)
    for _, line in lines:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK if result.all_parsed else EXIT_REJECTED


def _storage(args: argparse.Namespace):
    from .local.endpoints import storage_env
    from .storage.config import StorageConfig, StoreHandle

    return StoreHandle(StorageConfig.from_env(storage_env(args.data_dir)))


def _print_rows(rows, **extra) -> None:
    for row in rows:
        out = {**extra}
        for name, value in row.items():
            if isinstance(value, (bytes, bytearray)):
                try:
                    out[name] = bytes(value).decode("utf-8")
                except UnicodeDecodeError:
                    out[name + "_base64"] = base64.b64encode(bytes(value)).decode("ascii")
            else:
                out[name] = value
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _cmd_init_tables(args: argparse.Namespace) -> int:
    from .storage.config import instance_name_warning

    handle = _storage(args)
    warning = instance_name_warning(handle.config.instance_name)
    if warning:
        print(f"sms-receipts init-tables: {warning}", file=sys.stderr)
    created = handle.backend.create_missing_tables()
    print(json.dumps({"instance": handle.config.instance_name, "created": created}))
    return EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    from tablestore import INF_MAX, INF_MIN

    from .parsing.identity import escape_entity_part
    from .storage.schema import DELIVERY_STATE, LEDGER

    backend = _storage(args).backend
    biz_id, phone = args.biz_id, args.phone
    prefix = f"SmsReport:{escape_entity_part(biz_id)}|"
    if phone:
        entity = prefix + escape_entity_part(phone)
        state_range = ((("biz_id", biz_id), ("phone_number", phone)),
                       (("biz_id", biz_id), ("phone_number", phone + "\x00")))  # fmt: skip
        ledger_range = ((("entity_key", entity), ("idempotency_key", INF_MIN)),
                        (("entity_key", entity), ("idempotency_key", INF_MAX)))  # fmt: skip
    else:
        state_range = ((("biz_id", biz_id), ("phone_number", INF_MIN)),
                       (("biz_id", biz_id), ("phone_number", INF_MAX)))  # fmt: skip
        # every entity key starting with the prefix: '}' is the character after '|'
        ledger_range = ((("entity_key", prefix), ("idempotency_key", INF_MIN)),
                        (("entity_key", prefix[:-1] + "}"), ("idempotency_key", INF_MIN)))  # fmt: skip
    _print_rows(backend.scan(DELIVERY_STATE, *state_range), table=DELIVERY_STATE)
    _print_rows(backend.scan(LEDGER, *ledger_range), table=LEDGER)
    return EXIT_OK


_EXPORT_TABLES = {"ledger": ("receipt_ledger",), "state": ("delivery_state", "receipt_state"),
                  "dead-letter": ("dead_letter",)}  # fmt: skip


def _cmd_export(args: argparse.Namespace) -> int:
    backend = _storage(args).backend
    for table in _EXPORT_TABLES[args.table]:
        _print_rows(backend.scan(table), table=table)
    return EXIT_OK


def _cmd_dev(args: argparse.Namespace) -> int:
    from .local.dev import run

    return run(port=args.port, data_dir=args.data_dir, token=args.token, fault_rate=args.fault_rate)


def _cmd_push(args: argparse.Namespace) -> int:
    from .local.endpoints import local_section
    from .local.push import push
    from .parsing import detect_message_type, message_type_from_name

    try:
        body = _read_input(args.file)
    except OSError as exc:
        print(f"sms-receipts push: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    url = args.url
    if not url:
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
        print(json.dumps({"attempt": number, "status": attempt.status, "ms": round(attempt.seconds * 1000, 1),
                          "body": attempt.body.decode("utf-8", "replace"), "error": attempt.error},
                         ensure_ascii=False))  # fmt: skip
    return EXIT_OK if result.accepted else EXIT_REJECTED


def _cmd_pull(args: argparse.Namespace) -> int:
    import logging
    import os

    from .local.endpoints import alicom_env, storage_env
    from .mns.alicom import ENV_TYPES, AlicomPuller, AlicomSettings, TokenSource
    from .storage.config import StorageConfig, StoreHandle, credentials_from
    from .storage.tablestore import quiet_sdk_logs

    env = alicom_env(args.data_dir, storage_env(args.data_dir))
    if args.type:
        env[ENV_TYPES] = args.type
    settings = AlicomSettings.from_env(env)
    store = StoreHandle(StorageConfig.from_env(env)).store
    puller = AlicomPuller(settings, TokenSource(settings, credentials_from(env)), store)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    round_seconds = float(os.environ.get("SMS_RECEIPTS_PULL_SECONDS", 30))  # one pass over the queues, at most
    while True:
        try:
            reports = puller.pull(budget_seconds=round_seconds)
        except KeyboardInterrupt:
            return EXIT_OK
        if not args.once:
            continue
        if any(r.outcomes["failed"] or r.status not in ("empty", "budget spent") for r in reports):
            return EXIT_REJECTED
        if all(r.status == "empty" for r in reports):
            return EXIT_OK


def _cmd_mns_send(args: argparse.Namespace) -> int:
    from .local.mns_send import send_receipts

    try:
        data = _read_input(args.file)
    except OSError as exc:
        print(f"sms-receipts mns-send: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    for line in send_receipts(data, args.type, args.data_dir):
        print(json.dumps(line, ensure_ascii=False))
    return EXIT_OK


def _cmd_emulator(args: argparse.Namespace) -> int:
    if args.service == "tablestore":
        from .emulators.tablestore import main as emulator_main
    elif args.service == "mns":
        from .emulators.mns import main as emulator_main
    else:
        from .emulators.dybaseapi import main as emulator_main
    return emulator_main(args.options)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", default=".data", help="local stack to use when no Tablestore is configured (default .data)"
    )


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

    init_tables = commands.add_parser("init-tables", help="create the missing tables (safe to repeat)")
    _storage_options(init_tables)
    init_tables.set_defaults(run=_cmd_init_tables)

    query = commands.add_parser("query", help="the state and ledger rows of a message")
    query.add_argument("--biz-id", required=True, help="the BizId returned by SendSms / SendBatchSms")
    query.add_argument("--phone", help="one recipient of that send")
    _storage_options(query)
    query.set_defaults(run=_cmd_query)

    export = commands.add_parser("export", help="every row of a table, as JSON lines")
    export.add_argument("--table", required=True, choices=sorted(_EXPORT_TABLES))
    _storage_options(export)
    export.set_defaults(run=_cmd_export)

    dev = commands.add_parser("dev", help="run the whole system locally on its embedded emulators")
    dev.add_argument("--port", type=int, default=9000, help="port of the HTTP function (default 9000)")
    dev.add_argument("--data-dir", default=".data", help="where the emulators keep their data (default .data)")
    dev.add_argument("--token", help="callback token (default: generated once and kept in the data dir)")
    dev.add_argument("--fault-rate", type=float, default=0.0, help="rate of injected Tablestore faults (0..1)")
    dev.set_defaults(run=_cmd_dev)

    push = commands.add_parser("push", help="push a receipt file as the SMS service does")
    push.add_argument("file", metavar="FILE", help="a JSON array of receipts, or - for standard input")
    push.add_argument("--type", help="message type; picks the local stack's callback URL for it")
    push.add_argument("--url", help="callback URL (default: the local stack's, from --data-dir)")
    push.add_argument("--time-scale", type=float, default=1.0,
                      help="multiply the re-push delays (1, 5, 10 minutes); 0.001 for local tries")  # fmt: skip
    _storage_options(push)
    push.set_defaults(run=_cmd_push)

    pull = commands.add_parser("pull", help="drain the Alicom queues into Tablestore")
    pull.add_argument("--type", help="comma-separated message types (default: SMS_RECEIPTS_ALICOM_TYPES)")
    pull.add_argument("--once", action="store_true", help="stop when every queue is empty (exit 1 on failures)")
    _storage_options(pull)
    pull.set_defaults(run=_cmd_pull)

    mns_send = commands.add_parser("mns-send", help="enqueue receipts on an Alicom queue (local stack)")
    mns_send.add_argument("file", metavar="FILE", help="a JSON array of receipts or one receipt, or - for stdin")
    mns_send.add_argument("--type", help="message type (default: detected from the fields)")
    _storage_options(mns_send)
    mns_send.set_defaults(run=_cmd_mns_send)

    emulator = commands.add_parser("emulator", help="run a local emulator (tablestore, mns, dybaseapi)")
    emulator.add_argument("service", choices=["tablestore", "mns", "dybaseapi"])
    emulator.add_argument("options", nargs=argparse.REMAINDER, help="the emulator's own options (--help)")
    emulator.set_defaults(run=_cmd_emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .storage.backend import BackendError
    from .storage.config import ConfigurationError

    try:
        return args.run(args)
    except ConfigurationError as exc:
        print(f"sms-receipts {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BackendError as exc:
        print(f"sms-receipts {args.command}: Tablestore said {exc}", file=sys.stderr)
        return EXIT_REJECTED


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
