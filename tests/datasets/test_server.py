"""`adventures data` and the instructor's Datasets page and upload API."""

from __future__ import annotations

import io
import json
import tarfile
import tracemalloc

import pytest

from graders.datasets import DatasetStore
from server.cli import main
from server.services import exercises as exercises_service
from tests.datasets.test_store import make_spec, tfds_folder, write_exercise

UPLOAD = "/api/instructor/datasets"


@pytest.fixture
def store_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def app(make_app, store_dir, tmp_path, monkeypatch):
    """The test app on a private store; exercises read from a private folder."""
    root = tmp_path / "exercises"
    write_exercise(root, make_spec("ex-glove", [{"name": "glove"}]))
    write_exercise(root, make_spec("ex-missing", [{"name": "training_cleaned.csv"}]))
    monkeypatch.setattr(exercises_service, "EXERCISES_DIR", root)
    return make_app(DATASETS_DIR=str(store_dir), MAX_DATASET_BYTES=64 * 1024 * 1024)


# --- the command line ---------------------------------------------------------------------


def test_data_add_list_show(runner, store_dir, tmp_path):
    src = tmp_path / "glove.6B.100d.txt"
    src.write_text("the 0.1 0.2\n")
    res = runner.invoke(
        main, ["data", "add", str(src), "--name", "glove", "--url", "https://example.org/g.txt"]
    )
    assert res.exit_code == 0, res.output
    assert "added 'glove' version 1 (file, 1 file" in res.output
    assert "used by: ex-glove" in res.output
    assert DatasetStore(store_dir).get("glove").urls == ["https://example.org/g.txt"]

    res = runner.invoke(main, ["data", "add", str(src), "--name", "glove"])
    assert res.exit_code == 0 and "unchanged 'glove' version 1" in res.output

    tfds_folder(tmp_path / "tensorflow_datasets")
    res = runner.invoke(main, ["data", "add", str(tmp_path / "tensorflow_datasets")])
    assert res.exit_code == 0, res.output
    assert "TFDS data_dir: ./data/tensorflow_datasets" in res.output

    res = runner.invoke(main, ["data", "list"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert any(
        line.startswith("glove  v1  file  1 file(s)") and "used by ex-glove" in line
        for line in lines
    )
    assert any(line.startswith("tensorflow_datasets  v1  dir tfds  3 file(s)") for line in lines)
    assert "MISSING training_cleaned.csv  used by ex-missing" in lines
    assert "    https://example.org/g.txt" in lines

    rows = json.loads(runner.invoke(main, ["data", "list", "--json"]).output)
    assert {r["name"]: r["missing"] for r in rows} == {
        "glove": False,
        "tensorflow_datasets": False,
        "training_cleaned.csv": True,
    }

    res = runner.invoke(main, ["data", "show", "tensorflow_datasets"])
    assert res.exit_code == 0, res.output
    assert "imdb_reviews/plain_text/1.0.0/dataset_info.json" in res.output
    assert "version 1:" in res.output
    doc = json.loads(runner.invoke(main, ["data", "show", "glove", "--json"]).output)
    assert doc["used_by"] == ["ex-glove"] and [v["version"] for v in doc["versions"]] == [1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["data", "add", "/no/such/file.csv"], "no such file or folder: /no/such/file.csv"),
        (["data", "add", "{src}", "--name", "bad name"], "bad dataset name 'bad name'"),
        (["data", "add", "{src}", "--url", "not a url"], "bad URL 'not a url'"),
        (["data", "add", "{src}", "--tfds"], "--tfds needs a folder"),
        (["data", "add", "{src}", "--unpack"], "unpack takes .zip"),
        (["data", "show", "nothing"], "no dataset 'nothing'"),
    ],
)
def test_data_cli_errors_exit_non_zero(runner, tmp_path, args, message):
    src = tmp_path / "a.csv"
    src.write_text("x")
    res = runner.invoke(main, [a.replace("{src}", str(src)) for a in args])
    assert res.exit_code == 1, res.output
    assert "Error: " in res.output and message in res.output


# --- the upload API -----------------------------------------------------------------------


def test_upload_is_for_instructors_only(app, api, client, store_dir):
    res = client.post(
        f"{UPLOAD}?filename=a.csv", data=b"x", content_type="application/octet-stream"
    )
    assert res.status_code == 401
    member = api("moe")
    res = member.post(
        f"{UPLOAD}?filename=a.csv", data=b"x", content_type="application/octet-stream"
    )
    assert res.status_code == 403 and res.get_json()["error"] == "forbidden"
    assert member.get(UPLOAD).status_code == 403
    assert DatasetStore(store_dir).all() == []


def test_instructor_uploads_a_file(app, api, store_dir):
    teacher = api("teach", role="instructor")
    body = b"is_sarcastic,headline\n" * 500
    url = f"{UPLOAD}?filename=sarcasm.json&url=https://example.org/sarcasm.json"
    res = teacher.post(url, data=body, content_type="application/octet-stream")
    assert res.status_code == 201, res.get_json()
    doc = res.get_json()
    assert doc["created"] and doc["dataset"]["name"] == "sarcasm.json"
    assert doc["dataset"]["size"] == len(body) and doc["dataset"]["urls"] == [
        "https://example.org/sarcasm.json"
    ]
    store = DatasetStore(store_dir)
    (entry,) = store.get("sarcasm.json").files.values()
    assert store.blob(entry.sha256).read_bytes() == body

    again = teacher.post(url, data=body, content_type="application/octet-stream")
    assert again.status_code == 200 and not again.get_json()["created"]

    named = teacher.post(f"{UPLOAD}?filename=g.txt&name=glove", data=b"the 1\n")
    assert named.status_code == 201 and named.get_json()["dataset"]["used_by"] == ["ex-glove"]

    listing = teacher.get(UPLOAD).get_json()["datasets"]
    assert {d["name"] for d in listing} == {"sarcasm.json", "glove", "training_cleaned.csv"}
    shown = teacher.get(f"{UPLOAD}/glove").get_json()
    assert shown["version"] == 1 and shown["used_by"] == ["ex-glove"]
    assert teacher.get(f"{UPLOAD}/nothing").status_code == 404

    bad = teacher.post(f"{UPLOAD}?filename=x.csv&name=../x", data=b"x")
    assert bad.status_code == 400 and "bad dataset name" in bad.get_json()["message"]
    assert teacher.post(f"{UPLOAD}?filename=x.csv", data=b"").get_json()["error"] == "empty"
    assert teacher.post(UPLOAD, json={}).status_code == 400
    assert list(store.tmp.iterdir()) == []


def test_an_archive_unpacks_into_a_tfds_folder(app, api, store_dir, tmp_path):
    teacher = api("teach", role="instructor")
    tfds_folder(tmp_path / "tensorflow_datasets")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "tensorflow_datasets", arcname="tensorflow_datasets")
    res = teacher.post(f"{UPLOAD}?filename=tfds.tar.gz&unpack=1", data=buffer.getvalue())
    assert res.status_code == 201, res.get_json()
    dataset = res.get_json()["dataset"]
    assert dataset["name"] == "tensorflow_datasets" and dataset["kind"] == "dir"
    assert dataset["tfds"] and dataset["file_count"] == 3
    assert list(DatasetStore(store_dir).tmp.iterdir()) == []


def test_oversized_uploads_get_413_and_leave_nothing(
    make_app, api, store_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(exercises_service, "EXERCISES_DIR", tmp_path / "none")
    app = make_app(DATASETS_DIR=str(store_dir), MAX_DATASET_BYTES=1000)
    api_client = app.test_client()
    from server.services import accounts

    with app.app_context():
        accounts.create_user("teach", "correct horse battery", role="instructor")
    token = api_client.post(
        "/api/auth/token", json={"username": "teach", "password": "correct horse battery"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    res = api_client.post(f"{UPLOAD}?filename=big.bin", data=b"x" * 2000, headers=headers)
    assert res.status_code == 413 and res.get_json()["error"] == "too_large"
    assert "the limit is 1000 B" in res.get_json()["message"]

    # no Content-Length (chunked): cut off while streaming, at the limit
    res = api_client.post(
        f"{UPLOAD}?filename=big.bin",
        input_stream=io.BytesIO(b"x" * 5000),
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert res.status_code == 413, res.get_data(as_text=True)
    store = DatasetStore(store_dir)
    assert store.all() == [] and list(store.tmp.iterdir()) == []
    assert not store.objects.exists() or list(store.objects.iterdir()) == []


class Zeros(io.RawIOBase):
    """size bytes of zeros, produced as they are read (the test holds none of them)."""

    def __init__(self, size: int) -> None:
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self.pos))
        buffer[:n] = bytes(n)
        self.pos += n
        return n


def test_upload_streams_to_disk(app, api, store_dir):
    """A 48 MB upload peaks far below its size in Python memory."""
    teacher = api("teach", role="instructor")
    size = 48 * 1024 * 1024
    tracemalloc.start()
    try:
        res = teacher.post(
            f"{UPLOAD}?filename=zeros.bin",
            input_stream=Zeros(size),
            content_length=size,
            content_type="application/octet-stream",
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["dataset"]["size"] == size
    assert peak < 8 * 1024 * 1024, peak


# --- the page -----------------------------------------------------------------------------


def test_the_datasets_page(app, auth, make_user, client, store_dir, tmp_path):
    src = tmp_path / "glove.txt"
    src.write_text("the 1\n")
    DatasetStore(store_dir).add(src, name="glove", urls=["https://example.org/glove.txt"])
    make_user("moe")
    auth.login("moe")
    assert client.get("/instructor/datasets").status_code == 403
    auth.logout()
    make_user("teach", role="instructor")
    auth.login("teach")
    page = client.get("/instructor/datasets")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # A URL may break after its slashes (<wbr>), which adds no characters to it.
    assert "<strong>glove</strong>" in html
    assert "<code>https://example.org/glove.txt</code>" in html.replace("<wbr>", "")
    assert "training_cleaned.csv" in html and "missing" in html
    assert 'data-endpoint="/api/instructor/datasets"' in html
    assert "js/datasets.js" in html and 'id="dataset-bar"' in html
    assert 'href="/instructor/datasets"' in client.get("/instructor").get_data(as_text=True)


def test_a_new_dataset_version_is_a_new_exercise_version(app, store_dir, tmp_path):
    from server.extensions import db
    from server.models.exercise import Exercise
    from server.services.exercises import seed_exercises

    root = exercises_service.EXERCISES_DIR
    src = tmp_path / "glove.txt"
    src.write_text("the 1\n")
    store = DatasetStore(store_dir)
    with app.app_context():

        def version() -> int:
            return db.session.query(Exercise).filter_by(slug="ex-glove").one().version

        seed_exercises(root)
        assert version() == 1
        store.add(src, name="glove")
        seed_exercises(root)
        assert version() == 2
        store.add(src, name="glove", urls=["https://example.org/glove.txt"])  # same bytes
        seed_exercises(root)
        assert version() == 2
        src.write_text("the 2\n")
        store.add(src, name="glove")
        seed_exercises(root)
        assert version() == 3
