"""One warm FC instance: its settings, store, receiver and puller, each built on first use.

FC keeps an instance alive between invocations, so what is slow to make (the SDK import, the
Tablestore client, the Alicom token cache) is made once here. The FC adapters (`http.fc`, `mns.fc`)
use `current()`, built from `os.environ` the first time; the local stack and the tests `install` an
instance built from an environment mapping of their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .http.receiver import Receiver, ReceiverSettings
    from .mns.alicom import AlicomPuller
    from .mns.trigger import MnsTriggerSettings
    from .reconcile.settings import ReconcileSettings
    from .storage.factory import Storage
    from .storage.inbox import Drain, DrainSettings
    from .storage.settings import StorageSettings
    from .storage.writer import ReceiptStore

DEFAULT_FUNCTION_TIMEOUT = 60.0
_Part = TypeVar("_Part")


def function_timeout(context: Any) -> float:
    """The function's timeout in seconds, as FC's context says (60 when it says nothing)."""
    return float(getattr(getattr(context, "function", None), "timeout", 0) or DEFAULT_FUNCTION_TIMEOUT)


class Instance:
    """Everything one warm instance keeps, built lazily from `env` and at most once (under a lock:
    the WSGI entry point and the local gateway call in from several threads)."""

    def __init__(self, env: Mapping[str, str]):
        self.env = dict(env)
        self._lock = threading.RLock()
        self._parts: dict[str, Any] = {}

    def _once(self, name: str, build: Callable[[], _Part]) -> _Part:
        part: _Part | None = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part

    def built(self) -> tuple[str, ...]:
        """The names of the parts built so far (settings, `storage`, `receiver`, `puller`, `drain`)."""
        return tuple(self._parts)

    @property
    def storage_settings(self) -> StorageSettings:
        from .storage.settings import StorageSettings

        return self._once("storage_settings", lambda: StorageSettings.from_env(self.env))

    @property
    def receiver_settings(self) -> ReceiverSettings:
        from .http.receiver import ReceiverSettings

        return self._once("receiver_settings", lambda: ReceiverSettings.from_env(self.env))

    @property
    def mns_trigger_settings(self) -> MnsTriggerSettings:
        from .mns.trigger import MnsTriggerSettings

        return self._once("mns_trigger_settings", lambda: MnsTriggerSettings.from_env(self.env))

    @property
    def reconcile_settings(self) -> ReconcileSettings:
        from .reconcile.settings import ReconcileSettings

        return self._once("reconcile_settings", lambda: ReconcileSettings.from_env(self.env))

    def storage(self, context: Any = None) -> Storage:
        """The instance's client, backend and store. Fresh STS credentials from `context` replace the
        old ones without a new client."""
        from .storage.factory import Storage

        settings = self.storage_settings
        credentials = settings.credentials(context)
        storage = self._once("storage", lambda: Storage(settings, credentials))
        storage.use_credentials(credentials)
        return storage

    def store(self, context: Any = None) -> ReceiptStore:
        return self.storage(context).store

    @property
    def drain_settings(self) -> DrainSettings:
        from .storage.inbox import DrainSettings

        return self._once("drain_settings", lambda: DrainSettings.from_env(self.env))

    def drain(self, context: Any = None) -> Drain:
        """The inbox's drain, on the instance's storage."""
        from .storage.inbox import Drain

        storage = self.storage(context)
        return self._once("drain", lambda: Drain(storage.backend, storage.store))

    def receiver(self) -> Receiver:
        from .http.receiver import Receiver

        return self._once("receiver", lambda: Receiver(self.receiver_settings, self.store))

    def puller(self, context: Any) -> AlicomPuller:
        """The Alicom puller: its token cache lives as long as the instance."""
        from .mns.alicom import AlicomPuller, AlicomSettings, TokenSource
        from .storage.settings import credentials_from

        credentials = credentials_from(self.env, context)

        def build() -> AlicomPuller:
            settings = AlicomSettings.from_env(self.env, context)
            return AlicomPuller(settings, TokenSource(settings, credentials), self.store(context))

        puller = self._once("puller", build)
        puller.tokens.update_credentials(credentials)  # FC rotates the role's STS keys
        return puller


_current: Instance | None = None
_current_lock = threading.Lock()


def current() -> Instance:
    """This process's instance; the first call builds it from the process environment."""
    global _current
    with _current_lock:
        if _current is None:
            _current = Instance(os.environ)
        return _current


def install(instance: Instance | None) -> Instance | None:
    """Make `instance` this process's (None: the next `current()` builds one); returns the one it
    replaces, to put back later."""
    global _current
    with _current_lock:
        previous, _current = _current, instance
    return previous
