"""HTTP receipt function: the SMS console's callback URL (FC 3.0 HTTP trigger, python3.10).

Entry points: `handler` (FC 3.0 event handler), `initialize` (FC initializer hook),
`wsgi_handler` (FC 2.0 HTTP handler) and `application` (any WSGI server).
"""

from sms_receipts.http.fc import handle_event, initialize
from sms_receipts.http.wsgi import application


def handler(event, context):
    return handle_event(event, context)


wsgi_handler = application

__all__ = ["application", "handler", "initialize", "wsgi_handler"]
