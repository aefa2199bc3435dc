"""The distribution as a user installs it (`pip install .`, `.[dev]`), and the core's import boundary."""

from __future__ import annotations

import json
import subprocess
import sys
import venv

import pytest

from deploy_support import BUILD, ROOT

# Runs in the fresh venv: imports every module of the package, reports what was loaded.
IMPORT_ALL = r"""
import importlib, importlib.util, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = sorted(m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
               if not m.name.endswith(".__main__"))  # a __main__ runs its command on import
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({n.split(".")[0] for n in sys.modules}),
                  "installed": {n: importlib.util.find_spec(n) is not None for n in sys.argv[2:]}}))
"""
ALICOM_SDKS = ["mns", "alibabacloud_dybaseapi20170525", "alibabacloud_tea_openapi", "Tea"]
RECONCILE_SDKS = ["alibabacloud_dysmsapi20170525", "alibabacloud_tea_openapi", "Tea"]
SDKS = sorted({*ALICOM_SDKS, *RECONCILE_SDKS})


def run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def pip_install(python: str, target: str) -> None:
    """The pinned wheels `make build` cached (cp310 manylinux), the pins as constraints; the index serves
    only what the cache lacks (the build backend, and numpy/future/pycryptodome, which are never shipped)."""
    run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "--find-links",
        str(BUILD / ".wheels"),
        "-c",
        str(ROOT / "requirements.txt"),
        target,
    )


def import_all(python: str, package: str) -> dict:
    done = run(python, "-I", "-c", IMPORT_ALL, package, *SDKS, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_pip_install_gives_an_importable_core_the_extras_their_sdks_and_dev_the_console_script(
    built_functions, tmp_path
):
    if sys.version_info[:2] != (3, 10):
        pytest.skip("the cached wheels are CPython 3.10's (FC's runtime)")
    environment = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = str(environment / "bin" / "python")

    pip_install(python, ".")
    core = import_all(python, "sms_receipts")
    assert "sms_receipts.mns.alicom" in core["modules"] and "sms_receipts.storage.writer" in core["modules"]
    assert not any(core["installed"].values()), core["installed"]  # the core alone: no SDK of an extra
    assert "sms_receipts_dev" not in core["loaded"]

    pip_install(python, ".[reconcile]")  # the SMS API's client, and not the Alicom puller's SDKs
    reconcile = import_all(python, "sms_receipts.reconcile")
    assert {name for name, found in reconcile["installed"].items() if found} == set(RECONCILE_SDKS)
    assert "sms_receipts.reconcile.api" in reconcile["modules"]

    pip_install(python, ".[dev]")
    dev = import_all(python, "sms_receipts_dev.emulators")
    assert all(dev["installed"].values()), dev["installed"]
    assert {"sms_receipts_dev.emulators.tablestore", "sms_receipts_dev.emulators.mns"} <= set(dev["modules"])
    helped = run(str(environment / "bin" / "sms-receipts"), "--help", timeout=120).stdout
    for command in ("dev", "push", "emulator"):
        assert command in helped, helped


# The lint rule that keeps the never-deployed dev package out of the core (pyproject.toml, TID251).
IMPORTS_OF_THE_DEV_PACKAGE = (
    "import sms_receipts_dev\nfrom sms_receipts_dev.testing import events\n\nprint(sms_receipts_dev, events)\n"
)


def ruff_on(filename: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "--stdin-filename", filename, "-"],
        input=IMPORTS_OF_THE_DEV_PACKAGE,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    "filename", ["shared/sms_receipts/x.py", "shared/sms_receipts/storage/x.py", "functions/http_receipt/index.py"]
)
def test_ruff_refuses_an_import_of_the_dev_package_in_the_core(filename):
    done = ruff_on(filename)
    assert done.returncode == 1
    assert done.stdout.count("TID251") == 2, done.stdout


@pytest.mark.parametrize(
    "filename",
    ["tests/unit/test_x.py", "shared/sms_receipts_dev/x.py", "benchmarks/x.py", "examples/x.py", "scripts/x.py"],
)
def test_ruff_allows_the_dev_package_outside_the_core(filename):
    done = ruff_on(filename)
    assert "TID251" not in done.stdout, done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
