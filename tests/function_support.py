"""Loading a function's handler module from functions/<name>/index.py, as FC does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_function(name: str):
    path = ROOT / "functions" / name / "index.py"
    spec = importlib.util.spec_from_file_location(f"{name}_index_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
