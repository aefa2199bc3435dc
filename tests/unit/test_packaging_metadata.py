"""pyproject.toml's dependencies against the pins (requirements*.txt) and against what the code imports."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
from pathlib import Path

import tomli
from packaging.requirements import Requirement

from build_functions import FUNCTIONS, normalize, read_pins

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PINS = {normalize(name): version for name, version in read_pins(ROOT / "requirements.txt")}
# The command line's extra is never deployed: its own packages are pinned with the development tools.
DEV_PINS = {
    normalize(line.split("==")[0]): line.split("==")[1].split("#")[0].strip()
    for line in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    if "==" in line and not line.startswith("#")
}
CLI_SOURCES = (  # the command line's own modules
    "shared/sms_receipts/cli.py",
    "shared/sms_receipts/output.py",
    "shared/sms_receipts/credentials.py",
)
SELF = normalize(PROJECT["name"])


def declared(*groups: str) -> dict[str, Requirement]:
    """The requirements of the core (group "core") and of the named extras, self-references expanded."""
    found: dict[str, Requirement] = {}
    for group in groups:
        lines = PROJECT["dependencies"] if group == "core" else PROJECT["optional-dependencies"][group]
        for requirement in map(Requirement, lines):
            if normalize(requirement.name) == SELF:
                found.update(declared(*requirement.extras))
            else:
                found[normalize(requirement.name)] = requirement
    return found


@functools.cache
def import_names() -> dict[str, list[str]]:
    """import name -> distributions, from each installed distribution's files (Python 3.10's
    packages_distributions reads only top_level.txt, which modern wheels do not have)."""
    owners: dict[str, list[str]] = {}
    for distribution in importlib.metadata.distributions():
        tops = {
            f.parts[0] if len(f.parts) > 1 else f.name.split(".")[0]
            for f in distribution.files or ()
            if f.suffix in (".py", ".so") and not f.parts[0].endswith((".dist-info", ".data", ".."))
        }
        for top in tops:
            owners.setdefault(top, []).append(distribution.metadata["Name"])
    return owners


def imported_distributions(paths: list[Path], *, module_level_only: bool = False) -> dict[str, set[str]]:
    """distribution -> the files that import it (third-party imports only)."""
    owners = import_names()
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = tree.body if module_level_only else ast.walk(tree)
        for node in nodes:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names}:
                if top in sys.stdlib_module_names or top.startswith("sms_receipts") or top == "__future__":
                    continue
                for distribution in owners.get(top, [f"<unknown import {top}>"]):
                    found.setdefault(normalize(distribution), set()).add(str(path.relative_to(ROOT)))
    return found


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_every_declared_range_admits_the_pinned_version():
    for group in ["core", *PROJECT["optional-dependencies"]]:
        # the deployed groups' pins are requirements.txt's; the command line's may be requirements-dev.txt's
        pins = {**DEV_PINS, **PINS} if group in ("cli", "dev") else PINS
        for name, requirement in declared(group).items():
            assert name in pins, f"pyproject {group}: {requirement} is not pinned in requirements.txt"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"pyproject {group}: {requirement} excludes the pinned {name}=={pins[name]}"
            )


def test_the_cli_extras_own_packages_are_pinned_for_development_only():
    # alibabacloud-credentials is also the Tea SDKs' (pinned in requirements.txt); rich and shtab are the CLI's only
    cli_only = set(declared("cli")) - set(declared("core", "alicom", "reconcile")) - set(PINS)
    assert cli_only == {"rich", "shtab"}
    assert cli_only <= set(DEV_PINS)
    for function in FUNCTIONS:
        pinned = {normalize(name) for name, _ in read_pins(ROOT / "requirements" / f"{function}.txt")}
        assert not (cli_only & pinned), f"requirements/{function}.txt pins the command line's {cli_only & pinned}"


def test_the_core_declares_every_distribution_it_imports_at_module_level():
    used = imported_distributions(sources("shared/sms_receipts"), module_level_only=True)
    missing = {name: files for name, files in used.items() if name not in declared("core")}
    assert not missing, f"imported by the core but not in pyproject dependencies: {missing}"


def reconcile_sources() -> list[Path]:
    """The modules that import the reconcile extra's SDKs (lazily): the reconciler and `sms-receipts send`."""
    return [*sources("shared/sms_receipts/reconcile"), ROOT / "shared/sms_receipts/send.py"]


def test_the_core_with_the_alicom_extra_declares_every_distribution_it_imports():
    reconciling = {*reconcile_sources(), *(ROOT / path for path in CLI_SOURCES)}
    others = [p for p in [*sources("shared/sms_receipts"), *sources("functions")] if p not in reconciling]
    used = imported_distributions(others)
    missing = {name: files for name, files in used.items() if name not in declared("core", "alicom")}
    assert not missing, f"imported by the core but in neither the dependencies nor the alicom extra: {missing}"


def test_the_reconciler_with_the_reconcile_extra_declares_every_distribution_it_imports():
    used = imported_distributions(reconcile_sources())
    assert "alibabacloud_dysmsapi20170525" in used  # the sources looked at are the ones that use the SMS API
    missing = {name: files for name, files in used.items() if name not in declared("core", "reconcile")}
    assert not missing, f"imported by the reconciler or send but in neither the dependencies nor the extra: {missing}"


def test_the_command_line_with_its_extras_declares_every_distribution_it_imports():
    used = imported_distributions([ROOT / path for path in CLI_SOURCES])
    assert {"rich", "shtab", "alibabacloud_credentials"} <= set(used)
    missing = {
        name: files for name, files in used.items() if name not in declared("core", "alicom", "reconcile", "cli")
    }
    assert not missing, f"imported by the command line but not declared (the cli extra): {missing}"


def test_only_the_command_line_imports_its_extra_and_only_when_run():
    cli_only = set(declared("cli")) - set(declared("core", "alicom", "reconcile")) - set(PINS)
    used = imported_distributions([*sources("shared/sms_receipts"), *sources("functions")])
    assert {f for name in cli_only for f in used.get(name, ())} <= set(CLI_SOURCES)
    at_import = imported_distributions([ROOT / path for path in CLI_SOURCES], module_level_only=True)
    assert not cli_only & set(at_import), "the command line imports rich and shtab lazily, inside its commands"


def _imported_modules(path: Path, package: str) -> set[str]:
    """The `sms_receipts` modules one file imports anywhere in it (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name == "sms_receipts" or name.startswith("sms_receipts.")}


def _module_file(name: str) -> Path | None:
    base = ROOT / "shared" / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_no_functions_import_path_reaches_the_command_line():
    """Every module a deployed handler may import (its imports, theirs, lazy ones too): never the
    command line, which may import rich and the credentials chain."""
    # settings.declared(), the registry the README and s.yaml checks read, names the CLI's PullSettings;
    # nothing on a function's path calls it
    not_on_a_path = {("shared/sms_receipts/settings.py", "sms_receipts.cli")}
    reached: set[str] = set()
    todo = [(path, "") for path in sorted((ROOT / "functions").glob("*/index.py"))]
    while todo:
        path, package = todo.pop()
        for name in _imported_modules(path, package) - reached:
            if (str(path.relative_to(ROOT)), name) in not_on_a_path:
                continue
            found = _module_file(name)
            if found is None:
                continue
            reached.add(name)
            todo.append((found, name if found.name == "__init__.py" else name.rpartition(".")[0]))
    assert "sms_receipts.storage.factory" in reached  # the walk follows the handlers' real paths
    assert not {"sms_receipts.cli", "sms_receipts.output"} & reached


def test_the_dev_extra_declares_every_distribution_the_dev_package_imports():
    used = imported_distributions(sources("shared/sms_receipts_dev"))
    missing = {name: files for name, files in used.items() if name not in declared("core", "dev")}
    assert not missing, f"imported by sms_receipts_dev but not declared for the dev extra: {missing}"


def test_only_the_alicom_puller_imports_the_alicom_sdks():
    alicom = set(declared("alicom")) - set(declared("core")) - set(declared("reconcile"))
    assert {"aliyun_mns_sdk", "alibabacloud_dybaseapi20170525"} <= alicom
    used = imported_distributions(sources("shared/sms_receipts"))
    assert {f for name in alicom for f in used.get(name, ())} <= {"shared/sms_receipts/mns/alicom.py"}


def test_only_the_reconciler_and_send_import_the_sms_api_sdk():
    reconcile = set(declared("reconcile")) - set(declared("core")) - set(declared("alicom"))
    assert reconcile == {"alibabacloud_dysmsapi20170525"}
    used = imported_distributions([*sources("shared/sms_receipts"), *sources("functions")])
    allowed = {str(p.relative_to(ROOT)) for p in reconcile_sources()}
    assert {f for name in reconcile for f in used.get(name, ())} <= allowed


# The extras each deployed function needs: its requirements/<function>.txt pins them (and the core), and
# no other extra's SDK, so that a package ships only what its function imports.
FUNCTION_EXTRAS = {"http_receipt": (), "mns_receipt": (), "alicom_pull": ("alicom",), "reconcile": ("reconcile",)}


def test_each_functions_pins_hold_its_extras_and_no_other():
    assert set(FUNCTION_EXTRAS) == set(FUNCTIONS)
    deployed_extras = [extra for extra in PROJECT["optional-dependencies"] if extra not in ("dev", "cli")]
    every_extra = {name for extra in deployed_extras for name in declared(extra)}
    for function, extras in FUNCTION_EXTRAS.items():
        pinned = {normalize(name) for name, _ in read_pins(ROOT / "requirements" / f"{function}.txt")}
        needed = set(declared("core", *extras))
        assert needed <= pinned, (function, needed - pinned)
        foreign = (every_extra - needed) & pinned
        assert not foreign, f"requirements/{function}.txt pins another extra's SDKs: {sorted(foreign)}"


def test_the_pre_commit_ruff_is_the_pinned_ruff():
    dev_pins = dict(read_pins_file_lines(ROOT / "requirements-dev.txt"))
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert re.search(r"ruff-pre-commit\n\s+rev: v(\S+)", config).group(1) == dev_pins["ruff"]


def read_pins_file_lines(path: Path) -> list[tuple[str, str]]:
    """requirements-dev.txt's own pins (its `-r requirements.txt` line is not a pin)."""
    return [tuple(line.split("==")) for line in path.read_text(encoding="utf-8").splitlines() if "==" in line]
