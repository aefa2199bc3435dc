"""Issue 13 §5: statistics for one day among 1,000,000 stored receipts, time and rows read.

The set-up fills a fresh Tablestore emulator, in its own process on a fresh data dir (`--data-dir`,
SQLite in WAL mode, as `make dev` runs it), with `SMS_RECEIPTS_BENCH_STATS_RECEIPTS` SmsReport receipts
(default 1,000,000) received over 30 China-time days: pushes of 50 receipts (~3% a second report of a
message that failed within the hour, ~7% failed or expired under a few err_codes, send-to-report
latencies from a second to hours, sources http / alicom / query, 1% of pushes spilled), each decoded by
`decode_items` and planned by `plan_writes` with the push's own `received_at`, its ledger rows written
through the real SDK (`TablestoreBackend.batch_write`, 200 rows a request: four pushes a request) by
4 writer threads. Only the ledger rows are written: the statistics read nothing else (the state rows,
with delivery_state's two indexes, would more than double the rows the emulator writes, and change no
figure). The emulator maintains
`receipt_ledger_by_time` on every write. Its own process because it is faster: 50,000 receipts took
7.5 s that way against 12.0–13.7 s with the emulator in this process (one GIL for both sides).

Then, side by side and alternating (`SMS_RECEIPTS_BENCH_STATS_RUNS` rounds, default 2), the stats of the
last whole day, [day start, day end):
- (a) `received_between` + `stats_from_ledger_rows(time_column="received_at")`: what
  `sms-receipts stats --since <day>` does (`cli._received_stats`, which ends the range now), 16 range
  reads on the index;
- (b) the naive way: a scan of the whole ledger with the service-side `received_at >= day start`
  filter (`backend.scan(LEDGER, since=...)`), the upper bound checked here, then the same stats.
Both must give the same figures (`stats_summary`, the per-err_code and per-source counts: asserted).
Then each once more with the service's paging under a filter (`service_paged_get_range`), which also
counts the bytes read.

What the service read is counted inside the emulator's process: the launcher here
(`python -m benchmarks.bench_stats serve`) wraps its `RowStore.between`, the SQLite range read under
every GetRange, and writes per-table totals (rows read, rows returned, each request's seconds) to a file
after each GetRange. "Rows read" is every stored row a range read visited, filtered out or not (the row
that ends a page is visited again by the next page).

A run takes about 5 minutes (the fill about 3); `SMS_RECEIPTS_BENCH_STATS_DATA_DIR` keeps the filled
emulator there, and a later run on that dir measures without filling again.
"""

from __future__ import annotations

import json
import os
import queue
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV_RECEIPTS = "SMS_RECEIPTS_BENCH_STATS_RECEIPTS"
DEFAULT_RECEIPTS = 1_000_000
ENV_RUNS = "SMS_RECEIPTS_BENCH_STATS_RUNS"
DEFAULT_RUNS = 2
ENV_WRITERS = "SMS_RECEIPTS_BENCH_STATS_WRITERS"
DEFAULT_WRITERS = 4
ENV_DATA_DIR = "SMS_RECEIPTS_BENCH_STATS_DATA_DIR"  # keep the filled emulator here; a second run reuses it
# "1": the emulator process encodes GetRange rows with `storage.plainbuffer` (the same bytes as the SDK's
# pure-Python writer, which it otherwise uses), to measure what that would change (BENCHMARKS.md).
ENV_FAST_ENCODER = "SMS_RECEIPTS_BENCH_STATS_FAST_ENCODER"
DAYS = 30
PUSH_ITEMS = 50
BATCH_ROWS = 200
PREFIX = "bench13_"
# The client's timeout (the CLI's default is 10 s): the emulator answers the naive scan's first GetRange
# only after reading nearly the whole ledger, 5,000 matching rows in (see `service_paged_get_range`).
SOCKET_TIMEOUT = 600.0
FIRST_DAY = datetime(2026, 11, 1)  # China time, 00:00
ERR_CODES = (  # failed reports' codes, weighted (carriers' codes, as the reports carry them)
    ("UNDELIV", 30),
    ("MK:0001", 20),
    ("IA:0051", 12),
    ("MN:0001", 10),
    ("DB:0141", 8),
    ("MI:0013", 6),
    ("EXPIRED", 8),  # `expired`, not `failed`
    ("REJECTD", 6),
)


# ---- the receipts ---------------------------------------------------------------------------------


def _china_ms(moment: datetime) -> int:
    from sms_receipts.parsing.times import CHINA_TZ

    return int(moment.replace(tzinfo=CHINA_TZ).timestamp() * 1000)


def _china_text(ms: int) -> str:
    from sms_receipts.parsing.times import CHINA_TZ

    return datetime.fromtimestamp(ms / 1000, CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _latency_ms(rng: random.Random) -> int:
    """Send to report: mostly seconds, some minutes, a few hours (a phone off, then on)."""
    draw = rng.random()
    if draw < 0.70:
        return rng.randint(1_000, 10_000)
    if draw < 0.92:
        return rng.randint(10_000, 60_000)
    if draw < 0.99:
        return rng.randint(60_000, 1_800_000)
    return rng.randint(1_800_000, 6 * 3_600_000)


def pushes(receipts: int, seed: int = 13):
    """(received_at, source, spilled, items) of each push, in time order, `PUSH_ITEMS` receipts each."""
    rng = random.Random(seed)
    codes = [code for code, _ in ERR_CODES]
    weights = [weight for _, weight in ERR_CODES]
    start = _china_ms(FIRST_DAY)
    count = -(-receipts // PUSH_ITEMS)
    span = DAYS * 86_400_000
    failed: deque[tuple[str, str, int, int]] = deque()  # (biz_id, phone, send_time, report_time) of failures
    message = 0
    made = 0
    for index in range(count):
        received_at = start + int((index + rng.random()) * span / count)
        size = min(PUSH_ITEMS, receipts - made)
        made += size
        items = []
        for _ in range(size):
            report_ms = received_at - rng.randint(0, 5_000)
            while failed and failed[0][3] < report_ms - 3_600_000:
                failed.popleft()  # a later report of a failed message comes within the hour, or never
            if failed and rng.random() < 0.03:  # a later report of a message that failed: delivered after all
                biz_id, phone, send_ms, _ = failed.popleft()
                success, code = True, "DELIVERED"
            else:
                biz_id = f"{900619746936000000 + message // 20}^0"  # one send to 20 numbers
                phone = f"1{3 + message % 7}{message:09d}"
                message += 1
                send_ms = report_ms - _latency_ms(rng)
                success = rng.random() >= 0.07
                code = "DELIVERED" if success else rng.choices(codes, weights)[0]
                if not success:
                    failed.append((biz_id, phone, send_ms, report_ms))
            items.append(
                {
                    "phone_number": phone,
                    "send_time": _china_text(send_ms),
                    "report_time": _china_text(report_ms),
                    "success": success,
                    "err_code": code,
                    "err_msg": "用户接收成功" if success else "用户接收失败",
                    "sms_size": "1" if rng.random() < 0.8 else "2",
                    "biz_id": biz_id,
                    "out_id": f"order-{message}" if rng.random() < 0.5 else "",
                }
            )
        draw = rng.random()
        source = "http" if draw < 0.75 else "alicom" if draw < 0.98 else "query"
        yield received_at, source, rng.random() < 0.01, items


def ledger_batches(receipts: int):
    """Lists of at most 200 planned ledger rows, as `plan_writes` plans them."""
    from sms_receipts.parsing import MessageType, Source, decode_items
    from sms_receipts.storage.plan import RowKind, plan_writes

    batch: list = []
    for received_at, source, spilled, items in pushes(receipts):
        decoded = decode_items(items, MessageType.SMS_REPORT, Source(source))
        assert not decoded.rejected, decoded.rejected[:1]
        plan = plan_writes(decoded.items, [], received_at, spilled=spilled)
        rows = [row for row in plan.rows if row.kind is RowKind.LEDGER]
        if len(batch) + len(rows) > BATCH_ROWS:
            yield batch
            batch = []
        batch.extend(rows)
    if batch:
        yield batch


# ---- the emulator in its own process, counting what its range reads visit --------------------------


def serve(argv: list[str]) -> int:
    """`python -m benchmarks.bench_stats serve COUNTS_FILE --data-dir D`: the standalone emulator, its
    GetRange requests counted into COUNTS_FILE (JSON, rewritten after every GetRange). While the file
    `paging` exists next to COUNTS_FILE, a GetRange pages as the service documents it does under a
    filter: after 5,000 rows or 4 MB *scanned*, matching or not (`service_paged_get_range`)."""
    from sms_receipts_dev.emulators.standalone import serve_until_signalled
    from sms_receipts_dev.emulators.tablestore import TablestoreEmulator

    counts_file, data_dir = Path(argv[0]), argv[argv.index("--data-dir") + 1]
    paging_file = counts_file.with_name("paging")
    totals: dict[str, dict] = {}
    lock = threading.Lock()

    def build() -> TablestoreEmulator:
        if os.environ.get(ENV_FAST_ENCODER) == "1":  # the emulator's rows encoded by the store's serializer
            from sms_receipts.storage.plainbuffer import install_fast_put_row_serializer

            install_fast_put_row_serializer()
        emulator = TablestoreEmulator(data_dir=data_dir)
        state = emulator.state
        rows = state.rows
        between, get_range = rows.between, state.get_range
        reading = threading.local()

        def counted_between(table_id: int, start: bytes, end: bytes, forward: bool):
            for item in between(table_id, start, end, forward):
                reading.rows += 1  # this thread's GetRange (the state's lock is held meanwhile)
                yield item

        def counted_get_range(table_name: str, *args: Any, **kwargs: Any):
            reading.rows = 0
            started = time.perf_counter()
            scanned_bytes = 0
            if paging_file.exists():
                result, scanned_bytes = service_paged_get_range(state, table_name, *args, **kwargs)
            else:
                result = get_range(table_name, *args, **kwargs)
            seconds = time.perf_counter() - started
            with lock:
                table = totals.setdefault(
                    table_name, {"rows_read": 0, "bytes_read": 0, "rows_returned": 0, "seconds": []}
                )
                table["rows_read"] += reading.rows
                table["bytes_read"] += scanned_bytes  # counted only with the service's paging
                table["rows_returned"] += len(result.rows)
                table["seconds"].append(round(seconds, 4))  # one a request
                snapshot = json.dumps(totals)
            temporary = counts_file.with_suffix(".tmp")
            temporary.write_text(snapshot)
            temporary.replace(counts_file)
            return result

        rows.between = counted_between  # type: ignore[method-assign]
        state.get_range = counted_get_range  # type: ignore[method-assign]
        return emulator

    return serve_until_signalled(build)


def service_paged_get_range(state, table_name, forward, start, end, limit=None, options=None):
    """`TablestoreState.get_range` with the service's page limits counted on the rows *scanned* (5,000
    rows or 4 MB, filtered out or not), as https://help.aliyun.com/document_detail/148290.htm
    (过滤器) says: "the number of rows scanned cannot exceed 5,000, or the data scanned cannot exceed
    4 MB", a page whose scanned rows all fail the filter coming back empty with a next start key. The
    emulator's own counts only the rows it returns. Validation as the emulator's. Returns the range and
    the bytes scanned (each row's size as the emulator measures a returned row's, every column)."""
    from sms_receipts_dev.emulators.tablestore import models
    from sms_receipts_dev.emulators.tablestore.persistence import decode_key, encode_key

    options = options or models.ReadOptions()
    with state.lock:
        table = state._table(table_name, index_ok=True)
        for primary_key in (start, end):
            state._validate_primary_key(table, primary_key, allow_infinite=True)
        models._validate_check(options.column_filter)
        max_rows = min(limit or models.MAX_RANGE_ROWS, models.MAX_RANGE_ROWS)
        rows: list = []
        scanned_bytes = 0
        now_ms = state._now_ms()
        names = [column.name for column in table.schema]
        stored_rows = state.rows.between(table.id, encode_key(start), encode_key(end), forward)
        for scanned, (key, stored) in enumerate(stored_rows):
            primary_key = list(zip(names, decode_key(key, table.types), strict=True))
            if len(rows) >= max_rows or scanned >= models.MAX_RANGE_ROWS or scanned_bytes >= models.MAX_RANGE_BYTES:
                return models.RangeResult(rows, primary_key, models._capacity_units(scanned_bytes)), scanned_bytes
            scanned_bytes += models.RowView(primary_key, [(n, v, t) for n, (v, t) in stored.items()]).size()
            row = state._read(table, primary_key, stored, options, now_ms)
            if row is not None:
                rows.append(row)
        return models.RangeResult(rows, None, models._capacity_units(scanned_bytes)), scanned_bytes


class Emulator:
    """The counting emulator process on `data_dir`."""

    def __init__(self, data_dir: Path):
        self.counts_file = data_dir / "counts.json"
        self.counts_file.unlink(missing_ok=True)
        self.service_paging(False)
        command = [sys.executable, "-m", "benchmarks.bench_stats", "serve", str(self.counts_file)]
        self.process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir / "ots")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("{"):
            self.stop()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.info = json.loads(line)

    def counts(self, table: str) -> dict:
        """Rows read and returned by its GetRange requests on `table` so far, and each request's seconds."""
        empty: dict = {"rows_read": 0, "bytes_read": 0, "rows_returned": 0, "seconds": []}
        if not self.counts_file.exists():
            return empty
        return json.loads(self.counts_file.read_text()).get(table, empty)

    def service_paging(self, on: bool) -> None:
        """GetRange pages after 5,000 rows or 4 MB scanned (the service's limits under a filter) or not."""
        paging = self.counts_file.with_name("paging")
        if on:
            paging.touch()
        else:
            paging.unlink(missing_ok=True)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _storage(info: dict[str, str]):
    from sms_receipts.storage import Storage, StorageSettings

    settings = StorageSettings(
        info["endpoint"],
        info["instance_name"],
        table_prefix=PREFIX,
        access_key_id=info["access_key_id"],
        access_key_secret=info["access_key_secret"],
        socket_timeout=SOCKET_TIMEOUT,
    )
    return Storage(settings)


# ---- the fill ---------------------------------------------------------------------------------------


def fill(backend, receipts: int, writers: int) -> dict:
    """Every batch written, by `writers` threads; each row must be stored (none already there)."""
    batches: queue.Queue = queue.Queue(maxsize=4 * writers)
    written: Counter[str] = Counter()
    failures: list[str] = []

    def write() -> None:
        while (batch := batches.get()) is not None:
            try:
                results = backend.batch_write(batch, timeout=120)
                bad = [result for result in results if not result.ok]
                if bad:
                    failures.append(f"{bad[0].code}: {bad[0].message}")
                written["rows"] += len(batch) - len(bad)
                written["requests"] += 1
            except Exception as exc:  # noqa: BLE001 - reported after the fill
                failures.append(repr(exc))

    threads = [threading.Thread(target=write) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        for batch in ledger_batches(receipts):
            batches.put(batch)
    finally:
        for _ in threads:
            batches.put(None)
        for thread in threads:
            thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failed writes during the fill, the first: {failures[0]}")
    return {"seconds": round(seconds, 1), "rows": written["rows"], "requests": written["requests"]}


# ---- the two ways to one day's statistics ---------------------------------------------------------


def _figures(stats) -> dict:
    from sms_receipts.stats_model import stats_summary

    summary = stats_summary(stats)
    summary.pop("since"), summary.pop("until")
    return {**summary, "err_codes": dict(stats.err_codes.most_common()), "sources": dict(stats.sources())}


def by_index(backend, since: int, until: int):
    from sms_receipts.stats_model import stats_from_ledger_rows
    from sms_receipts.storage.lookups import received_between

    rows = received_between(backend, since, until)
    return stats_from_ledger_rows(rows, since, until, "day", generated_at_ms=until, time_column="received_at")


def by_scan(backend, since: int, until: int):
    from sms_receipts.stats_model import stats_from_ledger_rows
    from sms_receipts.storage.schema import LEDGER

    rows = (row for row in backend.scan(LEDGER, since=("received_at", since)) if row["received_at"] < until)
    return stats_from_ledger_rows(rows, since, until, "day", generated_at_ms=until, time_column="received_at")


def _measure(emulator: Emulator, table: str, compute, backend, since: int, until: int) -> tuple[dict, dict]:
    before, cpu_before, own_before = emulator.counts(table), emulator.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    stats = compute(backend, since, until)
    seconds = time.perf_counter() - started
    own = time.process_time() - own_before
    cpu = emulator.cpu_seconds() - cpu_before
    after = emulator.counts(table)
    requests = after["seconds"][len(before["seconds"]) :]
    return {
        "seconds": seconds,
        "emulator_cpu_s": cpu,
        "client_cpu_s": own,  # this process: the SDK's requests and decoding, the statistics
        "rows_read": after["rows_read"] - before["rows_read"],
        "bytes_read": after["bytes_read"] - before["bytes_read"],
        "rows_returned": after["rows_returned"] - before["rows_returned"],
        "get_range_requests": len(requests),
        "longest_request_s": max(requests, default=0.0),
    }, _figures(stats)


_COUNTS = ("rows_read", "bytes_read", "rows_returned", "get_range_requests")


def _summary(runs: list[dict]) -> dict:
    """The counts (the same in every round: checked) and the median of the times, with each round's."""
    for key in _COUNTS:
        assert len({run[key] for run in runs}) == 1, (key, runs)
    summary = {key: runs[0][key] for key in _COUNTS}
    for key in ("seconds", "emulator_cpu_s", "client_cpu_s", "longest_request_s"):
        summary[key] = round(statistics.median(run[key] for run in runs), 3)
    summary["rounds_seconds"] = [round(run["seconds"], 3) for run in runs]
    return summary


def _filled(emulator: Emulator, backend, directory: Path, receipts: int, writers: int) -> dict:
    """Fill the emulator, or, on a kept data dir already filled with as many receipts, say so."""
    marker = directory / "filled.json"
    if marker.exists():
        filled = json.loads(marker.read_text())
        if filled["rows"] == receipts:
            return {**filled, "reused": True}
        raise RuntimeError(f"{directory} holds {filled['rows']} receipts, not {receipts}: give another data dir")
    backend.create_missing_tables()
    cpu_before, own_before = emulator.cpu_seconds(), time.process_time()
    filled = fill(backend, receipts, writers)
    assert filled["rows"] == receipts, filled
    filled["receipts_per_second"] = round(receipts / filled["seconds"])
    filled["writers"] = writers
    filled["emulator_cpu_s"] = round(emulator.cpu_seconds() - cpu_before, 1)
    filled["bench_cpu_s"] = round(time.process_time() - own_before, 1)
    filled["emulator_rss_mb"] = emulator.rss_mb()
    filled["data_dir_mb"] = round(sum(path.stat().st_size for path in (directory / "ots").iterdir()) / 2**20, 1)
    marker.write_text(json.dumps(filled))
    return filled


def run() -> dict:
    receipts = int(os.environ.get(ENV_RECEIPTS, DEFAULT_RECEIPTS))
    rounds = int(os.environ.get(ENV_RUNS, DEFAULT_RUNS))
    writers = int(os.environ.get(ENV_WRITERS, DEFAULT_WRITERS))
    kept = os.environ.get(ENV_DATA_DIR)
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as temporary:
        directory = Path(kept or temporary)
        directory.mkdir(parents=True, exist_ok=True)
        emulator = Emulator(directory)
        try:
            storage = _storage(emulator.info)
            filled = _filled(emulator, storage.backend, directory, receipts, writers)
            figures = measure(emulator, storage.backend, rounds)
        finally:
            emulator.stop()
    return {"name": "stats", "receipts": receipts, "days": DAYS, "fill": filled, **figures}


def measure(emulator: Emulator, backend, rounds: int) -> dict:
    """(a) and (b) for the last whole day, alternating for `rounds`, then each once with the service's paging."""
    from sms_receipts.storage.schema import BY_TIME, LEDGER

    since = _china_ms(FIRST_DAY + timedelta(days=DAYS - 1))
    until = since + 86_400_000
    index_table, ledger_table = PREFIX + BY_TIME, PREFIX + LEDGER
    index_runs: list[dict] = []
    scan_runs: list[dict] = []
    for _ in range(rounds):  # alternating, so drift hits both alike
        index_run, index_figures = _measure(emulator, index_table, by_index, backend, since, until)
        scan_run, scan_figures = _measure(emulator, ledger_table, by_scan, backend, since, until)
        assert index_figures == scan_figures, (index_figures, scan_figures)
        index_runs.append(index_run)
        scan_runs.append(scan_run)
    emulator.service_paging(True)  # once each: as the service would page them, bytes read counted
    try:
        paged_index, paged_index_figures = _measure(emulator, index_table, by_index, backend, since, until)
        paged_scan, paged_scan_figures = _measure(emulator, ledger_table, by_scan, backend, since, until)
    finally:
        emulator.service_paging(False)
    assert paged_index_figures == paged_scan_figures == index_figures, (paged_index_figures, paged_scan_figures)
    index, scan = _summary(index_runs), _summary(scan_runs)
    return {
        "day_figures": {key: value for key, value in index_figures.items() if key != "unreadable"},
        "index": {key: value for key, value in index.items() if key != "bytes_read"},
        "scan": {key: value for key, value in scan.items() if key != "bytes_read"},
        "ratio_time_scan_to_index": round(scan["seconds"] / index["seconds"], 1),
        "ratio_rows_read_scan_to_index": round(scan["rows_read"] / index["rows_read"], 1),
        "service_paging": {"index": _summary([paged_index]), "scan": _summary([paged_scan])},
        "ratio_bytes_read_scan_to_index": round(paged_scan["bytes_read"] / paged_index["bytes_read"], 1),
        "rounds": rounds,
        "bench_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve(sys.argv[2:]))
    print(json.dumps(run(), ensure_ascii=False))
