"""Warm-up of a web process before it serves: what the first request of each kind would pay.

Without it the first visitor of each page after a start paid for compiling that page's
templates, for reading the trivia bank files (the guest flashcard list), for importing
zxcvbn's word lists (registration), and for SQLAlchemy compiling each query the first time;
on a busy 2-core machine 0.3-1.5 s each. server/wsgi.py calls `warm(app)` once, after
create_app, in gunicorn's master (server/serve.py preloads the app); the workers fork warm.

It never imports TensorFlow or nbconvert (the web process must stay small: the worker
grades notebooks and renders their HTML, and warms its renderer itself, see server.worker),
writes nothing a first guest visit would not, and leaves no database connection open, so a
preloading master forks no shared connection.
"""

from __future__ import annotations

import logging
import time

from flask import Flask

log = logging.getLogger("adventures.warmup")

# Pages a guest can open: each runs its view, queries and templates once.
GUEST_PAGES = ("/", "/login", "/register", "/play", "/exercises", "/flashcards", "/leaderboard")


def warm(app: Flask) -> dict[str, float]:
    """Run each warm-up step; a step that fails is logged and skipped. Returns ms per step."""
    steps = (
        ("templates", lambda: _templates(app)),
        ("guest pages", lambda: _guest_pages(app)),
        ("password checks", _passwords),
    )
    took: dict[str, float] = {}
    for name, step in steps:
        start = time.perf_counter()
        try:
            step()
        except Exception:  # the page will do it on first use; never stop a start for it
            log.exception("warm-up step %r failed", name)
        took[name] = (time.perf_counter() - start) * 1000
    _close_connections(app)
    log.info("warm-up: %s", ", ".join(f"{k} {v:.0f} ms" for k, v in took.items()))
    return took


def _templates(app: Flask) -> None:
    """Compile every template into the environment's cache (400 slots; the site has ~40)."""
    env = app.jinja_env
    for name in env.list_templates(extensions=("html", "txt", "xml", "svg", "j2")):
        env.get_template(name)


def _guest_pages(app: Flask) -> None:
    client = app.test_client()
    for path in GUEST_PAGES:
        res = client.get(path)
        if res.status_code >= 500:
            log.warning("warm-up: GET %s answered %s", path, res.status_code)


def _passwords() -> None:
    from server.services import accounts

    try:
        accounts.check_password("warm-up lantern orchard", username="warmup")
    except accounts.AccountError:
        pass


def _close_connections(app: Flask) -> None:
    from server.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
