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
    for name in ("SECRET_KEY", "SHOPIFY_API_SECRET", "APP_URL", "TOKEN_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"):
        assert name in str(error.value)
    assert "SHOPIFY_API_KEY" not in str(error.value)


PRODUCTION = {"LOYALTY_ENV": "production", "SECRET_KEY": "s", "SHOPIFY_API_KEY": "k", "SHOPIFY_API_SECRET": "x",
              "APP_URL": "https://loyalty.example.com", "TOKEN_ENCRYPTION_KEY": "t",
              "DATABASE_URL": "postgresql://db/loyalty", "REDIS_URL": "redis://cache:6379/0"}


def test_production_starts_with_everything_set_and_talks_to_the_real_shopify():
    settings = load_settings(PRODUCTION)
    assert settings["SHOPIFY_ADMIN_URL"] == "https://{shop}/admin/api/{version}/graphql.json"
    assert settings["DATABASE_URL"] == "postgresql+psycopg://db/loyalty"


@pytest.mark.parametrize("override", [
    {"SHOPIFY_ADMIN_URL": "http://127.0.0.1:5000/dev/admin/{shop}/{version}/graphql.json"},
    {"SHOPIFY_TOKEN_URL": "http://fake-shopify/{shop}/token"},
    {"APP_URL": "http://loyalty.example.com"},
], ids=["fake-admin", "fake-token-endpoint", "plain-http"])
def test_production_refuses_a_fake_shopify_or_plain_http(override):
    with pytest.raises(ConfigError):
        load_settings({**PRODUCTION, **override})


def test_every_procfile_process_runs_in_production_by_default():
    from pathlib import Path

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text().splitlines()
    processes = [line.split(":", 1) for line in procfile if line.strip() and not line.startswith("#")]
    assert processes
    for name, command in processes:
        assert command.strip().startswith("LOYALTY_ENV=${LOYALTY_ENV:-production} "), name


def test_postgres_urls_use_psycopg():
    assert load_settings({"DATABASE_URL": "postgres://u@h/db"})["DATABASE_URL"] == "postgresql+psycopg://u@h/db"
    assert load_settings({"DATABASE_URL": "postgres://u@h/db"})["AUTO_MIGRATE"] is False


@pytest.mark.parametrize(("name", "value"), [("INBOX_GRACE_SECONDS", "soon"), ("AUTO_MIGRATE", "maybe"),
                                             ("LOYALTY_ENV", "staging"), ("WEBHOOK_BODY_RETENTION_DAYS", "a month"),
                                             ("WEBHOOK_BODY_RETENTION_DAYS", "0")])
def test_malformed_settings_fail_fast(name, value):
    with pytest.raises(ConfigError):
        load_settings({name: value})


def test_webhooks_and_shopify_calling_jobs_have_workers_of_their_own():
    """A 25 s Admin API must not hold up crediting orders: each queue has its own worker process."""
    from pathlib import Path

    from loyalty_app.extensions import JOB_QUEUE, WEBHOOK_QUEUE

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    workers = {line.split(":", 1)[0]: line.split() for line in procfile.splitlines() if " rq worker " in line}
    listens = {name: [word for word in words if word in (WEBHOOK_QUEUE, JOB_QUEUE)] for name, words in workers.items()}
    assert sorted(listens.values()) == [[WEBHOOK_QUEUE], [JOB_QUEUE]]
    scheduler = [name for name, words in workers.items() if "--with-scheduler" in words]
    assert [listens[name] for name in scheduler] == [[JOB_QUEUE]]  # delayed standings syncs live on the jobs queue
