"""Build one deployable directory per Function Compute function: `make build`.

    python scripts/build_functions.py [FUNCTION ...] [--zip] [--force] [--check]

For each function (default: all four), `build/<function>/` holds exactly:

- `index.py`, the function's handler (from `functions/<function>/`);
- `sms_receipts/`, the shared package, whole (the emulators, the local stack and the test helpers
  are another package, `sms_receipts_dev`, which is never deployed);
- the function's runtime packages, pinned in `requirements/<function>.txt` (the full transitive set),
  installed from wheels for the FC runtime (Linux x86_64, CPython 3.10) with `--no-deps`, so nothing
  unpinned comes along; minus the files that cannot load there (see PRUNED) and the packages' own
  test suites;
- `.pyc` files compiled for Python 3.10 in unchecked-hash mode (when the build runs on 3.10): `/code`
  is read-only on FC, so an instance could not write them and would compile every module again on
  each cold start; unchecked hashes do not depend on file times, which a zip does not keep exactly.

The handler sits at the top with its packages beside it, so `index.handler` imports them with no
PYTHONPATH. Wheels are cached in `build/.wheels/` (downloaded once from PyPI; the two pure-Python
packages published only as source are built into wheels once). A function whose inputs have not
changed since its last build is not rebuilt. `--zip` also writes `build/dist/<function>.zip` (entries
sorted, fixed times: the same inputs give the same bytes), for uploading to OSS for the ROS stack.
`--check` verifies that the built directories are up to date and exits 1 if one is not.

Uses only the standard library and pip, from the interpreter it runs with.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
WHEELS = BUILD / ".wheels"
STAMPS = BUILD / ".stamps"
DIST = BUILD / "dist"
PACKAGE = ROOT / "shared" / "sms_receipts"

FUNCTIONS = ("http_receipt", "mns_receipt", "alicom_pull", "reconcile")

# The FC python3.10 runtime: Debian 10 (glibc 2.28), x86_64, CPython 3.10.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux2014_x86_64")
TARGET = [*(f"--platform={p}" for p in PLATFORMS), "--implementation=cp", "--python-version=3.10", "--abi=cp310"]

# Files of pinned packages that cannot load on the FC runtime; removing them changes nothing there.
PRUNED = {
    # built for CPython 3.12 only: on 3.10 the import fails (undefined symbol) and tablestore falls
    # back to its Python codec, with or without the file (13 MB)
    "tablestore/ots_sdk/ots_sdk.so": "CPython 3.12 only",
    "tablestore/native/native_plainbuffer.cpython-313-darwin.so": "macOS only",
}
PRUNED_DIRS = ("bin",)  # console scripts: nothing runs them on FC
PRUNED_DIR_NAMES = ("tests",)  # packages' own test suites (certifi, websocket-client): never imported

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


# -- requirements and wheels ----------------------------------------------------------------------

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.!+_-]+)$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def read_pins(path: Path) -> list[tuple[str, str]]:
    """`name==version` lines; anything else (ranges, extras, options) is refused."""
    pins = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise SystemExit(f"{path.relative_to(ROOT)}:{number}: not an exact pin (name==version): {raw!r}")
        pins.append((match.group(1), match.group(2)))
    return pins


def requirements_file(function: str) -> Path:
    return ROOT / "requirements" / f"{function}.txt"


def cached_wheel(name: str, version: str) -> Path | None:
    prefix = f"{normalize(name)}-{version}-"
    for wheel in sorted(WHEELS.glob("*.whl")):
        first, _, rest = wheel.name.partition("-")
        if f"{normalize(first)}-{rest}".startswith(prefix):
            return wheel
    return None


def pip(*args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    if quiet:
        command.append("-q")
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def fetch_wheels(pins: list[tuple[str, str]]) -> None:
    """Download the wheels missing from the cache; build the pure-Python ones published only as source."""
    missing = [(n, v) for n, v in pins if cached_wheel(n, v) is None]
    if not missing:
        return
    WHEELS.mkdir(parents=True, exist_ok=True)
    log(f"downloading {len(missing)} wheels for {', '.join(PLATFORMS)}, CPython 3.10")
    specs = [f"{n}=={v}" for n, v in missing]
    done = pip("download", "--dest", str(WHEELS), "--only-binary=:all:", "--no-deps", *TARGET, *specs)
    if done.returncode != 0:  # one of them has no wheel: take them one by one
        for name, version in missing:
            if cached_wheel(name, version) is not None:
                continue
            done = pip(
                "download", "--dest", str(WHEELS), "--only-binary=:all:", "--no-deps", *TARGET, f"{name}=={version}"
            )
            if done.returncode == 0:
                continue
            log(f"{name}=={version} has no wheel: building one from its source distribution")
            built = pip("wheel", "--no-deps", "--no-binary", name, "--wheel-dir", str(WHEELS), f"{name}=={version}")
            wheel = cached_wheel(name, version)
            if built.returncode != 0 or wheel is None:
                raise SystemExit(f"cannot get a wheel for {name}=={version}:\n{done.stderr}\n{built.stderr}")
            if not wheel.name.endswith("-none-any.whl"):
                wheel.unlink()
                raise SystemExit(f"{name}=={version} is not pure Python: a wheel built here would not run on FC")
    still = [f"{n}=={v}" for n, v in pins if cached_wheel(n, v) is None]
    if still:
        raise SystemExit(f"no wheel for {', '.join(still)}")


# -- the package ----------------------------------------------------------------------------------


def package_files() -> list[Path]:
    """The shared package's files, all of them deployed."""
    files = []
    for path in sorted(PACKAGE.rglob("*")):
        relative = path.relative_to(PACKAGE)
        if path.is_dir() or "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo"):
            continue
        files.append(path)
    return files


def handler_files(function: str) -> list[Path]:
    directory = ROOT / "functions" / function
    return [
        p
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]


# -- building -------------------------------------------------------------------------------------


def inputs_digest(function: str) -> str:
    digest = hashlib.sha256()
    digest.update(f"{sys.version_info[:2]}".encode())
    for path in [Path(__file__).resolve(), requirements_file(function), *handler_files(function), *package_files()]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def up_to_date(function: str) -> bool:
    stamp = STAMPS / f"{function}.json"
    if not (BUILD / function / "index.py").is_file() or not stamp.is_file():
        return False
    try:
        return json.loads(stamp.read_text(encoding="utf-8"))["inputs"] == inputs_digest(function)
    except (ValueError, KeyError):
        return False


def compile_tree(directory: Path) -> None:
    """Python 3.10 bytecode in unchecked-hash mode; without a 3.10 interpreter, none (FC would write it
    nowhere anyway, so shipping another version's bytecode would only add bytes)."""
    if sys.version_info[:2] != (3, 10):
        log(f"not compiling bytecode: this is Python {sys.version_info[0]}.{sys.version_info[1]}, FC runs 3.10")
        return
    ok = compileall.compile_dir(
        str(directory), quiet=2, force=True, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not ok:
        log("warning: some files did not compile (a package's Python 2 leftovers, never imported)")


def build(function: str) -> Path:
    pins = read_pins(requirements_file(function))
    fetch_wheels(pins)
    target = BUILD / function
    staging = BUILD / f".{function}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    done = pip(
        "install",
        "--target",
        str(staging),
        "--no-index",
        "--find-links",
        str(WHEELS),
        "--only-binary=:all:",
        "--no-deps",
        "--no-compile",
        *TARGET,
        "-r",
        str(requirements_file(function)),
    )
    if done.returncode != 0:
        raise SystemExit(f"pip install for {function} failed:\n{done.stdout}\n{done.stderr}")
    for relative in PRUNED:
        (staging / relative).unlink(missing_ok=True)
    for relative in PRUNED_DIRS:
        shutil.rmtree(staging / relative, ignore_errors=True)
    for directory in [p for name in PRUNED_DIR_NAMES for p in staging.rglob(name) if p.is_dir()]:
        shutil.rmtree(directory, ignore_errors=True)
    for path in handler_files(function):
        destination = staging / path.relative_to(ROOT / "functions" / function)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    for path in package_files():
        destination = staging / path.relative_to(PACKAGE.parent)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    compile_tree(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    STAMPS.mkdir(parents=True, exist_ok=True)
    (STAMPS / f"{function}.json").write_text(json.dumps({"inputs": inputs_digest(function)}), encoding="utf-8")
    return target


def write_zip(function: str) -> Path:
    """A deterministic zip of build/<function>/ (sorted entries, fixed times, fixed modes)."""
    DIST.mkdir(parents=True, exist_ok=True)
    source = BUILD / function
    destination = DIST / f"{function}.zip"
    partial = destination.with_suffix(".zip.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), FIXED_ZIP_TIME)
            info.external_attr = (0o100755 if os.access(path, os.X_OK) else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    partial.replace(destination)
    return destination


def tree_size(directory: Path) -> tuple[int, int]:
    files = [p for p in directory.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("functions", nargs="*", metavar="FUNCTION", help=f"default: {' '.join(FUNCTIONS)}")
    parser.add_argument("--zip", action="store_true", help="also write build/dist/<function>.zip")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every build is up to date")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.functions) - set(FUNCTIONS))
    if unknown:
        parser.error(f"unknown function {', '.join(unknown)} (one of {', '.join(FUNCTIONS)})")
    functions = args.functions or list(FUNCTIONS)
    if args.check:
        stale = [f for f in functions if not up_to_date(f)]
        for function in stale:
            log(f"build/{function} is missing or out of date: run make build")
        return 1 if stale else 0
    for function in functions:
        started = time.monotonic()
        if not args.force and up_to_date(function):
            state = "up to date"
        else:
            build(function)
            state = f"built in {time.monotonic() - started:.1f} s"
        size, count = tree_size(BUILD / function)
        line = f"build/{function}: {size / 1e6:.1f} MB in {count} files ({state})"
        if args.zip:
            archive = write_zip(function)
            line += f"; {archive.relative_to(ROOT)}: {archive.stat().st_size / 1e6:.1f} MB"
        log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
