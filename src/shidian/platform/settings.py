"""Web settings (运行配置), read once from the environment and frozen.

* ``SHIDIAN_DATABASE_URL``: SQLAlchemy URL; default a SQLite file ``var/shidian.db``;
  production: ``postgresql+psycopg://user@host/db``.
* ``SHIDIAN_VAR_DIR``: where run results (Parquet), uploads and the secret key live (``var``).
* ``SHIDIAN_SECRET_KEY``: signs session cookies; default: a random key kept in ``var/secret_key``.
* ``SHIDIAN_SECURE_COOKIES``: ``1`` in production behind HTTPS (cookies marked Secure).
* ``SHIDIAN_LOGIN_MAX_FAILURES`` / ``SHIDIAN_LOGIN_WINDOW_SECONDS``: login throttling, attempts of
  one client on one account (5 in 900 s); ``SHIDIAN_LOGIN_ACCOUNT_MAX`` failures on one account
  from all clients before it is slowed to one per ``SHIDIAN_LOGIN_PACE_SECONDS`` (50; 5 s);
  ``SHIDIAN_LOGIN_CLIENT_NAMES``: distinct wrong user names per client (10)
  (``shidian.platform.throttle``).
* ``SHIDIAN_TRUSTED_PROXIES``: comma-separated addresses of the reverse proxies whose
  ``X-Forwarded-For`` names the client (none: the peer's address is the client's).
* ``SHIDIAN_SESSION_IDLE_MINUTES`` / ``SHIDIAN_SESSION_HOURS``: a session ends after this long without a
  request (30 minutes) and this long after sign-in whatever the activity (8 hours).
* ``SHIDIAN_MAX_UPLOAD_MB``: the largest request body, uploads included (1024 MiB: a 10-million-case
  year of ``cases.csv`` is about 900 MB); a larger one is refused with 413 before it is read.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shidian.platform.throttle import LoginLimits


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    secret_key: str
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 900
    login_account_max: int = 50
    login_pace_seconds: int = 5
    login_client_names: int = 10
    trusted_proxies: frozenset[str] = frozenset()
    session_max_age_seconds: int = 8 * 3600
    session_idle_seconds: int = 30 * 60
    max_upload_bytes: int = 1024 * 1024 * 1024
    token_rate_per_minute: int = 600

    @property
    def login_limits(self) -> LoginLimits:
        return LoginLimits(
            window_seconds=self.login_window_seconds,
            pair_max=self.login_max_failures,
            account_max=self.login_account_max,
            pace_seconds=self.login_pace_seconds,
            client_names_max=self.login_client_names,
        )

    @property
    def runs_dir(self) -> Path:
        return self.var_dir / "runs"

    @property
    def datasets_dir(self) -> Path:
        return self.var_dir / "datasets"

    @staticmethod
    def database_url_from_env(env: Mapping[str, str] | None = None) -> str:
        """The database URL the environment names, without reading or writing the secret key."""
        env = os.environ if env is None else env
        var_dir = Path(env.get("SHIDIAN_VAR_DIR", "var")).resolve()
        return env.get("SHIDIAN_DATABASE_URL") or f"sqlite:///{var_dir / 'shidian.db'}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("SHIDIAN_VAR_DIR", "var")).resolve()
        database_url = env.get("SHIDIAN_DATABASE_URL") or f"sqlite:///{var_dir / 'shidian.db'}"
        secret = env.get("SHIDIAN_SECRET_KEY") or _stored_secret(var_dir)
        try:
            return cls(
                database_url=database_url,
                var_dir=var_dir,
                secret_key=secret,
                secure_cookies=env.get("SHIDIAN_SECURE_COOKIES", "0") == "1",
                login_max_failures=int(env.get("SHIDIAN_LOGIN_MAX_FAILURES", "5")),
                login_window_seconds=int(env.get("SHIDIAN_LOGIN_WINDOW_SECONDS", "900")),
                login_account_max=int(env.get("SHIDIAN_LOGIN_ACCOUNT_MAX", "50")),
                login_pace_seconds=int(env.get("SHIDIAN_LOGIN_PACE_SECONDS", "5")),
                login_client_names=int(env.get("SHIDIAN_LOGIN_CLIENT_NAMES", "10")),
                trusted_proxies=frozenset(
                    p.strip() for p in env.get("SHIDIAN_TRUSTED_PROXIES", "").split(",") if p.strip()
                ),
                session_idle_seconds=int(env.get("SHIDIAN_SESSION_IDLE_MINUTES", "30")) * 60,
                session_max_age_seconds=int(float(env.get("SHIDIAN_SESSION_HOURS", "8")) * 3600),
                max_upload_bytes=int(env.get("SHIDIAN_MAX_UPLOAD_MB", "1024")) * 1024 * 1024,
                token_rate_per_minute=int(env.get("SHIDIAN_TOKEN_RATE_PER_MINUTE", "600")),
            )
        except ValueError as exc:
            raise ValueError(f"bad SHIDIAN_* setting: {exc}") from exc


def _stored_secret(var_dir: Path) -> str:
    path = var_dir / "secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key
