"""The HTTP function's cold first push, end to end: a fresh `python3.10 -I -S` on the built package
(`build/http_receipt/`, what FC runs) imports the handler, runs the initializer and answers one
100-item SmsReport push, timed from process spawn to the reply. Baseline: a fresh interpreter on the
same directory that only runs `import tablestore` (the stock SDK import, its async client included).
The Tablestore emulator runs in its own process; the runs alternate, so drift hits both alike.

Also, for where the time goes: the interpreter alone (`pass`, alongside), and the cold push's own
phases, timed inside it (the handler's import, the initializer, the push)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_http import TOKEN, emulator_process, function_env
from .samples import push_body, sms_report_push

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "http_receipt"
BUILD_DIR = ROOT / "build" / FUNCTION
RUNS = 31  # the machines are shared: fewer runs leave the ratio within its own noise
PUSH_ITEMS = 100
# Loaded by the stock `import tablestore`, and by nothing the deployed HTTP function runs.
ASYNC_MODULES = ("aiohttp", "asyncio", "yarl", "multidict", "frozenlist", "aiosignal", "aiohappyeyeballs")

# Run with `-I -S` and the build directory alone added to sys.path: no site-packages, no PYTHONPATH,
# as FC runs `index.handler` from /code. Prints the reply's status as soon as it has it (the clock
# stops there), then what was loaded.
_PUSH = r"""
import time
started = time.perf_counter()
import sys, types
build_dir, event_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, build_dir)
import index
imported = time.perf_counter()
context = types.SimpleNamespace(
    request_id="cold", account_id="1234567890123456", region="cn-hangzhou",
    function=types.SimpleNamespace(name="http_receipt", handler="index.handler", memory=512, timeout=10),
    credentials=types.SimpleNamespace(access_key_id=sys.argv[3], access_key_secret=sys.argv[4], security_token=""),
)
index.initialize(context)
initialized = time.perf_counter()
with open(event_path, "rb") as f:
    event = f.read()
reply = index.handler(event, context)
replied = time.perf_counter()
sys.stdout.write("%d\n" % reply["statusCode"])
sys.stdout.flush()
import json
phases = {"handler_import": imported - started, "initialize": initialized - imported, "push": replied - initialized}
print(json.dumps({"body": reply["body"], "phases": phases, "modules": len(sys.modules), "loaded": sorted(sys.modules)}))
"""
_IMPORT = "import sys; sys.path.insert(0, sys.argv[1]); {statement}; sys.stdout.write('ok\\n'); sys.stdout.flush()"
_IMPORT_TABLESTORE = _IMPORT.format(statement="import tablestore")
_PASS = "import sys; sys.stdout.write('ok\\n'); sys.stdout.flush()"


def python310() -> str | None:
    """An interpreter for the build's CPython 3.10 bytecode and binaries (as the Makefile finds one)."""
    if sys.version_info[:2] == (3, 10):
        return sys.executable
    candidates = [
        shutil.which("python3.10"),
        *sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")),
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def _build() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/build_functions.py", FUNCTION], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"build failed:\n{done.stdout}\n{done.stderr}")


def _spawn(command: list[str], env: dict[str, str], expect: str) -> tuple[float, str]:
    """Milliseconds from spawning `command` to its first stdout line, which must be `expect`; and the rest.
    (stdout is read through its buffer to the end: `communicate` after a `readline` would lose what the
    buffer holds; stderr goes to a file, so a chatty child cannot block on it.)"""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env, cwd="/")
        assert process.stdout is not None
        first = process.stdout.readline()
        elapsed = (time.perf_counter() - started) * 1000
        rest = process.stdout.read()
        process.stdout.close()
        process.wait(timeout=60)
        errors.seek(0)
        if process.returncode != 0 or first.strip() != expect.encode():
            raise RuntimeError(f"{command[3:5]}: {first!r}\n{errors.read().decode(errors='replace')[-3000:]}")
    return elapsed, rest.decode()


def _events(directory: Path, runs: int) -> list[Path]:
    """One push per run, each a fresh send (new biz_ids): every cold push stores 100 new receipts."""
    paths = []
    from sms_receipts_dev.testing.events import http_event

    for run in range(runs):
        items = sms_report_push(PUSH_ITEMS)
        for item in items:
            item["biz_id"] = f"cold-{run}-{item['biz_id']}"
        path = directory / f"push-{run}.json"
        path.write_bytes(http_event(push_body(items), path="/SmsReport", query={"token": TOKEN}))
        paths.append(path)
    return paths


def _create_tables(env: dict[str, str], info: dict) -> None:
    from sms_receipts.storage import Storage, StorageSettings
    from sms_receipts.storage import settings as storage

    settings = StorageSettings(
        info["endpoint"],
        info["instance_name"],
        table_prefix=env[storage.TABLE_PREFIX.name],
        access_key_id=info["access_key_id"],
        access_key_secret=info["access_key_secret"],
    )
    Storage(settings).backend.create_missing_tables()


def _size_mb(directory: Path) -> float:
    return round(sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6, 1)


def run(runs: int = RUNS) -> dict:
    python = python310()
    if python is None:
        return {"name": "cold", "skipped": "no python3.10: the package is built for FC's CPython 3.10"}
    _build()
    figures: dict = {"name": "cold", "runs": runs, "package_mb": _size_mb(BUILD_DIR)}
    times: dict[str, list[float]] = {"push": [], "tablestore": [], "interpreter": []}
    phases: dict[str, list[float]] = {"handler_import": [], "initialize": [], "push": []}
    build = str(BUILD_DIR)
    with emulator_process() as info, tempfile.TemporaryDirectory() as tmp:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **function_env(info)}
        _create_tables(env, info)
        events = _events(Path(tmp), runs)
        keys = [info["access_key_id"], info["access_key_secret"]]
        report: dict = {}
        for event in events:
            elapsed, rest = _spawn([python, "-I", "-S", "-c", _PUSH, build, str(event), *keys], env, "200")
            times["push"].append(elapsed)
            report = json.loads(rest.strip().splitlines()[-1])
            assert json.loads(report["body"])["code"] == 0, report["body"]
            for phase, seconds in report["phases"].items():
                phases[phase].append(seconds * 1000)
            times["tablestore"].append(_spawn([python, "-I", "-S", "-c", _IMPORT_TABLESTORE, build], env, "ok")[0])
            times["interpreter"].append(_spawn([python, "-I", "-S", "-c", _PASS], env, "ok")[0])
    medians = {name: statistics.median(samples) for name, samples in times.items()}
    # the spread: the middle half of the runs, first and third quartiles
    quartiles = {name: statistics.quantiles(samples, n=4)[::2] for name, samples in times.items()}
    loaded = {name.split(".")[0] for name in report["loaded"]}
    figures.update(
        {
            "cold_push_ms": round(medians["push"], 1),
            "import_tablestore_ms": round(medians["tablestore"], 1),
            "ratio": round(medians["push"] / medians["tablestore"], 2),
            "cold_push_quartiles_ms": [round(q, 1) for q in quartiles["push"]],
            "import_tablestore_quartiles_ms": [round(q, 1) for q in quartiles["tablestore"]],
            "target": "cold first push / import tablestore <= 1.0",
            "interpreter_ms": round(medians["interpreter"], 1),
            "push_phases_ms": {name: round(statistics.median(samples), 1) for name, samples in phases.items()},
            "push_modules_loaded": report["modules"],
            "push_async_modules_loaded": sorted(loaded & set(ASYNC_MODULES)),
        }
    )
    return figures


if __name__ == "__main__":  # python -m benchmarks.bench_cold [RUNS]
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)))
