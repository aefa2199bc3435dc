"""Reconciliation: the sends whose receipts never came, resolved through QuerySendDetails.

- `answers`: what a QuerySendDetails detail says, as the SmsReport receipt it stands for (pure);
- `api`: the SDK calls, a shared rate limit and the backoff on throttling;
- `reconciler`: one run over the send log's window (`Reconciler.run`);
- `completeness`: per day, stored finals against QuerySendStatistics' counts;
- `job`: one run as the FC timer, the CLI and the local stack start it; `fc`: the FC adapter;
- `settings`: `ReconcileSettings` (`SMS_RECEIPTS_SMS_ENDPOINT`, `SMS_RECEIPTS_RECONCILE_*`).

International sends are not reconciled: see the README, "Reconciliation".
"""
