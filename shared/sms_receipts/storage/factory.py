"""Building storage: the composition root that turns `StorageSettings` into a client, backend and store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .settings import StorageSettings

Keys = tuple[str, str, "str | None"]


class _RotatingCredentials:
    """A credentials provider the SDK asks before every request; FC's STS keys are swapped in, or,
    given `refresh` (the CLI's credentials chain), the keys it answers each time (a role's STS keys
    rotate; the chain caches them until they are due)."""

    def __init__(self, key_id: str, secret: str, token: str | None, refresh: Callable[[], Keys] | None = None):
        from tablestore.credentials import Credentials

        self._make = Credentials
        self._keys: Keys = (key_id, secret, token)
        self._current = Credentials(key_id, secret, token)
        self._refresh = refresh

    def update(self, key_id: str, secret: str, token: str | None) -> None:
        self._keys = (key_id, secret, token)
        self._current = self._make(key_id, secret, token)

    def get_credentials(self) -> Any:
        if self._refresh is not None:
            keys = self._refresh()
            if keys != self._keys:
                self.update(*keys)
        return self._current


class Storage:
    """The client, backend and store of one `StorageSettings`, built once per warm instance.

    The one place that sets the SDK up for the process: its clients' log level (`quiet_sdk_logs`)
    and the fast PlainBuffer serializer (installed only on the SDK release it was verified against;
    otherwise one warning line says the writes are slower). `credentials` defaults to the settings'
    own keys; `use_credentials` swaps in FC's rotated ones without a new client, and `refresh` (the
    CLI's) is asked for the current keys before each request."""

    def __init__(
        self,
        settings: StorageSettings,
        credentials: tuple[str, str, str | None] | None = None,
        *,
        refresh: Callable[[], Keys] | None = None,
    ):
        from .plainbuffer import install_fast_put_row_serializer
        from .tablestore import TablestoreBackend, make_client, quiet_sdk_logs
        from .writer import ReceiptStore

        quiet_sdk_logs()
        install_fast_put_row_serializer()
        key_id, secret, token = settings.credentials() if credentials is None else credentials
        self.settings = settings
        self.credentials = _RotatingCredentials(key_id, secret, token, refresh)
        self.client = make_client(
            settings.endpoint,
            settings.instance_name,
            key_id,
            secret,
            security_token=token,
            region=settings.region,
            socket_timeout=settings.socket_timeout,
            credentials_provider=self.credentials,
        )
        self.backend = TablestoreBackend(self.client, settings.table_prefix)
        self.store = ReceiptStore(self.backend, concurrency=settings.concurrency)

    @classmethod
    def for_context(cls, settings: StorageSettings, context: Any = None) -> Storage:
        return cls(settings, settings.credentials(context))

    def use_credentials(self, credentials: tuple[str, str, str | None]) -> None:
        self.credentials.update(*credentials)
