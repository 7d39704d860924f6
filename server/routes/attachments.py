"""Downloads: one place builds the attachment response, so file names are quoted safely."""

from __future__ import annotations

import io

from flask import Response, send_file


def send_attachment(body: str | bytes, filename: str, mimetype: str) -> Response:
    """Any file name (spaces, quotes, non-ASCII) is encoded per RFC 6266 by send_file."""
    data = body.encode() if isinstance(body, str) else body
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename
    )
    response.headers["Cache-Control"] = "no-store"
    return response
