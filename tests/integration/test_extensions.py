"""The app's resources: each app keeps its own engine and Redis client in app.extensions."""
import shutil

from loyalty_app import create_app
from loyalty_app.extensions import db, queues
from loyalty_app.models import Shop
from loyalty_app.services.shops import install_shop
from tests.conftest import BASE_CONFIG


def test_two_apps_in_one_process_each_use_their_own_database_and_queues(sqlite_template, tmp_path):
    """The engine and Redis client belong to the app: building a second app does not repoint the first."""
    apps = []
    for name, redis_url in (("first", None), ("second", "redis://127.0.0.1:1/0")):  # nothing connects at build
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        apps.append(create_app({**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": redis_url,
                                "AUTO_MIGRATE": False}))
    first, second = apps
    with first.app_context():
        install_shop(db.session(), "first.myshopify.com", "t", first.extensions["token_box"])
        db.session.commit()
    with first.app_context():
        assert db.engine.url.database.endswith("first.sqlite3")
        assert [s.domain for s in db.session.query(Shop)] == ["first.myshopify.com"]
        assert queues.inline and queues.redis is None
        with second.app_context():
            assert db.engine.url.database.endswith("second.sqlite3")
            assert db.session.query(Shop).count() == 0
            assert not queues.inline and queues.redis.connection_pool.connection_kwargs["port"] == 1
        assert db.session.query(Shop).count() == 1  # back in the first app, on its own database
    for app in apps:
        app.extensions["db"].dispose()
