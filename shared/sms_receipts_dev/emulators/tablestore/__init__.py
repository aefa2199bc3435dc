"""A local Tablestore (OTS) emulator that the real `tablestore` SDK talks to over loopback HTTP.

Laid out like moto: `models` (state and rules), `responses` (protobuf/PlainBuffer in and
out), `urls` (API routing), `exceptions` (the service's error codes), `faults` (fault injection),
`persistence` (tables and rows in SQLite, under a data directory or in memory) and `server`
(`TablestoreEmulator`, `main`, on the emulators' shared loopback HTTP server in
`sms_receipts_dev.emulators.loopback`).

    from sms_receipts_dev.emulators.tablestore import TablestoreEmulator
    from tablestore import NoRetryPolicy

    with TablestoreEmulator() as emulator:
        client = emulator.client(retry_policy=NoRetryPolicy())
        ...
        emulator.requests["PutRow"]          # requests per API
        emulator.state.row("receipts", [("id", "r1")])

Standalone: `main(argv)` (also `python -m sms_receipts_dev.emulators.tablestore`) serves until SIGINT or
SIGTERM after printing the connection JSON as its first line.
"""

from .exceptions import TablestoreError
from .faults import FAULT_KINDS, FaultConfig, FaultRates
from .models import TablestoreState
from .server import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    DEFAULT_INSTANCE_NAME,
    TablestoreEmulator,
    main,
)

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "DEFAULT_INSTANCE_NAME",
    "FAULT_KINDS",
    "FaultConfig",
    "FaultRates",
    "TablestoreEmulator",
    "TablestoreError",
    "TablestoreState",
    "main",
]
