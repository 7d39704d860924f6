"""The Adventures web app: create_app wires config, extensions and blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def create_app(test_config: dict[str, Any] | None = None, *, migrations: bool = True) -> Flask:
    """The app; migrations=False (the web server) leaves out Flask-Migrate, whose Alembic a
    serving process never runs (~10 MB each)."""
    from server.config import Config, instance_dir

    app = Flask(__name__, instance_path=str(instance_dir()))
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)

    from server.extensions import csrf, db, limiter, login_manager

    db.init_app(app)
    if migrations:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to see this page."

    from server.models.user import User

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        """`<id>:<session key>` from the session or remember cookie; a logged-out key is None."""
        from server.services.accounts import user_for_session

        return user_for_session(session_id)

    from server.services.live import make_bus

    app.extensions["adventures.bus"] = make_bus(app)

    from server import markdown
    from server.routes import errors, hardening

    errors.register(app)
    hardening.register(app)  # the bounded int converter, before any rule uses it
    markdown.register(app)
    _register_blueprints(app)
    return app


# One module per area in server/routes; each has `bp` (pages) and maybe `api` (JSON).
BLUEPRINTS = (
    "pages",
    "auth",
    "exercises",
    "leaderboard",
    "games",
    "flashcards",
    "instructor",
    "datasets",
    "exercise_imports",
    "openapi",
)


def _register_blueprints(app: Flask) -> None:
    import importlib

    for name in BLUEPRINTS:
        module = importlib.import_module(f"server.routes.{name}")
        app.register_blueprint(module.bp)
        if hasattr(module, "api"):
            app.register_blueprint(module.api)


def _migrations_dir():
    from server.config import REPO_ROOT

    return REPO_ROOT / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL lets the web server read while a worker writes; foreign keys are off by default."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
