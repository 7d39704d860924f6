"""Importing a course notebook pair on the instructor's Import page (/instructor/imports).

The fast tests cover what is refused before anything is stored (each with a 4xx and a message
that says what to do), who may import, CSRF, the queue row a remote worker picks up, and the
live status stream. The slow test imports a W1-style pair through the API the page uses: the
worker's job runs the solution in the sandbox, writes exercises/<slug>/ and seeds the catalog,
and a member then finds the new exercise in the list.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import func, select

from graders.datasets import DatasetStore
from server.extensions import db
from server.models.base import utcnow
from server.models.exercise_import import ExerciseImport
from server.models.instructor import AuditLog
from server.services import exercises as exercises_service
from server.services.grading import import_job, import_requests
from tests.conftest import PASSWORD
from tests.notebook.test_nb_import_w1 import BLANK, MEMBER, SOLVED, news_csv

API = "/api/instructor/imports"
PAGE = "/instructor/imports"
SLUG = "c3w1-news"


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def exercises_root(tmp_path, monkeypatch):
    from server import jobs

    root = tmp_path / "exercises"
    root.mkdir()
    monkeypatch.setattr(exercises_service, "EXERCISES_DIR", root)
    monkeypatch.setattr(jobs, "EXERCISES_DIR", root)  # it keeps its own name for the folder
    return root


@pytest.fixture
def app(make_app, store_dir, exercises_root):
    return make_app(DATASETS_DIR=str(store_dir))


@pytest.fixture
def news_in_store(store_dir, tmp_path):
    source = tmp_path / "bbc-text.csv"
    source.write_text(news_csv())
    DatasetStore(store_dir).add(source, name="bbc-text.csv")
    return source


@pytest.fixture
def held(monkeypatch):
    """Jobs stay in the queue (as when the worker is another machine, busy): ids are kept."""
    queued: list[int] = []
    monkeypatch.setattr(import_requests, "enqueue", queued.append)
    return queued


def form(blank: bytes | None = BLANK, solution: bytes | None = SOLVED, **fields) -> dict:
    data = {"slug": SLUG, **fields}
    if blank is not None:
        data["notebook"] = (io.BytesIO(blank), "C3W1_Assignment.ipynb")
    if solution is not None:
        data["solution"] = (io.BytesIO(solution), "C3W1_Solution.ipynb")
    return data


def post(teacher, data: dict):
    return teacher.client.post(
        API,
        data=data,
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {teacher.token}"},
    )


def padded(notebook: bytes, size: int) -> bytes:
    """The notebook with a long markdown cell at the end (as saved outputs make one big)."""
    nb = json.loads(notebook)
    cell = {"cell_type": "markdown", "id": "padding", "metadata": {}, "source": "x" * size}
    nb["cells"].append(cell)
    return json.dumps(nb).encode()


def count_imports(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ExerciseImport.id)))


# ---- refused before anything is stored ------------------------------------------------------


def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(
    app, teacher, news_in_store, exercises_root
):
    cases = [
        (form(blank=b"%PDF-1.4 not a notebook"), 400, "not_json", "the blank: The file is not"),
        (form(blank=None), 400, "no_notebook", "Choose the notebook"),
        (form(slug="Bad Slug"), 400, "bad_slug", "lowercase letters"),
        (form(slug="x"), 400, "bad_slug", "2-64"),
        (form(time_limit="4"), 400, "bad_limit", "time_limit"),
        (form(solution=None), 400, "blank_without_solution", "pass the solved notebook too"),
        # the pair swapped: this solution has no markers, so as a blank it grades nothing
        (form(blank=SOLVED, solution=BLANK), 400, "no_graded_cells", "in the blank"),
    ]
    lacking = SOLVED.replace(b"def make_label_encoder(", b"def make_encoder(")
    cases.append((form(solution=lacking), 400, "solution_lacks_functions", "make_label_encoder"))
    for data, status, code, words in cases:
        res = post(teacher, data)
        body = res.get_json()
        assert res.status_code == status, (code, body)
        assert body["error"] == code and words in body["message"], body
    assert count_imports(app) == 0
    assert list(exercises_root.iterdir()) == []


def test_too_large_is_413_and_names_the_limit(app, teacher):
    app.config["MAX_IMPORT_NOTEBOOK_BYTES"] = 20_000
    res = post(teacher, form(solution=padded(SOLVED, 30_000)))
    assert res.status_code == 413
    body = res.get_json()
    assert body["error"] == "too_large", body
    assert "C3W1_Solution.ipynb is" in body["message"] and "the limit is 19.5 KB" in body["message"]


def test_a_notebook_over_the_apps_4mb_cap_reaches_the_import_limit(app, teacher):
    """The route lifts the app-wide 4 MB request cap for itself: a 5 MB notebook is read (and
    refused here for being blank alone), not cut off with a bare 413."""
    nb = json.loads(BLANK)
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (5 * 1024 * 1024)})
    res = post(teacher, form(blank=json.dumps(nb).encode(), solution=None))
    assert res.status_code == 400, res.get_data(as_text=True)[:300]
    assert res.get_json()["error"] == "blank_without_solution"


def test_an_existing_slug_needs_overwrite(app, teacher, news_in_store, exercises_root, held):
    folder = exercises_root / SLUG
    folder.mkdir()
    (folder / "exercise.yaml").write_text("slug: c3w1-news\n")
    res = post(teacher, form())
    assert res.status_code == 409
    body = res.get_json()
    assert body["error"] == "exists" and "Overwrite" in body["message"]
    assert (folder / "exercise.yaml").read_text() == "slug: c3w1-news\n"  # untouched
    assert count_imports(app) == 0

    res = post(teacher, form(force="1"))
    assert res.status_code == 202, res.get_json()
    assert res.get_json()["force"] is True and held == [res.get_json()["id"]]

    # a second import of the same slug while the first waits: refused, not queued twice
    res = post(teacher, form(force="1"))
    assert res.status_code == 409 and res.get_json()["error"] == "busy"


def test_a_catalog_row_also_makes_the_slug_taken(app, teacher, news_in_store):
    from tests.instructor.conftest import add_exercise

    add_exercise(app, SLUG, kind="notebook")
    res = post(teacher, form())
    assert res.status_code == 409
    assert "the catalog already has an exercise 'c3w1-news'" in res.get_json()["message"]


def test_a_dataset_the_store_lacks_is_named_with_its_command_and_the_page(app, teacher, held):
    res = post(teacher, form())
    assert res.status_code == 400
    body = res.get_json()
    assert body["error"] == "missing_datasets"
    assert "bbc-text.csv" in body["message"]
    assert "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv" in body["message"]
    assert body["datasets_url"] == "/instructor/datasets"
    assert body["datasets"] == [
        {
            "name": "bbc-text.csv",
            "urls": [],
            "paths": [],
            "in_store": False,
            "command": "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv",
        }
    ]
    # the importer's notes come with it: the header typo it fixed
    assert any("make_vectoriser" in n for n in body["notes"]), body["notes"]
    assert count_imports(app) == 0

    # 'Not datasets' drops a guessed name: the request then goes through
    res = post(teacher, form(ignore="bbc-text.csv"))
    assert res.status_code == 202 and res.get_json()["ignored"] == ["bbc-text.csv"]
    assert held == [res.get_json()["id"]]


# ---- who may import ---------------------------------------------------------------------------


def test_members_get_403_and_visitors_go_to_log_in(app, api, client, teacher):
    member = api("moe")
    res = post(member, form())
    assert res.status_code == 403 and res.get_json()["error"] == "forbidden"
    assert client.get(PAGE).status_code == 302
    assert "/login" in client.get(PAGE).headers["Location"]
    res = client.post(PAGE, data=form(), content_type="multipart/form-data")
    assert res.status_code == 302 and "/login" in res.headers["Location"]
    assert client.post(API, data=form(), content_type="multipart/form-data").status_code == 401
    assert count_imports(app) == 0


def test_page_form_needs_its_csrf_token_and_keeps_the_fields_on_a_refusal(
    make_app, store_dir, exercises_root
):
    app = make_app(DATASETS_DIR=str(store_dir), WTF_CSRF_ENABLED=True)
    with app.app_context():
        from server.services import accounts

        accounts.create_user("teach", PASSWORD, role="instructor")
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)
    res = client.post(
        "/login", data={"username": "teach", "password": PASSWORD, "csrf_token": token}
    )
    assert res.status_code in (302, 303)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Import a course notebook</h1>" in html
    assert 'href="/instructor/imports" aria-current="page">Import</a>' in html
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    # no token: refused as every other form is, before anything is read
    res = client.post(PAGE, data=form(), content_type="multipart/form-data")
    assert res.status_code == 400 and "CSRF" in res.get_data(as_text=True)
    # the API the page's script uses: the token in a header
    res = client.post(API, data=form(), content_type="multipart/form-data")
    assert res.status_code == 400 and res.get_json()["error"] == "csrf"

    # with the token: the refusal (the store lacks the data) re-renders the form as it was
    res = client.post(
        PAGE,
        data={**form(ignore="glove.6B.100d.txt", time_limit="300"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert res.status_code == 400
    html = res.get_data(as_text=True)
    assert "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv" in html
    assert 'href="/instructor/datasets">Open the Datasets page' in html
    assert 'value="c3w1-news"' in html and 'value="glove.6B.100d.txt"' in html
    assert 'value="300"' in html
    res = client.post(
        API, data=form(), content_type="multipart/form-data", headers={"X-CSRFToken": token}
    )
    assert res.status_code == 400 and res.get_json()["error"] == "missing_datasets"
    assert count_imports(app) == 0


# ---- the queue row, the worker's job, the live page -------------------------------------------


def test_the_request_is_a_row_a_worker_elsewhere_picks_up(
    app, teacher, news_in_store, store_dir, exercises_root, held, sse, login, people
):
    res = post(teacher, form())
    assert res.status_code == 202, res.get_json()
    doc = res.get_json()
    assert doc["status"] == "queued" and doc["url"] == f"/instructor/imports/{doc['id']}"
    assert doc["functions"] == ["read_news", "clean_sentence", "make_vectorizer",
                                "make_label_encoder"]  # fmt: skip
    assert held == [doc["id"]]
    with app.app_context():
        row = db.session.get(ExerciseImport, doc["id"])
        assert row.blank == BLANK and row.solution == SOLVED  # all a remote worker needs
        assert row.blank_name == "C3W1_Assignment.ipynb" and row.requester.username == "teach2"
        audit = db.session.scalars(select(AuditLog)).all()
        assert [(a.action, a.target_id, a.detail["slug"]) for a in audit] == [
            ("exercise_import", doc["id"], SLUG)
        ]

    # the page, reloaded while it waits
    pages = login("teach")
    html = pages.get(doc["url"]).get_data(as_text=True)
    assert "Waiting for a grading worker" in html and 'data-finished="false"' in html
    listing = pages.get(PAGE).get_data(as_text=True)
    assert f'href="{doc["url"]}">#{doc["id"]}</a>' in listing

    # the store loses the file before the worker runs: the worker refuses, nothing written
    reader = sse(pages, doc["events_url"])
    first = reader.next("status").data
    assert first["status"] == "queued" and first["finished"] is False
    shutil.rmtree(DatasetStore(store_dir).root)
    with app.app_context():
        import_job.run_job(doc["id"])
    running = reader.next("status").data
    assert running["status"] == "running" and running["attempts"] == 1
    final = reader.next("status").data
    while not final["finished"]:
        final = reader.next("status").data
    assert final["status"] == "failed" and "bbc-text.csv" in final["error"]
    assert final["datasets_url"] == "/instructor/datasets" and final["exercise_url"] is None
    assert not (exercises_root / SLUG).exists()

    # a retried job is harmless; the outcome survives a reload
    with app.app_context():
        import_job.run_job(doc["id"])
    again = teacher.get(f"{API}/{doc['id']}").get_json()
    assert again["status"] == "failed" and again["attempts"] == 1
    html = pages.get(doc["url"]).get_data(as_text=True)
    assert 'data-finished="true"' in html and "Open the Datasets page" in html
    assert "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv" in html


def test_a_dead_workers_import_is_queued_again_once_then_failed(app, teacher, news_in_store, held):
    doc = post(teacher, form()).get_json()
    with app.app_context():
        row = db.session.get(ExerciseImport, doc["id"])
        row.status, row.started_at, row.attempts = "running", utcnow() - timedelta(hours=1), 1
        db.session.commit()
        assert import_requests.requeue_stale() == [doc["id"]]
        assert import_requests.requeue_stale() == []  # queued just now: not twice
        row = db.session.get(ExerciseImport, doc["id"])
        assert row.status == "queued"
        row.status, row.started_at, row.attempts = "running", utcnow() - timedelta(hours=1), 2
        db.session.commit()
        assert import_requests.requeue_stale() == []
        row = db.session.get(ExerciseImport, doc["id"])
        assert row.status == "failed" and "stopped during the import twice" in row.error
    assert held == [doc["id"], doc["id"]]


def test_unknown_imports_and_hostile_fields_get_a_4xx(
    app, teacher, login, people, news_in_store, held
):
    huge = "9" * 25
    for import_id in ("999", huge):
        assert teacher.get(f"{API}/{import_id}").status_code == 404
        assert teacher.get(f"{API}/{import_id}/events").status_code == 404
        assert login("teach").get(f"{PAGE}/{import_id}").status_code == 404
    res = post(teacher, form(slug="c3w1\x00news"))
    assert res.status_code == 400 and res.get_json()["error"] == "bad_slug"
    res = post(teacher, form(time_limit="1\x00"))
    assert res.status_code == 400 and res.get_json()["error"] == "bad_limit"
    data = form(ignore="glove\x00 x, y")
    data["notebook"] = (io.BytesIO(BLANK), "../../C3W1\x01Assignment.ipynb")
    res = post(teacher, data)
    assert res.status_code == 202, res.get_json()
    doc = res.get_json()
    assert doc["blank_name"] == "C3W1Assignment.ipynb"
    assert doc["ignored"] == ["glove", "x", "y"]


# ---- the whole import, through the page's API --------------------------------------------------


@pytest.fixture
def worker_sandbox(monkeypatch):
    """The worker's sandbox pool (its own uids, so it never meets another test's kernels);
    its state folder sits in /tmp, which the sandbox's uids can traverse."""
    import tempfile
    from pathlib import Path

    from graders.notebook import SandboxConfig, SandboxPool, sandbox

    state = Path(tempfile.mkdtemp(prefix="adventures-import-sandbox-"))
    pool = SandboxPool(SandboxConfig(state_dir=state, uid_base=62600), slots=1)
    monkeypatch.setattr(sandbox, "default_pool", lambda: pool)
    yield pool
    pool.close()
    shutil.rmtree(state, ignore_errors=True)


@pytest.mark.slow
def test_import_on_the_page_then_members_see_the_exercise(
    app,
    teacher,
    news_in_store,
    store_dir,
    exercises_root,
    worker_sandbox,
    login,
    people,
    monkeypatch,
):
    res = post(teacher, form())
    assert res.status_code == 202, res.get_json()
    doc = res.get_json()  # the job ran inline, as a worker runs it
    assert doc["status"] == "done", doc["error"]
    assert doc["seeded"] == "added" and doc["attempts"] == 1
    assert [c["name"] for c in doc["checks"]] == [
        "read_news: as the notebook calls it (1)",
        "clean_sentence: as the notebook calls it (1)",
        "clean_sentence: as the notebook calls it (2)",
        "make_vectorizer: as the notebook calls it (1)",
        "make_label_encoder: as the notebook calls it (1)",
    ]
    assert doc["written"] == [
        f"exercises/{SLUG}/starter.ipynb",
        f"exercises/{SLUG}/solution.ipynb",
        f"exercises/{SLUG}/exercise.yaml",
    ]
    assert doc["datasets"][0]["in_store"] is True
    assert any("make_vectoriser" in n for n in doc["notes"])
    assert doc["exercise_url"] == f"/exercises/{SLUG}"
    folder = exercises_root / SLUG
    assert sorted(p.name for p in folder.iterdir()) == [
        "exercise.yaml",
        "solution.ipynb",
        "starter.ipynb",
    ]
    spec = yaml.safe_load(doc["spec_yaml"])
    assert spec["notebook"]["datasets"] == [{"name": "bbc-text.csv"}]
    assert spec["notebook"]["solution"] == "solution.ipynb" and spec["points"] == 5

    # the instructor's page for it, after a reload
    pages = login("teach")
    html = pages.get(doc["url"]).get_data(as_text=True)
    assert "Imported: 5 checks recorded; added to the catalog." in html
    assert "make_label_encoder: as the notebook calls it (1)" in html

    # a member sees it, opens it and downloads its starter
    member = login("ann")
    listing = member.get("/exercises").get_data(as_text=True)
    assert f'href="/exercises/{SLUG}"' in listing
    assert "News categories, week 1 style" in listing
    assert member.get(f"/exercises/{SLUG}").status_code == 200
    starter = member.get(f"/exercises/{SLUG}/starter.ipynb")
    assert starter.status_code == 200
    assert b"# GRADED FUNCTION: make_vectorizer" in starter.data

    # ... and submits its own solution of the blank: graded with the recorded checks, full marks
    # (server.jobs finds the store through server.config.datasets_dir(), the environment)
    monkeypatch.setenv("ADVENTURES_DATASETS", str(store_dir))
    res = member.post(
        f"/exercises/{SLUG}",
        data={"notebook": (io.BytesIO(MEMBER), "mine.ipynb")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    sub_id = int(res.headers["Location"].rsplit("/", 1)[1])
    result = member.get(f"/api/submissions/{sub_id}").get_json()
    assert result["status"] == "graded", result
    assert (result["score"], result["max_score"]) == (5, 5), result["tests"]

    # the same slug again: refused without Overwrite, and the folder is as it was
    before = (folder / "exercise.yaml").read_text()
    res = post(teacher, form())
    assert res.status_code == 409 and res.get_json()["error"] == "exists"
    assert (folder / "exercise.yaml").read_text() == before


# ---- in Chromium ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_in_chromium_refuses_keeps_the_form_then_follows_the_worker(
    make_app, store_dir, exercises_root, worker_sandbox, held, tmp_path
):
    """CSRF on, as in production. The job stays queued until the test plays the worker, so the
    page is seen waiting, running the solution, and done, without a reload by hand."""
    import threading

    from server.services import accounts
    from tests.browser_support import chromium, live_server, screenshot

    app = make_app(WTF_CSRF_ENABLED=True, DATASETS_DIR=str(store_dir))
    with app.app_context():
        accounts.create_user("teach", PASSWORD, role="instructor")
    blank, solved = tmp_path / "C3W1_Assignment.ipynb", tmp_path / "C3W1_Solution.ipynb"
    blank.write_bytes(BLANK)
    solved.write_bytes(SOLVED)

    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "teach")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.goto(f"{base}/instructor")
        page.click("nav.subnav >> text=Import")
        assert page.inner_text("h1") == "Import a course notebook"

        page.set_input_files("#import-notebook", str(blank))
        page.set_input_files("#import-solution", str(solved))
        page.fill("#import-slug", SLUG)
        page.click("#import-submit")
        page.wait_for_selector("#import-missing")
        status = page.inner_text("#import-status")
        assert "adventures data add PATH/TO/bbc-text.csv --name bbc-text.csv" in status, status
        assert page.get_attribute("#import-status a", "href") == "/instructor/datasets"
        # nothing lost: the fields and chosen files are as they were
        assert page.input_value("#import-slug") == SLUG
        assert page.eval_on_selector("#import-notebook", "i => i.files[0].name") == blank.name
        assert page.eval_on_selector("#import-solution", "i => i.files[0].name") == solved.name
        screenshot(page, "instructor-import-refused")

        source = tmp_path / "bbc-text.csv"
        source.write_text(news_csv())
        DatasetStore(store_dir).add(source, name="bbc-text.csv")
        page.click("#import-submit")
        page.wait_for_url(re.compile(r".*/instructor/imports/\d+$"))
        assert page.inner_text("#import-badge") == "queued"
        assert held and page.url.endswith(f"/instructor/imports/{held[0]}")

        def worker() -> None:
            with app.app_context():
                import_job.run_job(held[0])

        thread = threading.Thread(target=worker)
        thread.start()
        page.wait_for_function(
            "() => document.getElementById('import-phase').textContent.includes('sandbox')",
            timeout=30_000,
        )
        assert page.inner_text("#import-badge") == "running"
        page.wait_for_selector("#import-outcome.success", timeout=120_000)
        thread.join(timeout=60)
        outcome = page.inner_text("#import-outcome")
        assert "Imported: 5 checks recorded" in outcome, outcome
        assert "make_vectorizer: as the notebook calls it (1)" in page.inner_text("#import-checks")
        screenshot(page, "instructor-import-done")
        page.click("#import-outcome >> text=Open it as members see it")
        page.wait_for_url(f"**/exercises/{SLUG}")
    assert (exercises_root / SLUG / "exercise.yaml").exists()
