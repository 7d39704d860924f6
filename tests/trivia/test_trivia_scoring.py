"""Kahoot's scoring rule, streaks, late answers and the accuracy-first mode."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.trivia import (
    ACCURACY_FIRST_SPEED_MAX,
    MAX_QUESTIONS,
    NETWORK_GRACE_S,
    Question,
    Verdict,
    is_late,
    next_streak,
    question_points,
    score_answer,
    streak_bonus,
)


@pytest.mark.parametrize(
    ("points", "t", "limit", "fraction", "expected"),
    [
        (1000, 10, 20, 1.0, 750),  # halfway: 1 - 0.25
        (1000, 0.3, 20, 1.0, 1000),  # under 0.5 s: full points
        (1000, 0.49, 20, 1.0, 1000),
        (1000, 0.5, 20, 1.0, 988),  # 1 - 0.0125 = 0.9875 -> 987.5 rounds half up
        (1000, 20, 20, 1.0, 500),  # at the buzzer: half
        (1000, 20.6, 20, 1.0, 500),  # inside the network grace: as at the buzzer
        (2000, 10, 20, 1.0, 1500),  # double points
        (1000, 5, 30, 1.0, 917),  # 1 - 1/12 = 0.91666.. -> 916.67 -> 917
        (1000, 10, 20, 0.5, 375),  # partial credit scales the whole thing
        (1000, 0.1, 20, 2 / 3, 667),
        (1000, 3, 20, 0.0, 0),
        (0, 3, 20, 1.0, 0),
    ],
)
def test_kahoot_rule(points, t, limit, fraction, expected):
    assert question_points(points, t, limit, fraction) == expected


@pytest.mark.parametrize(
    "args",
    [
        (-1, 1, 20, 1.0),
        (1000, -0.1, 20, 1.0),
        (1000, 1, 0, 1.0),
        (1000, 1, 20, 1.5),
        (1000, float("nan"), 20, 1.0),
    ],
)
def test_bad_scoring_inputs_raise(args):
    with pytest.raises(ValueError):
        question_points(*args)


@given(
    st.sampled_from([1000, 2000]),
    st.integers(min_value=5, max_value=240),
    st.floats(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=300),
)
def test_faster_never_scores_less(points, limit, t1, t2):
    fast, slow = sorted((t1, t2))
    assert question_points(points, fast, limit, 1.0) >= question_points(points, slow, limit, 1.0)
    assert points // 2 <= question_points(points, slow, limit, 1.0) <= points


@pytest.mark.parametrize(
    ("streak", "bonus"),
    [(0, 0), (1, 0), (2, 100), (3, 200), (5, 400), (6, 500), (7, 500), (40, 500)],
)
def test_streak_bonus_steps_by_100_and_caps_at_500(streak, bonus):
    assert streak_bonus(streak) == bonus
    assert streak_bonus(streak, accuracy_first=True) == 0


def test_streak_bonus_rejects_negative_streaks():
    with pytest.raises(ValueError):
        streak_bonus(-1)


def test_a_miss_or_partial_credit_resets_the_streak():
    assert next_streak(4, Verdict(True, 1.0)) == 5
    assert next_streak(4, Verdict(False, 0.0)) == 0
    assert next_streak(4, Verdict(False, 0.5)) == 0


def test_late_means_after_the_grace():
    assert NETWORK_GRACE_S == 0.75
    assert not is_late(20.75, 20)
    assert is_late(20.76, 20)


SINGLE = Question.model_validate(
    {
        "id": "q",
        "kind": "single",
        "text": "?",
        "time_limit": 20,
        "choices": [{"id": "a", "text": "x", "correct": True}, {"id": "b", "text": "y"}],
    }
)


def test_score_answer_runs_a_streak():
    streak, totals = 0, []
    for answer in ["a", "a", "a", "b", "a"]:
        result = score_answer(SINGLE, answer, 10, streak)
        streak = result.streak
        totals.append(result.total)
    assert totals == [750, 850, 950, 0, 750]
    assert streak == 1


def test_score_answer_without_an_answer_is_a_miss():
    result = score_answer(SINGLE, None, 20, 3)
    assert (result.verdict, result.points, result.bonus, result.streak) == (
        Verdict(False, 0.0),
        0,
        0,
        0,
    )


def test_zero_point_questions_leave_the_streak_alone():
    warmup = SINGLE.model_copy(update={"points": 0})
    assert score_answer(warmup, "b", 1, 3).streak == 3
    assert score_answer(warmup, "a", 1, 3).total == 0


# --- accuracy first ----------------------------------------------------------

# One player's answer to one question: points at stake, fraction earned, seconds taken.
answers = st.tuples(
    st.sampled_from([0, 1000, 2000]),
    st.sampled_from([0.0, 1 / 6, 1 / 3, 0.5, 2 / 3, 1.0]),
    st.floats(min_value=0, max_value=240 + NETWORK_GRACE_S),
    st.integers(min_value=5, max_value=240),
)


def game_total(history) -> tuple[int, int]:
    """(accuracy points, total score) of one player over a game, accuracy-first mode."""
    accuracy = total = streak = 0
    for points, fraction, t, limit in history:
        t = min(t, limit + NETWORK_GRACE_S)
        accuracy += math.floor(points * fraction + 0.5)
        verdict = Verdict(fraction == 1.0, fraction)
        streak = next_streak(streak, verdict) if points else streak
        total += question_points(points, t, limit, fraction, accuracy_first=True)
        total += streak_bonus(streak, accuracy_first=True) if verdict.correct and points else 0
    return accuracy, total


@settings(deadline=None)  # long games; a busy CI machine must not fail them
@given(st.lists(answers, max_size=MAX_QUESTIONS), st.lists(answers, max_size=MAX_QUESTIONS))
def test_speed_never_outweighs_one_correct_answer(a, b):
    acc_a, total_a = game_total(a)
    acc_b, total_b = game_total(b)
    if acc_a >= acc_b + 1000:  # A answered at least one more standard question right
        assert total_a > total_b


@settings(deadline=None)  # long games; a busy CI machine must not fail them
@given(st.lists(answers, min_size=1, max_size=MAX_QUESTIONS), st.data())
def test_one_more_right_answer_beats_the_fastest_rival(history, data):
    """B copies A's game but answers instantly; A gets one standard question right that B missed."""
    i = data.draw(st.integers(min_value=0, max_value=len(history) - 1))
    limit = history[i][3]
    slow_right = [*history]
    slow_right[i] = (1000, 1.0, limit + NETWORK_GRACE_S, limit)
    fast_wrong = [(p, f, 0.0, lim) for p, f, _, lim in history]
    fast_wrong[i] = (1000, 0.0, 0.0, limit)
    assert game_total(slow_right)[1] > game_total(fast_wrong)[1]


@given(answers)
def test_accuracy_first_speed_component_is_bounded(answer):
    points, fraction, t, limit = answer
    got = question_points(points, t, limit, fraction, accuracy_first=True)
    base = round(points * fraction)
    assert base <= got <= base + ACCURACY_FIRST_SPEED_MAX
    assert MAX_QUESTIONS * ACCURACY_FIRST_SPEED_MAX < 1000


def test_accuracy_first_still_rewards_speed_among_equals():
    fast = question_points(1000, 0.2, 20, 1.0, accuracy_first=True)
    slow = question_points(1000, 19, 20, 1.0, accuracy_first=True)
    assert fast == 1000 + ACCURACY_FIRST_SPEED_MAX
    assert 1000 <= slow < fast


def test_worst_case_a_full_game_of_instant_answers_loses_to_one_more_right():
    """The bound itself: MAX_QUESTIONS - 1 instant answers against buzzer-beaters plus one."""
    shared = [(2000, 1.0, 0.0, 20)] * (MAX_QUESTIONS - 1)
    fast_wrong = [*shared, (1000, 0.0, 0.0, 20)]
    slow_right = [(p, f, 20 + NETWORK_GRACE_S, lim) for p, f, _, lim in shared] + [
        (1000, 1.0, 20.75, 20)
    ]
    assert game_total(slow_right)[1] > game_total(fast_wrong)[1]
