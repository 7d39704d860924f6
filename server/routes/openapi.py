"""GET /api/openapi.json, built from the registered /api routes and their docstrings."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")

_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
_ERROR = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
            }
        }
    },
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for conv, name in _PARAM.findall(rule):
        schema = {"type": "integer"} if conv == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PARAM.sub(r"{\2}", rule), params


@bp.get("/openapi.json")
def spec():
    """This document: every /api route with its methods."""
    paths: dict[str, dict] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        path, params = _path(rule.rule)
        doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc,
                "parameters": params,
                "responses": {"200": {"description": "ok"}, "4XX": _ERROR},
            }
            body = getattr(view, "openapi_body", None)
            if body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body.model_json_schema()}},
                }
            paths.setdefault(path, {})[method.lower()] = op
    return jsonify(
        openapi="3.0.3",
        info={"title": "Adventures API", "version": "1"},
        components={
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        security=[{"bearer": []}, {}],
        paths=paths,
    )
