"""GET /api/openapi.json (OpenAPI 3.0), built from the registered /api routes and their views:

- the docstring's first line is the summary;
- `view.openapi_body`: the request body: a pydantic model (JSON), or {media type: a pydantic
  model or a JSON schema} for multipart uploads, CSV and raw files;
- `view.openapi_query`: a pydantic model whose fields are the query parameters;
- `view.openapi_status`: the success status, or a tuple of them (200 when not set);
- who may call: found from @api_login_required / @api_instructor_required on the view, else
  `view.openapi_auth`: "member", "instructor", "none" (anonymous only) or "optional" (default).

Pydantic writes JSON Schema 2020-12; `_schema_30` turns it into OpenAPI 3.0's dialect (nullable,
no const, boolean exclusiveMinimum, shared models under components/schemas).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel

from server.routes.hardening import MAX_DB_INT

bp = Blueprint("openapi", __name__, url_prefix="/api")

_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_REF = "#/components/schemas/{model}"
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. not_found, bad_json"},
        "message": {"type": "string", "description": "what went wrong and what to do"},
    },
    "additionalProperties": True,
}
_ERROR = {
    "description": "refused: {error, message}, maybe with more fields (e.g. `field`)",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_STATUS_TEXT = {
    200: "ok",
    201: "created",
    202: "accepted: the work continues on a worker; follow the returned links",
    204: "no content",
}
_AUTH_DECORATORS = {"api_login_required": "member", "api_instructor_required": "instructor"}
_SECURITY = {
    "member": [{"bearer": []}],
    "instructor": [{"bearer": []}],
    "optional": [{"bearer": []}, {}],
    "none": [],
}


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []
    for conv, name in _PARAM.findall(rule):
        if conv == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": MAX_DB_INT}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PARAM.sub(r"{\2}", rule), params


def auth_of(view) -> str:
    """Who may call this view: "member", "instructor", "optional" or "none"."""
    declared = getattr(view, "openapi_auth", None)
    fn = view
    while fn is not None:
        code_name = getattr(getattr(fn, "__code__", None), "co_qualname", "")
        for decorator, role in _AUTH_DECORATORS.items():  # functools.wraps keeps co_qualname
            if code_name.startswith(f"{decorator}."):
                return role
        declared = declared or getattr(fn, "openapi_auth", None)
        fn = getattr(fn, "__wrapped__", None)
    return declared or "optional"


class _Components:
    """Shared schemas, filled as models are converted."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def model(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=_REF)
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas[name] = _schema_30(sub)
        return _schema_30(schema)

    def content(self, body: Any) -> dict[str, Any]:
        if isinstance(body, type) and issubclass(body, BaseModel):
            body = {"application/json": body}
        out = {}
        for media, schema in body.items():
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                schema = self.model(schema)
            out[media] = {"schema": schema}
        return out

    def query(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = self.model(model)
        required = set(schema.get("required", []))
        params = []
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            if prop.get("default", ...) is None:  # absent means None: no "null" to send
                prop.pop("default")
                prop.pop("nullable", None)
            description = prop.pop("description", None)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if description:
                param["description"] = description
            params.append(param)
        return params


def _schema_30(schema: Any) -> Any:
    """JSON Schema 2020-12 (as pydantic writes it) in OpenAPI 3.0's dialect."""
    if isinstance(schema, list):
        return [_schema_30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _schema_30(v) for k, v in schema.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out = {**rest[0], **out}
            else:
                out[key] = rest
            out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, strict in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[strict] = out.pop(bound)
            out[bound] = True
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples:
            out["example"] = examples[0]
    if "prefixItems" in out:
        out.pop("prefixItems")
        out.setdefault("items", {})
    if "$ref" in out and len(out) > 1:  # 3.0 ignores a $ref's siblings: keep them beside it
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _responses(view, auth: str) -> dict[str, Any]:
    statuses = getattr(view, "openapi_status", 200)
    statuses = statuses if isinstance(statuses, tuple | list) else (statuses,)
    out: dict[str, Any] = {str(s): {"description": _STATUS_TEXT.get(s, "ok")} for s in statuses}
    if auth in ("member", "instructor"):
        out["401"] = {**_ERROR, "description": "no valid bearer token (or session cookie)"}
    if auth == "instructor":
        out["403"] = {**_ERROR, "description": "instructors only"}
    out["4XX"] = _ERROR
    return out


def build_spec() -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        path, params = _path(rule.rule)
        doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
        auth = auth_of(view)
        query = getattr(view, "openapi_query", None)
        if query is not None:
            params = [*params, *components.query(query)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc,
                "parameters": params,
                "responses": _responses(view, auth),
                "security": _SECURITY[auth],
            }
            if auth == "instructor":
                op["description"] = "Instructors only."
            body = getattr(view, "openapi_body", None)
            if body is not None:
                op["requestBody"] = {"required": True, "content": components.content(body)}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Adventures API",
            "version": "1",
            "description": "Errors are JSON {error, message} with a 4xx status. Send "
            "'Authorization: Bearer <token>' (POST /api/auth/token) where `security` asks.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components.schemas,
        },
        "security": _SECURITY["optional"],
        "paths": paths,
    }


@bp.get("/openapi.json")
def spec():
    """This document: every /api route with its methods, bodies, statuses and auth."""
    return jsonify(build_spec())


spec.openapi_auth = "optional"
