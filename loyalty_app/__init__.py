"""The loyalty app: an exact points ledger behind Shopify webhooks, an app proxy, an embedded admin and its API."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import logs, rate_limits
from .config import load_settings
from .crypto import TokenBox
from .extensions import db, queues


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings (failing fast), extensions, blueprints and CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(load_settings(instance_path=app.instance_path))
    if test_config:
        app.config.update(test_config)
    logs.configure(app.config["LOG_FORMAT"])

    db.init_app(app)
    queues.init_app(app)
    rate_limits.init_app(app)
    app.extensions["token_box"] = TokenBox(app.config["TOKEN_ENCRYPTION_KEY"])
    if app.config["AUTO_MIGRATE"]:
        from .migrate import upgrade

        upgrade(app)

    from webhooks import cli as webhooks_cli
    from webhooks import receiver

    from . import cli
    from .web import admin, api, auth, health, proxy, ui_extensions
    from .web.converters import IdConverter

    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(proxy.bp)
    app.register_blueprint(ui_extensions.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    if app.config["LOYALTY_ENV"] == "development":
        from .web import dev

        app.register_blueprint(dev.bp)
    app.register_blueprint(receiver.bp)
    cli.init_app(app)
    app.cli.add_command(webhooks_cli.webhooks_cli)
    return app
