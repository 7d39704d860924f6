"""The dataset store as the web app and the CLI see it: where it is, who uses what, uploads.

The store itself (graders/datasets.py) is the source of truth; there is no table. Uploads are
streamed straight into the store's tmp/ folder while they are hashed, never held in memory.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from flask import current_app

from graders.datasets import (
    ARCHIVE_SUFFIXES,
    AddResult,
    DatasetError,
    DatasetStore,
    DatasetTooLarge,
    check_name,
)
from graders.spec import SpecError, load_spec
from server.services import exercises as catalog
from server.services.errors import StatusError


def store_root() -> Path:
    """The store this app (web process or worker) uses: config DATASETS_DIR."""
    return Path(current_app.config["DATASETS_DIR"])


def store() -> DatasetStore:
    return DatasetStore(store_root())


def used_by(exercises_root: Path | None = None) -> dict[str, list[str]]:
    """{dataset name: [exercise slugs listing it]}, read from the exercise specs on disk."""

    out: dict[str, list[str]] = {}
    for path in sorted(Path(exercises_root or catalog.EXERCISES_DIR).glob("*/exercise.yaml")):
        try:
            spec = load_spec(path)
        except (SpecError, OSError):
            continue
        for use in spec.notebook.datasets if spec.notebook is not None else []:
            out.setdefault(use.name, []).append(spec.slug)
    return out


def listing(exercises_root: Path | None = None) -> list[dict[str, Any]]:
    """Every dataset (current version) with its users, plus the names exercises need but lack."""
    users = used_by(exercises_root)
    rows = []
    for ref in store().all():
        row = ref.summary()
        row["used_by"] = users.pop(ref.name, [])
        row["missing"] = False
        rows.append(row)
    for name, slugs in sorted(users.items()):
        rows.append({"name": name, "used_by": slugs, "missing": True})
    return rows


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


class UploadRefused(StatusError):
    """A dataset upload the store would not take: 413 over the limit, 400 otherwise."""


def _as_refusals(fn: Callable[..., AddResult]) -> Callable[..., AddResult]:
    """The store's refusals as the service's StatusError (413 over the limit, 400 otherwise)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> AddResult:
        try:
            return fn(*args, **kwargs)
        except DatasetTooLarge as exc:
            raise UploadRefused(413, "too_large", str(exc)) from exc
        except DatasetError as exc:
            raise UploadRefused(400, "bad_dataset", str(exc)) from exc

    return wrapped


@_as_refusals
def receive(
    stream: BinaryIO,
    *,
    filename: str,
    name: str | None,
    urls: list[str],
    tfds: bool,
    unpack: bool,
    limit: int,
) -> AddResult:
    """Add an uploaded body: one file, or (unpack) an archive's files as a folder dataset."""
    filename = Path(filename.replace("\\", "/")).name
    if not filename:
        raise DatasetError("give the file's name (filename=...)")
    target = store()
    if not unpack:
        return target.add_stream(
            stream,
            name=check_name(name or filename),
            filename=filename,
            urls=urls,
            tfds=tfds or None,
            limit=limit,
        )
    if not is_archive(filename):
        raise DatasetError(f"only {', '.join(ARCHIVE_SUFFIXES)} archives can be unpacked")
    if name:
        check_name(name)
    # A zip needs seeking: spool the body to the store's tmp/ first (disk, not memory).
    target.root.mkdir(parents=True, exist_ok=True)
    target.tmp.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.tmp, prefix="upload-")
    try:
        with os.fdopen(fd, "w+b") as spool:
            copied = 0
            while chunk := stream.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    raise DatasetTooLarge(limit)
                spool.write(chunk)
            spool.seek(0)
            return target.add_archive(
                spool, filename, name=name or None, urls=urls, tfds=tfds or None, limit=limit
            )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
