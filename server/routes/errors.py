"""One error shape for the API: {"error": code, "message": what to do}, with a 4xx status."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Flask, jsonify, render_template, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from server.services.errors import StatusError


class ApiError(StatusError):
    pass


M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    """Parse the JSON body into a pydantic model, or answer 400 naming the field."""
    data: Any = request.get_json(silent=True)
    if data is None:
        raise ApiError(
            400, "bad_json", "Send a JSON object body with Content-Type: application/json."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, "bad_request", f"{field}: {first['msg']}") from exc


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error=exc.code, message=exc.message), exc.status

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
        if _wants_json():
            return jsonify(error=code, message=message), exc.code
        return render_template("error.html", status=exc.code, message=message), exc.code
