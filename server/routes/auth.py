"""Log-in, registration and log-out pages, and the token API."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required, login_user, logout_user
from pydantic import BaseModel, Field

from server.extensions import csrf, limiter
from server.routes.errors import ApiError, json_body
from server.services import accounts

bp = Blueprint("auth", __name__)
api = Blueprint("auth_api", __name__, url_prefix="/api/auth")
csrf.exempt(api)


def _auth_limit() -> str:
    return current_app.config.get("AUTH_RATE_LIMIT", "10 per minute")


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=1024)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pages.home")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def register():
    if request.method == "POST":
        try:
            user = accounts.create_user(
                request.form.get("username", ""), request.form.get("password", "")
            )
        except accounts.AccountError as exc:
            flash(exc.message, "error")
            return render_template(
                "auth/register.html", username=request.form.get("username", "")
            ), 400
        login_user(user, remember=True)
        flash(f"Welcome, {user.display_name}!", "ok")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/register.html", username="")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_auth_limit, methods=["POST"])
def login():
    if request.method == "POST":
        user = accounts.authenticate(
            request.form.get("username", ""), request.form.get("password", "")
        )
        if user is None:
            flash("Wrong username or password.", "error")
            return render_template(
                "auth/login.html", username=request.form.get("username", "")
            ), 401
        login_user(user, remember=True)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "ok")
    return redirect(url_for("pages.home"))


@api.post("/register")
@limiter.limit(_auth_limit)
def api_register():
    """Create a member account."""
    body = json_body(Credentials)
    user = accounts.create_user(body.username, body.password)
    return jsonify(id=user.id, username=user.username), 201


@api.post("/token")
@limiter.limit(_auth_limit)
def api_token():
    """Exchange a username and password for a bearer token."""
    body = json_body(Credentials)
    user = accounts.authenticate(body.username, body.password)
    if user is None:
        raise ApiError(401, "bad_credentials", "Wrong username or password.")
    return jsonify(token=accounts.issue_token(user), username=user.username, role=user.role)
