"""The home page and small shared assets."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, send_from_directory
from flask_login import current_user

from server.config import REPO_ROOT
from server.markdown import highlight_css
from server.services import exercises as catalog

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    user = current_user if current_user.is_authenticated else None
    best = catalog.best_scores(user) if user else {}
    all_ex = catalog.active_exercises()
    solved = sum(1 for e in all_ex if catalog.status_for(e, best) == "solved") if user else 0
    return render_template("home.html", n_exercises=len(all_ex), solved=solved)


@bp.get("/highlight.css")
def highlight_stylesheet():
    response = Response(highlight_css(), mimetype="text/css")
    response.cache_control.max_age = 3600
    return response


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico before reading the page's <link rel=icon>: no 404 per page."""
    return send_from_directory(
        REPO_ROOT / "server" / "static" / "img", "favicon.svg", max_age=86400
    )


@bp.get("/healthz")
def healthz():
    return {"ok": True}


def _front_end_packages() -> set[str]:
    manifest = json.loads((REPO_ROOT / "package.json").read_text())
    return set(manifest.get("dependencies", {}))


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """Front-end libraries installed from npm by `make`; only the packages package.json names."""
    if package not in _front_end_packages():
        abort(404, f"No front-end package '{package}'.")
    return send_from_directory(REPO_ROOT / "node_modules" / package, filename, max_age=86400)
