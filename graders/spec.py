"""The schema every `exercises/<slug>/exercise.yaml` must satisfy.

One pydantic model so that `adventures seed`, `adventures exercises check` and
the workers agree on what a spec means, and a bad spec fails with the file,
the field and what is wrong.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# How a produced value is compared with the reference value (graders/compare.py).
Compare = Literal[
    "exact",  # == after JSON round trip (tuples become lists)
    "int",  # integers, answer may be written "171,533" or "171_533"
    "float",  # one number within rtol/atol
    "set",  # same elements, any order
    "dict",  # same keys and values; diff names missing/extra/changed keys
    "allclose",  # arrays/nested lists within rtol/atol; shape and dtype named on mismatch
    "shape",  # a shape tuple; None matches None
    "text",  # strings equal after normalising case, whitespace and punctuation
    "param_count",  # a keras model summary or an int: its total parameter count
    "model",  # a keras model summary: params, layer kinds, output shape
]


_TARGET = re.compile(r"^reference(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerSpec(_Strict):
    """A short answer whose expected value a reference function computes."""

    reference: str = Field(description="'module:function' importable from reference/")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed keyword arguments")
    variants: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="per-member choices: each member gets a stable pick of each list",
    )
    compare: Compare = "exact"
    rtol: float = 1e-6
    atol: float = 0.0
    format: str = Field(description="what a well-formed answer looks like, for 400 messages")
    hint: str = Field(description="shown after a wrong answer; never the expected value")
    course_value: Any = Field(
        default=None,
        description="the value printed in the course material, asserted by tests",
    )

    @field_validator("reference")
    @classmethod
    def _is_target(cls, value: str) -> str:
        if not _TARGET.fullmatch(value):
            raise ValueError(
                "must be 'module:function' under reference/, e.g. 'reference.answers:word_index'"
            )
        return value

    @field_validator("variants")
    @classmethod
    def _variants_usable(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for name, choices in value.items():
            if not name.isidentifier():
                raise ValueError(f"variant name {name!r} is not a valid parameter name")
            if not choices:
                raise ValueError(f"variant {name!r} needs at least one choice")
        return value

    @field_validator("rtol", "atol")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be >= 0")
        return value


class CheckSpec(_Strict):
    """One call of a member's function, compared with the reference's output."""

    name: str
    function: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    setup: str | None = Field(
        default=None,
        description="python run before the call in harness and reference alike; "
        "args/kwargs may name its variables as {'$var': name}",
    )
    compare: Compare = "exact"
    rtol: float = 1e-5
    atol: float = 1e-5
    points: float = 1.0
    visibility: Literal["visible", "hidden"] = "visible"
    hint: str | None = None


class NotebookSpec(_Strict):
    """A notebook exercise: functions the member writes, checked outside their kernel."""

    starter: str = "starter.ipynb"
    reference: str = Field(description="module under reference/ defining the same functions")
    time_limit: int = Field(default=180, ge=5, le=1800, description="whole run, seconds")
    cell_timeout: int = Field(default=60, ge=1, le=1800)
    requires_gpu: bool = False
    checks: list[CheckSpec] = Field(min_length=1)


class ExerciseSpec(_Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    title: str = Field(min_length=3, max_length=200)
    kind: Literal["answer", "notebook"]
    week: int = Field(ge=0, le=4)
    points: float = Field(gt=0)
    prompt: str = Field(
        min_length=1, description="markdown; {{name}} is replaced by a variant value"
    )
    code: str | None = Field(default=None, description="python shown highlighted under the prompt")
    tags: list[str] = Field(default_factory=list)
    position: int = 0
    answer: AnswerSpec | None = None
    notebook: NotebookSpec | None = None

    @model_validator(mode="after")
    def _kind_has_its_section(self) -> ExerciseSpec:
        if self.kind == "answer" and (self.answer is None or self.notebook is not None):
            raise ValueError("kind 'answer' needs an 'answer' section and no 'notebook' section")
        if self.kind == "notebook" and (self.notebook is None or self.answer is not None):
            raise ValueError("kind 'notebook' needs a 'notebook' section and no 'answer' section")
        return self

    @model_validator(mode="after")
    def _placeholders_defined(self) -> ExerciseSpec:
        if self.answer is None:
            return self
        known = set(self.answer.params) | set(self.answer.variants)
        for where, text in (("prompt", self.prompt), ("code", self.code or "")):
            unknown = sorted(set(_PLACEHOLDER.findall(text)) - known)
            if unknown:
                raise ValueError(
                    f"{where} uses {{{{{unknown[0]}}}}} but answer.params/variants define no '{unknown[0]}'"
                )
        return self


class SpecError(ValueError):
    """A spec file that cannot be used; the message names the file and the field."""


def load_spec(path: Path) -> ExerciseSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    try:
        spec = ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from exc
    if spec.slug != path.parent.name:
        raise SpecError(f"{path}: slug: '{spec.slug}' must equal its folder '{path.parent.name}'")
    return spec
