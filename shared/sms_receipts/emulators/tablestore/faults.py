"""Fault injection: seeded, per API or global, changeable while the emulator runs.

The classes are shared by every emulator and live in `sms_receipts.emulators.faults`; this module
re-exports them and says what each kind means for Tablestore.

Kinds (each a rate from 0 to 1; the rates of one entry must add up to at most 1):
- `server_busy`: reply 503 OTSServerBusy; nothing is applied.
- `timeout`: reply 503 OTSTimeout; nothing is applied.
- `slow`: wait `slow_delay` seconds, then handle the request normally.
- `drop`: close the connection without a reply; nothing is applied.
- `lost_response`: apply the request, then wait `lost_response_hang` seconds and close the connection
  without a reply. With a hang longer than the client's socket timeout the client sees a read timeout,
  with 0 a dropped connection; either way the write has landed.

Rates live in a global entry and in optional per-API entries. An API with its own entry uses only that
entry (missing kinds count as 0), other APIs use the global one. `set()` updates one entry in place::

    faults = FaultConfig(seed=7, slow_delay=0.5, lost_response_hang=2.0)
    faults.set(server_busy=0.1)                          # every API, 10 % busy
    faults.set(api="BatchWriteRow", lost_response=0.3)   # BatchWriteRow: only 30 % lost responses
    faults.clear(api="BatchWriteRow")                    # back to the global entry
    faults.clear()                                       # no faults at all

One uniform draw from a `random.Random(seed)` picks at most one fault per request, so a fixed seed
and request order give the same faults every run. Only routed API requests draw; authentication
failures, unknown APIs and the emulator's own bookkeeping (counters, snapshots) never see a fault.
"""

from ..faults import FAULT_KINDS, FaultConfig, FaultRates

__all__ = ["FAULT_KINDS", "FaultConfig", "FaultRates"]
