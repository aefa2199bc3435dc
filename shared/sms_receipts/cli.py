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
    sms-receipts completion bash|zsh|tcsh
                                         the shell completion script (shtab)
    sms-receipts ...                     the local stack's commands (dev, push, mns-send, emulator):
                                         sms_receipts_dev.cli, the console script's parser

Output (`sms_receipts.output`): `-o table|json|jsonl|csv`; by default a table on a terminal and JSON
lines otherwise, exactly the lines printed before `-o` existed. Exit status: 0 done, 1 the operation
failed (or found nothing, or left something undone), 2 a usage mistake (a bad option, file or setting);
every error is one line on stderr, `sms-receipts COMMAND: ...`.

Commands that read or write Tablestore use the one configured by environment variables (see
sms_receipts.storage.settings), or else the local stack found through `--data-dir` (default .data).
`send`, `reconcile` and `completeness` use the SMS API `SMS_RECEIPTS_SMS_ENDPOINT` names (the real
service: `send` then really sends), or else the local stack's. Their credentials: the local stack's
own when they use it; otherwise `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` (/ `ALIBABA_CLOUD_SECURITY_TOKEN`)
when set, or else Alibaba Cloud's default credentials chain (`CredentialsChain`): `--profile NAME`
(or `ALIBABA_CLOUD_PROFILE`) picks a profile of the aliyun CLI's `~/.aliyun/config.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .credentials import KEY_ID, KEY_SECRET, SECURITY_TOKEN, CredentialsChain, Keys
from .settings import ConfigurationError, Variable

if TYPE_CHECKING:
    from .output import Printer
    from .reconcile.settings import ReconcileSettings
    from .storage import Storage
    from .storage.backend import StorageBackend

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def read_input(path: str) -> bytes:
    """A command's FILE argument (`-`: standard input). A file that cannot be read is the user's
    mistake: a ConfigurationError, which `main` prints as one line with exit status 2."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None


def printer(args: argparse.Namespace) -> Printer:
    from .output import Printer

    return Printer(getattr(args, "output", None))


@dataclass
class Environment:
    """What an operator's command runs with: the process environment, with the local stack's endpoints
    and keys where none are configured (`endpoints.*_env`), and the credentials chain's keys where the
    environment has none. `local_stack` is the data directory whose endpoints are used, if any."""

    values: dict[str, str]
    local_stack: str | None = None
    chain: CredentialsChain | None = None  # asked again for each use: rotating keys stay fresh

    def keys(self) -> Keys:
        if self.chain is not None:
            return self.chain.keys()
        v = self.values
        return v.get(KEY_ID, ""), v.get(KEY_SECRET, ""), v.get(SECURITY_TOKEN) or None

    def storage(self) -> Storage:
        from .storage import Storage, StorageSettings

        refresh = self.chain.keys if self.chain is not None else None
        return Storage(StorageSettings.from_env(self.values), self.keys(), refresh=refresh)


# The endpoint each layer sets when it falls back on the local stack.
_LAYER_ENDPOINTS = {
    "storage": "SMS_RECEIPTS_OTS_ENDPOINT",
    "alicom": "SMS_RECEIPTS_ALICOM_MNS_ENDPOINT",
    "sms": "SMS_RECEIPTS_SMS_ENDPOINT",
}


def environment(args: argparse.Namespace, *layers: str, environ: Mapping[str, str] | None = None) -> Environment:
    """The command's `Environment` (kept on `args`, for `main`'s error lines). `layers`: the services
    it uses, "storage", "alicom" and "sms", in that order of precedence for the keys."""
    from . import endpoints

    env = dict(os.environ if environ is None else environ)
    profile = getattr(args, "profile", None)
    if profile:  # the named profile, not the shell's keys (the local stack still uses its own)
        for name in (KEY_ID, KEY_SECRET, SECURITY_TOKEN):
            env.pop(name, None)
    data_dir = getattr(args, "data_dir", None)
    local = None
    functions = {"storage": endpoints.storage_env, "alicom": endpoints.alicom_env, "sms": endpoints.sms_env}
    for layer in reversed(layers):  # the first layer's keys win, as the nested calls did
        before = env.get(_LAYER_ENDPOINTS[layer])
        env = functions[layer](data_dir, env)
        if env.get(_LAYER_ENDPOINTS[layer]) != before:
            local = data_dir
    result = Environment(env, local)
    args.environment = result
    if not (env.get(KEY_ID) and env.get(KEY_SECRET)):
        result.chain = CredentialsChain(env, profile)
        key_id, secret, token = result.chain.keys()
        env.update({KEY_ID: key_id, KEY_SECRET: secret})
        if token:
            env[SECURITY_TOKEN] = token
    return result


# -- commands ---------------------------------------------------------------------------------------


def _cmd_parse(args: argparse.Namespace) -> int:
    from .parsing import DECODERS, MessageType, Source, message_type_from_name

    message_type: MessageType | None = message_type_from_name(args.type) if args.type else None
    data = read_input(args.file)
    result = DECODERS[Source(args.source)](data, message_type)
    lines = [(item.position, item.to_json_dict()) for item in result.items] + [
        (-1 if r.position is None else r.position, r.to_json_dict()) for r in result.rejected
    ]
    if args.source == "http":
        lines.sort(key=lambda line: line[0])  # one push: print in its own order
    out = printer(args)
    out.rows((line for _, line in lines), title=f"{len(result.items)} parsed, {len(result.rejected)} rejected")
    out.flush()
    return EXIT_OK if result.all_parsed else EXIT_REJECTED


def _cmd_init_tables(args: argparse.Namespace) -> int:
    from .storage.settings import instance_name_warning

    storage = environment(args, "storage").storage()
    warning = instance_name_warning(storage.settings.instance_name)
    if warning:
        print(f"sms-receipts init-tables: {warning}", file=sys.stderr)
    created = storage.backend.create_missing_tables()
    out = printer(args)
    out.report({"instance": storage.settings.instance_name, "created": created}, title="tables")
    out.flush()
    return EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    from .storage.lookups import message_ledger_rows, message_state_rows
    from .storage.schema import DELIVERY_STATE, LEDGER

    backend = environment(args, "storage").storage().backend
    biz_id, phone = args.biz_id, args.phone or None
    states = list(message_state_rows(backend, biz_id, phone))
    receipts = list(message_ledger_rows(backend, biz_id, phone))
    if not states and not receipts:
        print(
            f"sms-receipts query: nothing found for BizId {biz_id}" + (f", phone {phone}" if phone else ""),
            file=sys.stderr,
        )
        return EXIT_REJECTED
    out = printer(args)
    out.rows(states, title=DELIVERY_STATE, table=DELIVERY_STATE)
    out.rows(receipts, title=LEDGER, table=LEDGER)
    out.flush()
    return EXIT_OK


def _cmd_lookup(args: argparse.Namespace) -> int:
    import time

    from .storage import lookups

    backend = environment(args, "storage").storage().backend
    what = args.lookup
    found: list[Any]
    if what == "phone":
        found, asked = lookups.by_phone(backend, args.phone, args.limit), f"phone {args.phone}"
    elif what == "out-id":
        found, asked = lookups.by_out_id(backend, args.out_id), f"OutId {args.out_id}"
    elif what == "history":
        found = lookups.history(backend, args.biz_id, args.phone)
        asked = f"BizId {args.biz_id}" + (f", phone {args.phone}" if args.phone else "")
    elif what == "dead-letters":
        found, asked = lookups.recent_dead_letters(backend, _since(args), args.limit), f"since {args.since}"
    else:
        found, asked = lookups.pending_sends(backend, args.days, time.time()), f"the last {args.days} days"
    if not found:
        print(f"sms-receipts lookup {what}: nothing found for {asked}", file=sys.stderr)
        return EXIT_REJECTED
    out = printer(args)
    out.rows((entry.as_dict() for entry in found), title=f"{what}: {asked}")
    out.flush()
    return EXIT_OK


def _received_stats(args: argparse.Namespace, storage: Storage, by: str, completeness: Any = ()) -> Any:
    """The statistics of the receipts received since `--since` (read from the by-time index)."""
    import time

    from .stats_model import stats_from_ledger_rows
    from .storage.lookups import received_between

    since, until = _since(args), int(time.time() * 1000)
    rows = received_between(storage.backend, since, until)
    try:
        return stats_from_ledger_rows(rows, since, until, by, completeness=completeness, time_column="received_at")
    except ValueError as exc:  # too many buckets for the range
        raise ConfigurationError(str(exc)) from None


def _cmd_stats(args: argparse.Namespace) -> int:
    from .stats_model import stats_rows, stats_summary

    storage = environment(args, "storage").storage()
    stats = _received_stats(args, storage, args.by if args.by in ("day", "hour") else "day")
    out = printer(args)
    out.report(stats_summary(stats), title=f"receipts received since {args.since}")
    out.rows(stats_rows(stats, args.by), title=f"by {args.by}")
    out.flush()
    return EXIT_OK if stats.receipts else EXIT_REJECTED


def _cmd_report(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from .reconcile.job import send_log_completeness
    from .reconcile.reconciler import days_between
    from .report import render_report

    completeness: Any = ()
    try:  # completeness needs the SMS API's statistics: left out (the report says so) without one
        storage, settings, env = _reconcile_settings(args)
        days = days_between(_since(args) / 1000, time.time())[-30:]  # QuerySendStatistics: 30 days
        completeness, error = send_log_completeness(storage, settings, env.keys(), days)
        if error:
            print(f"sms-receipts report: no completeness figures (QuerySendStatistics: {error})", file=sys.stderr)
            completeness = ()
    except ConfigurationError as exc:
        print(f"sms-receipts report: no completeness figures ({exc})", file=sys.stderr)
        storage = environment(args, "storage").storage()
    stats = _received_stats(args, storage, args.by, completeness)
    path = Path(args.out)
    try:
        path.write_text(render_report(stats), encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}") from None
    out = printer(args)
    out.report({"report": str(path), "receipts": stats.receipts, "days": len(stats.completeness)}, title="report")
    out.flush()
    return EXIT_OK


_EXPORT_TABLES = {
    "ledger": ("receipt_ledger",),
    "state": ("delivery_state", "receipt_state"),
    "dead-letter": ("dead_letter",),
    "sends": ("send_log",),
    "inbox": ("inbox",),
}


def _counted(rows: Iterable[dict[str, Any]], advance: Callable[..., None]) -> Iterator[dict[str, Any]]:
    for row in rows:
        advance()
        yield row


def _cmd_export(args: argparse.Namespace) -> int:
    from .output import progress

    backend = environment(args, "storage").storage().backend
    out = printer(args)
    for table in _EXPORT_TABLES[args.table]:
        with progress(f"export {table}") as advance:
            out.rows(_counted(backend.scan(table), advance), title=table, table=table)
    out.flush()
    return EXIT_OK


class _CountedScans:
    """A backend whose range reads advance a progress bar (repair, replay and reconcile read a table
    through `scan`; what they write goes through the store's own backend)."""

    def __init__(self, backend: StorageBackend, advance: Callable[..., None]):
        self._backend, self._advance = backend, advance

    def scan(self, *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return _counted(self._backend.scan(*args, **kwargs), self._advance)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


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


def _cmd_pull(args: argparse.Namespace) -> int:  # noqa: C901 - one loop: settings, passes, their outcome
    import logging

    from .mns.alicom import ENV_TYPES, AlicomPuller, AlicomSettings, TokenSource
    from .mns.alicom import log as puller_log
    from .output import is_terminal
    from .parsing import message_type_from_name
    from .storage.tablestore import quiet_sdk_logs

    if args.type:
        for name in args.type.split(","):
            message_type_from_name(name.strip())  # an unknown type is a usage error, before any I/O
    env = environment(args, "alicom", "storage")
    if args.type:
        env.values[ENV_TYPES] = args.type
    settings = AlicomSettings.from_env(env.values)
    round_seconds = PullSettings.from_env(env.values).round_seconds  # one pass over the queues, at most
    store = env.storage().store
    keys = env.keys()
    puller = AlicomPuller(settings, TokenSource(settings, keys), store)
    # Piped and without -o: only the puller's log lines, on stderr, as before -o existed.
    shown = args.output is not None or is_terminal(sys.stdout)
    out = printer(args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if shown and out.format == "table":
        puller_log.setLevel(logging.ERROR)  # the table says what its lines would
    quiet_sdk_logs()
    while True:
        try:
            reports = puller.pull(budget_seconds=round_seconds)
        except KeyboardInterrupt:
            return EXIT_OK
        if shown:
            out.rows((vars(r) for r in reports), title="queues")
            out.flush()
        unreachable = [r for r in reports if r.status == "error" and refused_connection(r.error or "")]
        if unreachable and env.local_stack is not None:
            raise Unreachable("the Alicom queues' token API", unreachable[0].error or "", env.local_stack)
        if not args.once:
            fresh = env.keys()
            if fresh != keys:  # a role's keys rotated: a token source that asks with the new ones
                keys, puller = fresh, AlicomPuller(settings, TokenSource(settings, fresh), store)
            continue
        if any(r.outcomes["failed"] or r.status not in ("empty", "budget spent") for r in reports):
            return EXIT_REJECTED
        if all(r.status == "empty" for r in reports):
            return EXIT_OK


def _cmd_drain(args: argparse.Namespace) -> int:
    from .storage.inbox import Drain

    storage = environment(args, "storage").storage()
    report = Drain(storage.backend, storage.store).run(args.seconds)
    out = printer(args)
    out.report(report.as_fields(), title="drain")
    out.flush()
    return EXIT_REJECTED if report.left else EXIT_OK


def _since(args: argparse.Namespace) -> int:
    from .storage.repair import parse_since

    try:
        return parse_since(args.since)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _cmd_repair(args: argparse.Namespace) -> int:
    from .output import progress
    from .storage.repair import repair

    since = _since(args)
    storage = environment(args, "storage").storage()
    with progress("repair: ledger rows read") as advance:
        counted: Any = _CountedScans(storage.backend, advance)
        report = repair(counted, storage.store, since, dry_run=args.dry_run)
    out = printer(args)
    out.report({"dry_run": args.dry_run, **vars(report)}, title="repair")
    out.flush()
    return EXIT_REJECTED if report.failed else EXIT_OK


def _cmd_replay(args: argparse.Namespace) -> int:
    from .output import progress
    from .storage.repair import replay

    since = _since(args)
    storage = environment(args, "storage").storage()
    with progress("replay: dead letters read") as advance:
        counted: Any = _CountedScans(storage.backend, advance)
        results = replay(counted, storage.store, since, reason=args.reason, dry_run=args.dry_run)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    out = printer(args)
    out.rows((vars(result) for result in results), title="dead letters")
    summary = {"dry_run": args.dry_run, "dead_letters": len(results), **counts}
    if out.format == "csv":  # one CSV holds one kind of row: the counts go to stderr, in words
        print(
            "sms-receipts replay: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in summary.items()),
            file=sys.stderr,
        )
    else:
        out.report(summary, title="replay")
    out.flush()
    return EXIT_REJECTED if any(r.result in ("not stored", "not marked") for r in results) else EXIT_OK


SENDS_PER_WRITE = 1000  # sends recorded per call when importing (a bar's step; each call has its own deadline)


def _cmd_sends_import(args: argparse.Namespace) -> int:
    from .output import progress
    from .storage.plan import limit_problem
    from .storage.sends import SendError, SendLog, read_sends_file, send_row

    data = read_input(args.file)
    sends, errors = read_sends_file(data)
    for error in errors:
        print(f"sms-receipts sends import: {error}", file=sys.stderr)
    out = printer(args)
    if not sends:
        out.report({"recorded": 0, "errors": len(errors)}, title="sends import")
        out.flush()
        return EXIT_REJECTED
    problem = limit_problem([send_row(send, 0) for send in sends])  # refused whole, as one call would be
    if problem:
        print(f"sms-receipts sends import: {problem}", file=sys.stderr)
        return EXIT_REJECTED
    env = environment(args, "storage")
    log = SendLog(env.storage().store)
    confirmed, failures = True, []
    try:
        with progress("sends import", total=len(sends)) as advance:
            for start in range(0, len(sends), SENDS_PER_WRITE):
                chunk = sends[start : start + SENDS_PER_WRITE]
                written = log.record(chunk)
                confirmed = written.confirmed and confirmed
                failures.extend(written.errors[:1])
                advance(len(chunk))
    except SendError as exc:
        print(f"sms-receipts sends import: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    refused = [error for error in failures if refused_connection(error)]
    if refused and env.local_stack is not None:
        raise Unreachable("Tablestore", refused[0], env.local_stack)
    if failures:
        print(f"sms-receipts sends import: not every send was recorded: {failures[0]}", file=sys.stderr)
    out.report({"recorded": len(sends), "confirmed": confirmed, "errors": len(errors)}, title="sends import")
    out.flush()
    return EXIT_OK if confirmed and not errors else EXIT_REJECTED


def _cmd_send(args: argparse.Namespace) -> int:
    from .send import send

    env = environment(args, "sms", "storage")
    try:
        line = send(args.phones, args.sign, args.template, args.params, args.out_id, args.data_dir, env.values)
    except ConfigurationError:
        raise
    except ValueError as exc:
        if env.local_stack is not None and refused_connection(str(exc)):
            raise Unreachable("the SMS API", str(exc), env.local_stack) from None
        print(f"sms-receipts send: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    out = printer(args)
    out.report(line, title="sent")
    out.flush()
    return EXIT_OK


def _reconcile_settings(args: argparse.Namespace) -> tuple[Storage, ReconcileSettings, Environment]:
    from .reconcile.settings import ReconcileSettings

    env = environment(args, "sms", "storage")
    settings = ReconcileSettings.from_env(env.values)
    if getattr(args, "grace", None) is not None:
        settings = dataclasses.replace(settings, grace_seconds=args.grace).checked()
    return env.storage(), settings, env


def _cmd_reconcile(args: argparse.Namespace) -> int:
    import logging
    import time

    from .output import progress
    from .reconcile.job import run_job
    from .storage.tablestore import quiet_sdk_logs

    storage, settings, env = _reconcile_settings(args)
    out = printer(args)
    # The job logs its own JSON line; a table says the same, so a terminal is spared the line.
    logging.basicConfig(level=logging.INFO if out.format != "table" else logging.WARNING, format="%(message)s")
    quiet_sdk_logs()
    backend = storage.backend
    while True:
        with progress("reconcile: send-log rows read") as advance:
            storage.backend = _CountedScans(backend, advance)  # type: ignore[assignment]
            try:
                result = run_job(storage, settings, env.keys(), args.seconds)
            finally:
                storage.backend = backend
        out.report(result.as_fields(), title="reconcile")
        out.flush()
        refused = [e for e in result.report.errors if refused_connection(e)]
        if refused and env.local_stack is not None:
            raise Unreachable("Tablestore", refused[0], env.local_stack)
        if args.once:
            report = result.report
            return EXIT_REJECTED if report.failed or report.left or not report.complete else EXIT_OK
        try:
            time.sleep(args.every)
        except KeyboardInterrupt:
            return EXIT_OK


def _cmd_completeness(args: argparse.Namespace) -> int:
    import time

    from .reconcile.job import send_log_completeness
    from .reconcile.reconciler import days_between

    if not 1 <= args.days <= 30:
        raise ConfigurationError("--days must be from 1 to 30 (QuerySendStatistics and the send log's window)")
    storage, settings, env = _reconcile_settings(args)
    now = time.time()
    days = days_between(now - (args.days - 1) * 86_400, now)
    lines, error = send_log_completeness(storage, settings, env.keys(), days)
    out = printer(args)
    out.rows((line.as_dict() for line in lines), title="completeness")
    out.flush()
    if error:
        if env.local_stack is not None and refused_connection(error):
            raise Unreachable("the SMS API (QuerySendStatistics)", error, env.local_stack)
        print(f"sms-receipts completeness: QuerySendStatistics failed: {error}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


def _cmd_completion(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        raise ConfigurationError("completion needs shtab, in the cli extra: pip install 'sms-receipts[cli]'") from None

    parser: argparse.ArgumentParser = args.parser
    for action in _actions(parser):
        if action.metavar == "FILE":
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        elif action.dest == "data_dir":
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    sys.stdout.write(shtab.complete(parser, shell=args.shell) + "\n")
    return EXIT_OK


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _actions(sub)


# -- errors: one line each ------------------------------------------------------------------------


class Unreachable(Exception):
    """`service` did not answer (`detail`: the SDK's words). With `data_dir`, it is the local stack's,
    and a refused connection means that stack has stopped."""

    def __init__(self, service: str, detail: str, data_dir: str | None = None):
        super().__init__(f"{service}: {detail}")
        self.service, self.detail, self.data_dir = service, detail, data_dir

    def line(self) -> str:
        address = _address(self.detail)
        at = f"{self.service} at {address}" if address and address not in self.service else self.service
        if not refused_connection(self.detail):
            return f"cannot reach {at}: {_cut(self.detail)}"
        if self.data_dir is None:
            return f"cannot reach {at}: it refused the connection"
        return (
            f"no local stack running in {self.data_dir}: start it with make dev ({at} refused the connection; "
            f"{Path(self.data_dir) / 'endpoints.json'} is left from a stack that stopped)"
        )


_REFUSED = ("connection refused", "errno 111", "econnrefused")
_UNREACHABLE = (*_REFUSED, "timed out", "name or service not known", "nodename nor servname", "no route to host")
# The SDKs whose errors may carry a network failure (each has its own exception types).
_SDK_MODULES = ("tablestore", "mns", "Tea", "darabonba", "alibabacloud", "requests", "urllib3", "http", "socket")
_ADDRESSES = (
    re.compile(r"host='([^']+)', port=(\d+)"),  # urllib3's pools (Tablestore, the Tea SDKs)
    re.compile(r"//([\w.-]+):(\d+)"),
    re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}|localhost):(\d+)"),
)


def refused_connection(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _REFUSED)


def _address(text: str) -> str | None:
    for pattern in _ADDRESSES:
        match = pattern.search(text)
        if match:
            return f"{match.group(1)}:{match.group(2)}"
    return None


def _cut(text: str, width: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _network_failure(exc: BaseException) -> str | None:
    """The text of a network failure somewhere in `exc`'s chain (an SDK's own error wrapping an
    OSError, or only saying so in its message), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__.split(".")[0]
        if isinstance(current, OSError) or module in _SDK_MODULES:
            text = f"{type(current).__name__}: {current}"
            if isinstance(current, (ConnectionError, TimeoutError)) or any(w in text.lower() for w in _UNREACHABLE):
                return text
        current = current.__cause__ or current.__context__
    return None


def _service(args: argparse.Namespace, exc: BaseException) -> str:
    from .storage.backend import BackendError

    env: Environment | None = getattr(args, "environment", None)
    if isinstance(exc, BackendError):
        return "Tablestore" + (f" at {env.values.get('SMS_RECEIPTS_OTS_ENDPOINT')}" if env is not None else "")
    if type(exc).__module__.startswith("mns"):
        return "MNS"
    return "the service"


def _error_line(args: argparse.Namespace, exc: BaseException) -> tuple[str, int] | None:
    """The one line and exit status for an error a person can act on, or None for a bug."""
    from .parsing import UnknownMessageType
    from .storage.backend import BackendError

    if isinstance(exc, (ConfigurationError, UnknownMessageType)):
        return str(exc), EXIT_USAGE
    if isinstance(exc, Unreachable):
        return exc.line(), EXIT_REJECTED
    failure = _network_failure(exc)
    if failure is not None:
        env: Environment | None = getattr(args, "environment", None)
        data_dir = env.local_stack if env is not None else getattr(args, "local_stack", None)
        return Unreachable(_service(args, exc), failure, data_dir).line(), EXIT_REJECTED
    if isinstance(exc, BackendError):
        return f"Tablestore said {exc}", EXIT_REJECTED
    return None


# -- the parser -----------------------------------------------------------------------------------


def version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("sms-receipts")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def storage_options(parser: argparse.ArgumentParser, credentials: bool = True) -> None:
    parser.add_argument(
        "--data-dir", default=".data", help="local stack to use when no Tablestore is configured (default .data)"
    )
    if credentials:
        credential_options(parser)


def credential_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: unset here, the global --profile (before the command) stays in force
    parser.add_argument("--profile", default=argparse.SUPPRESS, help=PROFILE_HELP)


PROFILE_HELP = (
    "the aliyun CLI profile (~/.aliyun/config.json) to take credentials from; default: the environment's "
    "ALIBABA_CLOUD_ACCESS_KEY_*, else Alibaba Cloud's default credentials chain"
)


def output_options(parser: argparse.ArgumentParser) -> None:
    from .output import FORMATS

    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        help="table (default on a terminal), json, jsonl (default otherwise: one JSON object per line) or csv",
    )


def new_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog="sms-receipts",
        description="Alibaba Cloud SMS receipts into Tablestore, idempotently.",
        epilog="Exit status: 0 done, 1 the operation failed, 2 a usage mistake. "
        "`sms-receipts COMMAND --help` shows an example of each command.",
    )
    parser.add_argument("--version", action="version", version=f"sms-receipts {version()}")
    parser.add_argument("--profile", help=PROFILE_HELP)
    return parser, parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def add_command(
    commands: argparse._SubParsersAction, name: str, help: str, *examples: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with its examples."""
    epilog = "example" + ("s" if len(examples) > 1 else "") + ":\n" + "\n".join(f"  {e}" for e in examples)
    return commands.add_parser(
        name,
        help=help,
        description=help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def add_commands(commands: argparse._SubParsersAction) -> None:
    """The operator's commands: they ship with the package (the local stack's are in sms_receipts_dev)."""
    parse = add_command(
        commands,
        "parse",
        "parse receipts and print their identity, one JSON per line",
        "sms-receipts parse examples/http/SmsReport.json",
        "sms-receipts parse --source alicom --type SmsUp message.txt",
    )
    parse.add_argument("--type", help="message type (SmsReport, SmsUp, ...); detected from fields if omitted")
    parse.add_argument(
        "--source",
        choices=["http", "eventbridge", "topic", "alicom"],
        default="http",
        help="delivery path FILE comes from: a raw HTTP push body (default), an FC EventBridge MNS event, "
        "an FC MNS topic event, or one Alicom queue message body",
    )
    parse.add_argument("file", metavar="FILE", help="input file, or - for standard input")
    output_options(parse)
    parse.set_defaults(run=_cmd_parse)

    init_tables = add_command(
        commands, "init-tables", "create the missing tables (safe to repeat)", "sms-receipts init-tables --profile prod"
    )
    storage_options(init_tables)
    output_options(init_tables)
    init_tables.set_defaults(run=_cmd_init_tables)

    query = add_command(
        commands,
        "query",
        "the state and ledger rows of a message (exit 1 when nothing is found)",
        "sms-receipts query --biz-id 900619746936498440^0",
        "sms-receipts query --biz-id 900619746936498440^0 --phone 13800000000 -o json",
    )
    query.add_argument("--biz-id", required=True, help="the BizId returned by SendSms / SendBatchSms")
    query.add_argument("--phone", help="one recipient of that send")
    storage_options(query)
    output_options(query)
    query.set_defaults(run=_cmd_query)

    export = add_command(
        commands,
        "export",
        "every row of a table",
        "sms-receipts export --table ledger > ledger.jsonl",
        "sms-receipts export --table dead-letter -o csv > dead-letters.csv",
    )
    export.add_argument(
        "--table",
        required=True,
        choices=sorted(_EXPORT_TABLES),
        help="ledger (every receipt), state (delivery and other states), dead-letter, sends (the send log), inbox",
    )
    storage_options(export)
    output_options(export)
    export.set_defaults(run=_cmd_export)

    pull = add_command(
        commands,
        "pull",
        "drain the Alicom queues into Tablestore",
        "sms-receipts pull --once",
        "sms-receipts pull --type SmsReport,SmsUp",
    )
    pull.add_argument("--type", help="comma-separated message types (default: SMS_RECEIPTS_ALICOM_TYPES)")
    pull.add_argument("--once", action="store_true", help="stop when every queue is empty (exit 1 on failures)")
    storage_options(pull)
    output_options(pull)
    pull.set_defaults(run=_cmd_pull)

    drain = add_command(
        commands, "drain", "store what the inbox holds (exit 1 if some is left)", "sms-receipts drain --seconds 30"
    )
    drain.add_argument("--seconds", type=float, default=60.0, help="the most the run lasts (default 60)")
    storage_options(drain)
    output_options(drain)
    drain.set_defaults(run=_cmd_drain)

    repair = add_command(
        commands,
        "repair",
        "rebuild state rows from the ledger, where missing or older",
        "sms-receipts repair --since 24h --dry-run",
    )
    repair.add_argument("--since", default="24h", help="ledger rows received since: 90m, 24h, 7d or a date")
    repair.add_argument("--dry-run", action="store_true", help="count what would be checked; write nothing")
    storage_options(repair)
    output_options(repair)
    repair.set_defaults(run=_cmd_repair)

    replay = add_command(
        commands,
        "replay",
        "parse dead letters again; store and mark what now parses",
        "sms-receipts replay --since 7d --reason 'biz_id' --dry-run",
    )
    replay.add_argument("--since", default="30d", help="dead letters received since: 90m, 24h, 7d or a date")
    replay.add_argument("--reason", help="only dead letters whose reason contains this text")
    replay.add_argument("--dry-run", action="store_true", help="show what would be replayed; write nothing")
    storage_options(replay)
    output_options(replay)
    replay.set_defaults(run=_cmd_replay)

    lookup = add_command(
        commands,
        "lookup",
        "find receipts and states by phone, OutId or message; dead letters; pending sends (exit 1: nothing found)",
        "sms-receipts lookup phone 13800000000",
        "sms-receipts lookup history 900619746936498440^0 --phone 13800000000",
        "sms-receipts lookup dead-letters --since 24h",
    )
    lookups = lookup.add_subparsers(dest="lookup", required=True, metavar="WHAT")
    by_phone = add_command(
        lookups,
        "phone",
        "a number's delivery states across sends, newest first",
        "sms-receipts lookup phone 13800000000",
    )
    by_phone.add_argument("phone", help="the number as the receipts spell it (e.g. 13800000000)")
    by_phone.add_argument("--limit", type=int, default=20, help="at most this many states (default 20)")
    by_out_id = add_command(
        lookups,
        "out-id",
        "the delivery states of the sends that carried an OutId",
        "sms-receipts lookup out-id order-7",
    )
    by_out_id.add_argument("out_id", metavar="OUT_ID", help="your own id of the send")
    history = add_command(
        lookups,
        "history",
        "every receipt of a message in event-time order, with where it came from",
        "sms-receipts lookup history 900619746936498440^0",
    )
    history.add_argument("biz_id", metavar="BIZ_ID", help="the BizId returned by SendSms / SendBatchSms")
    history.add_argument("--phone", help="one recipient of that send")
    dead_letters = add_command(
        lookups, "dead-letters", "recent dead letters with their reasons", "sms-receipts lookup dead-letters --since 7d"
    )
    dead_letters.add_argument("--since", default="24h", help="received since: 90m, 24h, 7d or a date (default 24h)")
    dead_letters.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    pending = add_command(
        lookups, "pending", "logged sends without a final state yet", "sms-receipts lookup pending --days 3"
    )
    pending.add_argument("--days", type=int, default=3, help="the last N days, today included (default 3)")
    for sub in (by_phone, by_out_id, history, dead_letters, pending):
        storage_options(sub)
        output_options(sub)
        sub.set_defaults(run=_cmd_lookup)

    stats = add_command(
        commands,
        "stats",
        "delivery statistics of the receipts received in a time range (exit 1: none)",
        "sms-receipts stats --since 24h",
        "sms-receipts stats --since 7d --by err_code",
    )
    stats.add_argument("--since", default="24h", help="received since: 90m, 24h, 7d or a date (default 24h)")
    stats.add_argument(
        "--by", choices=["day", "hour", "type", "err_code", "source"], default="day", help="rows by (default day)"
    )
    storage_options(stats)
    output_options(stats)
    stats.set_defaults(run=_cmd_stats)

    report = add_command(
        commands,
        "report",
        "one self-contained HTML file with charts: delivery rate, failures, latency, completeness",
        "sms-receipts report --since 7d --out report.html",
    )
    report.add_argument("--since", default="7d", help="received since: 24h, 7d or a date (default 7d)")
    report.add_argument("--by", choices=["day", "hour"], default="day", help="the charts' buckets (default day)")
    report.add_argument("--out", default="report.html", help="the file to write (default report.html)")
    storage_options(report)
    output_options(report)
    report.set_defaults(run=_cmd_report)

    sends = add_command(
        commands, "sends", "the send log: what was sent, for reconciliation", "sms-receipts sends import sends.csv"
    )
    sends_commands = sends.add_subparsers(dest="sends_command", required=True, metavar="SENDS_COMMAND")
    sends_import = add_command(
        sends_commands,
        "import",
        "record sends from JSON lines or CSV (biz_id, phone_number(s), send_time, ...)",
        "sms-receipts sends import sends.jsonl",
    )
    sends_import.add_argument("file", metavar="FILE", help="input file, or - for standard input")
    storage_options(sends_import)
    output_options(sends_import)
    sends_import.set_defaults(run=_cmd_sends_import)
    add_reconcile_commands(commands)

    completion = add_command(
        commands,
        "completion",
        "print the shell completion script",
        "sms-receipts completion bash > ~/.local/share/bash-completion/completions/sms-receipts",
        'sms-receipts completion zsh > "${fpath[1]}/_sms-receipts"',
    )
    completion.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    completion.set_defaults(run=_cmd_completion)


def add_reconcile_commands(commands: argparse._SubParsersAction) -> None:
    send = add_command(
        commands,
        "send",
        "send an SMS through the official SDK and record it (really sends when the SMS API is set)",
        'sms-receipts send --phones 13800000000 --sign 阿里云 --template SMS_1 --params \'{"code":"1234"}\'',
    )
    send.add_argument("--phones", required=True, help="comma-separated numbers (up to 1,000)")
    send.add_argument("--sign", required=True, help="signature name")
    send.add_argument("--template", required=True, help="template code")
    send.add_argument("--params", help="template parameters, a JSON object")
    send.add_argument("--out-id", help="your own id of the send, echoed in its receipts")
    storage_options(send)
    output_options(send)
    send.set_defaults(run=_cmd_send)

    reconcile = add_command(
        commands,
        "reconcile",
        "look up sends without a final state with QuerySendDetails, as the reconcile timer does",
        "sms-receipts reconcile --once --grace 0",
    )
    reconcile.add_argument("--once", action="store_true", help="one run, then exit (1 if some is left)")
    reconcile.add_argument("--grace", type=float, help="seconds a send waits for its receipts before it is queried")
    reconcile.add_argument("--seconds", type=float, default=300.0, help="the most one run lasts (default 300)")
    reconcile.add_argument("--every", type=float, default=600.0, help="seconds between runs without --once (600)")
    storage_options(reconcile)
    output_options(reconcile)
    reconcile.set_defaults(run=_cmd_reconcile)

    completeness = add_command(
        commands,
        "completeness",
        "per send day: stored final states against QuerySendStatistics' counts",
        "sms-receipts completeness --days 7",
    )
    completeness.add_argument("--days", type=int, default=7, help="the last N days, today included (default 7)")
    storage_options(completeness)
    output_options(completeness)
    completeness.set_defaults(run=_cmd_completeness)


def build_parser() -> argparse.ArgumentParser:
    parser, commands = new_parser()
    add_commands(commands)
    return parser


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    args.parser = parser
    name = " ".join(str(part) for part in (args.command, getattr(args, "sends_command", None)) if part)
    try:
        if getattr(args, "output", None):
            from .output import resolve_format

            resolve_format(args.output)  # a format that cannot print is said before any work is done
        return int(args.run(args))
    except KeyboardInterrupt:
        print(f"sms-receipts {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        _silence_stdout()
        return EXIT_REJECTED
    except Exception as exc:
        said = _error_line(args, exc)
        if said is None:
            raise  # a bug: its traceback is what a report needs
        print(f"sms-receipts {name}: {said[0]}", file=sys.stderr)
        return said[1]


def _silence_stdout() -> None:
    with contextlib.suppress(OSError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open: the interpreter flushes it at exit


def console_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console_main()
