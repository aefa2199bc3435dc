"""Alicom puller function (FC 3.0 timer trigger, python3.10): drains the SMS service's own
`Alicom-Queue-<uid>-<MessageType>` queues into Tablestore, deleting a message only once it is stored."""

from sms_receipts.mns.fc import handle_timer_event, initialize


def handler(event, context):
    return handle_timer_event(event, context)


__all__ = ["handler", "initialize"]
