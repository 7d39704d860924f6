"""Sanitising steps, nbgrader-converter style: each takes (notebook, notes), changes one thing.

`notes` collects what a member should be told ("removed `!wget ...`: no
network here; the data is in ./data"). Steps run in the order of `STEPS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nbformat import NotebookNode

Step = Callable[[NotebookNode, list[str]], NotebookNode]

GRADE_UP_TO_HERE = re.compile(
    r"^\s*#\s*grade[-_ ]up[-_ ]to[-_ ]here\b", re.IGNORECASE | re.MULTILINE
)

# Cell magics whose whole body runs in a shell or another interpreter.
_SHELL_CELL = re.compile(r"^\s*%%(bash|sh|script|system|sx|perl|ruby|python2|python3|pypy)\b")
# Line-level shell escapes: `!cmd`, `!!cmd`, `x = !cmd`, and magics that install or shell out.
_SHELL_LINE = re.compile(
    r"^(?P<indent>\s*)(?:!|(?:[\w.,\[\]\s]+=\s*!)|%(?:pip|conda|mamba|sx|system|sc|bash|sh|download)\b"
    r"|get_ipython\(\)\.(?:system|getoutput)\()"
)
_NETWORK_WORDS = re.compile(r"\b(wget|curl|gdown|kaggle|git\s+clone|http[s]?://)", re.IGNORECASE)
_INSTALL_WORDS = re.compile(r"\b(pip|conda|mamba|apt(-get)?)\b", re.IGNORECASE)


def clear_outputs(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Outputs and counts from the member's own run are never trusted or shown back."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    return nb


def drop_attachments_and_widgets(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Pasted images and saved widget state are bulk the grader never needs."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.pop("attachments", None)
        cell.metadata.pop("widgets", None)
    return nb


def cut_at_grade_up_to_here(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """The course's `# grade-up-to-here` marker: cells after that cell are not run."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and GRADE_UP_TO_HERE.search(cell.source):
            dropped = sum(1 for c in nb.cells[index + 1 :] if c.cell_type == "code")
            if dropped:
                notes.append(
                    f"Cell {index + 1} has `# grade-up-to-here`: the {dropped} code cell(s) "
                    "after it were not run."
                )
            nb.cells = nb.cells[: index + 1]
            break
    return nb


def strip_shell_commands(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """`!pip`, `!wget`, `%%bash` and friends need a shell and a network the grader has not got."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source:
            continue
        if _SHELL_CELL.match(cell.source):
            first = cell.source.strip().splitlines()[0]
            notes.append(f"Cell {index + 1}: `{first}` cell not run; {_why(cell.source)}")
            cell.source = f"# removed by the grader: {first} cell\npass"
            continue
        lines = cell.source.split("\n")
        changed = False
        for i, line in enumerate(lines):
            match = _SHELL_LINE.match(line)
            if not match:
                continue
            shown = line.strip()
            notes.append(f"Cell {index + 1}: removed `{_clip(shown)}`; {_why(shown)}")
            lines[i] = f"{match.group('indent')}pass  # removed by the grader: {_clip(shown, 60)}"
            changed = True
        if changed:
            cell.source = "\n".join(lines)
    return nb


def _why(text: str) -> str:
    if _NETWORK_WORDS.search(text):
        return "the grader has no network; the exercise's data files are already in ./data."
    if _INSTALL_WORDS.search(text):
        return "the grader already has TensorFlow, Keras and NumPy installed."
    return "the grader runs no shell commands."


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


STEPS: tuple[Step, ...] = (
    clear_outputs,
    drop_attachments_and_widgets,
    cut_at_grade_up_to_here,
    strip_shell_commands,
)


def sanitise(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    for step in STEPS:
        nb = step(nb, notes)
    return nb
