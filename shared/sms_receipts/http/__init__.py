"""The HTTP receipt endpoint: the console's callback URL.

`receiver` holds the logic over a plain request object (authentication, limits, parse, store, the
reply the SMS service expects); `fc` adapts it to the FC 3.0 HTTP trigger's event handler and
`wsgi` to WSGI (FC 2.0's HTTP handler, or any WSGI server).
"""

from .receiver import HttpReply, Receiver, ReceiverSettings

__all__ = ["HttpReply", "Receiver", "ReceiverSettings"]
