"""The one error path: every StatusError (and HTTP error) becomes {"error", "message"} JSON under
/api, and the error page elsewhere; routes and services raise, nothing here catches per view."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, Response, jsonify, make_response, render_template, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from server.services.errors import StatusError


class ApiError(StatusError):
    """A refusal found by the route layer itself (a malformed body); answered like any other."""


M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    """Parse the JSON body into a pydantic model, or answer 400 naming the field."""
    data: Any = request.get_json(silent=True)
    if data is None:
        raise ApiError(
            400, "bad_json", "Send a JSON object body with Content-Type: application/json."
        )
    return validated(model, data)


def query_args(model: type[M]) -> M:
    """Parse the query string into a pydantic model (an empty `?game=` counts as absent), or
    answer 400 naming the argument."""
    return validated(model, {k: v for k, v in request.args.to_dict().items() if v != ""})


def validated(model: type[M], data: Any) -> M:
    """Parse form or JSON data into a pydantic model, or answer 400 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, "bad_request", f"{field}: {first['msg']}") from exc


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(StatusError)
    def _status_error(exc: StatusError):
        return _answer(exc.status, exc.code, exc.message, exc.detail)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            code, message = (
                "too_large",
                "The upload is too large; see the size limit in the message of the form.",
            )
        if exc.code == 429:
            message = f"Too many requests ({exc.description}); wait a moment and try again."
        response = _answer(exc.code, code, message)
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response


def _answer(status: int, code: str, message: str, detail: dict | None = None) -> Response:
    if _wants_json():
        body = jsonify({**(detail or {}), "error": code, "message": message})
    else:
        body = make_response(render_template("error.html", status=status, message=message))
    body.status_code = status
    return body
