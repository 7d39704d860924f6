"""Who is asking: a bearer token on the API, the session cookie on pages (and page JS)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from server.models.user import User
from server.routes.errors import ApiError
from server.services import accounts


def api_user(optional: bool = False) -> User | None:
    """The caller of an API route; cookie callers must send the CSRF token on writes."""
    if "api_user" in g:
        return g.api_user
    user: User | None = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        # Unknown, revoked or expired: 401 bad_token / token_expired, saying what to do.
        user, g.api_token_id = accounts.check_token(header[7:].strip())
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except (ValidationError, CSRFError) as exc:
                raise ApiError(
                    400, "csrf", "Send the page's CSRF token in the X-CSRFToken header."
                ) from exc
        user = current_user._get_current_object()
    if user is None and not optional:
        raise ApiError(
            401,
            "unauthorized",
            "Log in: send 'Authorization: Bearer <token>' (POST /api/auth/token).",
        )
    g.api_user = user
    return user


def api_token_id() -> int | None:
    """The id of the bearer token this API call came with; None for cookie callers."""
    api_user(optional=True)
    return g.get("api_token_id")


def api_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        api_user()
        return view(*args, **kwargs)

    return wrapped


def api_instructor_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = api_user()
        if not user.is_instructor:
            raise ApiError(403, "forbidden", "Only instructors may do this.")
        return view(*args, **kwargs)

    return wrapped


def instructor_page(view: Callable) -> Callable:
    """Pages for instructors: anonymous visitors go to log-in, members get 403."""
    from flask import abort
    from flask_login import login_required

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_instructor:
            abort(403, "Only instructors can open this page.")
        return view(*args, **kwargs)

    return wrapped
