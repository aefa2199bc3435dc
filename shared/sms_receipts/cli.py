"""The `sms-receipts` command line.

    sms-receipts parse [--type T] [--source http|eventbridge|topic|alicom] FILE
        One JSON object per line for each item: {"type", "idempotency_key", "entity_key", "record"},
        and {"error", "raw"} (or "raw_base64" for bytes that are not UTF-8) for each rejected one.
        With --source http (the default) FILE is a raw HTTP push body; FILE may be "-" for stdin.
        Exit 0 when every item parsed, 1 when any was rejected, 2 on usage errors.

    sms-receipts init-tables             create the missing tables (safe to repeat)
    sms-receipts query --biz-id X [--phone P]
                                         the delivery state and every ledger receipt of a message
    sms-receipts export --table ledger|state|dead-letter
                                         every row of a table, one JSON object per line
    sms-receipts pull [--type T] [--once]
                                         drain the Alicom queues into Tablestore, as the timer function does
    sms-receipts drain                   store what the inbox holds, as the MNS function's timer does
    sms-receipts repair [--since 24h] [--dry-run]
                                         rebuild state rows from the ledger (only where missing or older)
    sms-receipts replay [--since 7d] [--reason TEXT] [--dry-run]
                                         parse dead letters again; store and mark what now parses
    sms-receipts sends import FILE       record sends (JSON lines or CSV) in the send log
    sms-receipts send --phones P[,P...] --sign S --template T [--params JSON] [--out-id O]
                                         one SendSms through the official SDK, recorded in the send log
    sms-receipts reconcile [--once] [--grace SECONDS]
                                         sends without a final state looked up with QuerySendDetails
    sms-receipts completeness [--days 7] per send day, stored finals against QuerySendStatistics
    sms-receipts ...                     the local stack's commands (dev, push, mns-send, emulator):
                                         sms_receipts_dev.cli, the console script's parser

Commands that read or write Tablestore use the one configured by environment variables (see
sms_receipts.storage.settings), or else the local stack found through `--data-dir` (default .data).
`send`, `reconcile` and `completeness` use the SMS API `SMS_RECEIPTS_SMS_ENDPOINT` names (the real
service: `send` then really sends), or else the local stack's.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .settings import Variable

if TYPE_CHECKING:
    from .reconcile.settings import ReconcileSettings
    from .storage import Storage

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def read_input(path: str) -> bytes:
    """A command's FILE argument (`-`: standard input). A file that cannot be read is the user's
    mistake: a ConfigurationError, which `main` prints as one line with exit status 2."""
    from .settings import ConfigurationError

    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None


def _cmd_parse(args: argparse.Namespace) -> int:
    from .parsing import DECODERS, MessageType, Source, UnknownMessageType, message_type_from_name

    try:
        message_type: MessageType | None = message_type_from_name(args.type) if args.type else None
    except UnknownMessageType as exc:
        print(f"sms-receipts parse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data = read_input(args.file)
    result = DECODERS[Source(args.source)](data, message_type)
    lines = [(item.position, item.to_json_dict()) for item in result.items] + [
        (-1 if r.position is None else r.position, r.to_json_dict()) for r in result.rejected
    ]
    if args.source == "http":
        lines.sort(key=lambda line: line[0])  # one push: print in its own order
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8")  # JSON lines are UTF-8 whatever the locale (receipts hold Chinese)
    for _, line in lines:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK if result.all_parsed else EXIT_REJECTED


def _storage(args: argparse.Namespace) -> Storage:
    from .endpoints import storage_env
    from .storage import Storage, StorageSettings

    return Storage(StorageSettings.from_env(storage_env(args.data_dir, os.environ)))


def _print_rows(rows: Iterable[Mapping[str, Any]], **extra: Any) -> None:
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
    from .storage.settings import instance_name_warning

    storage = _storage(args)
    warning = instance_name_warning(storage.settings.instance_name)
    if warning:
        print(f"sms-receipts init-tables: {warning}", file=sys.stderr)
    created = storage.backend.create_missing_tables()
    print(json.dumps({"instance": storage.settings.instance_name, "created": created}))
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
        state_range = (
            (("biz_id", biz_id), ("phone_number", phone)),
            (("biz_id", biz_id), ("phone_number", phone + "\x00")),
        )
        ledger_range = (
            (("entity_key", entity), ("idempotency_key", INF_MIN)),
            (("entity_key", entity), ("idempotency_key", INF_MAX)),
        )
    else:
        state_range = ((("biz_id", biz_id), ("phone_number", INF_MIN)), (("biz_id", biz_id), ("phone_number", INF_MAX)))
        # every entity key starting with the prefix: '}' is the character after '|'
        ledger_range = (
            (("entity_key", prefix), ("idempotency_key", INF_MIN)),
            (("entity_key", prefix[:-1] + "}"), ("idempotency_key", INF_MIN)),
        )
    _print_rows(backend.scan(DELIVERY_STATE, *state_range), table=DELIVERY_STATE)
    _print_rows(backend.scan(LEDGER, *ledger_range), table=LEDGER)
    return EXIT_OK


_EXPORT_TABLES = {
    "ledger": ("receipt_ledger",),
    "state": ("delivery_state", "receipt_state"),
    "dead-letter": ("dead_letter",),
}


def _cmd_export(args: argparse.Namespace) -> int:
    backend = _storage(args).backend
    for table in _EXPORT_TABLES[args.table]:
        _print_rows(backend.scan(table), table=table)
    return EXIT_OK


PULL_SECONDS = Variable(
    "SMS_RECEIPTS_PULL_SECONDS", "the most one pass of `sms-receipts pull` over the queues lasts", "30"
)


@dataclass(frozen=True)
class PullSettings:
    """The pull command's own setting (the puller's are `AlicomSettings`)."""

    VARIABLES: ClassVar = (PULL_SECONDS,)

    round_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PullSettings:
        return cls(round_seconds=PULL_SECONDS.number(env))


def _cmd_pull(args: argparse.Namespace) -> int:
    import logging

    from .endpoints import alicom_env, storage_env
    from .mns.alicom import ENV_TYPES, AlicomPuller, AlicomSettings, TokenSource
    from .storage import Storage, StorageSettings
    from .storage.settings import credentials_from
    from .storage.tablestore import quiet_sdk_logs

    env = alicom_env(args.data_dir, storage_env(args.data_dir, os.environ))
    if args.type:
        env[ENV_TYPES] = args.type
    settings = AlicomSettings.from_env(env)
    round_seconds = PullSettings.from_env(env).round_seconds  # one pass over the queues, at most
    store = Storage(StorageSettings.from_env(env)).store
    puller = AlicomPuller(settings, TokenSource(settings, credentials_from(env)), store)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
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


def _cmd_drain(args: argparse.Namespace) -> int:
    from .storage.inbox import Drain

    storage = _storage(args)
    report = Drain(storage.backend, storage.store).run(args.seconds)
    print(json.dumps(report.as_fields(), ensure_ascii=False))
    return EXIT_REJECTED if report.left else EXIT_OK


def _since(args: argparse.Namespace) -> int:
    from .settings import ConfigurationError
    from .storage.repair import parse_since

    try:
        return parse_since(args.since)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _cmd_repair(args: argparse.Namespace) -> int:
    from .storage.repair import repair

    since = _since(args)
    storage = _storage(args)
    report = repair(storage.backend, storage.store, since, dry_run=args.dry_run)
    print(json.dumps({"dry_run": args.dry_run, **vars(report)}, ensure_ascii=False))
    return EXIT_REJECTED if report.failed else EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from .storage.repair import replay

    since = _since(args)
    storage = _storage(args)
    results = replay(storage.backend, storage.store, since, reason=args.reason, dry_run=args.dry_run)
    for result in results:
        print(json.dumps(vars(result), ensure_ascii=False))
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    print(json.dumps({"dry_run": args.dry_run, "dead_letters": len(results), **counts}, ensure_ascii=False))
    return EXIT_REJECTED if any(r.result in ("not stored", "not marked") for r in results) else EXIT_OK


def _cmd_sends_import(args: argparse.Namespace) -> int:
    from .storage.sends import SendError, SendLog, read_sends_file

    data = read_input(args.file)
    sends, errors = read_sends_file(data)
    for error in errors:
        print(f"sms-receipts sends import: {error}", file=sys.stderr)
    if not sends:
        print(json.dumps({"recorded": 0, "errors": len(errors)}))
        return EXIT_REJECTED
    try:
        written = SendLog(_storage(args).store).record(sends)
    except SendError as exc:
        print(f"sms-receipts sends import: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    print(json.dumps({"recorded": len(sends), "confirmed": written.confirmed, "errors": len(errors)}))
    return EXIT_OK if written.confirmed and not errors else EXIT_REJECTED


def _cmd_send(args: argparse.Namespace) -> int:
    from .send import send
    from .settings import ConfigurationError

    try:
        line = send(args.phones, args.sign, args.template, args.params, args.out_id, args.data_dir)
    except ConfigurationError:
        raise
    except ValueError as exc:
        print(f"sms-receipts send: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    print(json.dumps(line, ensure_ascii=False))
    return EXIT_OK


def _reconcile_settings(args: argparse.Namespace) -> tuple[Storage, ReconcileSettings, dict[str, str]]:
    from .endpoints import sms_env, storage_env
    from .reconcile.settings import ReconcileSettings
    from .storage import Storage, StorageSettings

    env = sms_env(args.data_dir, storage_env(args.data_dir, os.environ))
    settings = ReconcileSettings.from_env(env)
    if getattr(args, "grace", None) is not None:
        settings = dataclasses.replace(settings, grace_seconds=args.grace).checked()
    return Storage(StorageSettings.from_env(env)), settings, env


def _cmd_reconcile(args: argparse.Namespace) -> int:
    import logging
    import time

    from .reconcile.job import run_job
    from .storage.settings import credentials_from
    from .storage.tablestore import quiet_sdk_logs

    storage, settings, env = _reconcile_settings(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    while True:
        result = run_job(storage, settings, credentials_from(env), args.seconds)
        print(json.dumps(result.as_fields(), ensure_ascii=False), flush=True)
        if args.once:
            report = result.report
            return EXIT_REJECTED if report.failed or report.left or not report.complete else EXIT_OK
        try:
            time.sleep(args.every)
        except KeyboardInterrupt:
            return EXIT_OK


def _cmd_completeness(args: argparse.Namespace) -> int:
    import time

    from .reconcile.job import day_completeness, sms_api
    from .reconcile.reconciler import days_between, send_log_figures
    from .settings import ConfigurationError
    from .storage.settings import credentials_from

    if not 1 <= args.days <= 30:
        raise ConfigurationError("--days must be from 1 to 30 (QuerySendStatistics and the send log's window)")
    storage, settings, env = _reconcile_settings(args)
    now = time.time()
    days = days_between(now - (args.days - 1) * 86_400, now)
    figures = send_log_figures(storage.backend, days)
    lines, error = day_completeness(sms_api(settings, credentials_from(env)), figures, days[0], days[-1])
    for line in lines:
        print(json.dumps(line.as_dict(), ensure_ascii=False))
    if error:
        print(f"sms-receipts completeness: QuerySendStatistics failed: {error}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


def storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", default=".data", help="local stack to use when no Tablestore is configured (default .data)"
    )


def new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="sms-receipts",
        description="Alibaba Cloud SMS receipts into Tablestore, idempotently.",
    )
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The operator's commands: they ship with the package (the local stack's are in sms_receipts_dev)."""
    parse = commands.add_parser("parse", help="parse receipts and print their identity, one JSON per line")
    parse.add_argument("--type", help="message type (SmsReport, SmsUp, ...); detected from fields if omitted")
    parse.add_argument(
        "--source",
        choices=["http", "eventbridge", "topic", "alicom"],
        default="http",
        help="delivery path FILE comes from: a raw HTTP push body (default), an FC EventBridge MNS event, "
        "an FC MNS topic event, or one Alicom queue message body",
    )
    parse.add_argument("file", metavar="FILE", help="input file, or - for standard input")
    parse.set_defaults(run=_cmd_parse)

    init_tables = commands.add_parser("init-tables", help="create the missing tables (safe to repeat)")
    storage_options(init_tables)
    init_tables.set_defaults(run=_cmd_init_tables)

    query = commands.add_parser("query", help="the state and ledger rows of a message")
    query.add_argument("--biz-id", required=True, help="the BizId returned by SendSms / SendBatchSms")
    query.add_argument("--phone", help="one recipient of that send")
    storage_options(query)
    query.set_defaults(run=_cmd_query)

    export = commands.add_parser("export", help="every row of a table, as JSON lines")
    export.add_argument("--table", required=True, choices=sorted(_EXPORT_TABLES))
    storage_options(export)
    export.set_defaults(run=_cmd_export)

    pull = commands.add_parser("pull", help="drain the Alicom queues into Tablestore")
    pull.add_argument("--type", help="comma-separated message types (default: SMS_RECEIPTS_ALICOM_TYPES)")
    pull.add_argument("--once", action="store_true", help="stop when every queue is empty (exit 1 on failures)")
    storage_options(pull)
    pull.set_defaults(run=_cmd_pull)

    drain = commands.add_parser("drain", help="store what the inbox holds (exit 1 if some is left)")
    drain.add_argument("--seconds", type=float, default=60.0, help="the most the run lasts (default 60)")
    storage_options(drain)
    drain.set_defaults(run=_cmd_drain)

    repair = commands.add_parser("repair", help="rebuild state rows from the ledger, where missing or older")
    repair.add_argument("--since", default="24h", help="ledger rows received since: 90m, 24h, 7d or a date")
    repair.add_argument("--dry-run", action="store_true", help="count what would be checked; write nothing")
    storage_options(repair)
    repair.set_defaults(run=_cmd_repair)

    replay = commands.add_parser("replay", help="parse dead letters again; store and mark what now parses")
    replay.add_argument("--since", default="30d", help="dead letters received since: 90m, 24h, 7d or a date")
    replay.add_argument("--reason", help="only dead letters whose reason contains this text")
    replay.add_argument("--dry-run", action="store_true", help="show what would be replayed; write nothing")
    storage_options(replay)
    replay.set_defaults(run=_cmd_replay)

    sends = commands.add_parser("sends", help="the send log: what was sent, for reconciliation")
    sends_commands = sends.add_subparsers(dest="sends_command", required=True, metavar="SENDS_COMMAND")
    sends_import = sends_commands.add_parser(
        "import", help="record sends from JSON lines or CSV (biz_id, phone_number(s), send_time, ...)"
    )
    sends_import.add_argument("file", metavar="FILE", help="input file, or - for standard input")
    storage_options(sends_import)
    sends_import.set_defaults(run=_cmd_sends_import)
    add_reconcile_commands(commands)


def add_reconcile_commands(commands: argparse._SubParsersAction) -> None:
    send = commands.add_parser(
        "send", help="send an SMS through the official SDK and record it (really sends when the SMS API is set)"
    )
    send.add_argument("--phones", required=True, help="comma-separated numbers (up to 1,000)")
    send.add_argument("--sign", required=True, help="signature name")
    send.add_argument("--template", required=True, help="template code")
    send.add_argument("--params", help="template parameters, a JSON object")
    send.add_argument("--out-id", help="your own id of the send, echoed in its receipts")
    storage_options(send)
    send.set_defaults(run=_cmd_send)

    reconcile = commands.add_parser(
        "reconcile", help="look up sends without a final state with QuerySendDetails, as the reconcile timer does"
    )
    reconcile.add_argument("--once", action="store_true", help="one run, then exit (1 if some is left)")
    reconcile.add_argument("--grace", type=float, help="seconds a send waits for its receipts before it is queried")
    reconcile.add_argument("--seconds", type=float, default=300.0, help="the most one run lasts (default 300)")
    reconcile.add_argument("--every", type=float, default=600.0, help="seconds between runs without --once (600)")
    storage_options(reconcile)
    reconcile.set_defaults(run=_cmd_reconcile)

    completeness = commands.add_parser(
        "completeness", help="per send day: stored final states against QuerySendStatistics' counts"
    )
    completeness.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7)")
    storage_options(completeness)
    completeness.set_defaults(run=_cmd_completeness)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = new_parser()
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    from .settings import ConfigurationError
    from .storage.backend import BackendError

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
