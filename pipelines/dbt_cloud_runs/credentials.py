"""Who we are and where the account lives: the `[dbt_cloud]` credentials, read by dlt.

(How a load behaves, the other half of `[dbt_cloud]`, is `settings.LoadSettings`.)

The seed's secrets layout (and dlt's own dbt Cloud helper) keeps everything under a top-level
`[dbt_cloud]` section — `api_token`, `account_id`, `job_id` — with environment variables such as
`DBT_CLOUD__API_TOKEN` overriding the files. dlt would look for a source's arguments under
`sources.<name>` instead, so we resolve these specs explicitly at that section, on purpose.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import urlsplit

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
    DEFAULT_RATE_LIMIT_COOLDOWN_SECONDS,
    OLD_REGION_HOSTS,
    OLD_REGION_HOSTS_DEPRECATED_ON,
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
    "base_url": "Missing dbt Cloud access URL: set base_url under [dbt_cloud] in .dlt/config.toml (or the "
    "DBT_CLOUD__BASE_URL environment variable) to your account's access URL, shown in dbt Cloud under "
    "Account settings (e.g. https://ab123.us1.dbt.com).",
}


@configspec
class DbtCloudCredentials(BaseConfiguration):
    """Who we are, where the account lives and how to talk to it: enough to call the API.

    `rate_limit_cooldown_seconds` lives here rather than in `LoadSettings` because the job
    subcommands (trigger, status, retry, ...) meet the same account-wide rate limit as a load.
    """

    api_token: TSecretStrValue | None = None
    account_id: int | None = None
    base_url: str | None = None
    """the account's access URL; no default: dbt's old region hosts are being retired"""
    job_id: int | None = None
    rate_limit_cooldown_seconds: float = DEFAULT_RATE_LIMIT_COOLDOWN_SECONDS
    """how long to wait when dbt Cloud still answers 429 (without Retry-After) after dlt's retries"""

    @property
    def api_root(self) -> str:
        """`{access_url}/api/v2/accounts/{account_id}/` — runs, jobs and the job operations live here."""
        return self.api_root_for(2)

    def api_root_for(self, version: int) -> str:
        """`{access_url}/api/v{version}/accounts/{account_id}/`: the one place an API root is built."""
        return f"{self.base_url}/api/v{version}/accounts/{self.account_id}/"


def normalize_base_url(value: str | None) -> str:
    """Accept an access URL with or without a trailing slash (or a pasted `/api/v2` suffix).

    There is no default: without a value this raises the one line saying where to find it.
    """
    if value is None or not str(value).strip():
        raise ConfigError(_MISSING["base_url"])
    url = str(value).strip().rstrip("/")
    url = re.sub(r"/api/v[23](/.*)?$", "", url)
    where = "set [dbt_cloud] base_url (or DBT_CLOUD__BASE_URL) to your account's access URL"
    scheme = url.split("://", 1)[0] if "://" in url else ""  # as written (urlsplit lower-cases it)
    if not scheme:
        raise ConfigError(
            f"base_url {value!r} has no scheme: write it as https://{url.split('://')[-1]} ({where}, "
            "shown in dbt Cloud under Account settings)."
        )
    if scheme.lower() in ("http", "https") and scheme != scheme.lower():
        raise ConfigError(
            f"base_url {value!r} has an uppercase scheme {scheme + '://'!r}: write it in lower case, "
            f"{scheme.lower()}://{url.split('://', 1)[1]}."
        )
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"base_url {value!r} has an unknown scheme {scheme + '://'!r}: the access URL starts with "
            f"https:// ({where})."
        )
    if not re.match(r"^https?://[^/\s]+$", url):
        raise ConfigError(
            f"base_url {value!r} is not an access URL: {where}, e.g. https://ab123.us1.dbt.com "
            "(shown in dbt Cloud under Account settings)."
        )
    return url


_warned_hosts: set[str] = set()


def warn_if_old_region_host(base_url: str) -> None:
    """One `warning:` line on stderr (once per process) when an old region host is configured."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in OLD_REGION_HOSTS and host not in _warned_hosts:
        _warned_hosts.add(host)
        print(
            f"warning: base_url {base_url} is one of dbt's old region hosts, scheduled for deprecation on "
            f"{OLD_REGION_HOSTS_DEPRECATED_ON}: set [dbt_cloud] base_url to your account's access URL "
            "(Account settings, e.g. https://ab123.us1.dbt.com).",
            file=sys.stderr,
            flush=True,
        )


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
    if not credentials.rate_limit_cooldown_seconds >= 0:
        raise ConfigError("[dbt_cloud] rate_limit_cooldown_seconds must be 0 or more.")
    warn_if_old_region_host(credentials.base_url)
    return credentials
