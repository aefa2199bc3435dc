"""`make bench`: run every benchmark in this process and print one JSON object per benchmark.

Each benchmark measures its subject side by side with a baseline in the same run and reports a
ratio, because the machines here are shared and absolute times drift.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks import (
    bench_cold,
    bench_devstack,
    bench_http,
    bench_parse,
    bench_pull,
    bench_push_size,
    bench_reconcile,
    bench_stats,
    bench_store,
)

BENCHMARKS = {
    "parse": bench_parse.run,
    "store": bench_store.run,
    "http": bench_http.run,
    "pull": bench_pull.run,
    "cold": bench_cold.run,  # the whole cold first push vs `import tablestore` (issue 11 §4)
    "push-size": bench_push_size.run,  # largest push answered inline vs spilled (§1)
    "devstack": bench_devstack.run,  # local stack latency vs stored receipts, restart time (§6)
    "reconcile": bench_reconcile.run,  # 10,000 pending sends vs a sequential loop, 20 ms a query (issue 12 §6)
    "stats": bench_stats.run,  # one day's stats among 1,000,000 receipts: by-time index vs ledger scan (issue 13 §5)
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)} (one of {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    for name in names:
        print(json.dumps(BENCHMARKS[name](), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
