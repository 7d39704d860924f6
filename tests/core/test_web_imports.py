"""The web process never loads nbconvert or the notebook runner (~25-35 MB in every gunicorn
worker): the worker renders each executed notebook's HTML, and the page serves it as stored."""

from __future__ import annotations

import json

from tests.core.process_support import MIGRATE, run_python

HEAVY = ("nbconvert", "nbclient", "graders.notebook.render", "graders.notebook.pipeline")


def test_creating_the_web_app_imports_no_nbconvert(tmp_path):
    done = run_python(
        """
        import sys
        from server import create_app
        create_app(migrations=False)
        import server.routes.exercises, server.jobs
        assert 'nbconvert' not in sys.modules and 'nbclient' not in sys.modules
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_notebook_page_imports_no_nbconvert(tmp_path):
    """A stored page is served, and a row without HTML gets its render queued (once, on the
    real queue: a worker takes it), with nothing heavier than nbformat loaded."""
    assert run_python(MIGRATE, tmp_path).returncode == 0
    done = run_python(
        f"""
        import json, sys
        import nbformat
        from sqlalchemy import select
        from server import create_app
        from server.extensions import db, huey
        from server.models.exercise import Exercise
        from server.models.submission import Submission
        from server.services import accounts
        from server.services.exercises import seed_exercises

        app = create_app({{"WTF_CSRF_ENABLED": False}}, migrations=False)
        nb = nbformat.writes(nbformat.v4.new_notebook()).encode()
        with app.app_context():
            seed_exercises()
            user = accounts.create_user("alice", "correct horse battery")
            exercise = db.session.scalar(select(Exercise).where(Exercise.kind == "notebook"))
            ids = []
            for html in ("<p>stored cells</p>", None):
                sub = Submission(
                    user_id=user.id, exercise_id=exercise.id, exercise_version=1,
                    kind="notebook", notebook=nb, max_score=1, status="graded",
                    executed_notebook=nb, executed_html=html,
                )
                db.session.add(sub)
                db.session.commit()
                ids.append(sub.id)
        client = app.test_client()
        client.post("/login", data={{"username": "alice", "password": "correct horse battery"}})
        stored = client.get(f"/submissions/{{ids[0]}}/notebook").get_data(as_text=True)
        waiting = [client.get(f"/submissions/{{ids[1]}}/notebook") for _ in range(2)]
        print(json.dumps({{
            "heavy": [m for m in {HEAVY!r} if m in sys.modules],
            "stored": "<p>stored cells</p>" in stored,
            "waiting": [r.status_code == 200 and "Preparing" in r.get_data(as_text=True)
                        for r in waiting],
            "queued": huey.pending_count(),
        }}))
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"heavy": [], "stored": True, "waiting": [True, True], "queued": 1}
