"""Function Compute's side of an invocation, for tests and the local stack: the context a handler
gets, what FC makes of its return value, and loading `functions/<name>/index.py` as FC does."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

ACCOUNT_ID = "1234567890123456"


def fc_context(request_id: str, function_name: str = "http-receipt") -> SimpleNamespace:
    return SimpleNamespace(
        request_id=request_id,
        region="cn-hangzhou",
        account_id=ACCOUNT_ID,
        credentials=None,  # storage takes the local keys from the environment
        function=SimpleNamespace(name=function_name, handler="index.handler", memory=256, timeout=10),
    )


def decode_fc_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of what a handler returned, as the FC front end reads it."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            data = base64.b64decode(body)
        else:
            data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        return int(result["statusCode"]), list((result.get("headers") or {}).items()), data
    if isinstance(result, bytes):
        return 200, [], result
    data = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    return 200, [], data.encode("utf-8")


def load_module(path: Path, name: str) -> ModuleType:
    """The module at `path`, imported under `name` (FC imports a function's index.py by path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_function(root: Path, name: str, module_name: str | None = None) -> ModuleType:
    """`<root>/functions/<name>/index.py`, the handler module of one function."""
    return load_module(root / "functions" / name / "index.py", module_name or f"{name}_index")
