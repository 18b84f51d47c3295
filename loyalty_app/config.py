"""Settings read once from the environment, with embedded defaults for a new user.

Development (the default) needs nothing set: SQLite under ``instance/`` and jobs run inline.
Production (``LOYALTY_ENV=production``, which the Procfile sets) refuses to start without its
secrets, its PostgreSQL and Redis, and with anything but Shopify's own URLs, because a silent
default would let anyone forge webhooks, read stored tokens, or keep the ledger in a stray
SQLite file.
"""
from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

Number = TypeVar("Number", int, float)

API_VERSION = "2026-10"
"""The Shopify Admin API version this app is written and tested against."""
SCOPES = ("customer_read_store_credit_accounts,read_customers,read_orders,read_store_credit_account_transactions,"
          "read_store_credit_accounts,write_customers,write_discounts,write_store_credit_account_transactions")
"""What the app asks for, as shopify.app.toml declares it (sorted). Store credit: rewards and cashback credit and
debit (write) and find what a timed-out call did (read transactions); the POS block reads balances with the Admin
API, the customer account page with the Customer Account API (``customer_`` scopes are that API's)."""

REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SHOPIFY_API_KEY",
    "SHOPIFY_API_SECRET",
    "APP_URL",
    "TOKEN_ENCRYPTION_KEY",
)


SHOPIFY_URLS = {"SHOPIFY_ADMIN_URL": "https://{shop}/admin/api/{version}/graphql.json",
                "SHOPIFY_TOKEN_URL": "https://{shop}/admin/oauth/access_token"}
"""Shopify's real endpoints; only development and tests may point elsewhere (a fake Shopify)."""


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never later."""


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name, "").strip()
    return value or default


def _number(env: Mapping[str, str], name: str, default: Number, kind: type[Number], what: str) -> Number:
    raw = _str(env, name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _str(env, name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _dev_fernet_key(secret: str) -> str:
    """Derive a stable development-only Fernet key so tokens survive restarts."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).decode()


def load_settings(env: Mapping[str, str] | None = None, instance_path: str | Path = "instance") -> dict[str, Any]:
    """Return the Flask config mapping built from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    mode = _str(env, "LOYALTY_ENV", "development")
    if mode not in {"development", "production", "test"}:
        raise ConfigError(f"LOYALTY_ENV must be development, production or test, got {mode!r}")
    production = mode == "production"
    if production:
        missing = [name for name in REQUIRED_IN_PRODUCTION if not _str(env, name)]
        if missing:
            raise ConfigError("missing required settings in production: " + ", ".join(missing))
        for name, real in SHOPIFY_URLS.items():
            if _str(env, name, real) != real:
                raise ConfigError(f"{name} must be Shopify's own {real} in production")
        if not _str(env, "APP_URL", "").startswith("https://"):
            raise ConfigError("APP_URL must be https:// in production: Shopify only calls https apps")

    secret_key = _str(env, "SECRET_KEY", "dev-only-secret-key")
    database_url = _str(env, "DATABASE_URL") or f"sqlite:///{Path(instance_path).resolve() / 'loyalty.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    retention_days = _int(env, "WEBHOOK_BODY_RETENTION_DAYS", 30)
    if retention_days < 1:
        raise ConfigError(f"WEBHOOK_BODY_RETENTION_DAYS must be at least 1, got {retention_days}")

    token_key = _str(env, "TOKEN_ENCRYPTION_KEY") or _dev_fernet_key(secret_key)
    app_url = _str(env, "APP_URL", "http://127.0.0.1:5000")
    return {
        "LOYALTY_ENV": mode,
        "SECRET_KEY": secret_key,
        "SESSION_COOKIE_SECURE": production,
        "DATABASE_URL": database_url,
        "REDIS_URL": _str(env, "REDIS_URL"),
        "LOG_FORMAT": _str(env, "LOG_FORMAT", "json" if production else "text"),
        # Seconds a webhook acknowledgement may wait on Redis before leaving the drain to the sweeper.
        "REDIS_REQUEST_TIMEOUT": _float(env, "REDIS_REQUEST_TIMEOUT", 0.05),
        "SHOPIFY_API_KEY": _str(env, "SHOPIFY_API_KEY", "dev-api-key"),
        "SHOPIFY_API_SECRET": _str(env, "SHOPIFY_API_SECRET", "dev-api-secret"),
        "SHOPIFY_API_SECRET_PREVIOUS": _str(env, "SHOPIFY_API_SECRET_PREVIOUS"),
        "SHOPIFY_API_VERSION": _str(env, "SHOPIFY_API_VERSION", API_VERSION),
        # Development talks to the built-in fake Admin (web/dev.py) unless pointed at a real store.
        "SHOPIFY_ADMIN_URL": _str(env, "SHOPIFY_ADMIN_URL", (app_url.rstrip("/") + "/dev/admin/{shop}/{version}/graphql.json")
                                  if mode == "development" else SHOPIFY_URLS["SHOPIFY_ADMIN_URL"]),
        "SHOPIFY_TOKEN_URL": _str(env, "SHOPIFY_TOKEN_URL", SHOPIFY_URLS["SHOPIFY_TOKEN_URL"]),
        "SHOPIFY_SCOPES": _str(env, "SHOPIFY_SCOPES", SCOPES),
        "APP_URL": app_url,
        "TOKEN_ENCRYPTION_KEY": token_key,
        "AUTO_MIGRATE": _bool(env, "AUTO_MIGRATE", database_url.startswith("sqlite")),
        # A claim older than this belongs to a killed worker (a batch takes seconds); the sweeper hands it back.
        "INBOX_CLAIM_TIMEOUT": _int(env, "INBOX_CLAIM_TIMEOUT", 30),
        # An event still waiting this long after it arrived missed its drain; the sweeper schedules one.
        "INBOX_GRACE_SECONDS": _int(env, "INBOX_GRACE_SECONDS", 10),
        "INBOX_MAX_ATTEMPTS": _int(env, "INBOX_MAX_ATTEMPTS", 8),
        "INBOX_BATCH_SIZE": _int(env, "INBOX_BATCH_SIZE", 200),
        "WEBHOOK_BODY_RETENTION_DAYS": retention_days,
        "STANDINGS_SYNC": _bool(env, "STANDINGS_SYNC", True),
        "STANDINGS_SYNC_WINDOW": _int(env, "STANDINGS_SYNC_WINDOW", 10),
        "PROXY_MAX_AGE_SECONDS": _int(env, "PROXY_MAX_AGE_SECONDS", 300),
        # Per shopper, on redemptions (each costs a Shopify call): the `limits` notation.
        "REDEEM_RATE_LIMIT": _str(env, "REDEEM_RATE_LIMIT", "5 per minute; 30 per day"),
        # Per shopper, on one-click earning actions (a newsletter click asks Shopify for consent).
        "CLICK_RATE_LIMIT": _str(env, "CLICK_RATE_LIMIT", "10 per minute; 100 per day"),
        # Per shop, on the signed review endpoint: a review app's backfill fits; a leaked secret's flood does not.
        "REVIEW_RATE_LIMIT": _str(env, "REVIEW_RATE_LIMIT", "120 per minute; 5000 per day"),
        # A review call is a few dozen bytes of JSON; anything larger is refused before it is read.
        "REVIEW_MAX_BYTES": _int(env, "REVIEW_MAX_BYTES", 4096),
        # Shopify's webhook bodies are far below this; a larger one is refused before it is read.
        "WEBHOOK_MAX_BYTES": _int(env, "WEBHOOK_MAX_BYTES", 5 * 1024 * 1024),
    }
