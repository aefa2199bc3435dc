"""Deployment tests: the built function directories (`make build`), built once per session."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deploy_support import BUILD, FUNCTIONS, ROOT


@pytest.fixture(scope="session")
def built_functions():
    """`scripts/build_functions.py` (what `make build` runs): incremental, so a no-op when `make test`
    has just built. It downloads the pinned wheels from PyPI once; no network is a failure, not a skip."""
    done = subprocess.run(
        [sys.executable, "scripts/build_functions.py"], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        pytest.fail(f"make build failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return {function: BUILD / function for function in FUNCTIONS}
