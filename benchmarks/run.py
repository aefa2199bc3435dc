"""`make bench`: run every benchmark in this process and print one JSON object per benchmark.

Each benchmark measures its subject side by side with a baseline in the same run and reports a
ratio, because the machines here are shared and absolute times drift.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks import bench_http, bench_parse, bench_pull, bench_store

BENCHMARKS = {"parse": bench_parse.run, "store": bench_store.run, "http": bench_http.run, "pull": bench_pull.run}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        print(json.dumps(BENCHMARKS[name](), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
