"""Notebook autograding: sanitise, run in a bubblewrap sandbox, check values outside the kernel.

Public entry points (see each module for the why):

    grade_notebook(spec, folder, notebook_bytes, *, runner, reference_values=None,
                   progress=None, pool=None, limits=None) -> GradeResult
    render_html(executed_nb) -> str
    warm_up(exercises_root, *, pool=None)   start the sandbox before the first upload
    NotebookError        an upload that is not a gradable notebook (.status 400/413)
    check_exercise(spec, folder, runner)    in graders.notebook.check
    import_notebook(nb_bytes, slug)         in graders.notebook.importer
"""

from graders.notebook.limits import Limits
from graders.notebook.pipeline import expected_values, grade_notebook, reference_keys, warm_up
from graders.notebook.read import NotebookError
from graders.notebook.render import render_html
from graders.notebook.result import GradeResult, TestResult
from graders.notebook.sandbox import SandboxConfig, SandboxError, SandboxPool, default_pool

__all__ = [
    "GradeResult",
    "Limits",
    "NotebookError",
    "SandboxConfig",
    "SandboxError",
    "SandboxPool",
    "TestResult",
    "default_pool",
    "expected_values",
    "grade_notebook",
    "reference_keys",
    "render_html",
    "warm_up",
]
