"""Schemathesis against the WSGI app: every documented /api operation gets generated requests,
valid and invalid, as a member, an instructor or anonymously (as its `security` says), and
fails on any 5xx, an undocumented status, a wrong content type or a response that breaks its
schema. Seeded (derandomized) and bounded, so it runs in `make test` on SQLite and PostgreSQL.

The counts of cases are printed in pytest's summary ("schemathesis: N cases ...").
Not run: the Server-Sent Events streams (they stream until their subject finishes) and the
token revocations (they would revoke the tokens the run uses; tests/core covers them).
"""

from __future__ import annotations

import os
import re
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from server.extensions import db
from server.models.user import User

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))  # per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SKIPPED = {
    ("DELETE", "/api/auth/token"),
    ("DELETE", "/api/auth/tokens/{token_id}"),
}
COUNTS: Counter = Counter()  # printed when the module is done (_report_counts)


def _skipped(method: str, path: str, op_spec: dict) -> bool:
    streams = op_spec["summary"].startswith("Server-Sent Events")  # every stream's docstring
    return streams or (method, path) in SKIPPED


def _headers_for(security: list, world, turn: int) -> dict[str, str]:
    """The bearer token an operation asks for; anonymous and member in turn where optional."""
    if security == []:
        return {}
    if {} in security and turn % 2:
        return {}
    return {"Authorization": f"Bearer {world.member.token}"}


def _restore_roles(world) -> None:
    """Role changes are fair game for the fuzzer; put the two accounts back after each."""
    with world.app.app_context():
        for name, role in (("ann", "member"), ("teach", "instructor")):
            db.session.execute(update(User).where(User.username == name).values(role=role))
        db.session.commit()


def _known_ids(world, path: str) -> dict | None:
    """Path parameters naming this world's exercise, game, deck, card and submission (so the
    generated bodies reach the services), or None when the path names something else."""
    names = re.findall(r"{(\w+)}", path)
    if not names or not set(names) <= set(world.ids):
        return None
    ids = {name: world.ids[name] for name in names}
    if path.startswith("/api/quizzes/"):
        ids["slug"] = "mini-game"
    return ids


def _runner(world, operation, mode: GenerationMode, op_spec: dict, known: dict | None = None):
    """A seeded Hypothesis test of one operation in one generation mode (with `known` path
    parameters, else generated ones)."""
    instructor = op_spec.get("description") == "Instructors only."
    turn = Counter()
    label = f"{mode.value}{' known ids' if known else ''}"
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=known)

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        turn["n"] += 1
        headers = _headers_for(op_spec.get("security", [{}]), world, turn["n"])
        if instructor and headers:
            headers = {"Authorization": f"Bearer {world.teacher.token}"}
        COUNTS[f"cases {label}"] += 1
        response = case.call(headers=headers)
        COUNTS[f"status {response.status_code // 100}xx"] += 1
        if operation.path.endswith("/role"):
            _restore_roles(world)
        case.validate_response(response, checks=CHECKS, headers=headers)

    return run


def test_the_api_survives_generated_requests(world):
    spec = world.client.get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", world.app)
    COUNTS["database " + world.app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]] += 1
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        op_spec = spec["paths"][path][method.lower()]
        if _skipped(method, path, op_spec):
            COUNTS["operations skipped"] += 1
            continue
        COUNTS["operations"] += 1
        known = _known_ids(world, path)
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if known:
            runs.append((GenerationMode.POSITIVE, known))
        for mode, ids in runs:
            try:
                _runner(world, operation, mode, op_spec, ids)()
            except Unsatisfiable:  # nothing in it can be made invalid (no parameters, no body)
                COUNTS[f"operations with no {mode.value} cases"] += 1
            except FailureGroup as exc:  # every operation runs; all their failures are listed
                failures.append(f"{method} {path} ({mode.value}, ids {ids}): {exc}")
    assert COUNTS["operations"] >= 60, COUNTS
    assert not failures, "\n\n".join(failures)


@pytest.fixture(autouse=True, scope="module")
def _report_counts(request):
    """Print the counts (cases per mode, statuses, operations) once the run is over."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if COUNTS and reporter is not None and capture is not None:
        summary = ", ".join(f"{k}={v}" for k, v in sorted(COUNTS.items()))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nschemathesis: {summary}")
