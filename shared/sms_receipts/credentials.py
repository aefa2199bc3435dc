"""The operator's credentials outside FC: Alibaba Cloud's default chain (`alibabacloud-credentials`, the
`cli` extra), as the command line uses it (`cli.environment`). Inside FC the functions use the
invocation's `context.credentials` (`storage.settings.credentials_from`); nothing here is imported there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .settings import ConfigurationError

Keys = tuple[str, str, str | None]

KEY_ID, KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
PROFILE = "ALIBABA_CLOUD_PROFILE"


class CredentialsError(ConfigurationError):
    """No credentials where they were looked for; the message names the places."""


class CredentialsChain:
    """Alibaba Cloud's default credentials chain, from the official `alibabacloud-credentials`: the
    providers of its `DefaultCredentialsProvider`, in its order (after the environment's keys, which
    the caller has looked at): OIDC (`ALIBABA_CLOUD_ROLE_ARN`, `_OIDC_PROVIDER_ARN`, `_OIDC_TOKEN_FILE`),
    the aliyun CLI's `~/.aliyun/config.json` (its `current` profile, or `ALIBABA_CLOUD_PROFILE`'s),
    `~/.alibabacloud/credentials.ini`, the ECS instance's RAM role (unless
    `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`) and `ALIBABA_CLOUD_CREDENTIALS_URI`.

    Built from the `env` it is given rather than from the variables the package reads once at import,
    so that `--profile` names exactly one profile and a test's environment is the one used. The
    provider that answers is kept and asked again each time: the STS keys of a role are refreshed
    by it before they expire."""

    def __init__(self, env: Mapping[str, str], profile: str | None = None):
        self.env = env
        self.profile = profile
        home = env.get("HOME") or os.path.expanduser("~")
        self.cli_file = os.path.join(home, ".aliyun", "config.json")
        self.ini_file = env.get("ALIBABA_CLOUD_CREDENTIALS_FILE") or os.path.join(
            home, ".alibabacloud", "credentials.ini"
        )
        self._provider: Any = None

    def _providers(self) -> Iterator[tuple[str, Callable[[], Any]]]:
        try:
            from alibabacloud_credentials import provider as p
        except ImportError:
            raise CredentialsError(
                f"no {KEY_ID} and {KEY_SECRET} set, and Alibaba Cloud's credentials chain is not installed "
                "(alibabacloud-credentials, in the cli extra: pip install 'sms-receipts[cli]')"
            ) from None

        env = self.env
        if self.profile:
            yield (
                self.cli_file,
                lambda: p.CLIProfileCredentialsProvider(profile_name=self.profile, profile_file=self.cli_file),
            )
            return
        oidc = [env.get(f"ALIBABA_CLOUD_{name}") for name in ("ROLE_ARN", "OIDC_PROVIDER_ARN", "OIDC_TOKEN_FILE")]
        if all(oidc):
            role_arn, provider_arn, token_file = oidc
            yield (
                "OIDC (ALIBABA_CLOUD_ROLE_ARN)",
                lambda: p.OIDCRoleArnCredentialsProvider(
                    role_arn=role_arn, oidc_provider_arn=provider_arn, oidc_token_file_path=token_file
                ),
            )
        if env.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "").lower() != "true":
            yield (
                self.cli_file,
                lambda: p.CLIProfileCredentialsProvider(
                    profile_name=env.get(PROFILE) or None, profile_file=self.cli_file
                ),
            )
        yield (
            self.ini_file,
            lambda: p.ProfileCredentialsProvider(
                profile_file=self.ini_file, profile_name=env.get(PROFILE) or "default"
            ),
        )
        if env.get("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "").lower() != "true":
            role = env.get("ALIBABA_CLOUD_ECS_METADATA") or None
            # async_update_enabled=False: no background scheduler thread in a command-line process
            yield (
                "the ECS instance's RAM role",
                lambda: p.EcsRamRoleCredentialsProvider(role_name=role, async_update_enabled=False),
            )
        uri = env.get("ALIBABA_CLOUD_CREDENTIALS_URI")
        if uri:
            yield "ALIBABA_CLOUD_CREDENTIALS_URI", lambda: p.URLCredentialsProvider(uri=uri)

    def keys(self) -> Keys:
        """(key id, secret, security token), or CredentialsError naming where they were looked for."""
        if self._provider is not None:
            return _keys(self._provider.get_credentials())
        looked, why = [], ""
        for where, make in self._providers():
            looked.append(where)
            try:
                provider = make()
                keys = _keys(provider.get_credentials())
            except Exception as exc:  # noqa: BLE001 - each provider fails its own way; the next one is tried
                why = str(getattr(exc, "message", None) or exc)
                continue
            if keys[0] and keys[1]:
                self._provider = provider
                return keys
        if self.profile:
            raise CredentialsError(self._profile_problem(why))
        raise CredentialsError(
            f"no Alibaba Cloud credentials: set {KEY_ID} and {KEY_SECRET}, or name a profile of "
            f"{self.cli_file} (aliyun configure) with --profile NAME or {PROFILE}; looked in the environment, "
            + ", ".join(looked)
        )

    def _profile_problem(self, why: str) -> str:
        try:
            with open(self.cli_file, encoding="utf-8") as f:
                config = json.load(f)
        except FileNotFoundError:
            return f"--profile {self.profile}: there is no {self.cli_file} (aliyun configure --profile NAME writes it)"
        except (OSError, ValueError) as exc:
            return f"--profile {self.profile}: cannot read {self.cli_file}: {exc}"
        names = [str(p.get("name")) for p in config.get("profiles", []) if isinstance(p, dict)]
        if self.profile not in names:
            return (
                f"--profile {self.profile}: no such profile in {self.cli_file} "
                f"(it has: {', '.join(names) or 'none'}; aliyun configure --profile {self.profile} adds it)"
            )
        return f"--profile {self.profile}: the profile in {self.cli_file} gave no credentials: {why}"


def _keys(credentials: Any) -> Keys:
    return (
        credentials.get_access_key_id() or "",
        credentials.get_access_key_secret() or "",
        credentials.get_security_token() or None,
    )
