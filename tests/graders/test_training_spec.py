"""`training:` in a notebook spec: what it does to the queue, the limits and the sanitiser."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from graders.notebook.pipeline import _limits_for
from graders.spec import ExerciseSpec


def spec(**notebook) -> ExerciseSpec:
    return ExerciseSpec.model_validate(
        {
            "slug": "train-me",
            "title": "Training modes",
            "kind": "notebook",
            "week": 3,
            "points": 1,
            "prompt": "p",
            "notebook": {
                "solution": "solution.ipynb",
                "time_limit": 600,
                "cell_timeout": 60,
                "checks": [{"name": "c", "function": "f"}],
                **notebook,
            },
        }
    )


def test_only_full_training_or_a_declared_gpu_goes_to_the_gpu_queue():
    assert spec(training="full").notebook.prefers_gpu
    assert spec(requires_gpu=True, training="skip").notebook.prefers_gpu
    assert not spec(training="skip").notebook.prefers_gpu
    assert not spec(training={"cap": 2}).notebook.prefers_gpu
    assert not spec().notebook.prefers_gpu  # unset: run as written, on any worker


def test_full_training_lets_one_cell_use_the_whole_run():
    limits = _limits_for(spec(training="full"), None)
    assert limits.cell_timeout == limits.time_limit == 600
    assert _limits_for(spec(training="skip"), None).cell_timeout == 60


def test_a_cap_reaches_the_kernel_with_the_run_limits():
    limits = _limits_for(spec(training={"cap": 3}), None)
    assert limits.epochs_cap == 3 and limits.run_limits()["epochs_cap"] == 3
    assert "epochs_cap" not in _limits_for(spec(), None).run_limits()


@pytest.mark.parametrize("bad", ["sometimes", {"cap": 0}, {"cap": 2, "x": 1}])
def test_bad_training_values_are_refused(bad):
    with pytest.raises(ValidationError):
        spec(training=bad)


def test_a_notebook_spec_needs_exactly_one_reference():
    with pytest.raises(ValidationError, match="exactly one"):
        spec(reference="c3w1_tokenizer")
