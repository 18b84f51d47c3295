"""Settings: embedded defaults for a new user, a clear error for production without secrets."""
import pytest

from loyalty_app.config import ConfigError, load_settings


def test_defaults_need_nothing(tmp_path):
    settings = load_settings({}, instance_path=tmp_path)
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'loyalty.sqlite3'}"
    assert settings["REDIS_URL"] is None
    assert settings["AUTO_MIGRATE"] is True
    assert settings["SHOPIFY_API_VERSION"] == "2026-10"
    assert settings["WEBHOOK_BODY_RETENTION_DAYS"] == 30
    assert load_settings({"WEBHOOK_BODY_RETENTION_DAYS": "7"})["WEBHOOK_BODY_RETENTION_DAYS"] == 7


def test_production_refuses_to_start_without_secrets():
    with pytest.raises(ConfigError) as error:
        load_settings({"LOYALTY_ENV": "production", "SHOPIFY_API_KEY": "k"})
    for name in ("SECRET_KEY", "SHOPIFY_API_SECRET", "APP_URL", "TOKEN_ENCRYPTION_KEY"):
        assert name in str(error.value)
    assert "SHOPIFY_API_KEY" not in str(error.value)


def test_postgres_urls_use_psycopg():
    assert load_settings({"DATABASE_URL": "postgres://u@h/db"})["DATABASE_URL"] == "postgresql+psycopg://u@h/db"
    assert load_settings({"DATABASE_URL": "postgres://u@h/db"})["AUTO_MIGRATE"] is False


@pytest.mark.parametrize(("name", "value"), [("INBOX_GRACE_SECONDS", "soon"), ("AUTO_MIGRATE", "maybe"),
                                             ("LOYALTY_ENV", "staging"), ("WEBHOOK_BODY_RETENTION_DAYS", "a month"),
                                             ("WEBHOOK_BODY_RETENTION_DAYS", "0")])
def test_malformed_settings_fail_fast(name, value):
    with pytest.raises(ConfigError):
        load_settings({name: value})
