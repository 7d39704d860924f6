"""Log-in, registration and log-out pages, the account's tokens page, and the token API."""

from __future__ import annotations

import string
from urllib.parse import unquote, urlsplit

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
from flask_login import current_user, login_required, login_user, logout_user
from pydantic import BaseModel, Field

from server.extensions import csrf, limiter
from server.models.base import utcnow
from server.models.user import ApiToken, User
from server.routes.errors import ApiError, json_body
from server.routes.guards import api_token_id, api_user
from server.services import accounts

bp = Blueprint("auth", __name__)
api = Blueprint("auth_api", __name__, url_prefix="/api/auth")
csrf.exempt(api)


def _auth_limit() -> str:
    return current_app.config.get("AUTH_RATE_LIMIT", "10 per minute")


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=1024)


# Printable ASCII but the backslash: browsers drop tabs and newlines inside a URL and read "\"
# as "/", which turns "/\t/evil.example" or "/\\evil.example" into "//evil.example".
_SAFE_CHARS = frozenset(string.ascii_letters + string.digits + "/-._~!$&'()*+,;=:@?#%[]")


def _other_host(path: str) -> bool:
    """Would a browser read this (decoded) path as another host: "//h", "/\\h", "/\t/h"?"""
    path = "".join(c for c in path if c not in "\t\n\r").replace("\\", "/")
    return path.startswith("//") or any(ord(c) < 32 or ord(c) == 127 for c in path)


def _safe_next(target: str | None) -> str:
    """Where to go after log-in: `next` if it stays on this site, else the home page.

    Refused: control characters, backslashes, anything outside printable ASCII, "//host",
    other hosts' absolute URLs, and any of these hidden by percent-encoding ("%2F%2Fevil",
    "/%5Cevil"), decoded twice. An absolute URL to this very host becomes its path."""
    home = url_for("pages.home")
    if not target or any(c not in _SAFE_CHARS for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc == request.host:
        target = parts._replace(scheme="", netloc="").geturl() or "/"
    elif parts.scheme or parts.netloc:
        return home
    once = unquote(target)
    if not target.startswith("/") or any(_other_host(p) for p in (target, once, unquote(once))):
        return home
    return target


def _log_in(user: User) -> None:
    """A new server-side session for this browser, then flask-login's cookies naming it."""
    accounts.start_session(user)
    login_user(user, remember=True)


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
        _log_in(user)
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
        _log_in(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", username="")


@bp.post("/logout")
@login_required
def logout():
    # The server-side session goes first: a copy of either cookie then names nothing.
    accounts.end_session(current_user._get_current_object())
    logout_user()
    flash("You are logged out.", "ok")
    return redirect(url_for("pages.home"))


# ---- the account's API tokens and sessions ----------------------------------------------


def _token_json(token: ApiToken, current_id: int | None) -> dict:
    return {
        "id": token.id,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "expires_at": token.expires_at.isoformat(),
        "expired": token.expires_at <= utcnow(),
        "current": token.id == current_id,
    }


@bp.get("/account/tokens")
@login_required
def tokens_page():
    user = current_user._get_current_object()
    return render_template(
        "account/tokens.html",
        tokens=[_token_json(t, None) for t in accounts.list_tokens(user)],
        sessions=accounts.session_count(user),
        token_days=current_app.config.get("API_TOKEN_DAYS", accounts.DEFAULT_TOKEN_DAYS),
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token_page(token_id: int):
    accounts.revoke_token(current_user._get_current_object(), token_id)
    flash("Token revoked: programs using it must get a new one.", "ok")
    return redirect(url_for("auth.tokens_page"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions_page():
    count = accounts.end_other_sessions(current_user._get_current_object())
    flash(
        f"Logged out of {count} other session{'' if count == 1 else 's'}."
        if count
        else "No other sessions were logged in.",
        "ok",
    )
    return redirect(url_for("auth.tokens_page"))


# ---- API --------------------------------------------------------------------------------


@api.post("/register")
@limiter.limit(_auth_limit)
def api_register():
    """Create a member account."""
    body = json_body(Credentials)
    user = accounts.create_user(body.username, body.password)
    return jsonify(id=user.id, username=user.username), 201


api_register.openapi_body = Credentials
api_register.openapi_status = 201
api_register.openapi_auth = "none"


@api.post("/token")
@limiter.limit(_auth_limit)
def api_token():
    """Exchange a username and password for a bearer token (expires after API_TOKEN_DAYS)."""
    body = json_body(Credentials)
    user = accounts.authenticate(body.username, body.password)
    if user is None:
        raise ApiError(401, "bad_credentials", "Wrong username or password.")
    issued = accounts.issue_token_details(user)
    return jsonify(
        token=issued.token,
        id=issued.id,
        expires_at=issued.expires_at.isoformat(),
        username=user.username,
        role=user.role,
    )


api_token.openapi_body = Credentials
api_token.openapi_auth = "none"


@api.delete("/token")
def api_revoke_current_token():
    """Revoke the bearer token this request is sent with."""
    user = api_user()
    token_id = api_token_id()
    if token_id is None:
        raise ApiError(
            400,
            "no_bearer_token",
            "Send the token to revoke as 'Authorization: Bearer <token>', "
            "or revoke one by id with DELETE /api/auth/tokens/<id>.",
        )
    accounts.revoke_token(user, token_id)
    return "", 204


api_revoke_current_token.openapi_status = 204
api_revoke_current_token.openapi_auth = "member"


@api.get("/tokens")
def api_list_tokens():
    """The caller's tokens (never their secret), newest first; `current` marks this one."""
    user = api_user()
    current_id = api_token_id()
    return jsonify([_token_json(t, current_id) for t in accounts.list_tokens(user)])


api_list_tokens.openapi_auth = "member"


@api.delete("/tokens/<int:token_id>")
def api_revoke_token(token_id: int):
    """Revoke one of the caller's tokens by id; 404 for a token that is not theirs."""
    accounts.revoke_token(api_user(), token_id)
    return "", 204


api_revoke_token.openapi_status = 204
api_revoke_token.openapi_auth = "member"
