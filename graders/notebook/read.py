"""First step: bytes in, a valid v4 notebook out, or a NotebookError the web turns into a 4xx."""

from __future__ import annotations

import json
import re
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.validator import ValidationError

from graders.notebook.limits import Limits

# Deeper JSON than this is refused before it is parsed: json, nbformat and jsonschema all recurse
# once (or more) per level, so 500 levels of metadata end in a RecursionError. Real notebooks
# nest about a dozen levels (widget state and plotly outputs included).
MAX_DEPTH = 64


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
    if json_too_deep(text, MAX_DEPTH):
        raise NotebookError(
            400,
            "too_deep",
            f"The notebook's JSON is nested more than {MAX_DEPTH} levels deep (in its metadata "
            "or outputs), which no Jupyter notebook needs: clear the outputs and the cell "
            "metadata, save it with Jupyter or Colab and upload it again.",
        )
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
    where = bad_text_path(raw, nul=False) if might_have_bad_text(text) else None
    if where is not None:
        raise NotebookError(
            400,
            "bad_text",
            f"The notebook has text that is not valid Unicode at {where}: an unpaired surrogate "
            "escape such as \\ud800, which cannot be saved. Remove that character (or clear the "
            "outputs it is in) and upload again.",
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


# ---- checks shared with the web layer's request bodies ------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_MAYBE_BAD = re.compile(r"\\u(?:0000|[dD][89a-fA-F])|[\x00\ud800-\udfff]")


def json_too_deep(text: str, limit: int) -> bool:
    """Whether JSON text nests deeper than `limit` ([ and { outside strings), found without
    parsing it. Malformed JSON may get either answer: its parser refuses it anyway."""
    if text.count("[") + text.count("{") <= limit:
        return False  # it cannot nest deeper than it has brackets
    depth = 0
    for char in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def might_have_bad_text(text: str) -> bool:
    """Cheap pre-check: can JSON text decode to a NUL or an unpaired surrogate at all?"""
    return _MAYBE_BAD.search(text) is not None


def bad_text_path(value: Any, path: str = "", *, nul: bool = True) -> str | None:
    """Where in parsed JSON a string (or key) holds an unpaired surrogate, or a NUL when `nul`:
    "cells[3].source", "answer"; None when every string is clean. Depth is bounded by the caller."""
    if isinstance(value, str):
        return path or "body" if is_bad_text(value, nul=nul) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_bad_text(key, nul=nul):
                return f"a key in {path or 'body'}"
            found = bad_text_path(item, here, nul=nul)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_text_path(item, f"{path}[{index}]", nul=nul)
            if found is not None:
                return found
    return None


def is_bad_text(text: str, *, nul: bool = True) -> bool:
    """Whether text holds an unpaired surrogate (which UTF-8 cannot encode), or a NUL byte
    (which no PostgreSQL text column holds) when `nul`."""
    if nul and "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
