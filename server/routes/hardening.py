"""What every request and response goes through, so no route needs its own check:

- ids in paths fit the database: the app's `int` converter stops at 2**31-1 (a bigger number
  matches no route: 404); query arguments are parsed with bounded pydantic models
  (errors.query_args), `db_id` or `clamped_int_arg`, JSON ids with `Field(le=MAX_DB_INT)`;
- JSON bodies nest at most MAX_JSON_DEPTH levels, found before they are parsed (400 bad_json);
- no text input holds a NUL byte or an unpaired surrogate, which PostgreSQL and UTF-8 cannot
  store (400 bad_text naming the field): path parameters and query arguments before the view
  runs, form fields and JSON bodies when the view first reads them (so routes that lift the
  request size cap, or stream their body, keep working);
- responses carry the security headers (a page may set its own Content-Security-Policy).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, request
from flask import json as flask_json
from flask.wrappers import Request
from werkzeug.routing import IntegerConverter

from graders.notebook.read import (
    bad_text_path,
    is_bad_text,
    json_too_deep,
    might_have_bad_text,
)
from server.routes.errors import ApiError

MAX_DB_INT = 2**31 - 1  # PostgreSQL `integer`; SQLite stops at 2**63-1
MAX_JSON_DEPTH = 64

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",  # the pages' scripts are files under /static and /vendor
        "style-src 'self' 'unsafe-inline'",  # a few style="width: …" bars in the templates
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class BoundedInt(IntegerConverter):
    """Flask's `int` converter, capped at the largest id a database column holds."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_DB_INT, signed=False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def db_id(text: str) -> int:
    """An id that fits the database, for `request.args.get(name, type=db_id)` (junk: None)."""
    value = int(text)
    if not 0 <= value <= MAX_DB_INT:
        raise ValueError(f"{text!r} is not an id")
    return value


def clamped_int_arg(name: str, default: int, low: int = -MAX_DB_INT, high: int = MAX_DB_INT):
    """Query argument `name` as a whole number held within [low, high]; junk gives `default`."""
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return max(low, min(value, high))


def own_text_checks(view: Callable) -> Callable:
    """Mark a view whose service refuses or strips NULs in its form fields itself (it answers
    with its own error codes); the app's bad_text check leaves its form alone."""
    view.own_text_checks = True  # type: ignore[attr-defined]
    return view


# ---- text -----------------------------------------------------------------------------------


def _refuse_text(field: str) -> ApiError:
    return ApiError(
        400,
        "bad_text",
        f"{field}: text may not contain a NUL byte (\\u0000) or an unpaired surrogate "
        "(\\ud800-\\udfff); remove it and send again.",
        field=field,
    )


def _check_pairs(pairs: Iterable[tuple[str, Any]], where: str) -> None:
    for key, value in pairs:
        if isinstance(key, str) and is_bad_text(key):
            raise _refuse_text(f"a {where} name")
        if isinstance(value, str) and is_bad_text(value):
            raise _refuse_text(key)


def _view_checks_own_text() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    while view is not None:
        if getattr(view, "own_text_checks", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False


class _CheckedJSON:
    """What get_json parses with: deep nesting is refused before parsing, bad text after it.
    Raises ApiError, not ValueError, so `get_json(silent=True)` callers answer 400 too."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider  # the app's JSON provider, which Flask hands each request

    def loads(self, data: str | bytes, **kwargs: Any) -> Any:
        if isinstance(data, bytes | bytearray):
            try:
                text = data.decode(json.detect_encoding(data), "surrogatepass")
            except (UnicodeDecodeError, LookupError):
                raise ValueError("The body is not UTF-8 text.") from None
        else:
            text = data
        if json_too_deep(text, MAX_JSON_DEPTH):
            raise ApiError(
                400,
                "bad_json",
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels; send a flatter one.",
            )
        value = self.provider.loads(text, **kwargs)
        if might_have_bad_text(text):
            where = bad_text_path(value)
            if where is not None:
                raise _refuse_text(where)
        return value

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.provider.dumps(obj, **kwargs)


class HardenedRequest(Request):
    """The app's request class: JSON through _CheckedJSON, form fields checked once parsed."""

    _json_provider: Any = flask_json

    @property  # type: ignore[override]
    def json_module(self) -> _CheckedJSON:
        return _CheckedJSON(self._json_provider)

    @json_module.setter
    def json_module(self, provider: Any) -> None:  # Flask sets app.json on every request
        self._json_provider = provider

    def _load_form_data(self) -> None:
        loaded = "form" in self.__dict__
        super()._load_form_data()
        if loaded or not self.__dict__.get("form") and not self.__dict__.get("files"):
            return
        if _view_checks_own_text():
            return
        _check_pairs(self.form.items(multi=True), "form field")
        for field, upload in self.files.items(multi=True):
            if upload.filename and is_bad_text(upload.filename):
                raise _refuse_text(f"{field} (its file name)")


def _check_url_text() -> None:
    """Path parameters and query arguments, before the view (or anything) reads them."""
    _check_pairs((request.view_args or {}).items(), "path parameter")
    _check_pairs(request.args.items(multi=True), "query argument")


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def register(app: Flask) -> None:
    """Install the converter (before any blueprint adds a rule), the request class and hooks."""
    app.url_map.converters["int"] = BoundedInt
    app.request_class = HardenedRequest
    app.before_request(_check_url_text)
    app.after_request(_security_headers)
