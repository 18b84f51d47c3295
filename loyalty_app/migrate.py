"""Alembic, driven from the app: ``flask --app app db upgrade`` and the SQLite first start."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Apply migrations to the app's database on the app's own engine."""
    config = alembic_config()
    with app.extensions["db"].engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(app: Flask, message: str) -> None:
    """Autogenerate a new migration from the models (a developer's command)."""
    config = alembic_config()
    with app.extensions["db"].engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
