"""The dataset store (graders/datasets.py): adding, versions, the per-exercise view, hashing once."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from graders import catalog, datasets
from graders.datasets import (
    MANIFEST,
    DatasetError,
    DatasetMissing,
    DatasetStore,
    DatasetTooLarge,
    data_view,
    exercise_views,
)
from graders.spec import ExerciseSpec


def make_spec(slug: str = "ex-data", uses: list[dict] | None = None) -> ExerciseSpec:
    return ExerciseSpec.model_validate(
        {
            "slug": slug,
            "title": "Data",
            "kind": "notebook",
            "week": 3,
            "points": 1,
            "prompt": "Read the data.",
            "notebook": {
                "reference": "reference.fake_notebook",
                "checks": [{"name": "one", "function": "f"}],
                "datasets": uses or [],
            },
        }
    )


def write_exercise(root: Path, spec: ExerciseSpec, data: dict[str, bytes] | None = None) -> Path:
    import yaml

    folder = root / spec.slug
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "exercise.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    (folder / "starter.ipynb").write_text('{"cells": []}')
    for rel, content in (data or {}).items():
        (folder / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "data" / rel).write_bytes(content)
    return folder


def tfds_folder(
    root: Path, builder: str = "imdb_reviews", config: str | None = "plain_text"
) -> Path:
    """A TFDS-shaped data_dir: <builder>/<config>/<version>/{dataset_info.json, records}."""
    leaf = root / builder / (config or "") / "1.0.0" if config else root / builder / "1.0.0"
    leaf.mkdir(parents=True)
    (leaf / "dataset_info.json").write_text(json.dumps({"name": builder, "version": "1.0.0"}))
    (leaf / "features.json").write_text("{}")
    (leaf / f"{builder}-train.tfrecord-00000-of-00001").write_bytes(os.urandom(4096))
    return root


@pytest.fixture
def store(tmp_path) -> DatasetStore:
    return DatasetStore(tmp_path / "store")


# --- adding -------------------------------------------------------------------------------


def test_add_a_file_stores_one_read_only_blob_and_a_ref(store, tmp_path):
    src = tmp_path / "glove.6B.100d.txt"
    src.write_bytes(b"the 0.1 0.2\n" * 1000)
    result = store.add(src, urls=["https://nlp.example.org/glove.6B.100d.txt"])
    ref = result.ref
    assert result.created and ref.version == 1 and ref.kind == "file"
    assert ref.name == "glove.6B.100d.txt" and ref.size == 12000
    (entry,) = ref.files.values()
    blob = store.blob(entry.sha256)
    assert blob.read_bytes() == src.read_bytes()
    assert blob.stat().st_mode & 0o777 == 0o444
    doc = json.loads((store.refs / "glove.6B.100d.txt.json").read_text())
    assert doc["urls"] == ["https://nlp.example.org/glove.6B.100d.txt"]
    assert doc["digest"] == ref.digest and doc["tfds"] is False
    assert set(doc) >= {
        "name",
        "version",
        "kind",
        "digest",
        "files",
        "urls",
        "tfds",
        "added_at",
        "size",
    }
    assert (store.root / "versions" / "glove.6B.100d.txt" / "1.json").is_file()
    assert list(store.tmp.iterdir()) == []  # staging cleaned up


def test_readding_the_same_bytes_makes_no_new_version_but_a_change_does(store, tmp_path):
    src = tmp_path / "sarcasm.json"
    src.write_text("[1]")
    first = store.add(src)
    again = store.add(src)
    assert not again.created and again.ref.version == 1 and "unchanged" in again.message
    with_url = store.add(src, urls=["https://example.org/sarcasm.json"])
    assert not with_url.created and with_url.updated and with_url.ref.version == 1
    assert store.get("sarcasm.json").urls == ["https://example.org/sarcasm.json"]

    src.write_text("[1, 2]")
    second = store.add(src)
    assert second.created and second.ref.version == 2 and second.ref.digest != first.ref.digest
    assert store.get("sarcasm.json").version == 2
    assert store.get("sarcasm.json", version=1).digest == first.ref.digest
    assert [r.version for r in store.versions("sarcasm.json")] == [1, 2]
    assert len(list(store.objects.iterdir())) == 2


def test_add_a_folder_and_detect_tfds(store, tmp_path):
    root = tfds_folder(tmp_path / "tensorflow_datasets")
    ref = store.add(root).ref
    assert ref.kind == "dir" and ref.name == "tensorflow_datasets"
    assert ref.tfds and ref.tfds_dir == ""
    assert "imdb_reviews/plain_text/1.0.0/dataset_info.json" in ref.files
    # the same folder again: no new version
    assert not store.add(root).created

    # one builder folder, added under its builder name: the data folder holding it is the data_dir
    builder = store.add(tmp_path / "tensorflow_datasets" / "imdb_reviews").ref
    assert builder.tfds and builder.tfds_dir == ".."

    plain = tmp_path / "plain"
    (plain / "sub").mkdir(parents=True)
    (plain / "sub" / "a.csv").write_text("x\n")
    assert not store.add(plain).ref.tfds
    with pytest.raises(DatasetError, match="dataset_info.json"):
        store.add(plain, name="plain2", tfds=True)
    with pytest.raises(DatasetError, match="name the dataset 'imdb_reviews'"):
        store.add(tmp_path / "tensorflow_datasets" / "imdb_reviews", name="imdb", tfds=True)


def test_errors_are_clear(store, tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        store.add(tmp_path / "nope.csv")
    (tmp_path / "ok.csv").write_text("a")
    with pytest.raises(DatasetError, match="bad dataset name"):
        store.add(tmp_path / "ok.csv", name="../evil")
    with pytest.raises(DatasetError, match="bad URL"):
        store.add(tmp_path / "ok.csv", urls=["file:///etc/passwd"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no files"):
        store.add(tmp_path / "empty")
    with pytest.raises(DatasetTooLarge):
        store.add_stream(io.BytesIO(b"x" * 100), name="big", limit=10)
    assert store.get("big") is None and list(store.tmp.iterdir()) == []


def test_archives_unpack_as_folders_and_refuse_escapes(store, tmp_path):
    tfds_folder(tmp_path / "tensorflow_datasets")
    archive = tmp_path / "tfds.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tensorflow_datasets", arcname="tensorflow_datasets")
    ref = store.add(archive, unpack=True).ref
    assert ref.name == "tensorflow_datasets" and ref.tfds and ref.tfds_dir == ""
    assert "imdb_reviews/plain_text/1.0.0/features.json" in ref.files
    # the same files from a zip are the same content: no new version
    zipped = tmp_path / "tfds.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in sorted((tmp_path / "tensorflow_datasets").rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(tmp_path).as_posix())
    assert not store.add(zipped, unpack=True).created

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/cron.d/x", "boom")
    with pytest.raises(DatasetError, match="unsafe path"):
        store.add(evil, unpack=True)


# --- the view -----------------------------------------------------------------------------


def test_data_view_links_blobs_and_writes_the_manifest(store, tmp_path):
    glove = tmp_path / "glove.6B.100d.txt"
    glove.write_text("the 0.1\n")
    store.add(glove, name="glove", urls=["https://nlp.example.org/data/glove.6B.100d.txt"])
    store.add(tfds_folder(tmp_path / "tensorflow_datasets"))
    lyrics = tmp_path / "irish-lyrics-eof.txt"
    lyrics.write_text("come all ye\n")
    store.add(lyrics, urls=["https://storage.example.com/course3/irish-lyrics-eof.txt"])
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("no url: not offered to other exercises")
    store.add(unrelated)

    spec = make_spec(
        uses=[
            {"name": "glove", "paths": ["/tmp/glove.6B.100d.txt", "data/glove.6B.100d.txt"]},
            {"name": "tensorflow_datasets"},
        ]
    )
    folder = write_exercise(tmp_path / "exercises", spec, {"bbc-text.csv": b"category,text\n"})
    view = data_view(store.root, spec, folder)
    assert view.parent == store.views and view.name.startswith("ex-data-")

    glove_blob = store.blob(next(iter(store.get("glove").files.values())).sha256)
    assert os.path.samefile(view / "glove", glove_blob)
    assert os.path.samefile(view / "glove.6B.100d.txt", glove_blob)
    assert (view / "glove").stat().st_nlink >= 3
    assert (view / "bbc-text.csv").read_bytes() == b"category,text\n"
    assert (view / "tensorflow_datasets/imdb_reviews/plain_text/1.0.0/dataset_info.json").is_file()
    assert (view / "irish-lyrics-eof.txt").read_text() == "come all ye\n"  # has a URL: offered
    assert not (view / "notes.txt").exists()  # no URL, not listed: not offered

    manifest = json.loads((view / MANIFEST).read_text())
    assert manifest == {
        "urls": {
            "https://nlp.example.org/data/glove.6B.100d.txt": "glove",
            "https://storage.example.com/course3/irish-lyrics-eof.txt": "irish-lyrics-eof.txt",
        },
        "names": {
            "bbc-text.csv": "bbc-text.csv",
            "glove": "glove",
            "glove.6B.100d.txt": "glove.6B.100d.txt",
            "irish-lyrics-eof.txt": "irish-lyrics-eof.txt",
            "tensorflow_datasets": "tensorflow_datasets",
        },
        "tfds_dir": "tensorflow_datasets",
        "paths": {"/tmp/glove.6B.100d.txt": "glove"},
    }
    # the sandbox runs as another uid: everything must be readable by others
    for path in [view, *view.rglob("*")]:
        assert path.stat().st_mode & 0o004, path

    # reused while nothing changes; a new dataset version or a changed data file makes a new one
    assert data_view(store.root, spec, folder) == view
    glove.write_text("the 0.2\n")
    store.add(glove, name="glove")
    newer = data_view(store.root, spec, folder)
    assert newer != view and (newer / "glove").read_text() == "the 0.2\n"
    assert (view / "glove").read_text() == "the 0.1\n"  # a running sandbox keeps its view
    (folder / "data" / "bbc-text.csv").write_bytes(b"category,text\nsport,x\n")
    assert data_view(store.root, spec, folder) != newer


def test_a_builder_folder_dataset_makes_data_the_tfds_dir(store, tmp_path):
    tfds_folder(tmp_path / "td")
    store.add(tmp_path / "td" / "imdb_reviews")
    spec = make_spec(uses=[{"name": "imdb_reviews", "paths": ["tfds/imdb"]}])
    folder = write_exercise(tmp_path / "exercises", spec)
    view = data_view(store.root, spec, folder)
    manifest = json.loads((view / MANIFEST).read_text())
    assert manifest["tfds_dir"] == "."
    assert (view / "imdb_reviews/plain_text/1.0.0/dataset_info.json").is_file()
    assert manifest["paths"] == {"/home/student/work/tfds/imdb": "imdb_reviews"}


def test_an_exercise_with_nothing_from_the_store_keeps_its_data_folder(store, tmp_path):
    spec = make_spec()
    folder = write_exercise(tmp_path / "exercises", spec, {"sonnets.txt": b"From fairest"})
    assert data_view(store.root, spec, folder) == folder / "data"
    assert not store.views.exists()


def test_a_missing_dataset_names_itself_and_the_command(store, tmp_path):
    spec = make_spec(uses=[{"name": "training_cleaned.csv"}])
    folder = write_exercise(tmp_path / "exercises", spec)
    with pytest.raises(DatasetMissing) as caught:
        data_view(store.root, spec, folder)
    message = str(caught.value)
    assert "'training_cleaned.csv'" in message and "'ex-data'" in message
    assert "adventures data add PATH --name training_cleaned.csv" in message
    # the sandbox's all-exercise map still gets the plain data/ for it
    assert exercise_views(store.root, tmp_path / "exercises") == {"ex-data": folder / "data"}


def test_views_fall_back_to_copies_where_links_fail(store, tmp_path, monkeypatch):
    src = tmp_path / "sonnets.txt"
    src.write_text("Shall I compare thee")
    store.add(src, urls=["https://example.org/sonnets.txt"])
    spec = make_spec(uses=[{"name": "sonnets.txt"}])
    folder = write_exercise(tmp_path / "exercises", spec)

    def no_links(*_args, **_kw):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(datasets.os, "link", no_links)
    view = data_view(store.root, spec, folder)
    assert (view / "sonnets.txt").read_text() == "Shall I compare thee"
    assert not os.path.samefile(
        view / "sonnets.txt", store.blob(store.get("sonnets.txt").files["sonnets.txt"].sha256)
    )


# --- hashing once -------------------------------------------------------------------------


class OpenWatch:
    """Records every file opened under a folder (an audit hook: sees open() from C and Python)."""

    active: Path | None = None
    seen: list[str] = []
    installed = False

    @classmethod
    def install(cls) -> None:
        if cls.installed:
            return

        def hook(event, args):
            if event == "open" and cls.active is not None and isinstance(args[0], str | Path):
                path = str(args[0])
                if path.startswith(str(cls.active)):
                    cls.seen.append(path)

        sys.addaudithook(hook)
        cls.installed = True


def test_grading_reads_no_dataset_bytes(store, tmp_path, monkeypatch):
    """After the add, neither data_view nor spec_hash opens a blob or re-hashes a big file."""
    big = tmp_path / "glove.6B.100d.txt"
    with big.open("wb") as out:
        out.truncate(3 * 1024 * 1024)  # sparse, but 3 MB to read if anything did
    store.add(big, name="glove")
    spec = make_spec(uses=[{"name": "glove"}])
    folder = write_exercise(
        tmp_path / "exercises", spec, {"embeddings.bin": b"\0" * (2 * catalog.INLINE_BYTES)}
    )
    copies = []
    monkeypatch.setattr(
        datasets, "_copy_hashing", lambda *a, **k: copies.append(a) or pytest.fail("hashed")
    )
    first_hash = catalog.spec_hash(spec, folder, datasets_root=store.root)

    OpenWatch.install()
    OpenWatch.seen = []
    OpenWatch.active = store.objects
    try:
        view = data_view(store.root, spec, folder)
        assert data_view(store.root, spec, folder) == view
    finally:
        OpenWatch.active = None
    assert OpenWatch.seen == [] and copies == []
    OpenWatch.active = store.objects  # the watch itself works: reading a blob is seen
    try:
        next(iter(store.objects.iterdir())).read_bytes()
    finally:
        OpenWatch.active = None
    assert len(OpenWatch.seen) == 1

    big_own = folder / "data" / "embeddings.bin"
    OpenWatch.seen = []
    OpenWatch.active = big_own
    try:
        for _ in range(3):
            assert catalog.spec_hash(spec, folder, datasets_root=store.root) == first_hash
    finally:
        OpenWatch.active = None
    assert OpenWatch.seen == []  # hashed once, in the first call; cached by inode/size/mtime

    # a new dataset version changes the exercise's hash; without a store only names count
    monkeypatch.undo()
    big.write_bytes(b"the 0.5\n")
    store.add(big, name="glove")
    assert catalog.spec_hash(spec, folder, datasets_root=store.root) != first_hash
    assert catalog.spec_hash(spec, folder) == catalog.spec_hash(spec, folder)


def test_spec_hash_is_unchanged_for_small_files(tmp_path):
    """Exercises without big files or datasets keep the hash (and version) they had."""
    import hashlib

    spec = make_spec()
    folder = write_exercise(tmp_path / "exercises", spec, {"a.txt": b"abc"})
    h = hashlib.sha256(b"adventures-exercise-v1\0")
    for rel in ("exercise.yaml", "starter.ipynb", "data/a.txt"):
        h.update(rel.encode() + b"\0" + (folder / rel).read_bytes() + b"\0")
    assert catalog.spec_hash(spec, folder) == h.hexdigest()


def test_exercise_views_maps_every_exercise(store, tmp_path):
    src = tmp_path / "sarcasm.json"
    src.write_text("[]")
    store.add(src)
    root = tmp_path / "exercises"
    one = write_exercise(root, make_spec("ex-one", [{"name": "sarcasm.json"}]))
    write_exercise(root, make_spec("ex-two"), {"x.txt": b"x"})
    views = exercise_views(store.root, root)
    assert views["ex-two"] == root / "ex-two" / "data"
    assert views["ex-one"].parent == store.views
    assert (views["ex-one"] / "sarcasm.json").read_text() == "[]"
    assert (
        data_view(store.root, make_spec("ex-one", [{"name": "sarcasm.json"}]), one)
        == views["ex-one"]
    )


def test_concurrent_builds_agree_and_leave_no_scraps(store, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    tfds_folder(tmp_path / "tensorflow_datasets")
    store.add(tmp_path / "tensorflow_datasets")
    spec = make_spec(
        uses=[{"name": "tensorflow_datasets", "paths": ["/home/student/work/data/tfds"]}]
    )
    folder = write_exercise(tmp_path / "exercises", spec)
    with ThreadPoolExecutor(8) as pool:
        views = set(pool.map(lambda _: data_view(store.root, spec, folder), range(16)))
    (view,) = views
    assert [p.name for p in store.views.iterdir()] == [view.name]
    # an absolute path inside the notebook's data folder is placed in the view itself
    assert (view / "tfds/imdb_reviews/plain_text/1.0.0/dataset_info.json").is_file()
    assert json.loads((view / MANIFEST).read_text())["paths"] == {}
