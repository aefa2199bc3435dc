"""The HTTP function's cold path, as FC runs it: what a fresh instance imports to answer its first push.

`sms_receipts.storage` defers what the `tablestore` SDK imports for its async client and timeseries
codec (aiohttp and its packages, asyncio, crc32c: `SDK_DEFERRED_IMPORTS`), which the sync client never
uses. These tests hold that cut to what is imported, never to a wall-clock budget (a noisy machine
would fail those; `benchmarks/bench_cold.py` measures the time): in a clean interpreter on the built
package the cut modules stay out of `sys.modules` through a whole push, and still load when used; the
SDK's own source uses them only where deferring is safe; another SDK release is left alone."""

from __future__ import annotations

import ast
import base64
import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sms_receipts.storage import LEDGER, SDK_DEFERRED_IMPORTS, SDK_DEFERRED_IMPORTS_VERIFIED
from sms_receipts_dev.testing import events

from deploy_support import BUILD, ROOT, fresh_tables, read_pins

FUNCTION = "http_receipt"
TOKEN = "cold-token"
DEFERRED = sorted({name for names in SDK_DEFERRED_IMPORTS.values() for name in names})
# What aiohttp would have brought along (its own dependencies, pinned in requirements/http_receipt.txt)
# and what asyncio would have (concurrent.futures is imported by the store's writer itself).
BROUGHT_ALONG = [
    "aiohappyeyeballs",
    "aiosignal",
    "async_timeout",
    "attr",
    "frozenlist",
    "multidict",
    "propcache",
    "yarl",
]

# `python -I -S`, only the built directory on sys.path: import the handler, run the initializer, answer
# one push; then report what is loaded, use each deferred name, and report again.
CHILD = r"""
import base64, gc, json, os, sys, sysconfig, types
spec = json.loads(sys.stdin.read())
build_dir = os.path.realpath(spec["build_dir"])
sys.path.insert(0, build_dir)
assert not [p for p in sys.path if "site-packages" in p], sys.path
import index
collector = {"after_import": [gc.isenabled(), gc.get_freeze_count() > 0]}
context = types.SimpleNamespace(
    request_id="cold-start-test", account_id="1234567890123456", region="cn-hangzhou",
    function=types.SimpleNamespace(name="http_receipt", handler="index.handler", memory=512, timeout=10),
    credentials=types.SimpleNamespace(access_key_id=spec["key_id"], access_key_secret=spec["secret"],
                                      security_token=""),
)
frozen = gc.get_freeze_count()
index.initialize(context)
collector["after_initialize"] = [gc.isenabled(), gc.get_freeze_count() > frozen]
reply = index.handler(base64.b64decode(spec["event"]), context)
import tablestore, tablestore.client, tablestore.connection, tablestore.encoder
after_push = sorted(sys.modules)
stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
def shipped_or_stdlib(path):
    path = os.path.realpath(path)
    return path.startswith(build_dir + os.sep) or (
        "site-packages" not in path and any(path.startswith(p + os.sep) for p in stdlib))
outside = sorted(name for name, module in list(sys.modules.items())
                 if getattr(module, "__file__", None) and not shipped_or_stdlib(module.__file__))
stand_ins = {
    "asyncio": type(tablestore.client.asyncio).__name__,
    "aiohttp": type(tablestore.connection.aiohttp).__name__,
    "ClientTimeout": repr(tablestore.connection.ClientTimeout),
    "crc32c": type(tablestore.encoder.crc32c).__name__,
}
# Used, each imports the real module, shipped in the package: the async client and timeseries still work.
timeout = tablestore.connection.ClientTimeout(total=1.5)
checksum = tablestore.encoder.crc32c.crc32c(b"123456789")
sleep = tablestore.client.asyncio.sleep.resolve()
import aiohttp, asyncio
used = {"timeout": [type(timeout).__module__, type(timeout).__name__, timeout.total],
        "checksum": checksum, "sleep_is_asyncio_sleep": sleep is asyncio.sleep}
print(json.dumps({"reply": reply, "version": tablestore.__version__, "after_push": after_push, "collector": collector,
                  "outside": outside, "stand_ins": stand_ins, "used": used,
                  "meta_path": [type(f).__name__ for f in sys.meta_path],
                  "after_use": sorted(sys.modules)}))
"""

# The stock SDK import from the same directory (the benchmark's baseline), with nothing of ours.
STOCK = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import tablestore
print(json.dumps(sorted(sys.modules)))
"""


def clean_python(code: str, *args: str, stdin: str = "", env: dict[str, str] | None = None, quiet: bool = True) -> str:
    if sys.version_info[:2] != (3, 10):
        pytest.skip("the packages are built for FC's CPython 3.10; this interpreter cannot load their binaries")
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, *args],
        input=stdin,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-4000:]
    if quiet:  # no warning (the SDK is the verified release), nor the SDK's native-codec notices
        assert done.stderr == "", done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


def tops(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def push_items(count: int) -> list[dict]:
    return [
        {
            "phone_number": f"1380000{i:04d}",
            "send_time": "2026-11-25 10:00:00",
            "report_time": f"2026-11-25 10:00:{i % 60:02d}",
            "success": i % 10 != 0,
            "err_code": "DELIVERED" if i % 10 else "UNDELIV",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": f"900619{i // 50:02d}^0",
            "out_id": f"o-{i}",
        }
        for i in range(count)
    ]


@pytest.fixture
def cold_push(built_functions, emulator):
    """One cold instance of the built HTTP function answering a 100-item push, on fresh tables."""
    env, backend = fresh_tables(emulator, SMS_RECEIPTS_CALLBACK_TOKENS=TOKEN)
    info = emulator.connection_info()
    event = events.http_event(push_items(100), path="/SmsReport", query={"token": TOKEN})
    spec = {
        "build_dir": str(BUILD / FUNCTION),
        "key_id": info["access_key_id"],
        "secret": info["access_key_secret"],
        "event": base64.b64encode(event).decode("ascii"),
    }
    report = json.loads(clean_python(CHILD, stdin=json.dumps(spec), env=env))
    return report, backend


def test_a_cold_push_stores_its_items_without_loading_what_the_sdk_defers(cold_push):
    report, backend = cold_push
    assert report["reply"]["statusCode"] == 200
    assert json.loads(report["reply"]["body"]) == {"code": 0, "msg": "接收成功"}
    assert len(list(backend.scan(LEDGER))) == 100
    assert report["outside"] == []  # everything from the package or the standard library
    loaded = tops(report["after_push"])
    assert {"tablestore", "urllib3", "google", "pydantic"} <= loaded  # the real path ran
    assert not loaded & {*DEFERRED, *BROUGHT_ALONG}, sorted(loaded & {*DEFERRED, *BROUGHT_ALONG})
    assert "numpy" not in loaded
    assert report["version"] == SDK_DEFERRED_IMPORTS_VERIFIED
    assert report["stand_ins"] == {
        "asyncio": "DeferredModule",
        "aiohttp": "DeferredModule",
        "ClientTimeout": "<aiohttp.ClientTimeout, imported on first use>",
        "crc32c": "DeferredModule",
    }
    assert "_SdkImportsDeferred" not in report["meta_path"]  # gone once the SDK is imported


def test_the_collector_pauses_for_the_import_and_the_initializer_only(cold_push):
    """`sms_receipts.http.collector_paused`: collecting again after each, what each made frozen."""
    report, _ = cold_push
    assert report["collector"] == {"after_import": [True, True], "after_initialize": [True, True]}


def test_what_the_sdk_defers_loads_from_the_package_when_used(cold_push):
    report, _ = cold_push
    assert report["used"] == {
        "timeout": ["aiohttp.client", "ClientTimeout", 1.5],
        "checksum": 0xE3069283,  # CRC-32C of "123456789"
        "sleep_is_asyncio_sleep": True,
    }
    assert {"aiohttp", "asyncio", "crc32c", "yarl", "multidict"} <= tops(report["after_use"])
    assert report["outside"] == []


def test_the_stock_sdk_import_from_the_same_package_still_loads_them(built_functions):
    """The package still ships what the async client needs: only the deployed code's import defers it.
    (`import tablestore` alone is also the benchmark's baseline.)"""
    loaded = tops(json.loads(clean_python(STOCK, str(BUILD / FUNCTION), quiet=False)))
    assert {*DEFERRED, "yarl", "multidict"} <= loaded


def test_the_verified_sdk_release_is_the_pinned_one():
    assert dict(read_pins(FUNCTION))["tablestore"] == SDK_DEFERRED_IMPORTS_VERIFIED
    assert importlib.metadata.version("tablestore") == SDK_DEFERRED_IMPORTS_VERIFIED


def _bound_names(tree: ast.Module, deferred: tuple[str, ...]) -> set[str]:
    """The names a module's top-level `import X` / `from X import a` of a deferred module bind."""
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in deferred:
                    assert node in tree.body, f"import {alias.name} not at the top level"
                    assert "." not in alias.name
                    bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module in deferred:
            assert node in tree.body and node.level == 0, f"from {node.module} import: not at the top level"
            assert all(alias.name != "*" for alias in node.names), f"from {node.module} import *"
            bound.update(alias.asname or alias.name for alias in node.names)
    return bound


@pytest.mark.parametrize("module", sorted(SDK_DEFERRED_IMPORTS))
def test_the_sdk_uses_what_is_deferred_only_when_called(module):
    """Read in the installed SDK (the pinned release): each deferred name is imported at the top and used
    only inside functions, only as `name.attribute` or `name(...)`; so the stand-in is never asked what
    it is (isinstance, a base class) while the module runs, and the real module loads at the first call."""
    path = Path(importlib.metadata.distribution("tablestore").locate_file(module.replace(".", "/") + ".py"))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound = _bound_names(tree, SDK_DEFERRED_IMPORTS[module])
    assert bound, f"{module} no longer imports {SDK_DEFERRED_IMPORTS[module]}: drop it from SDK_DEFERRED_IMPORTS"
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in bound]
    assert uses
    for use in uses:
        parent = parents[use]
        assert (isinstance(parent, ast.Attribute) and parent.value is use) or (
            isinstance(parent, ast.Call) and parent.func is use
        ), f"{module}:{use.lineno}: {use.id} used other than as name.attr or name(...)"
        scope = parent
        while scope in parents and not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = parents[scope]
        assert isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)), f"{module}:{use.lineno}: at import"


def test_no_other_sdk_module_imports_what_is_deferred():
    """Else the cut would silently stop paying (the cold-push test would catch it too, later)."""
    root = Path(importlib.metadata.distribution("tablestore").locate_file("tablestore"))
    offenders = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        if module in SDK_DEFERRED_IMPORTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{module}: {n}" for n in names if n.split(".")[0] in DEFERRED]
    assert offenders == []


# In the development environment (not the package): what the deferral leaves alone.
IN_DEV = r"""
import json, logging, sys
records = []
class Collect(logging.Handler):
    def emit(self, record):
        records.append([record.levelname, record.name, record.getMessage()])
logging.getLogger().addHandler(Collect())
mode = sys.argv[1]
if mode == "asyncio-first":
    import asyncio
if mode == "submodule-first":  # a storage module that imports the SDK at its top
    import sms_receipts.storage.crc8
import sms_receipts.storage as storage
if mode == "other-release":
    storage.SDK_DEFERRED_IMPORTS_VERIFIED = "0.0.0"
import tablestore.client, tablestore.connection
print(json.dumps({"asyncio": type(tablestore.client.asyncio).__name__,
                  "aiohttp": type(tablestore.connection.aiohttp).__name__,
                  "loaded": sorted(sys.modules), "records": records}))
"""


def in_dev(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONWARNINGS")}
    done = subprocess.run(
        [sys.executable, "-c", IN_DEV, mode], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_another_sdk_release_imports_as_it_is_and_says_so_once():
    result = in_dev("other-release")
    assert result["asyncio"] == "module" and result["aiohttp"] == "module"
    assert {"aiohttp", "asyncio"} <= tops(result["loaded"])
    warnings = [r for r in result["records"] if r[0] == "WARNING" and r[1] == "sms_receipts.storage"]
    assert len(warnings) == 1
    assert "tablestore SDK 6.4.8 is not the verified 0.0.0" in warnings[0][2]
    assert "asyncio, aiohttp, crc32c" in warnings[0][2]


def test_a_module_already_imported_is_the_real_one():
    result = in_dev("asyncio-first")
    assert result["asyncio"] == "module"  # the real asyncio, bound as the SDK binds it
    assert result["aiohttp"] == "DeferredModule"
    assert "aiohttp" not in tops(result["loaded"])
    assert result["records"] == [] or all(r[0] != "WARNING" for r in result["records"])


def test_a_storage_module_that_imports_the_sdk_at_its_top_imported_first_still_defers():
    result = in_dev("submodule-first")
    assert result["asyncio"] == "DeferredModule" and result["aiohttp"] == "DeferredModule"
    assert not {"aiohttp", "asyncio", "crc32c"} & tops(result["loaded"])
