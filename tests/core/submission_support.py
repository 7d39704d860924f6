"""A notebook submission arranged in the database, and the grade that lands on it later.

The submission-page tests need a queued row and a result with known checks, hints and an
executed notebook; grading a real notebook would take a sandbox and minutes.
"""

from __future__ import annotations

import base64
import struct
import zlib

import nbformat
from sqlalchemy import select

from graders.notebook.pipeline import _summary
from graders.notebook.result import TestResult
from graders.notebook.scoring import NONE_HINT, points_of
from graders.spec import ExerciseSpec
from server.extensions import db
from server.models.exercise import Exercise
from server.models.submission import Submission
from server.services.grading import rendering, results

SLUG = "c3w1-tokenizer"


def _png(width: int = 240, height: int = 120) -> str:
    """A small RGB PNG (a blue-to-orange gradient), base64, as a plotting cell's output."""
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in (x % 256, 90, 255 - x % 256))
        for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    return base64.b64encode(png + chunk(b"IEND", b"")).decode()


PNG = _png()
PWNED = "window.__pwned = 1"


def queued_submission(app, user_id: int) -> int:
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        sub = Submission(
            user_id=user_id,
            exercise_id=exercise.id,
            exercise_version=exercise.version,
            kind="notebook",
            notebook=b"{}",
            max_score=exercise.points,
            status="queued",
        )
        db.session.add(sub)
        db.session.commit()
        return sub.id


def spec_checks(app) -> list:
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        return ExerciseSpec.model_validate(exercise.spec).notebook.checks


def starter_result(app) -> dict:
    """What the starter notebook gets: every check fails with the same None hint."""
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == SLUG))
        spec = ExerciseSpec.model_validate(exercise.spec)
    shares = points_of(spec)
    tests = []
    for i, c in enumerate(spec.notebook.checks):
        lines = ["Called it.", "Not the expected result.", f"Hint: {NONE_HINT}"]
        if i == 0:
            lines.append("Hint: only this check says this.")
        tests.append(
            TestResult(c.name, 0.0, shares[c.name], "failed", "\n".join(lines), c.visibility)
        )
    return {
        "score": 0.0,
        "max_score": spec.points,
        "execution_time": 1.0,
        "output": _summary(tests, 0.0, spec.points),
        "tests": [t.to_dict() for t in tests],
        "status": "graded",
    }


def executed_notebook(*, hostile: bool = False) -> bytes:
    """Markdown (a heading, raw HTML), code with a printed line, a result and a PNG figure."""
    v4 = nbformat.v4
    md = v4.new_markdown_cell(
        "# Week 1: tokenize\n\nSome `code` and **bold**.\n\n<p>Expected output:</p>"
    )
    code = v4.new_code_cell("print('hello')\nlen(word_index)", execution_count=1)
    code.outputs = [
        v4.new_output("stream", name="stdout", text="hello from the member\n"),
        v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
        v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
    ]
    wide = v4.new_code_cell("x = '" + "a" * 400 + "'", execution_count=2)
    cells = [md, code, wide]
    if hostile:
        bad = v4.new_code_cell("display(HTML(...))", execution_count=3)
        bad.outputs = [
            v4.new_output(
                "display_data",
                data={
                    "text/html": f'<b>bold</b><script>{PWNED}</script><img src="x" '
                    f'onerror="{PWNED}"><svg onload="{PWNED}"></svg>',
                    "text/plain": "html",
                },
            ),
            v4.new_output("display_data", data={"application/javascript": PWNED}),
            v4.new_output(
                "display_data",
                data={"image/png": PNG},
                metadata={"image/png": {"width": f"1 onload={PWNED}"}},
            ),
        ]
        cells += [v4.new_markdown_cell(f"<script>{PWNED}</script>\n\n<p onclick='x'>hi</p>"), bad]
    return nbformat.writes(v4.new_notebook(cells=cells)).encode()


def grade(app, sub_id: int, result: dict, notebook: bytes | None = None) -> None:
    """Record the result as a worker does: stored with the notebook's HTML (rendered as
    server.jobs renders it), then published to the page's stream."""
    html = None
    if notebook is not None:
        html = rendering.cells_html(nbformat.reads(notebook.decode(), as_version=4))
    with app.app_context():
        results.record_result(
            sub_id, result, executed_notebook=notebook, executed_html=html, device="cpu"
        )


def forget_html(app, sub_id: int) -> None:
    """Make it a row graded before workers stored the notebook's HTML."""
    with app.app_context():
        sub = db.session.get(Submission, sub_id)
        sub.executed_html = None
        db.session.commit()


def stored_html(app, sub_id: int) -> str | None:
    with app.app_context():
        return db.session.get(Submission, sub_id).executed_html
