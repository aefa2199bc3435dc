"""The HTTP receipt endpoint: the console's callback URL.

`receiver` holds the logic over a plain request object (authentication, limits, parse, store, the
reply the SMS service expects); `fc` adapts it to the FC 3.0 HTTP trigger's event handler and
`wsgi` to WSGI (FC 2.0's HTTP handler, or any WSGI server).
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The garbage collector paused while the block runs, and what the block made frozen out of its later
    passes (`gc.freeze`): for a cold instance's imports and set-up, whose objects live as long as it
    does, so that the collector does not go over them again and again as they are made (BENCHMARKS.md,
    cold start). Pausing without freezing saves nothing: the passes only come later."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


with collector_paused():  # the receiver's imports: pydantic, the models, the storage modules
    from .receiver import HttpReply, Receiver, ReceiverSettings

__all__ = ["HttpReply", "Receiver", "ReceiverSettings", "collector_paused"]
