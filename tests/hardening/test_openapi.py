"""The OpenAPI document is valid OpenAPI 3.0 and complete: every body (JSON and multipart),
every success status other than 200, who may call, the query parameters and the errors."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from server.routes.hardening import MAX_DB_INT


@pytest.fixture
def spec(client) -> dict:
    res = client.get("/api/openapi.json")
    assert res.status_code == 200
    return res.get_json()


def test_the_document_is_valid_openapi_3_0(spec):
    assert spec["openapi"].startswith("3.0")
    validate(spec)


def _body(spec, path: str, method: str = "post") -> dict:
    return spec["paths"][path][method]["requestBody"]["content"]


def test_request_bodies_are_described(spec):
    for path in ("/api/auth/register", "/api/auth/token"):
        schema = _body(spec, path)["application/json"]["schema"]
        assert {"username", "password"} <= set(schema["properties"]), path
    submit = _body(spec, "/api/exercises/{slug}/submissions")
    assert "answer" in submit["application/json"]["schema"]["properties"]
    notebook = submit["multipart/form-data"]["schema"]["properties"]["notebook"]
    assert notebook == {**notebook, "type": "string", "format": "binary"}
    assert (
        "file"
        in _body(spec, "/api/decks/{deck_id}/import")["multipart/form-data"]["schema"]["properties"]
    )
    assert "text/csv" in _body(spec, "/api/decks/{deck_id}/import")
    quizzes = _body(spec, "/api/quizzes")
    assert {"application/json", "multipart/form-data"} <= set(quizzes)
    imports = _body(spec, "/api/instructor/imports")["multipart/form-data"]["schema"]
    assert {"notebook", "solution", "slug"} <= set(imports["properties"])
    answers = _body(spec, "/api/games/{pin}/answers")["application/json"]["schema"]
    assert {"player_token", "question", "answer"} <= set(answers["properties"])
    assert "application/octet-stream" in _body(spec, "/api/instructor/datasets")


def test_every_json_body_route_has_a_schema(app, spec):
    """A view that reads a body declares it: each POST/PUT under /api has a requestBody,
    except the actions whose body is empty."""
    bodyless = {"start", "next", "reveal", "skip", "end", "lock", "unlock", "regrade"}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("post", "put") and path.rsplit("/", 1)[-1] not in bodyless:
                assert "requestBody" in op, (method, path)


def test_success_statuses_are_documented(spec):
    paths = spec["paths"]
    expect = {
        ("/api/auth/register", "post"): {"201"},
        ("/api/exercises/{slug}/submissions", "post"): {"202"},
        ("/api/games", "post"): {"201"},
        ("/api/games/{pin}/join", "post"): {"201"},
        ("/api/decks", "post"): {"201"},
        ("/api/decks/{deck_id}/next", "get"): {"200", "204"},
        ("/api/decks/{deck_id}/cards", "post"): {"201"},
        ("/api/decks/{deck_id}/import", "post"): {"201"},
        ("/api/quizzes", "post"): {"201"},
        ("/api/instructor/events", "post"): {"201"},
        ("/api/instructor/events/{event_id}", "delete"): {"204"},
        ("/api/instructor/imports", "post"): {"202"},
        ("/api/instructor/exercises/{slug}/regrade", "post"): {"202"},
        ("/api/instructor/datasets", "post"): {"200", "201"},
    }
    if "/api/auth/token" in paths and "delete" in paths["/api/auth/token"]:
        expect[("/api/auth/token", "delete")] = {"204"}
    for (path, method), statuses in expect.items():
        responses = paths[path][method]["responses"]
        documented = {code for code in responses if code[0] == "2"}
        assert documented == statuses, (path, method, documented)
        assert responses["4XX"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message"]


def test_security_says_who_may_call(spec):
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    paths = spec["paths"]
    bearer = [{"bearer": []}]
    assert paths["/api/decks"]["get"]["security"] == bearer
    assert paths["/api/submissions/{submission_id}"]["get"]["security"] == bearer
    instructor = paths["/api/instructor/members"]["get"]
    assert instructor["security"] == bearer and "403" in instructor["responses"]
    assert paths["/api/games/{pin}/start"]["post"]["security"] == bearer
    assert paths["/api/auth/token"]["post"]["security"] == []
    assert {} in paths["/api/exercises"]["get"]["security"]  # anonymous or a member


def test_ids_and_query_parameters_are_bounded(spec):
    param = spec["paths"]["/api/submissions/{submission_id}"]["get"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_DB_INT}
    state = {p["name"]: p for p in spec["paths"]["/api/games/{pin}/state"]["get"]["parameters"]}
    assert state["game"]["in"] == "query" and state["game"]["schema"]["maximum"] == MAX_DB_INT
    kick = _body(spec, "/api/games/{pin}/kick")["application/json"]["schema"]
    assert kick["properties"]["player_id"]["maximum"] == MAX_DB_INT
    browse = {p["name"] for p in spec["paths"]["/api/instructor/submissions"]["get"]["parameters"]}
    assert {"exercise", "member", "status", "limit", "offset"} <= browse
