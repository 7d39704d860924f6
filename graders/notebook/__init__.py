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

from importlib import import_module

# Loaded on first use: the web process reads uploads (read, limits) and must not import the
# runner's stack (nbclient, jupyter_client, zmq) or nbconvert with them.
_HOME = {
    "Limits": "limits",
    "expected_values": "pipeline",
    "grade_notebook": "pipeline",
    "reference_keys": "pipeline",
    "warm_up": "pipeline",
    "NotebookError": "read",
    "render_html": "render",
    "GradeResult": "result",
    "TestResult": "result",
    "SandboxConfig": "sandbox",
    "SandboxError": "sandbox",
    "SandboxPool": "sandbox",
    "default_pool": "sandbox",
}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


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
