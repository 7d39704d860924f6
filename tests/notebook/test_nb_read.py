"""Uploads that are not gradable notebooks are refused with a 400/413 and a clear message."""

from __future__ import annotations

import json

import nbformat
import pytest

from graders.notebook import Limits, NotebookError
from graders.notebook.read import read_notebook
from tests.notebook.conftest import notebook


def refused(data: bytes, **limits) -> NotebookError:
    with pytest.raises(NotebookError) as info:
        read_notebook(data, Limits(**limits))
    return info.value


def test_a_valid_notebook_is_read():
    nb = read_notebook(notebook("x = 1", "print(x)"))
    assert [c.source for c in nb.cells] == ["x = 1", "print(x)"]


def test_not_json():
    err = refused(b"def f():\n    return 1\n")
    assert (err.status, err.code) == (400, "not_json")
    assert "not valid JSON" in err.message


def test_json_that_is_not_a_notebook():
    err = refused(json.dumps({"hello": "world"}).encode())
    assert (err.status, err.code) == (400, "not_notebook")
    err = refused(b"[1, 2, 3]")
    assert err.code == "not_notebook"


def test_invalid_nbformat_names_the_problem():
    nb = json.loads(notebook("x = 1"))
    nb["cells"][0]["cell_type"] = "spreadsheet"
    err = refused(json.dumps(nb).encode())
    assert (err.status, err.code) == (400, "invalid_notebook")
    assert "nbformat" in err.message


def test_unsupported_format_version():
    nb = json.loads(notebook("x = 1"))
    nb["nbformat"] = 99
    assert refused(json.dumps(nb).encode()).code == "invalid_notebook"


def test_too_big_is_413():
    data = notebook("x = '" + "a" * 5000 + "'")
    err = refused(data, max_bytes=1000)
    assert (err.status, err.code) == (413, "too_large")
    assert "limit" in err.message


def test_the_default_size_limit_is_2_mb():
    big = notebook("s = '" + "a" * (2 * 1024 * 1024) + "'")
    assert refused(big).status == 413


def test_too_many_cells_is_413():
    err = refused(notebook(*["x = 1"] * 12), max_cells=10)
    assert (err.status, err.code) == (413, "too_many_cells")
    assert "12 cells" in err.message


def test_not_utf8():
    latin1 = notebook("s = 'caf\u00e9'").replace("caf\u00e9".encode(), b"caf\xe9")
    err = refused(latin1)
    assert (err.status, err.code) == (400, "not_utf8")
    assert "UTF-8" in err.message
    assert refused(b'{"cells": [], "nbformat": 4, "x": "\xff\xfe"}').code == "not_utf8"


def test_empty_file():
    assert refused(b"").code == "empty"
    assert refused(b"   \n").code == "empty"


def test_deeply_nested_json_is_refused_not_crashing():
    err = refused(b"[" * 100_000 + b"]" * 100_000)
    assert err.status == 400


def test_a_version_3_notebook_is_upgraded():
    v3 = nbformat.v3.new_notebook(
        worksheets=[nbformat.v3.new_worksheet(cells=[nbformat.v3.new_code_cell(input="x = 1")])]
    )
    nb = read_notebook(nbformat.v3.writes_json(v3).encode())
    assert nb.nbformat == 4
    assert nb.cells[0].source == "x = 1"


def test_error_serialises_for_the_api():
    err = refused(b"nope")
    assert err.to_json() == {"error": "not_json", "message": err.message}
