"""Self-check answers are read as people type them, and hostile text is only ever an unreadable answer."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from companion.course.grading import MAX_TYPED, choice, evaluate, expression, number, phrase


@pytest.mark.parametrize("typed", ["11897", "11,897", " 11897 ", "11897.0"])
def test_a_count_is_right_however_its_digits_are_grouped(typed):
    assert number(typed, 11897).right


@pytest.mark.parametrize("typed", ["√5", "sqrt(5)", "5^0.5", "5**(1/2)", "2.2360679775"])
def test_a_root_is_right_written_as_a_root_a_power_or_a_decimal(typed):
    assert number(typed, math.sqrt(5), tolerance=1e-6).right


def test_a_number_outside_the_tolerance_is_wrong_and_says_nothing_more():
    verdict = number("6.2", 6, tolerance=0.1)
    assert not verdict.right and verdict.unreadable == ""
    assert number("6.05", 6, tolerance=0.1).right


@pytest.mark.parametrize("typed", ["2*x", "x+x", "2x", "x*2", "4*x/2"])
def test_equivalent_expressions_are_all_right(typed):
    assert expression(typed, "2*x", ["x"]).right


def test_an_expression_that_differs_somewhere_is_wrong():
    assert not expression("x**2", "2*x", ["x"]).right
    assert expression("1/(1+exp(-x))", "exp(x)/(exp(x)+1)", ["x"]).right
    assert expression("(x+1)(x-1)", "x^2-1", ["x"]).right


@pytest.mark.parametrize("typed, message", [
    ("__import__('os').system('rm -rf /')", "not part of this question"),
    ("().__class__", "not a number or formula"),
    ("y*2", "not part of this question"),
    ("1/0", "no value"),
    ("10**10**10", "no value"),
    ("2 +", "not a number or formula"),
    ("x" * (MAX_TYPED + 1), "longer than"),
])
def test_hostile_or_broken_text_is_an_unreadable_answer_with_a_plain_reason(typed, message):
    verdict = expression(typed, "2*x", ["x"]) if "y" in typed or "x" in typed else number(typed, 1)
    assert not verdict.right and message in verdict.unreadable


def test_phrases_ignore_case_spaces_and_a_final_full_stop_and_take_alternatives():
    assert phrase("  Eigen Vector. ", "eigen vector").right
    assert phrase("eigenvectors", "eigenvector", accept=["eigenvectors"]).right
    assert not phrase("eigenvalue", "eigenvector").right


def test_a_choice_must_be_picked():
    assert choice(2, 2).right and not choice(1, 2).right
    assert choice(None, 2).unreadable


@given(st.text(max_size=300))
def test_no_typed_text_makes_grading_raise(typed):
    for verdict in (number(typed, 3.0), expression(typed, "x**2", ["x"]), phrase(typed, "x")):
        assert verdict.right in (True, False)


def test_constants_and_functions_evaluate():
    assert evaluate("2π") == pytest.approx(2 * math.pi)
    assert evaluate("ln(e)") == pytest.approx(1.0)
