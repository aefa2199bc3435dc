"""The report is the CLI's: no function's path imports it, at import time or lazily, and it needs
nothing beyond the standard library and the core package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "shared" / "sms_receipts"
REPORT_MODULES = {"sms_receipts.report", "sms_receipts.stats_model"}
MAY_IMPORT_THEM = {"sms_receipts.report", "sms_receipts.cli"}  # the renderer uses the model; the CLI both
FUNCTIONS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/index.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` statement anywhere in the file names (lazy ones inside functions too)."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_cli_imports_the_report_modules():
    importers = {module_name(path) for path in PACKAGE.rglob("*.py") if imported_modules(path) & REPORT_MODULES}
    assert importers <= MAY_IMPORT_THEM, importers - MAY_IMPORT_THEM
    assert "sms_receipts.report" in importers  # the check sees an import when there is one


def test_the_report_modules_import_nothing_beyond_the_standard_library_and_the_core():
    allowed_top = set(sys.stdlib_module_names) | {"sms_receipts"}
    for name in REPORT_MODULES:
        path = PACKAGE / f"{name.rsplit('.', 1)[1]}.py"
        outside = {module for module in imported_modules(path) if module.split(".")[0] not in allowed_top}
        assert not outside, (name, outside)


LOADED = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("index", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(n for n in sys.modules if n.startswith("sms_receipts"))))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_handler_loads_the_report(function):
    program = f"import sys; sys.path.insert(0, {str(PACKAGE.parent)!r})\n{LOADED}"
    done = subprocess.run(
        [sys.executable, "-I", "-c", program, str(ROOT / "functions" / function / "index.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "sms_receipts" in loaded and not loaded & REPORT_MODULES, sorted(loaded & REPORT_MODULES)
