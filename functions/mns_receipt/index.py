"""MNS receipt function: receipts on a queue or topic of your own account (FC 3.0 EventBridge MNS
queue trigger, or MNS topic trigger; python3.10). Raises when storage cannot confirm a message, so
the trigger delivers the batch again."""

from sms_receipts.mns.fc import handle_trigger_event, initialize


def handler(event, context):
    return handle_trigger_event(event, context)


__all__ = ["handler", "initialize"]
