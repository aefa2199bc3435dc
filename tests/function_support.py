"""Loading a function's handler module from functions/<name>/index.py, as FC does."""

from __future__ import annotations

from pathlib import Path

from sms_receipts_dev.testing import fc

ROOT = Path(__file__).resolve().parents[1]


def load_function(name: str):
    return fc.load_function(ROOT, name, f"{name}_index_under_test")
