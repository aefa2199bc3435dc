"""The emulator against the SDK's native C++ codec, which loads only on CPython 3.12.

The test suite runs on 3.10 (FC's runtime), where the SDK encodes in pure Python. Here a 3.12
interpreter (pyenv's, on this kind of machine) gets its own venv with the pinned `tablestore`, and
a client there, with the native encoder and decoder loaded, works against this process's emulator.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "build" / ".tools" / "py312-tablestore"


def _python312() -> str | None:
    found = shutil.which("python3.12")
    candidates = ([found] if found else []) + sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))
    )
    for candidate in candidates:
        if subprocess.run([candidate, "-c", "import sys"], capture_output=True).returncode == 0:
            return candidate
    return None


def _pinned(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


@pytest.fixture(scope="module")
def python312():
    interpreter = _python312()
    if interpreter is None:
        pytest.skip("no CPython 3.12 on this machine: the SDK's native codec cannot load elsewhere")
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", _pinned("tablestore"), _pinned("protobuf")], check=True
        )
    return str(python)


CLIENT_SCRIPT = r"""
import json, sys, io, contextlib
err = io.StringIO()
with contextlib.redirect_stderr(err):
    import tablestore
from tablestore import *
from tablestore.retry import NoRetryPolicy
assert "not available" not in err.getvalue(), err.getvalue()  # the native encoder and decoder loaded
info = json.loads(sys.argv[1])
client = OTSClient(info["endpoint"], info["access_key_id"], info["access_key_secret"], info["instance_name"],
                   retry_policy=NoRetryPolicy())
client.create_table(TableMeta("native", [("pk", "STRING"), ("n", "INTEGER")]), TableOptions(max_version=1),
                    ReservedThroughput(CapacityUnit(0, 0)))
columns = [("text", "中文"), ("flag", True), ("blob", bytearray(b"\x00"))]
client.put_row("native", Row([("pk", "用户"), ("n", 1)], columns), Condition(RowExistenceExpectation.EXPECT_NOT_EXIST))
try:
    client.put_row("native", Row([("pk", "用户"), ("n", 1)], [("text", "again")]),
                   Condition(RowExistenceExpectation.EXPECT_NOT_EXIST))
    raise SystemExit("a second insert must fail its condition")
except OTSServiceError as exc:
    assert exc.get_error_code() == "OTSConditionCheckFail"
request = BatchWriteRowRequest()
request.add(TableInBatchWriteRowItem("native", [
    PutRowItem(Row([("pk", "b"), ("n", i)], [("v", i)]),
               Condition(RowExistenceExpectation.IGNORE, SingleColumnCondition("v", i, ComparatorType.LESS_THAN)))
    for i in range(5)]))
assert client.batch_write_row(request).is_all_succeed()
_, row, _ = client.get_row("native", [("pk", "用户"), ("n", 1)])
columns = {name: value for name, value, _ in row.attribute_columns}
assert columns == {"text": "中文", "flag": True, "blob": bytearray(b"\x00")}, columns
_, next_key, rows, _ = client.get_range("native", Direction.BACKWARD, [("pk", INF_MAX), ("n", INF_MAX)],
                                        [("pk", INF_MIN), ("n", INF_MIN)], limit=3)
assert [dict(r.primary_key)["n"] for r in rows] == [1, 4, 3] and next_key is not None
print("ok")
"""


def test_the_native_codec_works_against_the_emulator(python312, emulator):
    info = json.dumps(emulator.connection_info())
    done = subprocess.run([python312, "-c", CLIENT_SCRIPT, info], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip() == "ok"
