"""How the command line prints: tables for a person at a terminal, JSON lines for pipes and scripts.

`-o table|json|jsonl|csv` chooses; without it, a terminal gets `table` and anything else (a pipe, a
file, a test's captured stdout) gets `jsonl`, line for line what the commands printed before there
was a choice. `json` is what `jsonl` prints as one document: an array, or the object itself when the
command prints one report. Progress bars go to stderr, and only when it is a terminal.

`table` and `csv` are for reading, not for round trips: the internal columns (`order_key`, `version`,
`winner`, `write_id`) are left out, times in epoch milliseconds become dates (the receipts' own times
in China time, the store's bookkeeping in the machine's zone, each labelled), `record` (JSON in a
string) is decoded, and tables cut long text. `json` and `jsonl` keep every column as stored.

Only the CLI imports this module, and it imports rich (the `cli` extra) lazily: no function's path
reaches either.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import IO, Any

FORMATS = ("table", "json", "jsonl", "csv")
INTERNAL_COLUMNS = frozenset({"order_key", "version", "winner", "write_id"})
# Epoch-ms columns: the receipt's own times (the SMS service speaks China time), and the store's.
RECEIPT_TIMES = frozenset({"event_time", "send_time", "report_time"})
STORE_TIMES = frozenset({"updated_at", "received_at", "replayed_at", "recorded_at"})
CHINA = timezone(timedelta(hours=8), "China")  # no daylight saving since 1991: a fixed offset is exact

# What a table shows of each stored table (the rest: -o csv or json). The ledger's `record` is
# summarised in one cell; a dead letter's `raw` is shown cut.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "delivery_state": ("biz_id", "phone_number", "status", "err_code", "event_time", "out_id", "source", "updated_at"),
    "receipt_state": ("entity_key", "message_type", "status", "is_final", "event_time", "source", "updated_at"),
    "receipt_ledger": ("entity_key", "message_type", "status", "event_time", "record", "source", "received_at"),
    "dead_letter": (
        "dead_letter_id",
        "received_at",
        "message_type",
        "source",
        "reason",
        "raw",
        "replayed_at",
        "replay_result",
    ),
    "send_log": ("biz_id", "phone_number", "send_time", "out_id", "template_code", "sign_name", "source"),
    "inbox": ("entry_id", "message_type", "source", "items", "received_at"),
}
CELL_WIDTH = 48  # a table cell's most characters before it is cut with an ellipsis
CARD_WIDTH = 400  # a value's most characters in a row's block (a dead letter's raw body may be 2 MB)
STATUS_STYLES = {
    "delivered": "green",
    "replayed": "green",
    "stored": "green",
    "empty": "green",
    "approved": "green",
    "failed": "red",
    "error": "red",
    "rejected": "red",
    "still rejected": "red",
    "not stored": "red",
    "access denied": "red",
    "queue missing": "yellow",
    "expired": "yellow",
    "unknown": "yellow",
    "would replay": "cyan",
}
# A ledger record's fields that its row's other columns say (the entity key names the send and number).
_SAID_ELSEWHERE = frozenset({"biz_id", "phone_number", "delivery_status", "is_final", "success"})
_TELLING = ("err_code", "err_msg", "content", "reason", "audit_status", "status")
_ISO_CHINA = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?\+08:00$")


def resolve_format(chosen: str | None, stream: IO[str] | None = None) -> str:
    """`chosen`, or `table` on a terminal (when rich is installed) and `jsonl` otherwise."""
    if chosen:
        if chosen == "table" and not has_rich():
            from .settings import ConfigurationError

            raise ConfigurationError("-o table needs rich, in the cli extra: pip install 'sms-receipts[cli]'")
        return chosen
    return "table" if is_terminal(stream or sys.stdout) and has_rich() else "jsonl"


def has_rich() -> bool:
    """rich is the `cli` extra's: without it, a terminal gets JSON lines and no progress bars."""
    import importlib.util

    return importlib.util.find_spec("rich") is not None


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a file
        return False


def json_safe(row: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """A stored row as the JSON lines print it: bytes as UTF-8 text, or as `<column>_base64`."""
    out = dict(extra)
    for name, value in row.items():
        if isinstance(value, (bytes, bytearray)):
            try:
                out[name] = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                out[name + "_base64"] = base64.b64encode(bytes(value)).decode("ascii")
        else:
            out[name] = value
    return out


# -- values for people ------------------------------------------------------------------------------


def _local_zone() -> timezone:
    offset = datetime.now().astimezone().utcoffset() or timedelta(0)
    return CHINA if offset == timedelta(hours=8) else timezone(offset)


def zone_label(zone: timezone) -> str:
    if zone is CHINA:
        return "China"
    offset = zone.utcoffset(None)
    if not offset:
        return "UTC"
    sign, seconds = ("+" if offset >= timedelta(0) else "-"), abs(int(offset.total_seconds()))
    return f"UTC{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def time_zone(column: str) -> timezone | None:
    """The zone a time column is shown in, or None when the column is not a time."""
    if column in RECEIPT_TIMES:
        return CHINA
    if column in STORE_TIMES:
        return _local_zone()
    return None


def as_datetime(value: Any, zone: timezone) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, zone)


def decoded(value: Any) -> Any:
    """A JSON object or array kept in a string column (`record`, `raw`), decoded; anything else as is."""
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return value
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def words(value: Any) -> str:
    """A value as a person reads it in a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.1f}".rstrip("0").rstrip(".")
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return f"<{len(value)} bytes, not UTF-8>"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {words(v)}" for k, v in value.items() if v not in (None, "", 0, [], {}))
    if isinstance(value, (list, tuple)):
        return ", ".join(words(v) for v in value)
    if isinstance(value, str):
        match = _ISO_CHINA.match(value)
        if match:  # the record's times, already China time
            return f"{match.group(1)} {match.group(2)}"
    return str(value)


def cut(text: str, width: int = CELL_WIDTH) -> str:
    text = " ".join(text.split())  # one line per cell
    return text if len(text) <= width else text[: width - 1] + "…"


def header(column: str) -> str:
    zone = time_zone(column)
    name = column.replace("_", " ")
    return f"{name} ({zone_label(zone)})" if zone is not None else name


def table_cell(column: str, value: Any, row: Mapping[str, Any]) -> str:
    zone = time_zone(column)
    if zone is not None and (moment := as_datetime(value, zone)) is not None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if column == "record":
        record = decoded(value)
        if isinstance(record, Mapping):  # what the other columns do not already say, the telling first
            shown = {k: v for k, v in record.items() if k not in row and k not in _SAID_ELSEWHERE}
            first = {k: shown.pop(k) for k in _TELLING if k in shown}
            return cut(words({**first, **shown}))
    return cut(words(value))


def csv_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One stored row for a CSV file: internal columns dropped, `record` flattened to `record.<field>`,
    times as ISO 8601 with their offset, booleans as true/false."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if column in INTERNAL_COLUMNS:
            continue
        zone = time_zone(column)
        moment = as_datetime(value, zone) if zone is not None else None
        if moment is not None:
            out[column] = moment.isoformat(timespec="seconds")
            continue
        value = decoded(value) if column in ("record", "raw") else value
        if column == "record" and isinstance(value, Mapping):
            for field, inner in value.items():
                out[f"record.{field}"] = _csv_value(inner)
        else:
            out[column] = _csv_value(value)
    return out


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


# -- the printer ------------------------------------------------------------------------------------


class Printer:
    """Prints a command's rows and reports in the chosen format. `jsonl` streams; `json` and `csv`
    are buffered until `flush` (a document per call: a looping command flushes each run); `table`
    prints each block as it comes."""

    def __init__(self, fmt: str | None = None, out: IO[str] | None = None):
        self.out = out or sys.stdout
        self.format = resolve_format(fmt, self.out)
        if self.format != "table" and hasattr(self.out, "reconfigure"):
            self.out.reconfigure(encoding="utf-8")  # JSON and CSV are UTF-8 whatever the locale
        self._lines: list[dict[str, Any]] = []
        self._reports = 0
        self._csv_rows: list[dict[str, Any]] = []
        self._console: Any = None

    # rows: a stored table's or a command's own (parse items, push attempts, replay results...)
    def rows(self, rows: Iterable[Mapping[str, Any]], title: str | None = None, **extra: Any) -> int:
        """Print rows; `extra` columns go first on each JSON line (`table=...`). The count printed."""
        count = 0
        if self.format == "jsonl":
            for row in rows:
                self.out.write(json.dumps(json_safe(row, **extra), ensure_ascii=False) + "\n")
                count += 1
            self.out.flush()
        elif self.format == "json":
            for row in rows:
                self._lines.append(json_safe(row, **extra))
                count += 1
        elif self.format == "csv":
            for row in rows:
                self._csv_rows.append(csv_row({**extra, **row}))
                count += 1
        else:
            block = list(rows)
            count = len(block)
            if block:
                self._table(block, title, TABLE_COLUMNS.get(str(extra.get("table", title))))
            elif title is not None:
                self.note(f"[italic]{title}[/italic]: no rows")
        return count

    def report(self, fields: Mapping[str, Any], title: str | None = None) -> None:
        """One report (a run's counts): a JSON line, or a two-column table, or one CSV row."""
        if self.format == "jsonl":
            self.out.write(json.dumps(dict(fields), ensure_ascii=False, default=str) + "\n")
            self.out.flush()
        elif self.format == "json":
            self._lines.append(dict(fields))
            self._reports += 1
        elif self.format == "csv":
            self._csv_rows.append({k: _csv_value(v) for k, v in fields.items()})
        else:
            self._pairs(fields, title)

    def note(self, text: str) -> None:
        """A line for a person (table format only; the machine formats stay as they were)."""
        if self.format == "table":
            self.console().print(text, highlight=False)

    def flush(self) -> None:
        """End the document: print what `json` and `csv` buffered."""
        if self.format == "json":  # an empty array when there was nothing: still one document
            one = len(self._lines) == 1 and self._reports == 1
            document: Any = self._lines[0] if one else self._lines
            self.out.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
        elif self.format == "csv" and self._csv_rows:
            columns: dict[str, None] = {}
            for row in self._csv_rows:
                columns.update(dict.fromkeys(row))
            writer = csv.DictWriter(self.out, fieldnames=list(columns), lineterminator="\n")
            writer.writeheader()
            writer.writerows(self._csv_rows)
        self._lines, self._reports, self._csv_rows = [], 0, []
        self.out.flush()

    # -- rich, for tables only
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.out, highlight=False)
        return self._console

    def _table(self, rows: list[Mapping[str, Any]], title: str | None, wanted: Sequence[str] | None) -> None:
        from rich.cells import cell_len
        from rich.table import Table

        present: dict[str, None] = {}
        for row in rows:
            present.update(dict.fromkeys(c for c in row if c not in INTERNAL_COLUMNS))
        columns = [c for c in wanted if c in present] if wanted else list(present)
        cells = [[table_cell(c, row.get(c), row) for c in columns] for row in rows]
        caption = f"{len(rows)} row{'s' if len(rows) != 1 else ''}" if title is not None else None
        # Each column as wide as its longest cell (or header word), plus the borders: too wide for the
        # terminal, and one block per row reads better than a table of squeezed columns.
        natural = sum(
            max([cell_len(line[i]) for line in cells] + [max(cell_len(w) for w in header(c).split())])
            for i, c in enumerate(columns)
        )
        if natural + 3 * len(columns) + 1 > self.console().width:
            self._cards(rows, title, caption)
            return
        if caption is not None and wanted and set(present) - set(columns):
            caption += "; every column: -o json or -o csv"
        table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
        for column in columns:
            table.add_column(header(column), overflow="ellipsis", no_wrap=True, max_width=CELL_WIDTH)
        for line in cells:
            table.add_row(*(self._styled(c, text) for c, text in zip(columns, line, strict=True)))
        self.console().print(table)

    def _cards(self, rows: list[Mapping[str, Any]], title: str | None, caption: str | None) -> None:
        """Each row as a block of `field  value` lines, `record` spread out, every column but the internal ones."""
        console = self.console()
        if title is not None:
            console.print(f"[italic]{title}[/italic]")
        for number, row in enumerate(rows, 1):
            fields: dict[str, Any] = {}
            for column, value in row.items():
                if column in INTERNAL_COLUMNS:
                    continue
                inner = decoded(value) if column == "record" else None
                if isinstance(inner, Mapping):
                    fields.update({f"record.{k}": v for k, v in inner.items() if row.get(k) != v})
                elif not (column == "raw" and "record" in row):  # the record is the raw receipt, read
                    fields[column] = value
            self._pairs(fields, f"{number}/{len(rows)}", width=CARD_WIDTH)
        if caption is not None:
            console.print(f"[dim]{caption}[/dim]")

    def _pairs(self, fields: Mapping[str, Any], title: str | None, width: int | None = None) -> None:
        from rich.table import Table

        table = Table(title=title, show_header=False, title_justify="left", box=None, padding=(0, 2, 0, 0))
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, value in fields.items():
            zone = time_zone(name)
            moment = as_datetime(value, zone) if zone is not None else None
            text = f"{moment:%Y-%m-%d %H:%M:%S} ({zone_label(zone)})" if moment and zone else words(value)
            table.add_row(name.replace("_", " "), self._styled(name, cut(text, width) if width else text))
        self.console().print(table)

    @staticmethod
    def _styled(column: str, text: str) -> Any:
        style = STATUS_STYLES.get(text) if column in ("status", "result", "outcome") else None
        if style is None:
            return text
        from rich.text import Text

        return Text(text, style=style)


# -- progress ---------------------------------------------------------------------------------------


@contextmanager
def progress(description: str, total: int | None = None, err: IO[str] | None = None) -> Iterator[Callable[..., None]]:
    """`with progress("exporting receipt_ledger") as advance: advance(1)`: a bar with the count and
    the rate on stderr when it is a terminal; otherwise `advance` does nothing."""
    stream = err or sys.stderr
    if not is_terminal(stream) or not has_rich():
        yield lambda *args, **kwargs: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    else:
        columns.append(TextColumn("{task.completed:,.0f}"))
    columns += [_rate_column(), TimeElapsedColumn()]
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(count: float = 1, description: str | None = None) -> None:
            if description:
                bar.update(task, advance=count, description=description)
            else:
                bar.update(task, advance=count)

        yield advance


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")

    return Rate()


def countdown(
    seconds: float, description: str, err: IO[str] | None = None, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Wait `seconds`, showing what is awaited and the time left on a terminal's stderr."""
    stream = err or sys.stderr
    if not is_terminal(stream) or seconds < 1 or not has_rich():
        sleep(seconds)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(description, total=seconds)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            sleep(min(left, 0.25))
            bar.update(task, completed=seconds - max(0.0, end - time.monotonic()))
