"""An instructor uploads a dataset on the Datasets page in Chromium: the progress bar fills, the
row appears, and the bytes land in the store (CSRF on, as in production)."""

from __future__ import annotations

import pytest

from graders.datasets import DatasetStore
from server.services import accounts
from server.services import exercises as exercises_service
from tests.browser_support import chromium, live_server, screenshot
from tests.conftest import PASSWORD
from tests.datasets.test_store import make_spec, write_exercise

pytestmark = pytest.mark.browser


def test_instructor_uploads_with_a_progress_bar(make_app, tmp_path, monkeypatch):
    root = tmp_path / "exercises"
    write_exercise(root, make_spec("ex-lyrics", [{"name": "irish-lyrics-eof.txt"}]))
    monkeypatch.setattr(exercises_service, "EXERCISES_DIR", root)
    store_dir = tmp_path / "store"
    app = make_app(WTF_CSRF_ENABLED=True, DATASETS_DIR=str(store_dir), MAX_DATASET_BYTES=8 << 20)
    with app.app_context():
        accounts.create_user("teach", PASSWORD, role="instructor")
    upload = tmp_path / "irish-lyrics-eof.txt"
    upload.write_bytes(b"come all ye maidens young and fair\n" * 60_000)  # about 2 MB
    too_big = tmp_path / "huge.bin"
    with too_big.open("wb") as out:
        out.truncate(9 << 20)

    with live_server(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "teach")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.goto(f"{base}/instructor/datasets")
        assert page.inner_text("h1") == "Datasets"
        assert "missing" in page.inner_text("#dataset-table")

        # too big: refused in the page, before any byte is sent
        page.set_input_files("#dataset-file", str(too_big))
        page.click("#dataset-submit")
        page.wait_for_selector("#dataset-status.error")
        assert "the limit is 8.0 MB" in page.inner_text("#dataset-status")

        page.set_input_files("#dataset-file", str(upload))
        page.fill("#dataset-urls", "https://storage.example.com/course3/irish-lyrics-eof.txt")
        page.click("#dataset-submit")
        page.wait_for_function(
            "() => document.getElementById('dataset-status').textContent.startsWith('Added')"
        )
        status = page.inner_text("#dataset-status")
        assert "Added 'irish-lyrics-eof.txt' version 1" in status, status
        bar = page.eval_on_selector("#dataset-bar", "b => [b.value, b.max, b.hidden]")
        assert bar[0] == bar[1] == upload.stat().st_size and not bar[2]
        table = page.inner_text("#dataset-table")
        assert "irish-lyrics-eof.txt" in table and "ex-lyrics" in table and "missing" not in table
        screenshot(page, "instructor-datasets")

        # the same file again: no new version, said plainly
        page.set_input_files("#dataset-file", str(upload))
        page.click("#dataset-submit")
        page.wait_for_function(
            "() => document.getElementById('dataset-status').textContent.startsWith('Unchanged')"
        )

    ref = DatasetStore(store_dir).get("irish-lyrics-eof.txt")
    assert ref.version == 1 and ref.size == upload.stat().st_size
    assert ref.urls == ["https://storage.example.com/course3/irish-lyrics-eof.txt"]
