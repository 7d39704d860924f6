"""The instructor's Datasets page (/instructor/datasets) and its API (/api/instructor/datasets).

An upload is the raw request body (the page's XHR sends the File itself, so the browser reports
progress and the server never parses multipart): it is hashed while it is written into the
store's tmp/ folder, then linked into place. Query parameters carry the rest: filename, name,
url (repeatable), tfds, unpack.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from pydantic import BaseModel, Field

from graders.datasets import human_size
from server.extensions import csrf
from server.routes.errors import ApiError
from server.routes.guards import api_instructor_required, instructor_page
from server.services.grading import datasets

bp = Blueprint("datasets", __name__)
api = Blueprint("datasets_api", __name__, url_prefix="/api")
csrf.exempt(api)  # API writes from a page carry X-CSRFToken; guards.api_user checks it

_TRUE = ("1", "true", "on", "yes")


class UploadQuery(BaseModel):
    filename: str = Field(min_length=1, description="the file's name (an archive's, to unpack)")
    name: str | None = Field(default=None, description="the dataset's name (default: filename)")
    url: list[str] | None = Field(default=None, description="URLs whose downloads it answers")
    tfds: bool | None = Field(default=None, description="a prepared TFDS data_dir (archive)")
    unpack: bool | None = Field(default=None, description="unpack a .zip or .tar.gz")


def _limit() -> int:
    return int(current_app.config["MAX_DATASET_BYTES"])


@bp.get("/instructor/datasets")
@instructor_page
def datasets_page():
    """The store's datasets and an upload form with a progress bar."""
    return render_template(
        "instructor/datasets.html",
        datasets=datasets.listing(),
        limit=_limit(),
        limit_text=human_size(_limit()),
        store_root=str(datasets.store_root()),
    )


@api.get("/instructor/datasets")
@api_instructor_required
def api_datasets():
    """Every dataset in the store (current version), the exercises using it, and missing ones."""
    return jsonify(datasets=datasets.listing(), max_bytes=_limit())


@api.get("/instructor/datasets/<name>")
@api_instructor_required
def api_dataset(name: str):
    """One dataset: its files, URLs, versions and the exercises that list it."""
    store = datasets.store()
    ref = store.get(name)
    if ref is None:
        raise ApiError(
            404, "not_found", f"No dataset '{name}'; add it with POST /api/instructor/datasets."
        )
    doc = ref.to_json()
    doc["versions"] = [r.summary() for r in store.versions(name)]
    doc["used_by"] = datasets.used_by().get(name, [])
    return jsonify(doc)


@api.post("/instructor/datasets")
@api_instructor_required
def api_upload():
    """Add a dataset: the raw body is the file; ?filename=&name=&url=&tfds=1&unpack=1."""
    limit = _limit()
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(
            413, "too_large", f"The file is {human_size(length)}; the limit is {human_size(limit)}."
        )
    filename = (request.args.get("filename") or "").strip()
    if not filename:
        raise ApiError(
            400,
            "bad_request",
            "Send the file as the body with ?filename=NAME (and name, url, tfds, unpack).",
        )
    if not length and "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        raise ApiError(400, "empty", "The upload is empty.")
    request.max_content_length = limit  # this route's own cap, instead of the app's 4 MB
    result = datasets.receive(
        request.stream,
        filename=filename,
        name=(request.args.get("name") or "").strip() or None,
        urls=[u.strip() for u in request.args.getlist("url") if u.strip()],
        tfds=request.args.get("tfds", "").lower() in _TRUE,
        unpack=request.args.get("unpack", "").lower() in _TRUE,
        limit=limit,
    )
    doc = result.ref.summary()
    doc["used_by"] = datasets.used_by().get(result.ref.name, [])
    return jsonify(created=result.created, message=result.message, dataset=doc), (
        201 if result.created else 200
    )


api_upload.openapi_body = {"application/octet-stream": {"type": "string", "format": "binary"}}
api_upload.openapi_query = UploadQuery
api_upload.openapi_status = (201, 200)
