"""Configuration of the loader, read by dlt from the top-level `[dbt_cloud]` section.

The seed's secrets layout (and dlt's own dbt Cloud helper) keeps everything under a top-level
`[dbt_cloud]` section — `api_token`, `account_id`, `job_id` — with environment variables such as
`DBT_CLOUD__API_TOKEN` overriding the files. dlt would look for a source's arguments under
`sources.<name>` instead, so we resolve these specs explicitly at that section, on purpose.
"""

from __future__ import annotations

import re

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from .errors import ConfigError
from .settings import (
    CONFIG_SECTION,
    DEFAULT_ARTIFACTS_DAYS,
    DEFAULT_BASE_URL,
    DEFAULT_LOOKBACK_HOURS,
    DEFAULT_MAX_WORKERS,
    DEFAULT_REQUESTS_PER_MINUTE,
)

_ENV_NAMES = {
    "api_token": "DBT_CLOUD__API_TOKEN",
    "account_id": "DBT_CLOUD__ACCOUNT_ID",
    "base_url": "DBT_CLOUD__BASE_URL",
    "job_id": "DBT_CLOUD__JOB_ID",
}

_MISSING = {
    "api_token": "Missing dbt Cloud API token: set api_token under [dbt_cloud] in .dlt/secrets.toml "
    "or the DBT_CLOUD__API_TOKEN environment variable.",
    "account_id": "Missing dbt Cloud account id: set account_id under [dbt_cloud] in .dlt/config.toml "
    "(or .dlt/secrets.toml) or the DBT_CLOUD__ACCOUNT_ID environment variable.",
}


@configspec
class DbtCloudCredentials(BaseConfiguration):
    """Who we are and where the account lives: enough to call the API."""

    api_token: TSecretStrValue = None
    account_id: int | None = None
    base_url: str = DEFAULT_BASE_URL
    job_id: int | None = None

    @property
    def api_root(self) -> str:
        """`{access_url}/api/v2/accounts/{account_id}/` — every call we make lives under it."""
        return f"{self.base_url}/api/v2/accounts/{self.account_id}/"


@configspec
class LoadSettings(BaseConfiguration):
    """How a load behaves; all optional, defaults in `.dlt/config.toml` and `settings.py`."""

    lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    max_workers: int = DEFAULT_MAX_WORKERS
    requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE
    artifacts: bool = True
    artifacts_days: int = DEFAULT_ARTIFACTS_DAYS
    lock_wait_seconds: float = 0.0
    """how long a load waits for another load of the same pipeline or file before giving up"""
    publish_path: str | None = None
    """a DuckDB file that every successful load replaces with a copy of the dataset, for readers"""


def normalize_base_url(value: str | None) -> str:
    """Accept an access URL with or without a trailing slash (or a pasted `/api/v2` suffix)."""
    url = (value or DEFAULT_BASE_URL).strip().rstrip("/")
    url = re.sub(r"/api/v[23](/.*)?$", "", url)
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(
            f"base_url {value!r} is not an access URL: set [dbt_cloud] base_url (or DBT_CLOUD__BASE_URL) "
            "to your account's access URL, e.g. https://cloud.getdbt.com or https://emea.dbt.com."
        )
    return url


def resolve_credentials(require_token: bool = True) -> DbtCloudCredentials:
    """Resolve `[dbt_cloud]` credentials and fail with one line naming the exact setting to fill."""
    try:
        credentials = resolve_configuration(DbtCloudCredentials(), sections=(CONFIG_SECTION,))
    except ConfigValueCannotBeCoercedException as exc:
        env_name = _ENV_NAMES.get(exc.field_name, f"DBT_CLOUD__{exc.field_name.upper()}")
        raise ConfigError(
            f"[dbt_cloud] {exc.field_name} must be a number: fix it in .dlt/config.toml or {env_name}."
        ) from None
    except ConfigFieldMissingException as exc:  # dlt treats an unset secret as missing
        raise ConfigError(_MISSING.get(exc.fields[0], f"Missing [dbt_cloud] {exc.fields[0]}.")) from None
    if require_token and not credentials.api_token:
        raise ConfigError(_MISSING["api_token"])
    if credentials.account_id is None:
        raise ConfigError(_MISSING["account_id"])
    credentials.base_url = normalize_base_url(credentials.base_url)
    return credentials


def resolve_load_settings() -> LoadSettings:
    """Resolve the optional `[dbt_cloud]` load settings (lookback, concurrency, artifacts)."""
    try:
        settings = resolve_configuration(LoadSettings(), sections=(CONFIG_SECTION,))
    except ConfigValueCannotBeCoercedException as exc:
        raise ConfigError(
            f"[dbt_cloud] {exc.field_name} has a value of the wrong type: fix it in .dlt/config.toml "
            f"or DBT_CLOUD__{exc.field_name.upper()}."
        ) from None
    if settings.lookback_hours < 0:
        raise ConfigError("[dbt_cloud] lookback_hours must be 0 or more.")
    if settings.lock_wait_seconds < 0:
        raise ConfigError("[dbt_cloud] lock_wait_seconds must be 0 or more.")
    if settings.max_workers < 1 or settings.requests_per_minute < 1:
        raise ConfigError("[dbt_cloud] max_workers and requests_per_minute must be at least 1.")
    return settings
