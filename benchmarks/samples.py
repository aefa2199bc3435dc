"""Deterministic receipt pushes shared by the benchmarks, and storage on the emulator to push them to."""

from __future__ import annotations

import json
import uuid

from sms_receipts.storage import Storage, StorageSettings
from sms_receipts_dev.emulators.tablestore import TablestoreEmulator


def sms_report_push(count: int, batch_size: int = 100) -> list[dict]:
    """`count` delivery reports, as a batch send would produce them: one biz_id per `batch_size`
    numbers, a mix of delivered and failed, times spread over a minute."""
    return [
        {
            "phone_number": f"138{i:08d}",
            "send_time": "2026-11-25 10:00:00",
            "report_time": f"2026-11-25 10:00:{i % 60:02d}",
            "success": i % 10 != 0,
            "err_code": "DELIVERED" if i % 10 else "UNDELIV",
            "err_msg": "用户接收成功" if i % 10 else "用户接收失败",
            "sms_size": "1",
            "biz_id": f"9006197469364984{i // batch_size:02d}^0",
            "out_id": f"order-{i}",
        }
        for i in range(count)
    ]


def push_body(items: list[dict]) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def emulator_storage(emulator: TablestoreEmulator, prefix: str) -> Storage:
    """Storage on fresh tables (`prefix` and a random suffix) of a Tablestore emulator."""
    info = emulator.connection_info()
    settings = StorageSettings(
        info["endpoint"],
        info["instance_name"],
        table_prefix=f"{prefix}{uuid.uuid4().hex[:8]}_",
        access_key_id=info["access_key_id"],
        access_key_secret=info["access_key_secret"],
    )
    storage = Storage(settings)  # built as the functions build theirs
    storage.backend.create_missing_tables()
    return storage
