"""Fault injection for Tablestore: the shared `sms_receipts_dev.emulators.faults` classes, re-exported.

What each kind looks like from the Tablestore SDK (rates, per-API entries and seeding are described
in the shared module):
- `server_busy`: reply 503 OTSServerBusy; nothing is applied.
- `timeout`: reply 503 OTSTimeout; nothing is applied.
- `slow`: wait `slow_delay` seconds, then handle the request normally.
- `drop`: close the connection without a reply; nothing is applied.
- `lost_response`: apply the request, then wait `lost_response_hang` seconds and close the connection
  without a reply; the write has landed.

    faults = FaultConfig(seed=7, slow_delay=0.5, lost_response_hang=2.0)
    faults.set(api="BatchWriteRow", lost_response=0.3)   # BatchWriteRow: only 30 % lost responses
"""

from ..faults import FAULT_KINDS, FaultConfig, FaultRates

__all__ = ["FAULT_KINDS", "FaultConfig", "FaultRates"]
