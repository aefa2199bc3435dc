"""Reconcile function: on its timer, every logged send without a final state is looked up with
QuerySendDetails, or after its maximum age given the final state `unknown` (python3.10)."""

from sms_receipts.reconcile.fc import handle_timer_event, initialize


def handler(event, context):
    return handle_timer_event(event, context)


__all__ = ["handler", "initialize"]
