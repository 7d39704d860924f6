"""First step: bytes in, a valid v4 notebook out, or a NotebookError the web turns into a 4xx."""

from __future__ import annotations

import json

import nbformat
from nbformat import NotebookNode
from nbformat.validator import ValidationError

from graders.notebook.limits import Limits


class NotebookError(ValueError):
    """An upload that is not a gradable notebook; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


def read_notebook(data: bytes, limits: Limits | None = None) -> NotebookNode:
    """Parse and validate an uploaded .ipynb (nbformat 4, or 3 upgraded to 4)."""
    limits = limits or Limits()
    if not isinstance(data, (bytes, bytearray)):
        raise NotebookError(400, "not_bytes", "The upload must be the bytes of a .ipynb file.")
    if len(data) > limits.max_bytes:
        raise NotebookError(
            413,
            "too_large",
            f"The notebook is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{limits.max_bytes / 1024 / 1024:g} MB. Clear the outputs (Kernel > Restart & "
            "Clear Output) and upload again.",
        )
    if not data.strip():
        raise NotebookError(400, "empty", "The file is empty: upload the .ipynb notebook file.")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(
            400,
            "not_utf8",
            f"The file is not UTF-8 text (byte {exc.start}): upload the .ipynb file itself, "
            "not a zip, PDF or .py export.",
        ) from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise NotebookError(
            400,
            "not_json",
            f"The file is not valid JSON{where}, so it is not a notebook: upload the .ipynb "
            "file as saved by Jupyter or Colab.",
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise NotebookError(
            400,
            "not_notebook",
            "The JSON is not a Jupyter notebook (no 'cells'): upload the .ipynb file.",
        )
    major = raw.get("nbformat")
    if not isinstance(major, int) or major not in (3, 4):
        raise NotebookError(
            400,
            "invalid_notebook",
            f"Unsupported notebook format version {major!r}: save it with Jupyter (format 4).",
        )
    cells = raw.get("cells") if major == 4 else _v3_cells(raw)
    if isinstance(cells, list) and len(cells) > limits.max_cells:
        raise NotebookError(
            413,
            "too_many_cells",
            f"The notebook has {len(cells)} cells; the limit is {limits.max_cells}.",
        )
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotebookError(
            400, "invalid_notebook", f"The notebook does not follow nbformat: {_first_line(exc)}"
        ) from None
    if len(nb.cells) > limits.max_cells:
        raise NotebookError(
            413,
            "too_many_cells",
            f"The notebook has {len(nb.cells)} cells; the limit is {limits.max_cells}.",
        )
    return nb


def _v3_cells(raw: dict) -> list | None:
    sheets = raw.get("worksheets")
    if not isinstance(sheets, list):
        return None
    cells: list = []
    for sheet in sheets:
        if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
            cells.extend(sheet["cells"])
    return cells


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0][:300]
