"""The trusted side: reported values against reference values, with feedback and points."""

from __future__ import annotations

import numpy as np

from graders.notebook.harness import CheckOutcome
from graders.notebook.limits import Limits
from graders.notebook.scoring import points_of, score_check, score_checks, trim_traceback
from graders.spec import CheckSpec, ExerciseSpec


def spec(*checks: CheckSpec, points: float = 10) -> ExerciseSpec:
    return ExerciseSpec(
        slug="x-ex",
        title="Example",
        kind="notebook",
        week=1,
        points=points,
        prompt="p",
        notebook={"reference": "x", "checks": [c.model_dump() for c in checks]},
    )


VISIBLE = CheckSpec(name="v", function="f", args=[[1, 2]], compare="exact", hint="Use f.")
HIDDEN = CheckSpec(
    name="h", function="f", args=[[7, 8, 9]], compare="exact", visibility="hidden", points=3
)


def test_points_are_shared_in_proportion_to_each_checks_points():
    assert points_of(spec(VISIBLE, HIDDEN, points=8)) == {"v": 2.0, "h": 6.0}


def test_a_right_value_passes():
    test = score_check(VISIBLE, 2.0, CheckOutcome(ok=True, value=[3]), [3], not_run_reason="")
    assert (test.status, test.score, test.max_score) == ("passed", 2.0, 2.0)
    assert "Called f([1, 2])" in test.output


def test_a_notebook_global_argument_is_shown_by_its_name():
    check = CheckSpec(
        name="g",
        function="fit_vectorizer",
        args=[{"$global": "train_texts"}],
        globals=["train_texts"],
    )
    test = score_check(check, 1.0, CheckOutcome(ok=True, value=[1]), [1], not_run_reason="")
    assert "Called fit_vectorizer(train_texts)." in test.output


def test_a_wrong_visible_value_shows_expected_and_hint():
    test = score_check(VISIBLE, 2.0, CheckOutcome(ok=True, value=[4]), [3], not_run_reason="")
    assert test.status == "failed" and test.score == 0
    assert "expected 3" in test.output and "Hint: Use f." in test.output


def test_a_hidden_check_never_shows_its_input_or_expected_value():
    test = score_check(HIDDEN, 6.0, CheckOutcome(ok=True, value=[111]), [24680], not_run_reason="")
    assert test.status == "failed" and test.visibility == "hidden"
    assert "7, 8, 9" not in test.output and "24680" not in test.output
    assert "input is not shown" in test.output


def test_placeholders_get_the_start_code_here_hint():
    for value in (None, (None, None)):
        test = score_check(VISIBLE, 1.0, CheckOutcome(ok=True, value=value), [3], not_run_reason="")
        assert "START CODE HERE" in test.output


def test_an_exception_in_the_function_is_an_error_with_hint_and_trimmed_traceback():
    outcome = CheckOutcome(
        ok=False,
        stage="call",
        error_type="AttributeError",
        message="'Sequential' object has no attribute 'predict_classes'",
        traceback="\x1b[31mTraceback\x1b[0m\n"
        + "\n".join(f"line {i}" for i in range(40))
        + '\n  File "/opt/adventures/zygote.py", line 3, in one\n',
    )
    test = score_check(VISIBLE, 1.0, outcome, [3], not_run_reason="")
    assert test.status == "error"
    assert "predict_classes" in test.output and "np.argmax" in test.output
    assert "\x1b[" not in test.output and "/opt/adventures" not in test.output
    assert "line 39" in test.output and "line 3\n" not in test.output


def test_hidden_errors_keep_their_traceback_private():
    outcome = CheckOutcome(
        ok=False, stage="call", error_type="ValueError", message="m", traceback="secret frame"
    )
    assert "secret frame" not in score_check(HIDDEN, 1.0, outcome, [1], not_run_reason="").output


def test_a_missing_function_names_the_graded_cell():
    outcome = CheckOutcome(
        ok=False, stage="lookup", error_type="NameError", message="name 'f' is not defined"
    )
    test = score_check(VISIBLE, 1.0, outcome, [3], not_run_reason="")
    assert test.status == "error" and "# GRADED FUNCTION: f" in test.output


def test_a_check_that_never_ran_says_why():
    test = score_check(VISIBLE, 1.0, None, [3], not_run_reason="the notebook ran out of time")
    assert test.status == "error" and "ran out of time" in test.output and "Hint:" in test.output


def test_allclose_uses_the_checks_tolerance():
    check = CheckSpec(name="a", function="f", compare="allclose", rtol=0, atol=1e-3)
    ok = score_check(
        check,
        1.0,
        CheckOutcome(ok=True, value=np.array([1.0005])),
        np.array([1.0]),
        not_run_reason="",
    )
    bad = score_check(
        check,
        1.0,
        CheckOutcome(ok=True, value=np.array([1.01])),
        np.array([1.0]),
        not_run_reason="",
    )
    assert ok.status == "passed" and bad.status == "failed"


def test_score_checks_follows_spec_order():
    tests = score_checks(
        spec(VISIBLE, HIDDEN),
        {"h": CheckOutcome(ok=True, value=[24])},
        {"v": [3], "h": [24]},
        not_run_reason="x",
    )
    assert [t.name for t in tests] == ["v", "h"]
    assert [t.status for t in tests] == ["error", "passed"]


def test_trim_traceback_keeps_the_end():
    text = trim_traceback("\n".join(str(i) for i in range(100)), lines=3)
    assert text.splitlines() == ["  ...", "97", "98", "99"]


def test_spec_times_fill_limits_left_open():
    limits = Limits().with_spec_times(120, 30, checks=3)
    assert (limits.time_limit, limits.cell_timeout, limits.harness_timeout) == (120, 30, 90)
    mine = Limits(time_limit=5, cell_timeout=2, harness_timeout=7).with_spec_times(120, 30, 3)
    assert (mine.time_limit, mine.cell_timeout, mine.harness_timeout) == (5, 2, 7)
    assert mine.run_limits()["cpu_seconds"] < mine.spawn_limits()["cpu_seconds"]


def test_a_hidden_check_never_echoes_what_the_members_code_said_about_its_input():
    """A member's function can put its argument in an error message or in the value it returns;
    for a hidden check neither is shown, or the feedback would carry the hidden input out."""
    raised = CheckOutcome(
        ok=False, stage="call", error_type="ValueError", message="[7, 8, 9]", traceback="x"
    )
    test = score_check(HIDDEN, 3.0, raised, [24], not_run_reason="")
    assert test.status == "error" and "7, 8, 9" not in test.output and "ValueError" in test.output
    returned = CheckOutcome(ok=True, value="the input was [7, 8, 9]")
    test = score_check(HIDDEN, 3.0, returned, [24], not_run_reason="")
    assert test.status == "failed" and "7, 8, 9" not in test.output
    # a visible check still shows the member their own error and value
    shown = score_check(VISIBLE, 2.0, raised, [3], not_run_reason="")
    assert "[7, 8, 9]" in shown.output
