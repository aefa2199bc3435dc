"""Configuration: every environment variable declared once, beside the settings object it builds.

Each concern has one frozen settings class with one `from_env(env)` and a `VARIABLES` tuple naming
its variables, their defaults and meanings: storage (`storage.settings.StorageSettings`), the HTTP
receiver (`http.receiver.ReceiverSettings`), the MNS trigger (`mns.trigger.MnsTriggerSettings`), the
Alicom puller (`mns.alicom.AlicomSettings`) and the CLI's pull loop (`cli.PullSettings`). The README's
tables and s.yaml are checked against these declarations. A value that cannot be read raises
`ConfigurationError` naming its variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


class ConfigurationError(ValueError):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str = ""  # the value that means "not set", as s.yaml passes it ("" = unset)
    unset: str = ""  # what an unset variable means, in the README's words ("required", "any", ...)

    @property
    def documented_default(self) -> str:
        """The default as the README's tables show it."""
        return f"`{self.default}`" if self.default else self.unset

    def read(self, env: Mapping[str, str]) -> str:
        """The value as set; the default when unset or empty."""
        return env.get(self.name) or self.default

    def integer(self, env: Mapping[str, str]) -> int:
        value = self.read(env)
        try:
            return int(value)
        except ValueError:
            raise ConfigurationError(f"{self.name} must be a whole number, got {value!r}") from None

    def number(self, env: Mapping[str, str]) -> float:
        value = self.read(env)
        try:
            return float(value)
        except ValueError:
            raise ConfigurationError(f"{self.name} must be a number, got {value!r}") from None


def names(variables: tuple[Variable, ...]) -> tuple[str, ...]:
    return tuple(variable.name for variable in variables)


def declared() -> dict[str, tuple[Variable, ...]]:
    """Every concern's variables, by concern (for the checks of the README and s.yaml)."""
    from .cli import PullSettings
    from .http.receiver import ReceiverSettings
    from .mns.alicom import AlicomSettings
    from .mns.trigger import MnsTriggerSettings
    from .reconcile.settings import ReconcileSettings
    from .storage.inbox import DrainSettings
    from .storage.settings import StorageSettings

    return {
        "storage": StorageSettings.VARIABLES,
        "http_receipt": ReceiverSettings.VARIABLES,
        "mns_receipt": MnsTriggerSettings.VARIABLES,
        "drain": DrainSettings.VARIABLES,
        "alicom_pull": AlicomSettings.VARIABLES,
        "reconcile": ReconcileSettings.VARIABLES,
        "cli_pull": PullSettings.VARIABLES,
    }
