"""The course's cell markers, read one way by the importer, the spec checker and similarity.

Course notebooks write the header loosely (`## GRADED FUNCTIONS: name`, no colon); the
importer rewrites it to the canonical form, which the checker then requires exactly.
"""

from __future__ import annotations

import re

START = "### START CODE HERE ###"
END = "### END CODE HERE ###"
HEADER = "# GRADED FUNCTION: {name}"

# Any spelling the course used; group 1 is the function's name when the header gives one.
LOOSE_HEADER = re.compile(r"^[ \t]*#+[ \t]*GRADED[ \t]+FUNCTIONS?[ \t]*:?[ \t]*([A-Za-z_]\w*)?")


def header(name: str) -> str:
    return HEADER.format(name=name)


def graded_name(line: str) -> str | None:
    """The function a header line names (any spelling), or None."""
    match = LOOSE_HEADER.match(line)
    return match.group(1) if match else None


def starts_with_header(source: str, name: str) -> bool:
    """The cell's first non-blank line is exactly the canonical header for `name`."""
    return re.match(rf"\A\s*{re.escape(header(name))}[ \t]*$", source, re.MULTILINE) is not None
