"""Idempotent receipt storage in Tablestore.

`plan` and `rules` decide what to write (pure); `writer` carries it out with retries and reports
each item's outcome; `tablestore` is the thin SDK adapter behind the `backend` interface; `schema`
defines the tables once; `settings` reads the environment; `factory` builds the client, backend and
store from those settings (one per warm instance: `sms_receipts.instance`).

Importing this package also prepares the SDK's import (before any storage module makes it): its
native-codec notices demoted, and what it imports for its async client and timeseries deferred (below).
"""

from __future__ import annotations

import builtins
import importlib
import logging
import sys
import types
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec


class _NativeCodecNotice(logging.Filter):
    """Demotes to DEBUG the SDK's import-time notices that its native C++ codec is not available.

    It does not load on python3.10 (SDK 6.4.8's extension fails to import there), so the WARNING logged
    on import says nothing a user or FC's log can act on; with no handler, Python prints it to stderr.
    Set here, before any storage module imports the SDK; the level of the SDK's request logging is the
    caller's (`tablestore.quiet_sdk_logs`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Native ") and message.endswith("using Python implementation"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


for _name in ("tablestore.encoder", "tablestore.decoder"):  # the SDK modules that log them
    logging.getLogger(_name).addFilter(_NativeCodecNotice())
del _name


# -- what the SDK imports for its async client and timeseries, deferred ------------------------------
# `import tablestore` imports the SDK's async client and timeseries codec with its sync client: in
# SDK 6.4.8, `client.py` imports asyncio, `connection.py` aiohttp and `encoder.py` crc32c, at the top and
# unconditionally, and uses each only inside a function of those (AsyncOTSClient's retry sleep,
# AsyncConnectionPool's session, the timeseries rows' checksum). Loading them (aiohttp and its packages
# above all) was about a third of the HTTP function's cold first push, and nothing here uses them.
# Set here, before any storage module imports the SDK: while those three modules run, `import <name>`
# gives a `DeferredModule`, whose attributes import the real module when first called or read, so the
# async client still works, only later. Only on the SDK release whose source was checked for that
# (`SDK_DEFERRED_IMPORTS_VERIFIED`: tests/e2e/deploy/test_cold_start.py reads the installed SDK and
# runs the built package); on another, the SDK imports as it is and one warning says so. Nothing
# changes in a process that imported the SDK, or the real module, before this package.

SDK_DEFERRED_IMPORTS_VERIFIED = "6.4.8"
SDK_DEFERRED_IMPORTS = {
    "tablestore.client": ("asyncio",),  # AsyncOTSClient's retry sleep
    "tablestore.connection": ("aiohttp",),  # AsyncConnectionPool's session
    "tablestore.encoder": ("crc32c",),  # the timeseries rows' checksum
}


class _DeferredAttribute:
    """`module.name`, looked up when first called or read."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def resolve(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (inspect.unwrap, copy...) imports nothing
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def __repr__(self) -> str:
        return f"<{self.module}.{self.name}, imported on first use>"


class DeferredModule(types.ModuleType):
    """Stands in for `name` in one SDK module: each attribute read there is a `_DeferredAttribute`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system's questions (__path__, __spec__...): a plain module
            raise AttributeError(name)
        return _DeferredAttribute(self.__name__, name)


class _DeferringLoader:
    """The SDK module's own loader, running the module with an `__import__` that defers `names`."""

    def __init__(self, loader: Any, names: tuple[str, ...]) -> None:
        self.loader, self.names = loader, names

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, is_package...
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        names = self.names

        def deferring_import(
            name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
        ) -> Any:
            if level == 0 and name in names and name not in sys.modules:
                return DeferredModule(name)
            return builtins.__import__(name, globals, locals, fromlist, level)

        # Only this module's own import statements see it: they look `__import__` up in its globals' builtins.
        module.__dict__["__builtins__"] = {**builtins.__dict__, "__import__": deferring_import}
        self.loader.exec_module(module)
        _finder.done.add(module.__name__)
        if _finder.done >= SDK_DEFERRED_IMPORTS.keys() and _finder in sys.meta_path:
            sys.meta_path.remove(_finder)  # its work is done


class _SdkImportsDeferred:
    """A meta path finder for `SDK_DEFERRED_IMPORTS`' modules only: finds them as the next finders do,
    then wraps their loader (on the verified SDK release only)."""

    def __init__(self) -> None:
        self.done: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> ModuleSpec | None:
        names = SDK_DEFERRED_IMPORTS.get(fullname)
        if names is None or self not in sys.meta_path:
            return None
        version = getattr(sys.modules.get("tablestore"), "__version__", None)  # its first line, before its imports
        if version != SDK_DEFERRED_IMPORTS_VERIFIED:
            sys.meta_path.remove(self)
            logging.getLogger(__name__).warning(
                "tablestore SDK %s is not the verified %s: it imports %s for its async client and timeseries "
                "(about 0.1 s of a cold start); check the SDK's source again (tests/e2e/deploy/test_cold_start.py), "
                "then update SDK_DEFERRED_IMPORTS_VERIFIED",
                version,
                SDK_DEFERRED_IMPORTS_VERIFIED,
                ", ".join(name for names in SDK_DEFERRED_IMPORTS.values() for name in names),
            )
            return None
        for finder in sys.meta_path[sys.meta_path.index(self) + 1 :]:
            find = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = cast("Loader", _DeferringLoader(spec.loader, names))
                return spec
        return None


_finder = _SdkImportsDeferred()
if "tablestore.client" not in sys.modules and not any(
    type(f).__name__ == type(_finder).__name__ for f in sys.meta_path
):
    sys.meta_path.insert(0, _finder)


# The submodules come last: what is above must be in place before any of them imports the SDK.
from .backend import BackendError, RowResult, StorageBackend  # noqa: E402
from .factory import Storage  # noqa: E402
from .outcomes import ItemOutcome, Outcome, StoreResult  # noqa: E402
from .schema import DEAD_LETTER, DELIVERY_STATE, LEDGER, RECEIPT_STATE, TABLES, TableSchema  # noqa: E402
from .settings import ConfigurationError, StorageSettings  # noqa: E402
from .writer import ReceiptStore  # noqa: E402

__all__ = [
    "DEAD_LETTER",
    "DELIVERY_STATE",
    "LEDGER",
    "RECEIPT_STATE",
    "TABLES",
    "BackendError",
    "ConfigurationError",
    "ItemOutcome",
    "Outcome",
    "ReceiptStore",
    "RowResult",
    "Storage",
    "StorageBackend",
    "StorageSettings",
    "StoreResult",
    "TableSchema",
]
